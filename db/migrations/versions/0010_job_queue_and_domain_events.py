"""the job queue, and the domain event an audit entry announces

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 18:00:00

``job`` is a platform-level queue (no row-level security: one worker serves every
tenant; handlers open tenant-scoped transactions for tenant work). On PostgreSQL an
insert that adds jobs notifies ``rigbook_jobs`` at commit, which wakes listening
workers; one that adds none (a schedule's slot every worker plans, ``ON CONFLICT DO
NOTHING``) notifies nobody, or every planning worker would wake every other.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_FUNCTION = """
CREATE FUNCTION rigbook_job_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM added_jobs) THEN
    PERFORM pg_notify('rigbook_jobs', '');
  END IF;
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("unique_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_until", db.types.UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("finished_at", db.types.UtcDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('QUEUED', 'RUNNING', 'DONE', 'DEAD')", name="ck_job_status"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unique_key"),
    )
    op.create_index("ix_job_due", "job", ["status", "run_at"])
    op.create_index("ix_job_finished", "job", ["status", "finished_at"])
    # A plain ADD COLUMN: SQLite's batch mode would rebuild the table without its triggers.
    op.add_column("audit_event", sa.Column("event", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(
            "CREATE TRIGGER job_notify AFTER INSERT ON job REFERENCING NEW TABLE AS added_jobs "
            "FOR EACH STATEMENT EXECUTE FUNCTION rigbook_job_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS job_notify ON job")
        op.execute("DROP FUNCTION IF EXISTS rigbook_job_notify()")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("event")
    op.drop_index("ix_job_finished", table_name="job")
    op.drop_index("ix_job_due", table_name="job")
    op.drop_table("job")
