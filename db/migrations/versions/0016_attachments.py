"""attachments: files of equipment, units, designs, versions, reservations and the gallery

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types
from db.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER_KINDS = "'EQUIPMENT', 'EQUIPMENT_UNIT', 'DESIGN', 'DESIGN_VERSION', 'RESERVATION', 'GALLERY'"
THUMBNAIL_STATES = "'NONE', 'PENDING', 'READY', 'FAILED'"


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_kind", sa.String(length=24), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("caption", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("thumbnails", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_attachment_created_by",
        ),
        sa.CheckConstraint(f"owner_kind IN ({OWNER_KINDS})", name="ck_attachment_owner_kind"),
        sa.CheckConstraint(f"thumbnails IN ({THUMBNAIL_STATES})", name="ck_attachment_thumbnails"),
        sa.CheckConstraint("(owner_kind = 'GALLERY') = (owner_id IS NULL)", name="ck_attachment_owner"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index(
        "ix_attachment_owner", "attachment", ["tenant_id", "owner_kind", "owner_id", "position", "created_at"]
    )
    enable_tenant_rls(["attachment"])


def downgrade() -> None:
    disable_tenant_rls(["attachment"])
    op.drop_index("ix_attachment_owner", table_name="attachment")
    op.drop_table("attachment")
