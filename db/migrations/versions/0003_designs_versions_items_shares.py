"""designs, their versions and items, share links; reservation.design_version_id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 12:22:01.342351
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "design",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_version_number", sa.Integer(), nullable=False),
        sa.Column("cloned_from_id", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('DRAFT', 'PUBLISHED', 'ARCHIVED')", name="ck_design_status"),
        sa.CheckConstraint("current_version_number >= 0", name="ck_design_current_version"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "cloned_from_id"], ["design.tenant_id", "design.id"], name="fk_design_cloned_from"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["app_user.tenant_id", "app_user.id"], name="fk_design_owner"
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_design_idempotency_key"),
    )
    with op.batch_alter_table("design", schema=None) as batch_op:
        batch_op.create_index("ix_design_owner", ["tenant_id", "owner_id"], unique=False)
        batch_op.create_index("ix_design_tenant_name", ["tenant_id", "name", "id"], unique=False)

    op.create_table(
        "design_share",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("design_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", db.types.UtcDateTime(), nullable=True),
        sa.Column("revoked_at", db.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_design_share_created_by",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "design_id"],
            ["design.tenant_id", "design.id"],
            name="fk_design_share_design",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    with op.batch_alter_table("design_share", schema=None) as batch_op:
        batch_op.create_index("ix_design_share_design", ["tenant_id", "design_id"], unique=False)

    op.create_table(
        "design_version",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("design_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("source_version_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("number >= 1", name="ck_design_version_number"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_design_version_created_by",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "design_id"],
            ["design.tenant_id", "design.id"],
            name="fk_design_version_design",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "source_version_id"],
            ["design_version.tenant_id", "design_version.id"],
            name="fk_design_version_source",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "design_id", "number", name="uq_design_version_number"),
    )
    op.create_table(
        "design_item",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("equipment_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("notes", sa.String(length=1000), nullable=False),
        sa.CheckConstraint("quantity >= 1", name="ck_design_item_quantity"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "equipment_id"],
            ["equipment.tenant_id", "equipment.id"],
            name="fk_design_item_equipment",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["design_version.tenant_id", "design_version.id"],
            name="fk_design_item_version",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    with op.batch_alter_table("design_item", schema=None) as batch_op:
        batch_op.create_index("ix_design_item_equipment", ["tenant_id", "equipment_id"], unique=False)
        batch_op.create_index("ix_design_item_version", ["tenant_id", "version_id"], unique=False)

    with op.batch_alter_table("reservation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("design_version_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_reservation_design_version",
            "design_version",
            ["tenant_id", "design_version_id"],
            ["tenant_id", "id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("reservation", schema=None) as batch_op:
        batch_op.drop_constraint("fk_reservation_design_version", type_="foreignkey")
        batch_op.drop_column("design_version_id")

    with op.batch_alter_table("design_item", schema=None) as batch_op:
        batch_op.drop_index("ix_design_item_version")
        batch_op.drop_index("ix_design_item_equipment")

    op.drop_table("design_item")
    op.drop_table("design_version")
    with op.batch_alter_table("design_share", schema=None) as batch_op:
        batch_op.drop_index("ix_design_share_design")

    op.drop_table("design_share")
    with op.batch_alter_table("design", schema=None) as batch_op:
        batch_op.drop_index("ix_design_tenant_name")
        batch_op.drop_index("ix_design_owner")

    op.drop_table("design")
