"""customer self-service: phone, verified and anonymised users, token purposes, audit erasure

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-04 10:00:00

* ``app_user.phone``; ``app_user.email_verified_at`` (every existing user counts as
  verified since their creation: admins created them); ``app_user.anonymized_at``.
* ``password_reset.purpose`` (every existing row is a password reset) and
  ``password_reset.new_email``: the table holds every mailed one-time token.
* The audit trail stays append-only, with one exception: the ``changes`` of the entries
  about an anonymised user (``target_type = 'app_user'``, the user's ``anonymized_at``
  set) may be rewritten, and nothing else of them. On PostgreSQL the serving role still
  has no UPDATE on ``audit_event``; it erases through ``rigbook_erase_user_audit``
  (SECURITY DEFINER, owned by the migrating role), which refuses a user who is not
  anonymised and can only replace personal values with ``[erased]``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0020"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSES = "purpose IN ('password_reset', 'verify_email', 'change_email')"

# The columns an erasure may not touch: everything but ``changes``.
_FIXED_ALL = (
    "tenant_id",
    "id",
    "actor_id",
    "actor_kind",
    "action",
    "event",
    "target_type",
    "target_id",
    "request_id",
    "created_at",
)

POSTGRES_APPEND_ONLY = f"""
CREATE OR REPLACE FUNCTION audit_event_is_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND OLD.target_type = 'app_user'
     AND ROW({", ".join(f"NEW.{c}" for c in _FIXED_ALL)})
         IS NOT DISTINCT FROM ROW({", ".join(f"OLD.{c}" for c in _FIXED_ALL)})
     AND EXISTS (SELECT 1 FROM app_user u
                 WHERE u.tenant_id = OLD.tenant_id AND u.id = OLD.target_id AND u.anonymized_at IS NOT NULL)
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_event is append-only';
END
$$ LANGUAGE plpgsql
"""

POSTGRES_APPEND_ONLY_BEFORE = """
CREATE OR REPLACE FUNCTION audit_event_is_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only';
END
$$ LANGUAGE plpgsql
"""

# Each value of a personal field (email, name, phone) that is neither null nor empty
# becomes "[erased]"; every other field of the entry stays as it was.
POSTGRES_ERASE = """
CREATE FUNCTION rigbook_erase_user_audit(p_tenant uuid, p_user uuid) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  erased integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM app_user
                 WHERE tenant_id = p_tenant AND id = p_user AND anonymized_at IS NOT NULL) THEN
    RAISE EXCEPTION 'only an anonymised user''s audit entries may be erased';
  END IF;
  UPDATE audit_event a SET changes = (
    SELECT COALESCE(json_object_agg(e.key, CASE
      WHEN e.key IN ('email', 'name', 'phone') AND json_typeof(e.value) = 'array' THEN (
        SELECT COALESCE(json_agg(CASE
          WHEN json_typeof(v.value) = 'null' OR v.value::text = '""' THEN v.value
          ELSE '"[erased]"'::json END ORDER BY v.position), '[]'::json)
        FROM json_array_elements(e.value) WITH ORDINALITY AS v(value, position))
      ELSE e.value END), '{}'::json)
    FROM json_each(a.changes) AS e)
  WHERE a.tenant_id = p_tenant AND a.target_type = 'app_user' AND a.target_id = p_user;
  GET DIAGNOSTICS erased = ROW_COUNT;
  RETURN erased;
END
$$
"""

_SAME = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _FIXED_ALL)
SQLITE_NO_UPDATE = f"""
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
WHEN NOT (
  OLD.target_type = 'app_user' AND {_SAME}
  AND EXISTS (SELECT 1 FROM app_user u
              WHERE u.tenant_id = OLD.tenant_id AND u.id = OLD.target_id AND u.anonymized_at IS NOT NULL)
)
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END
"""
SQLITE_NO_UPDATE_BEFORE = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)

APP_USER = sa.table(
    "app_user",
    sa.column("email_verified_at", db.types.UtcDateTime()),
    sa.column("created_at", db.types.UtcDateTime()),
)


def upgrade() -> None:
    op.add_column("app_user", sa.Column("phone", sa.String(length=40), nullable=False, server_default=""))
    op.add_column("app_user", sa.Column("email_verified_at", db.types.UtcDateTime(), nullable=True))
    op.add_column("app_user", sa.Column("anonymized_at", db.types.UtcDateTime(), nullable=True))
    op.execute(APP_USER.update().values(email_verified_at=APP_USER.c.created_at))
    with op.batch_alter_table("password_reset") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(length=16), nullable=False, server_default="password_reset")
        )
        batch.add_column(sa.Column("new_email", sa.String(length=254), nullable=True))
        batch.create_check_constraint("ck_password_reset_purpose", PURPOSES)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_APPEND_ONLY)
        op.execute(POSTGRES_ERASE)
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute(SQLITE_NO_UPDATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION rigbook_erase_user_audit(uuid, uuid)")
        op.execute(POSTGRES_APPEND_ONLY_BEFORE)
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute(SQLITE_NO_UPDATE_BEFORE)
    with op.batch_alter_table("password_reset") as batch:
        batch.drop_constraint("ck_password_reset_purpose", type_="check")
        batch.drop_column("new_email")
        batch.drop_column("purpose")
    op.drop_column("app_user", "anonymized_at")
    op.drop_column("app_user", "email_verified_at")
    op.drop_column("app_user", "phone")
