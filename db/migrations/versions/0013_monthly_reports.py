"""monthly reports, one per tenant and month

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types
from db.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monthly_report",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "month", name="uq_monthly_report_month"),
    )
    enable_tenant_rls(["monthly_report"])


def downgrade() -> None:
    disable_tenant_rls(["monthly_report"])
    op.drop_table("monthly_report")
