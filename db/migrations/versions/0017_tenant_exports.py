"""tenant exports: one row per export an admin asked for

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types
from db.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDER_WAY = sa.text("status IN ('QUEUED', 'RUNNING')")


def upgrade() -> None:
    op.create_table(
        "tenant_export",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("finished_at", db.types.UtcDateTime(), nullable=True),
        sa.Column("expires_at", db.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "requested_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_tenant_export_requested_by",
        ),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'RUNNING', 'READY', 'FAILED')", name="ck_tenant_export_status"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_tenant_export_created", "tenant_export", ["tenant_id", "created_at", "id"])
    op.create_index(
        "uq_tenant_export_under_way",
        "tenant_export",
        ["tenant_id"],
        unique=True,
        sqlite_where=UNDER_WAY,
        postgresql_where=UNDER_WAY,
    )
    enable_tenant_rls(["tenant_export"])


def downgrade() -> None:
    disable_tenant_rls(["tenant_export"])
    op.drop_index("uq_tenant_export_under_way", table_name="tenant_export")
    op.drop_index("ix_tenant_export_created", table_name="tenant_export")
    op.drop_table("tenant_export")
