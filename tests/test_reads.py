"""A request's reads: one read-only snapshot, rows by attribute, connections that recover."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import bindparam, func, insert, select
from sqlmodel import col

from auth.services import Services
from db.database import Database
from db.reads import begin_sql
from db.scoped import one_of, records
from db.tables import Tenant
from resolvers.context import Context
from schema.masking import is_statement_timeout
from tests.databases import _asyncpg_dsn


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def add_tenant(database: Database, slug: str) -> uuid.UUID:
    async with database.transaction(None) as session:
        tenant = Tenant(slug=slug, name=slug.upper())
        session.add(tenant)
        await session.flush()
        return tenant.id


def postgres_only(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("a PostgreSQL connection property")


async def read_one(database: Database, tenant_id: uuid.UUID | None, statement: Any) -> Any:
    reads = database.reads(tenant_id)
    try:
        return (await reads.rows(statement))[0]
    finally:
        await reads.close()


async def test_rows_read_columns_as_attributes_and_by_position(database: Database) -> None:
    tenant_id = await add_tenant(database, "attrs")
    reads = database.reads(None)
    try:
        (row,) = await reads.rows(records(Tenant, ["id", "slug", "name"]).where(col(Tenant.id) == tenant_id))
    finally:
        await reads.close()
    assert (row.id, row.slug, row.name) == (tenant_id, "attrs", "ATTRS")
    assert (row[0], row[1], row[2]) == (tenant_id, "attrs", "ATTRS")
    assert isinstance(row.id, uuid.UUID)


async def test_named_parameters_and_lists_of_ids(database: Database) -> None:
    ids = [await add_tenant(database, slug) for slug in ("p1", "p2", "p3")]
    statement = (
        records(Tenant, ["slug"])
        .where(one_of(col(Tenant.id), [ids[0], ids[2]], array=not database.is_sqlite))
        .where(col(Tenant.name) != bindparam("skip"))
        .order_by(col(Tenant.slug))
    )
    reads = database.reads(None)
    try:
        assert [row.slug for row in await reads.rows(statement, {"skip": "P3"})] == ["p1"]
        assert [row.slug for row in await reads.rows(statement, {"skip": "nothing"})] == ["p1", "p3"]
        expanding = records(Tenant, ["slug"]).where(col(Tenant.id).in_(ids[1:])).order_by(col(Tenant.slug))
        assert [row.slug for row in await reads.rows(expanding)] == ["p2", "p3"]
    finally:
        await reads.close()


async def test_all_reads_of_a_request_see_one_snapshot(database: Database) -> None:
    await add_tenant(database, "before")
    count = select(func.count().label("n")).select_from(Tenant)
    reads = database.reads(None)
    try:
        assert (await reads.rows(count))[0].n == 1
        await add_tenant(database, "meanwhile")
        assert (await reads.rows(count))[0].n == 1
    finally:
        await reads.close()
    fresh = database.reads(None)
    try:
        assert (await fresh.rows(count))[0].n == 2
    finally:
        await fresh.close()


async def test_only_selects_are_reads(database: Database) -> None:
    reads = database.reads(None)
    try:
        with pytest.raises(TypeError, match="SELECT"):
            await reads.rows(insert(Tenant).values(slug="nope", name="Nope"))
    finally:
        await reads.close()


async def test_the_read_transaction_is_read_only_and_carries_the_tenant(database: Database) -> None:
    postgres_only(database)
    tenant_id = uuid.uuid4()
    setting = select(func.current_setting("app.tenant_id").label("tenant"))
    read_only = select(func.current_setting("transaction_read_only").label("read_only"))
    isolation = select(func.current_setting("transaction_isolation").label("isolation"))
    reads = database.reads(tenant_id)
    try:
        assert (await reads.rows(setting))[0].tenant == str(tenant_id)
        assert (await reads.rows(read_only))[0].read_only == "on"
        assert (await reads.rows(isolation))[0].isolation == "repeatable read"
    finally:
        await reads.close()


def test_the_tenant_is_inlined_only_as_a_uuid() -> None:
    tenant_id = uuid.uuid4()
    assert f"set_config('app.tenant_id', '{tenant_id}', true)" in begin_sql(tenant_id)
    assert "set_config('app.tenant_id', '', true)" in begin_sql(None)
    with pytest.raises(ValueError, match="UUID"):
        begin_sql("x', true); DROP TABLE tenant; --")  # type: ignore[arg-type]


async def pool_connection_in_transaction(database: Database) -> bool:
    """Whether a connection the next read could get (kept, or from the pool) holds a transaction."""
    kept: list[asyncpg.Connection] = [pooled.driver_connection for pooled in database.kept_reads.idle]
    if any(driver.is_in_transaction() for driver in kept):
        return True
    pooled = await database.engine.raw_connection()
    try:
        driver: asyncpg.Connection = pooled.driver_connection
        return bool(driver.is_in_transaction())
    finally:
        pooled.close()


COUNT_TENANTS = select(func.count().label("n")).select_from(Tenant)


async def test_a_read_cancelled_mid_statement_never_returns_its_transaction(database: Database) -> None:
    postgres_only(database)
    reads = database.reads(None)
    task = asyncio.create_task(reads.rows(select(func.pg_sleep(5).label("slept"))))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Closing may fail on the interrupted connection; it is discarded either way.
    with contextlib.suppress(Exception):
        await reads.close()
    for _ in range(3):
        assert not await pool_connection_in_transaction(database)
    assert (await read_one(database, None, COUNT_TENANTS)).n == 0


async def terminate_other_backends(database_url: str) -> int:
    connection = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        terminated: int = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return terminated
    finally:
        await connection.close()


async def test_connections_killed_while_idle_are_replaced_without_a_failed_request(
    database: Database, database_url: str
) -> None:
    postgres_only(database)
    tenant_id = await add_tenant(database, "survivor")
    statement = records(Tenant, ["slug"]).where(col(Tenant.id) == tenant_id)

    async def read() -> str:
        reads = database.reads(tenant_id)
        try:
            return str((await reads.rows(statement))[0].slug)
        finally:
            await reads.close()

    assert await read() == "survivor"
    assert await terminate_other_backends(database_url) >= 1
    # The pooled connection is dead; the read starts over on a fresh one.
    assert await read() == "survivor"

    await terminate_other_backends(database_url)
    async with database.transaction(None) as session:
        session.add(Tenant(slug="after-restart", name="After"))

    await terminate_other_backends(database_url)
    async with database.session(None) as session:
        assert (await session.scalars(select(col(Tenant.slug)).order_by(col(Tenant.slug)))).all() == [
            "after-restart",
            "survivor",
        ]


async def test_a_statement_timeout_in_a_read_is_recognised_and_the_pool_recovers(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("statement_timeout is a PostgreSQL setting")
    database = Database(database_url, statement_timeout_ms=100)
    try:
        reads = database.reads(None)
        try:
            with pytest.raises(asyncpg.exceptions.QueryCanceledError) as raised:
                await reads.rows(select(func.pg_sleep(2).label("slept")))
        finally:
            await reads.close()
        assert is_statement_timeout(raised.value)
        assert not await pool_connection_in_transaction(database)
        assert (await read_one(database, None, COUNT_TENANTS)).n == 0
    finally:
        await database.dispose()


SETTING_AND_BACKEND = select(
    func.current_setting("app.tenant_id", True).label("tenant"), func.pg_backend_pid().label("pid")
)


async def test_a_kept_connection_serves_the_next_read_with_no_transaction_or_tenant_left(
    database: Database,
) -> None:
    postgres_only(database)
    tenant_id = await add_tenant(database, "kept")
    first = await read_one(database, tenant_id, SETTING_AND_BACKEND)
    assert first.tenant == str(tenant_id)
    (kept,) = database.kept_reads.idle
    driver: asyncpg.Connection = kept.driver_connection
    assert not driver.is_in_transaction()
    # The next read, for no tenant, reuses the connection and sees none of the last one's tenant.
    second = await read_one(database, None, SETTING_AND_BACKEND)
    assert second.pid == first.pid
    assert second.tenant == ""
    other = await add_tenant(database, "other")
    third = await read_one(database, other, SETTING_AND_BACKEND)
    assert (third.pid, third.tenant) == (first.pid, str(other))


async def test_no_more_connections_are_kept_than_the_limit(database: Database) -> None:
    postgres_only(database)
    pool = database.engine.sync_engine.pool
    limit = database.kept_reads.limit
    readers = [database.reads(None) for _ in range(limit + 3)]
    try:
        pids = [(await reads.rows(SETTING_AND_BACKEND))[0].pid for reads in readers]
    finally:
        for reads in readers:
            await reads.close()
    assert len(set(pids)) == limit + 3  # concurrent reads never share a connection
    assert len(database.kept_reads) == limit
    assert pool.checkedout() == limit  # type: ignore[attr-defined]
    await database.kept_reads.release()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_disposing_the_database_gives_kept_connections_back(database_url: str) -> None:
    database = Database(database_url)
    if database.is_sqlite:
        await database.dispose()
        pytest.skip("a PostgreSQL connection property")
    await read_one(database, None, SETTING_AND_BACKEND)
    assert len(database.kept_reads) == 1
    await database.dispose()
    assert len(database.kept_reads) == 0
    assert database.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_kept_connections_killed_while_idle_are_all_dropped_at_the_first_failure(
    database: Database, database_url: str
) -> None:
    postgres_only(database)
    readers = [database.reads(None) for _ in range(3)]
    try:
        for reads in readers:
            await reads.rows(SETTING_AND_BACKEND)
    finally:
        for reads in readers:
            await reads.close()
    dead = {pooled.driver_connection for pooled in database.kept_reads.idle}
    assert len(dead) == 3
    assert await terminate_other_backends(database_url) >= 3
    # One read meets a dead connection, drops all three and starts over on a fresh one.
    assert (await read_one(database, None, SETTING_AND_BACKEND)).tenant == ""
    (kept,) = database.kept_reads.idle
    assert kept.driver_connection not in dead


async def test_a_request_context_reads_nothing_once_it_is_closed(services: Services) -> None:
    context = Context(services, principal=None)
    assert (await context.first(COUNT_TENANTS)).n >= 0
    await context.close()
    # A loader batch still running when the request ends must not open a read nobody closes.
    with pytest.raises(RuntimeError, match="the request has ended"):
        await context.rows(COUNT_TENANTS)
    if not services.database.is_sqlite:
        assert not await pool_connection_in_transaction(services.database)
