"""login failures shared by workers; row-level security on every tenant-owned table

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types
from db.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_owned_tables() -> list[str]:
    inspector = sa.inspect(op.get_bind())
    return sorted(
        table
        for table in inspector.get_table_names()
        if any(column["name"] == "tenant_id" for column in inspector.get_columns(table))
    )


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failed_at", db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failure_key_time", "login_failure", ["key", "failed_at"], unique=False)
    enable_tenant_rls(_tenant_owned_tables())


def downgrade() -> None:
    disable_tenant_rls(_tenant_owned_tables())
    op.drop_index("ix_login_failure_key_time", table_name="login_failure")
    op.drop_table("login_failure")
