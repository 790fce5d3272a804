"""PostgreSQL row-level security: even an unscoped query sees only the caller's tenant."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from auth.services import Services
from tests.api import TenantUsers

pytestmark = pytest.mark.usefixtures("postgres_only")


async def test_the_server_does_not_connect_as_a_superuser(services: Services) -> None:
    async with services.database.engine.connect() as connection:
        assert (
            await connection.execute(text("SELECT current_setting('is_superuser')"))
        ).scalar_one() == "off"


async def test_every_tenant_owned_table_forces_its_tenant_policy(services: Services) -> None:
    """Tenant-owned = ``tenant_id`` in the primary key (the outbox only notes a tenant)."""
    query = text(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'tenant_isolation')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'r'
          AND EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                      WHERE i.indrelid = c.oid AND i.indisprimary AND a.attname = 'tenant_id')
        """
    )
    async with services.database.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    assert len(rows) >= 8
    assert [row[0] for row in rows if not (row[1] and row[2] and row[3])] == []


async def test_an_unscoped_query_returns_only_the_current_tenants_rows(
    services: Services, esr: TenantUsers, cmh: TenantUsers
) -> None:
    async with services.database.session(cmh.tenant.id) as session:
        emails = set((await session.execute(text("SELECT email FROM app_user"))).scalars())
    assert emails == {cmh.admin.email, cmh.manager.email, cmh.staff.email, cmh.customer.email}


async def test_without_a_tenant_no_tenant_owned_rows_are_visible(
    services: Services, esr: TenantUsers
) -> None:
    async with services.database.session(None) as session:
        assert (await session.execute(text("SELECT count(*) FROM app_user"))).scalar_one() == 0
        assert (await session.execute(text("SELECT count(*) FROM tenant"))).scalar_one() >= 1


async def test_rows_cannot_be_written_into_another_tenant(
    services: Services, esr: TenantUsers, cmh: TenantUsers
) -> None:
    with pytest.raises(DBAPIError, match="row-level security"):
        async with services.database.transaction(cmh.tenant.id) as session:
            await session.execute(
                text(
                    "INSERT INTO equipment (tenant_id, id, name, code, category, description, tags, tracking, quantity,"
                    " buffer_before, buffer_after, status, created_at, updated_at) VALUES (:tenant, :id, 'x', 'x', '', '',"
                    " '[]', 'BULK', 1, 0, 0, 'ACTIVE', now(), now())"
                ),
                {"tenant": esr.tenant.id, "id": uuid.uuid4()},
            )


async def test_updates_cannot_reach_another_tenants_rows(
    services: Services, esr: TenantUsers, cmh: TenantUsers
) -> None:
    async with services.database.transaction(cmh.tenant.id) as session:
        result = await session.execute(
            text("UPDATE app_user SET name = 'pwned' WHERE tenant_id = :t"), {"t": esr.tenant.id}
        )
        assert result.rowcount == 0  # type: ignore[attr-defined]
    async with services.database.session(esr.tenant.id) as session:
        names = set((await session.execute(text("SELECT name FROM app_user"))).scalars())
    assert "pwned" not in names
