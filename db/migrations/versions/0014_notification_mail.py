"""notification mail: HTML parts, per-user preferences, shares made for a user

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 10:00:00

``outbox_email.html_body`` holds a message's sealed HTML alternative;
``app_user.notification_preferences`` the mail categories a user turned on or off;
``design_share.recipient_id`` the user of the same tenant a link was made for.

Mail is now delivered by one ``mail`` job per message: each message still waiting
(unsent, its body not dropped) gets its job here, or it would never go out.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OUTBOX = sa.table(
    "outbox_email",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("body", sa.String()),
    sa.column("sent_at", db.types.UtcDateTime()),
)
JOB = sa.table(
    "job",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("payload", sa.JSON()),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("max_attempts", sa.Integer()),
    sa.column("run_at", db.types.UtcDateTime()),
    sa.column("created_at", db.types.UtcDateTime()),
)


def upgrade() -> None:
    op.add_column("outbox_email", sa.Column("html_body", sa.String(), nullable=False, server_default=""))
    waiting = op.get_bind().execute(
        sa.select(OUTBOX.c.id, OUTBOX.c.tenant_id).where(OUTBOX.c.sent_at.is_(None), OUTBOX.c.body != "")
    )
    now = datetime.now(UTC)
    jobs = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "kind": "mail",
            "payload": {"outbox_id": str(message_id)},
            "status": "QUEUED",
            "attempts": 0,
            "max_attempts": 12,
            "run_at": now,
            "created_at": now,
        }
        for message_id, tenant_id in waiting.all()
    ]
    if jobs:
        op.bulk_insert(JOB, jobs)
    op.add_column(
        "app_user",
        sa.Column("notification_preferences", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    # SQLite cannot add a composite foreign key in place: batch mode rebuilds the table
    # (it has no triggers); PostgreSQL gets plain ALTERs.
    with op.batch_alter_table("design_share") as batch:
        batch.add_column(sa.Column("recipient_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_design_share_recipient", "app_user", ["tenant_id", "recipient_id"], ["tenant_id", "id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("design_share") as batch:
        batch.drop_constraint("fk_design_share_recipient", type_="foreignkey")
        batch.drop_column("recipient_id")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("notification_preferences")
    with op.batch_alter_table("outbox_email") as batch:
        batch.drop_column("html_body")
