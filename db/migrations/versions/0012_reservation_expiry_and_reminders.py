"""reservations expire; pickup reminders and overdue notices are marked on the row

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 19:00:00

``EXPIRED`` joins the statuses the check constraint allows. PostgreSQL replaces the
constraint in place; SQLite cannot alter a CHECK, so its table is rebuilt (batch
mode copies the columns, keys, foreign keys, the other checks and the indexes). The
rebuild drops the old table, and with foreign keys on that would first delete every
reservation line by their ``ON DELETE CASCADE``: SQLite migrations therefore run with
foreign keys off (``db/migrations/env.py``), checked again before they commit.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES_BEFORE = ("REQUESTED", "CONFIRMED", "CHECKED_OUT", "RETURNED", "CANCELED", "DECLINED")
STATUSES_AFTER = (*STATUSES_BEFORE, "EXPIRED")


def _status_check(statuses: Sequence[str]) -> str:
    return "status IN ({})".format(", ".join(f"'{status}'" for status in statuses))


def _replace_status_check(statuses: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_reservation_status", "reservation", type_="check")
        op.create_check_constraint("ck_reservation_status", "reservation", _status_check(statuses))
        return
    with op.batch_alter_table("reservation", recreate="always") as batch:
        batch.drop_constraint("ck_reservation_status", type_="check")
        batch.create_check_constraint("ck_reservation_status", _status_check(statuses))


def upgrade() -> None:
    op.add_column("reservation", sa.Column("pickup_reminded_at", db.types.UtcDateTime(), nullable=True))
    op.add_column("reservation", sa.Column("overdue_notified_at", db.types.UtcDateTime(), nullable=True))
    op.create_index("ix_reservation_status", "reservation", ["tenant_id", "status", "starts_at"])
    _replace_status_check(STATUSES_AFTER)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # The policy is forced on the owner too; the update must see every tenant's rows.
        op.execute("ALTER TABLE reservation NO FORCE ROW LEVEL SECURITY")
    # Expired requests were requests nobody answered: they go back to being declined.
    op.execute("UPDATE reservation SET status = 'DECLINED' WHERE status = 'EXPIRED'")
    if postgres:
        op.execute("ALTER TABLE reservation FORCE ROW LEVEL SECURITY")
    _replace_status_check(STATUSES_BEFORE)
    op.drop_index("ix_reservation_status", table_name="reservation")
    with op.batch_alter_table("reservation") as batch:
        batch.drop_column("overdue_notified_at")
        batch.drop_column("pickup_reminded_at")
