"""Engine, sessions and transactions, the same code path for SQLite and PostgreSQL.

Every session carries the caller's tenant in ``session.info``; on PostgreSQL each
transaction starts with ``set_config('app.tenant_id', ..., true)`` (transaction-local,
so safe behind PgBouncer transaction pooling) for row-level security. A session
opened for a signed-in caller also carries a ``SessionCheck``: its transactions
start with the check instead (``db/session_check.py``), which sets the tenant too,
and one whose caller's grant has ended raises ``SessionEnded`` before any work.
On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so that concurrent
writers queue on the database lock instead of failing halfway. On PostgreSQL a
write transaction is begun and ended by ``db/writes.py`` on the asyncpg connection
(``BEGIN`` and the tenant or the check in one round trip); the session's adapter
runs in autocommit mode inside it, and the statements a write sends past the unit
of work go there too.

A request's reads go through ``reads()`` (``db/reads.py``): one read-only
transaction, on PostgreSQL straight on the asyncpg connection. On PostgreSQL,
IN lists compile to one array parameter (``db/in_lists.py``), on every path.

Connections are not pinged when they leave the pool (that costs a round trip
per checkout). Instead every transaction connects eagerly, and one whose first
round trip finds its connection dead (a restarted server) starts again once on
a fresh connection; SQLAlchemy then replaces the rest of the stale pool.

A request waits at most ``pool_timeout`` for a connection, whether it waits for
one to come back to an exhausted pool or for a new one to be opened; then
``sqlalchemy.exc.TimeoutError`` or the driver's ``TimeoutError`` ends the wait, and
the request is answered 503 SERVICE_UNAVAILABLE (``schema/masking.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, QueuePool

from db import writes
from db.clock import utcnow
from db.compiled_reads import ReadCompiler
from db.in_lists import use_arrays_for_in_lists
from db.reads import KeptConnections, PostgresReads, ReadPool, Reads, SqliteReads, StatementListener
from db.session_check import SessionCheck, SessionEnded, is_session_ended, postgres_begin, sqlite_check
from db.writes import WRITE_INFO_KEY, WriteConnection

TENANT_INFO_KEY = "tenant_id"
CHECK_INFO_KEY = "session_check"
# Where a SQLite session's committed domain events go in this process (``db/live.py``).
LIVE_FEED_INFO_KEY = "live_feed"
_WRITE_OPTION = "rigbook_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
POOL_SIZE = 10
POOL_OVERFLOW = 10
POOL_TIMEOUT_SECONDS = 3.0


def is_sqlite_url(url: str) -> bool:
    return url.startswith("sqlite")


def _engine_for(url: str, statement_timeout_ms: int, connect_timeout: float, **kwargs: Any) -> AsyncEngine:
    if is_sqlite_url(url):
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    # Runaway statements are cancelled by the server instead of holding a connection.
    server_settings = {"statement_timeout": str(statement_timeout_ms)} if statement_timeout_ms else {}
    # A server that accepts the connection but never answers costs no more than a busy pool.
    engine = create_async_engine(
        url, connect_args={"server_settings": server_settings, "timeout": connect_timeout}, **kwargs
    )
    # IN lists as one array parameter, for every statement (``db/in_lists.py``).
    use_arrays_for_in_lists(engine.dialect)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower() folds ASCII only; searches must fold "Ü" as PostgreSQL does.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class TenantSession(Session):
    """A session whose transactions carry ``session.info["tenant_id"]`` to PostgreSQL."""


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


@event.listens_for(TenantSession, "after_begin")
def _set_tenant_on_begin(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    tenant_id = session.info.get(TENANT_INFO_KEY)
    check: SessionCheck | None = session.info.get(CHECK_INFO_KEY)
    if connection.dialect.name != "postgresql":
        if check is not None and connection.execute(sqlite_check(tenant_id, check, utcnow())).first() is None:
            raise SessionEnded()
        return
    if WRITE_INFO_KEY in session.info:
        # BEGIN and the tenant (or the check) in one round trip (``db/writes.py``).
        writes.begin(session, connection, tenant_id, check)
        return
    if check is None:
        connection.execute(
            text("SELECT set_config('app.tenant_id', :tid, true)"),
            {"tid": str(tenant_id) if tenant_id is not None else ""},
        )
        return
    try:
        connection.execute(*postgres_begin(tenant_id, check))
    except DBAPIError as error:
        if is_session_ended(error):
            raise SessionEnded() from None
        raise


class Database:
    """The engine and session factories; created once per process in the lifespan."""

    def __init__(
        self,
        url: str,
        *,
        statement_timeout_ms: int = 0,
        pool_size: int = POOL_SIZE,
        max_overflow: int = POOL_OVERFLOW,
        pool_timeout: float = POOL_TIMEOUT_SECONDS,
        listen_url: str | None = None,
        **engine_kwargs: Any,
    ) -> None:
        self.url = url
        # Where ``LISTEN`` connections go (``db/listening.py``); None: where the pool goes.
        self.listen_url = listen_url
        # SQLite: what takes the domain events a transaction committed (``db/live.py``).
        self.local_feeds: list[Callable[[Sequence[Any]], None]] = []
        self.engine = _engine_for(
            url,
            statement_timeout_ms,
            pool_timeout,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            **engine_kwargs,
        )
        # Readiness probes connect on their own (``web/health.py``), never through the pool.
        self._probes = _engine_for(
            url, statement_timeout_ms, pool_timeout, poolclass=NullPool, **engine_kwargs
        )
        self.is_sqlite = is_sqlite_url(url)
        self._read_sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=TenantSession
        )
        # On PostgreSQL the adapter sends no BEGIN of its own: ``db/writes.py`` opens
        # and ends write transactions, with the tenant in the same round trip.
        write_options: dict[str, Any] = {_WRITE_OPTION: True}
        if not self.is_sqlite:
            write_options["isolation_level"] = "AUTOCOMMIT"
        self._write_sessions = async_sessionmaker(
            self.engine.execution_options(**write_options),
            expire_on_commit=False,
            sync_session_class=TenantSession,
        )
        self.read_compiler = ReadCompiler(self.engine.dialect)
        self.statement_listeners: list[StatementListener] = []
        # Connections kept between request reads (``db/reads.py``): half the pool, the
        # rest is always there for writes.
        self.kept_reads = KeptConnections(pool_size // 2)
        self._read_pool = ReadPool(self.engine, self.read_compiler, self.kept_reads, self.statement_sent)

    def reads(
        self, tenant_id: uuid.UUID | None, check: SessionCheck | None = None, *, shared: bool = False
    ) -> Reads:
        """The reads of one request, in one read-only transaction opened on first use.

        ``shared``: read for many readers at once (live updates, ``resolvers/live/fanout.py``),
        whose statements repeat: on PostgreSQL a statement sent again with the same
        arguments is answered from the first answer, in the same snapshot.
        """
        if self.is_sqlite:
            return SqliteReads(self.engine, tenant_id, check)
        return PostgresReads(self._read_pool, tenant_id, check, shared=shared)

    def statement_sent(self, sql: str) -> None:
        """Reads that bypass SQLAlchemy's execution report their statements here."""
        for listener in self.statement_listeners:
            listener(sql)

    @asynccontextmanager
    async def session(
        self, tenant_id: uuid.UUID | None, check: SessionCheck | None = None
    ) -> AsyncIterator[AsyncSession]:
        """An ORM session for reads, in a transaction that is rolled back at the end."""
        session = await self._connected(self._read_sessions, tenant_id, check)
        try:
            yield session
        finally:
            await session.close()

    @asynccontextmanager
    async def transaction(
        self, tenant_id: uuid.UUID | None, check: SessionCheck | None = None
    ) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed on success, rolled back on any exception."""
        session = await self._connected(self._write_sessions, tenant_id, check, write=True)
        try:
            try:
                yield session
                await session.flush()
                await writes.end(session, commit=True)
            except BaseException:
                try:
                    await writes.end(session, commit=False)
                finally:
                    await session.rollback()
                raise
            # Nothing left to send: the session's own commit runs its hooks (live notices, queue wake-ups).
            await session.commit()
        finally:
            await session.close()

    async def _connected(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tenant_id: uuid.UUID | None,
        check: SessionCheck | None,
        *,
        write: bool = False,
    ) -> AsyncSession:
        """A session whose transaction has begun on a live connection (retried once)."""
        for attempt in range(2):
            session = sessions()
            session.info[TENANT_INFO_KEY] = tenant_id
            session.info[CHECK_INFO_KEY] = check
            session.info[LIVE_FEED_INFO_KEY] = self.local_feeds or None
            if write and not self.is_sqlite:
                session.info[WRITE_INFO_KEY] = WriteConnection(self.read_compiler, self.statement_sent)
            try:
                await session.connection()
            except SessionEnded:
                await session.close()  # rolls the refused transaction back; the connection is sound
                raise
            except Exception as error:
                # Only BEGIN (and the tenant) was sent: one fresh connection is safe to try.
                # (A SQLite file has no connection to lose; its busy wait is already spent.
                # No connection came at all: a second wait would only double the first.)
                await session.close()
                if attempt or self.is_sqlite or isinstance(error, PoolTimeout | TimeoutError):
                    raise
                continue
            except BaseException:
                await session.close()
                raise
            return session
        raise AssertionError("unreachable")

    async def ping(self) -> None:
        """One round trip on a new connection: does the database answer, however busy the pool."""
        async with self._probes.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def revision(self) -> str | None:
        """The migration the database is at, asked like ``ping`` on a connection of its own."""
        async with self._probes.connect() as connection:
            return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()

    def pool_use(self) -> dict[str, int]:
        """The connection pool's size and what requests hold of it now."""
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):
            return {}
        return {"size": pool.size(), "checkedOut": pool.checkedout(), "overflow": max(pool.overflow(), 0)}

    async def dispose(self) -> None:
        await self.kept_reads.release()
        await self.engine.dispose()
        await self._probes.dispose()
