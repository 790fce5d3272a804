"""enquiries and their messages

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 10:00:00

``enquiry`` holds what a guest or customer asked for (status, assignee, the
reservation it became); ``enquiry_message`` its thread (staff notes, replies).
Both are tenant-owned, under the tenant policy like every other such table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types
from db.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["enquiry", "enquiry_message"]
INDEXES = {
    "enquiry": {
        "ix_enquiry_status": ["tenant_id", "status", "created_at"],
        "ix_enquiry_assigned_to": ["tenant_id", "assigned_to_id", "created_at"],
        "ix_enquiry_customer": ["tenant_id", "customer_id", "created_at"],
        "ix_enquiry_created": ["tenant_id", "created_at", "id"],
    },
    "enquiry_message": {"ix_enquiry_message_enquiry": ["tenant_id", "enquiry_id", "created_at"]},
}


def upgrade() -> None:
    op.create_table(
        "enquiry",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("event_end_date", sa.Date(), nullable=True),
        sa.Column("venue", sa.String(length=300), nullable=False),
        sa.Column("guest_count", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(length=5000), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_to_id", sa.Uuid(), nullable=True),
        sa.Column("design_id", sa.Uuid(), nullable=True),
        sa.Column("reservation_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('NEW', 'IN_PROGRESS', 'QUOTED', 'WON', 'LOST', 'CLOSED')", name="ck_enquiry_status"
        ),
        sa.CheckConstraint("version >= 1", name="ck_enquiry_version"),
        sa.CheckConstraint("guest_count IS NULL OR guest_count >= 1", name="ck_enquiry_guest_count"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["app_user.tenant_id", "app_user.id"], name="fk_enquiry_customer"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "assigned_to_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_enquiry_assigned_to",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "design_id"], ["design.tenant_id", "design.id"], name="fk_enquiry_design"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "reservation_id"],
            ["reservation.tenant_id", "reservation.id"],
            name="fk_enquiry_reservation",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "reservation_id", name="uq_enquiry_reservation"),
    )
    op.create_table(
        "enquiry_message",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("enquiry_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=5000), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('NOTE', 'REPLY')", name="ck_enquiry_message_kind"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "enquiry_id"],
            ["enquiry.tenant_id", "enquiry.id"],
            name="fk_enquiry_message_enquiry",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "author_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_enquiry_message_author",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    for table, indexes in INDEXES.items():
        for name, columns in indexes.items():
            op.create_index(name, table, columns)
    enable_tenant_rls(TABLES)


def downgrade() -> None:
    disable_tenant_rls(TABLES)
    for table, indexes in reversed(INDEXES.items()):
        for name in indexes:
            op.drop_index(name, table_name=table)
    op.drop_table("enquiry_message")
    op.drop_table("enquiry")
