"""equipment and reservations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 12:08:30.802445
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "equipment",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("tracking", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("buffer_before", sa.Integer(), nullable=False),
        sa.Column("buffer_after", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('ACTIVE', 'RETIRED')", name="ck_equipment_status"),
        sa.CheckConstraint("tracking IN ('BULK', 'SERIALIZED')", name="ck_equipment_tracking"),
        sa.CheckConstraint("buffer_before >= 0 AND buffer_after >= 0", name="ck_equipment_buffers"),
        sa.CheckConstraint("quantity >= 0", name="ck_equipment_quantity"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_equipment_tenant_code"),
    )
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.create_index("ix_equipment_tenant_name", ["tenant_id", "name", "id"], unique=False)

    op.create_table(
        "equipment_unit",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("equipment_id", sa.Uuid(), nullable=False),
        sa.Column("serial_number", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.String(length=2000), nullable=False),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('AVAILABLE', 'MAINTENANCE', 'RETIRED')", name="ck_equipment_unit_status"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "equipment_id"],
            ["equipment.tenant_id", "equipment.id"],
            name="fk_equipment_unit_equipment",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "equipment_id", "serial_number", name="uq_equipment_unit_serial"),
    )
    op.create_table(
        "reservation",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("ends_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.String(length=5000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('REQUESTED', 'CONFIRMED', 'CHECKED_OUT', 'RETURNED', 'CANCELED', 'DECLINED')",
            name="ck_reservation_status",
        ),
        sa.CheckConstraint("ends_at > starts_at", name="ck_reservation_window"),
        sa.CheckConstraint("version >= 1", name="ck_reservation_version"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_reservation_created_by",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_reservation_customer",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_reservation_idempotency_key"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_reservation_tenant_number"),
    )
    with op.batch_alter_table("reservation", schema=None) as batch_op:
        batch_op.create_index("ix_reservation_customer", ["tenant_id", "customer_id"], unique=False)
        batch_op.create_index("ix_reservation_window", ["tenant_id", "starts_at", "ends_at"], unique=False)

    op.create_table(
        "reservation_line",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reservation_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("equipment_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 1", name="ck_reservation_line_quantity"),
        sa.CheckConstraint("unit_id IS NULL OR quantity = 1", name="ck_reservation_line_unit_quantity"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "equipment_id"],
            ["equipment.tenant_id", "equipment.id"],
            name="fk_reservation_line_equipment",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "reservation_id"],
            ["reservation.tenant_id", "reservation.id"],
            name="fk_reservation_line_reservation",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "unit_id"],
            ["equipment_unit.tenant_id", "equipment_unit.id"],
            name="fk_reservation_line_unit",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    with op.batch_alter_table("reservation_line", schema=None) as batch_op:
        batch_op.create_index("ix_reservation_line_equipment", ["tenant_id", "equipment_id"], unique=False)
        batch_op.create_index(
            "ix_reservation_line_reservation", ["tenant_id", "reservation_id"], unique=False
        )

    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reservation_counter", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:

    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.drop_column("reservation_counter")

    with op.batch_alter_table("reservation_line", schema=None) as batch_op:
        batch_op.drop_index("ix_reservation_line_reservation")
        batch_op.drop_index("ix_reservation_line_equipment")

    op.drop_table("reservation_line")
    with op.batch_alter_table("reservation", schema=None) as batch_op:
        batch_op.drop_index("ix_reservation_window")
        batch_op.drop_index("ix_reservation_customer")

    op.drop_table("reservation")
    op.drop_table("equipment_unit")
    with op.batch_alter_table("equipment", schema=None) as batch_op:
        batch_op.drop_index("ix_equipment_tenant_name")

    op.drop_table("equipment")
