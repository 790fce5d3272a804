"""live updates: every committed domain event is announced on its tenant's channel

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 10:00:00

PostgreSQL only: a row trigger on ``audit_event`` sends, for each entry that names a
domain event, ``NOTIFY rigbook_live_<tenant id in hex>`` with the entry's ids as JSON
(``db/live.py`` reads it). A notification is delivered when its transaction commits
and never when it rolls back, so the trigger announces exactly what committed, from
the transaction that made the change, whichever path wrote the entry. The payload
holds ids and names only, far below the 8,000-byte limit. SQLite has no other
process to tell: its events go to the subscribers of the same process.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_FUNCTION = """
CREATE FUNCTION rigbook_live_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(
        'rigbook_live_' || replace(NEW.tenant_id::text, '-', ''),
        json_build_object(
            'a', NEW.id, 'e', NEW.event, 't', NEW.target_type, 'i', NEW.target_id, 'at', NEW.created_at
        )::text
    );
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NOTIFY_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_event_live AFTER INSERT ON audit_event FOR EACH ROW "
        "WHEN (NEW.event IS NOT NULL) EXECUTE FUNCTION rigbook_live_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_live ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS rigbook_live_notify()")
