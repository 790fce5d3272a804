"""sign-in sessions, checked by every authenticated transaction

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:30:00

One row per sign-in (the refresh-token family), for tenant users and operators, so
that a request can check its session by primary key; ``rigbook_begin`` on PostgreSQL
opens an authenticated transaction with that check (``db/session_check.py``). Existing
families become sessions: revoked when every token of theirs is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types
from db.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Invoker's rights: it sets the tenant first and reads the rows under row-level
# security like any statement of the transaction. STABLE is not possible (set_config).
BEGIN_FUNCTION = """
CREATE FUNCTION rigbook_begin(for_tenant uuid, for_subject uuid, for_session uuid, assumed boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('app.tenant_id', COALESCE(for_tenant::text, ''), true);
  IF for_tenant IS NOT NULL AND NOT assumed THEN
    PERFORM 1 FROM sign_in_session s JOIN app_user u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
     WHERE s.tenant_id = for_tenant AND s.id = for_session AND s.user_id = for_subject
       AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;
  ELSIF assumed THEN
    PERFORM 1 FROM operator o WHERE o.id = for_subject AND o.is_active;
  ELSE
    PERFORM 1 FROM operator_sign_in_session s JOIN operator o ON o.id = s.operator_id
     WHERE s.id = for_session AND s.operator_id = for_subject
       AND s.revoked_at IS NULL AND s.expires_at > now() AND o.is_active;
  END IF;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'The session has ended.' USING ERRCODE = 'RB401';
  END IF;
END
$$
"""

_REVOKED = "CASE WHEN COUNT(*) = COUNT(revoked_at) THEN MAX(revoked_at) END"


def upgrade() -> None:
    op.create_table(
        "sign_in_session",
        sa.Column("expires_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", db.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_sign_in_session_user",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_sign_in_session_user", "sign_in_session", ["tenant_id", "user_id"])
    op.create_table(
        "operator_sign_in_session",
        sa.Column("expires_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", db.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", db.types.UtcDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operator_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operator.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_operator_sign_in_session_operator", "operator_sign_in_session", ["operator_id"])

    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # The policy is forced on the owner too; the backfill must see every tenant's tokens.
        op.execute("ALTER TABLE refresh_token NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "INSERT INTO sign_in_session (tenant_id, id, user_id, expires_at, revoked_at, created_at) "
        f"SELECT tenant_id, family_id, user_id, MAX(session_expires_at), {_REVOKED}, MIN(created_at) "
        "FROM refresh_token GROUP BY tenant_id, family_id, user_id"
    )
    op.execute(
        "INSERT INTO operator_sign_in_session (id, operator_id, expires_at, revoked_at, created_at) "
        f"SELECT family_id, operator_id, MAX(session_expires_at), {_REVOKED}, MIN(created_at) "
        "FROM operator_refresh_token GROUP BY family_id, operator_id"
    )
    if postgres:
        op.execute("ALTER TABLE refresh_token FORCE ROW LEVEL SECURITY")
        op.execute(BEGIN_FUNCTION)
    enable_tenant_rls(["sign_in_session"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS rigbook_begin(uuid, uuid, uuid, boolean)")
    disable_tenant_rls(["sign_in_session"])
    op.drop_index("ix_operator_sign_in_session_operator", table_name="operator_sign_in_session")
    op.drop_table("operator_sign_in_session")
    op.drop_index("ix_sign_in_session_user", table_name="sign_in_session")
    op.drop_table("sign_in_session")
