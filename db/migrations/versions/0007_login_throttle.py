"""login_failure counts on SQLite too: its id becomes SQLite's auto-assigned row id

A ``BIGINT PRIMARY KEY`` is not SQLite's row id, so inserts without an id failed and
the table could not be used there. The rows are throttling state that ages out in
minutes; the table is recreated rather than copied. PostgreSQL is unchanged.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(id_type: sa.types.TypeEngine[int]) -> None:
    op.drop_index("ix_login_failure_key_time", table_name="login_failure")
    op.drop_table("login_failure")
    op.create_table(
        "login_failure",
        sa.Column("id", id_type, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failed_at", db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failure_key_time", "login_failure", ["key", "failed_at"], unique=False)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _recreate(sa.Integer())


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _recreate(sa.BigInteger())
