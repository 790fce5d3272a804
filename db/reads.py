"""A request's reads: one read-only transaction, opened on first use.

Every read of a GraphQL request goes through one ``Reads``: the same snapshot for
all its statements, the caller's tenant set for row-level security, and rows
whose columns read as attributes (``row.name``).

* PostgreSQL: a pooled connection is used through asyncpg directly
  (``db/compiled_reads.py``). The transaction starts with the tenant in one round
  trip, ``BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT set_config(...)``,
  so every statement of the request sees one snapshot and none can write. For a
  signed-in caller the second statement is ``rigbook_begin(...)`` instead, which
  sets the tenant and checks the caller's grant (``db/session_check.py``): refused,
  the transaction is rolled back, the connection kept, and ``SessionEnded`` raised.
  A connection found dead at that first round trip (a restarted server) is dropped
  and the transaction starts again on a fresh one: nothing had been sent yet.
  Connections that ended their read cleanly wait in ``KeptConnections`` for the
  next read instead of going back to SQLAlchemy's pool, whose checkout and
  checkin run through a greenlet each (~35 µs of CPU, about a tenth of ``me``).
* SQLite: a SQLAlchemy Core connection; its transaction gives the snapshot, and
  its first statement is the caller's check.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

from db.clock import utcnow
from db.compiled_reads import ReadCompiler
from db.session_check import SessionCheck, SessionEnded, is_session_ended, postgres_begin_call, sqlite_check

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


def begin_sql(tenant_id: uuid.UUID | None, check: SessionCheck | None = None) -> str:
    # A simple-protocol query can carry two statements; the tenant is a UUID, so
    # its text form is safe to inline (the type is checked, not trusted).
    begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
    if check is not None:
        return begin + postgres_begin_call(tenant_id, check)
    tenant = str(uuid.UUID(str(tenant_id))) if tenant_id is not None else ""
    return begin + f"SELECT set_config('app.tenant_id', '{tenant}', true)"


class KeptConnections:
    """Pooled connections between two reads, most recently used first.

    They stay checked out of SQLAlchemy's pool (at most ``limit``, below the pool's
    size, so writes always find connections there) and hold no transaction: a read
    ends with ``ROLLBACK`` before its connection is kept.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._idle: list[PoolProxiedConnection] = []

    def take(self) -> PoolProxiedConnection | None:
        return self._idle.pop() if self._idle else None

    def keep(self, pooled: PoolProxiedConnection) -> bool:
        """Keep ``pooled`` for the next read; ``False`` when enough are kept already."""
        if len(self._idle) >= self.limit:
            return False
        self._idle.append(pooled)
        return True

    async def release(self) -> None:
        """Give every kept connection back to the pool (before it is disposed)."""
        idle, self._idle = self._idle, []
        for pooled in idle:
            await greenlet_spawn(pooled.close)

    async def discard_all(self) -> None:
        """Close every kept connection: one was found dead, the others likely are too."""
        idle, self._idle = self._idle, []
        for pooled in idle:
            await discard(pooled)

    @property
    def idle(self) -> tuple[PoolProxiedConnection, ...]:
        """The kept connections, least recently used first."""
        return tuple(self._idle)

    def __len__(self) -> int:
        return len(self._idle)


@dataclass(frozen=True)
class ReadPool:
    """What reads use of the process's database (``db/database.py`` builds it once)."""

    engine: AsyncEngine
    compiler: ReadCompiler
    kept: KeptConnections
    # Reads that bypass SQLAlchemy's execution report their statements here.
    statement_sent: StatementListener


# Answers one shared read keeps at most (one change's worth of reads for many subscribers).
SHARED_ANSWERS_KEPT = 1024


class PostgresReads:
    def __init__(
        self,
        pool: ReadPool,
        tenant_id: uuid.UUID | None,
        check: SessionCheck | None = None,
        *,
        shared: bool = False,
    ) -> None:
        self._pool = pool
        self._tenant_id = tenant_id
        self._check = check
        self._pooled: PoolProxiedConnection | None = None
        self._driver: asyncpg.Connection | None = None
        # Shared by many readers (``Database.reads(shared=True)``): a statement sent again
        # with the same arguments is answered from the first answer.
        self._answers: dict[tuple[str, tuple[Any, ...]], Sequence[Any]] | None = {} if shared else None

    async def _begin(self) -> asyncpg.Connection:
        begin = begin_sql(self._tenant_id, self._check)
        kept = self._pool.kept
        for attempt in range(2):
            # The second attempt always takes a connection fresh from the pool.
            pooled = (kept.take() if not attempt else None) or await self._pool.engine.raw_connection()
            driver: asyncpg.Connection = pooled.driver_connection
            try:
                await driver.execute(begin)
            except Exception as error:
                if is_session_ended(error):
                    self._pool.statement_sent(begin)
                    # A refusal, not a fault: the connection is sound once rolled back.
                    await self._give_back(pooled, driver)
                    raise SessionEnded() from None
                # A connection that died idle in the pool fails in many ways (closed,
                # terminated by the server, protocol state); nothing was sent yet, so
                # any failure here is worth one fresh connection.
                await discard(pooled)
                await kept.discard_all()
                if attempt:
                    raise
                continue
            except BaseException:
                await discard(pooled)
                raise
            self._pooled, self._driver = pooled, driver
            self._pool.statement_sent(begin)
            return driver
        raise AssertionError("unreachable")

    async def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        require_select(statement)
        driver = self._driver or await self._begin()
        read, sql, arguments = self._pool.compiler.prepare(statement, params)
        answers = self._answers
        frozen = _frozen(arguments) if answers is not None else None
        key = (sql, frozen) if frozen is not None else None
        if answers is not None and key is not None:
            answered = answers.get(key)
            if answered is not None:
                return answered
        self._pool.statement_sent(sql)
        records = await driver.fetch(sql, *arguments, record_class=read.record_class)
        found = read.rows(records)
        if answers is not None and key is not None and len(answers) < SHARED_ANSWERS_KEPT:
            answers[key] = found
        return found

    async def close(self) -> None:
        pooled, driver = self._pooled, self._driver
        self._pooled = self._driver = None
        if pooled is None or driver is None:
            return
        await self._give_back(pooled, driver)

    async def _give_back(self, pooled: PoolProxiedConnection, driver: asyncpg.Connection) -> None:
        """End the transaction and keep the connection for the next read (or pool it)."""
        try:
            await driver.execute("ROLLBACK")
        except BaseException:
            # A connection whose state is unknown never goes back to the pool.
            await discard(pooled)
            raise
        if not self._pool.kept.keep(pooled):
            await greenlet_spawn(pooled.close)


def _frozen(arguments: Sequence[Any]) -> tuple[Any, ...] | None:
    """``arguments`` as a key (array arguments as tuples), or None if one cannot be."""
    frozen = tuple(tuple(each) if isinstance(each, list) else each for each in arguments)
    try:
        hash(frozen)
    except TypeError:
        return None
    return frozen


async def discard(pooled: PoolProxiedConnection) -> None:
    """Close a pooled connection for good instead of returning it."""
    await greenlet_spawn(pooled.invalidate)
    await greenlet_spawn(pooled.close)


class SqliteReads:
    def __init__(
        self, engine: AsyncEngine, tenant_id: uuid.UUID | None = None, check: SessionCheck | None = None
    ) -> None:
        self._engine = engine
        self._tenant_id = tenant_id
        self._check = check
        self._connection: AsyncConnection | None = None

    async def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        require_select(statement)
        connection = self._connection or await self._begin()
        return (await connection.execute(statement, dict(params) if params else None)).all()

    async def _begin(self) -> AsyncConnection:
        connection = await self._engine.connect()
        try:
            if self._check is not None:
                found = await connection.execute(sqlite_check(self._tenant_id, self._check, utcnow()))
                if found.first() is None:
                    raise SessionEnded()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        return connection

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
