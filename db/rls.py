"""Row-level security on PostgreSQL: a second wall behind the scoped queries.

Every tenant-owned table gets one policy: rows are visible and writable only
when their ``tenant_id`` equals the transaction's ``app.tenant_id`` (set with
``set_config(..., true)`` at the start of each transaction, see db/database.py).
FORCE makes the policy apply to the table owner too; superusers still bypass
it, so the server must not connect as one.
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op

POLICY = "tenant_isolation"
# Wrapped in a sub-select so PostgreSQL evaluates it once per statement, not per row.
CURRENT_TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"


def enable_tenant_rls(tables: Iterable[str]) -> None:
    """Turn on the tenant policy for ``tables`` (a no-op on SQLite)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON {table} "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )


def disable_tenant_rls(tables: Iterable[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
