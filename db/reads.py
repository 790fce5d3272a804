"""A request's reads: one read-only transaction, opened on first use.

Every read of a GraphQL request goes through one ``Reads``: the same snapshot for
all its statements, the caller's tenant set for row-level security, and rows
whose columns read as attributes (``row.name``).

* PostgreSQL: a pooled connection is used through asyncpg directly
  (``db/compiled_reads.py``). The transaction starts with the tenant in one round
  trip, ``BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT set_config(...)``,
  so every statement of the request sees one snapshot and none can write. A
  connection found dead at that first round trip (a restarted server) is dropped
  and the transaction starts again on a fresh one: nothing had been sent yet.
* SQLite: a SQLAlchemy Core connection; its transaction gives the snapshot.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

if TYPE_CHECKING:
    from db.database import Database

StatementListener = Callable[[str], None]
"""Told the SQL of every statement a read sends (tests count them)."""


class Reads(Protocol):
    async def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        """The rows ``statement`` selects, in its order."""
        ...

    async def close(self) -> None:
        """End the transaction and give the connection back; safe to call twice."""
        ...


def require_select(statement: Executable) -> None:
    """Reads only read: on PostgreSQL the transaction would refuse a write, on SQLite this does."""
    if not getattr(statement, "is_select", False):
        raise TypeError(f"a read is a SELECT, not {type(statement).__name__}")


def begin_sql(tenant_id: uuid.UUID | None) -> str:
    # A simple-protocol query can carry two statements; the tenant is a UUID, so
    # its text form is safe to inline (the type is checked, not trusted).
    tenant = str(uuid.UUID(str(tenant_id))) if tenant_id is not None else ""
    return (
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
        f"SELECT set_config('app.tenant_id', '{tenant}', true)"
    )


class PostgresReads:
    def __init__(self, database: Database, tenant_id: uuid.UUID | None) -> None:
        self._database = database
        self._tenant_id = tenant_id
        self._pooled: PoolProxiedConnection | None = None
        self._driver: asyncpg.Connection | None = None

    async def _begin(self) -> asyncpg.Connection:
        begin = begin_sql(self._tenant_id)
        for attempt in range(2):
            pooled = await self._database.engine.raw_connection()
            driver: asyncpg.Connection = pooled.driver_connection
            try:
                await driver.execute(begin)
            except Exception:
                # A connection that died idle in the pool fails in many ways (closed,
                # terminated by the server, protocol state); nothing was sent yet, so
                # any failure here is worth one fresh connection.
                await discard(pooled)
                if attempt:
                    raise
                continue
            except BaseException:
                await discard(pooled)
                raise
            self._pooled, self._driver = pooled, driver
            self._database.statement_sent(begin)
            return driver
        raise AssertionError("unreachable")

    async def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        require_select(statement)
        driver = self._driver or await self._begin()
        read, sql, arguments = self._database.read_compiler.prepare(statement, params)
        self._database.statement_sent(sql)
        records = await driver.fetch(sql, *arguments, record_class=read.record_class)
        return read.rows(records)

    async def close(self) -> None:
        pooled, driver = self._pooled, self._driver
        self._pooled = self._driver = None
        if pooled is None or driver is None:
            return
        try:
            await driver.execute("ROLLBACK")
        except BaseException:
            # A connection whose state is unknown never goes back to the pool.
            await discard(pooled)
            raise
        await greenlet_spawn(pooled.close)


async def discard(pooled: PoolProxiedConnection) -> None:
    """Close a pooled connection for good instead of returning it."""
    await greenlet_spawn(pooled.invalidate)
    await greenlet_spawn(pooled.close)


class SqliteReads:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._connection: AsyncConnection | None = None

    async def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        require_select(statement)
        if self._connection is None:
            self._connection = await self._database.engine.connect()
        return (await self._connection.execute(statement, dict(params) if params else None)).all()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
