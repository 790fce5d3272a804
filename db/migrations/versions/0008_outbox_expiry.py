"""queued mail expires; bodies queued before sealing are discarded

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_email", sa.Column("expires_at", db.types.UtcDateTime(), nullable=True))
    # Unsent bodies from before were stored in plain text and may hold live reset
    # tokens; this code seals bodies and cannot seal those after the fact.
    op.execute(
        "UPDATE outbox_email SET body = '', expires_at = created_at, "
        "last_error = 'discarded: queued before bodies were sealed' "
        "WHERE sent_at IS NULL AND body <> ''"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_email") as batch:
        batch.drop_column("expires_at")
