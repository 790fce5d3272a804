"""A write transaction's own round trips, and its statements that bypass the unit of work.

Every write transaction is an ORM session (``Database.transaction()``). On
PostgreSQL its connection runs with the driver adapter in autocommit mode, so
the adapter never sends a ``BEGIN`` of its own: the transaction is opened here,
``BEGIN; SELECT rigbook_begin(...)`` (or the tenant's ``set_config``) in one
round trip of the simple protocol, and ended here with ``COMMIT`` or
``ROLLBACK``, both straight on the asyncpg connection. The unit of work's
statements run inside it as before.

Core statements a write sends without the unit of work (the booking's lock, its
holds, the next number, the customer check, ``db/inserts.py``'s one INSERT) go
through ``rows`` and ``execute``: on PostgreSQL straight on the same asyncpg
connection, compiled once through ``db/compiled_reads.py`` (SQLAlchemy's
Session → connection → greenlet → cursor adapter costs more per statement than
the round trip itself); on SQLite on the session's connection. They are not
autoflushed, exactly as ``session.connection().execute`` is not.

A constraint the server refuses surfaces as SQLAlchemy's ``IntegrityError``, as
it would through SQLAlchemy (a lost idempotency-key race is caught as one); other
driver errors surface as asyncpg raises them, as on the read path
(``schema/masking.py`` maps outages and timeouts either way).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.util import await_

from db.compiled_reads import ReadCompiler
from db.session_check import SessionCheck, SessionEnded, is_session_ended, postgres_begin_call

WRITE_INFO_KEY = "rigbook_write_connection"

StatementListener = Callable[[str], None]


def write_begin_sql(tenant_id: uuid.UUID | None, check: SessionCheck | None) -> str:
    """``BEGIN`` and the tenant (or the caller's check, which sets it) as one simple-protocol query."""
    if check is not None:
        return "BEGIN; " + postgres_begin_call(tenant_id, check)
    # The tenant is a UUID: re-parsed, so its text form is safe to inline.
    tenant = str(uuid.UUID(str(tenant_id))) if tenant_id is not None else ""
    return f"BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true)"


@dataclass
class WriteConnection:
    """What a PostgreSQL write session knows of its transaction (in ``session.info``)."""

    compiler: ReadCompiler
    statement_sent: StatementListener
    driver: asyncpg.Connection | None = None
    # A transaction was begun and has not been ended yet.
    open: bool = False


def begin(
    session: Session, connection: Connection, tenant_id: uuid.UUID | None, check: SessionCheck | None
) -> None:
    """Open the write transaction on ``connection`` (inside the session's greenlet, from its ``after_begin``).

    Refused by the caller's check: rolled back, the connection sound, ``SessionEnded``.
    Any other failure: the connection is invalidated (nothing was sent before; the
    caller may start again on a fresh one).
    """
    state: WriteConnection = session.info[WRITE_INFO_KEY]
    driver: asyncpg.Connection = connection.connection.driver_connection
    sql = write_begin_sql(tenant_id, check)
    try:
        await_(driver.execute(sql))
    except Exception as error:
        if is_session_ended(error):
            state.statement_sent(sql)
            try:
                await_(driver.execute("ROLLBACK"))
            except BaseException:
                connection.invalidate()
                raise
            raise SessionEnded() from None
        connection.invalidate()
        raise
    except BaseException:
        # Cancelled mid-way: whether the transaction began is unknown.
        connection.invalidate()
        raise
    state.driver, state.open = driver, True
    state.statement_sent(sql)


def _state(session: AsyncSession) -> WriteConnection | None:
    state: WriteConnection | None = session.info.get(WRITE_INFO_KEY)
    return state if state is not None and state.driver is not None else None


async def end(session: AsyncSession, *, commit: bool) -> None:
    """``COMMIT`` or ``ROLLBACK`` the PostgreSQL transaction (nothing on SQLite: the session ends it).

    A connection whose transaction could not be ended is closed for good: it never
    goes back to the pool inside a transaction (with another caller's tenant set).
    """
    state = _state(session)
    if state is None or not state.open or state.driver is None:
        return
    state.open = False
    try:
        await state.driver.execute("COMMIT" if commit else "ROLLBACK")
    except asyncpg.IntegrityConstraintViolationError as error:
        # A deferred constraint refused at COMMIT: the server rolled back already.
        raise IntegrityError("COMMIT", None, error) from error
    except BaseException:
        if commit and not state.driver.is_closed() and not state.driver.is_in_transaction():
            raise  # refused at COMMIT and rolled back by the server; the connection is sound
        state.driver.terminate()
        with contextlib.suppress(Exception):
            await (await session.connection()).invalidate()
        raise


async def rows(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None
) -> Sequence[Any]:
    """The rows of ``statement`` (a SELECT, or a change with RETURNING) in the session's transaction.

    Rows read their columns as attributes (``row.id``) and by position.
    """
    state = _state(session)
    if state is None:
        connection = await session.connection()
        return (await connection.execute(statement, dict(params) if params else None)).all()
    read, sql, arguments = state.compiler.prepare(statement, params)
    state.statement_sent(sql)
    driver = state.driver
    if driver is None:
        raise RuntimeError("a write transaction has begun before its statements")
    try:
        records = await driver.fetch(sql, *arguments, record_class=read.record_class)
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(sql, arguments, error) from error
    return read.rows(records)


async def execute(session: AsyncSession, sql: str, arguments: Sequence[Any]) -> None:
    """Run PostgreSQL ``sql`` with positional ``arguments`` ($1, $2, ...) in the session's transaction."""
    state = _state(session)
    if state is None:
        connection = await session.connection()
        await connection.exec_driver_sql(sql, tuple(arguments))
        return
    state.statement_sent(sql)
    driver = state.driver
    if driver is None:
        raise RuntimeError("a write transaction has begun before its statements")
    try:
        await driver.execute(sql, *arguments)
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(sql, arguments, error) from error
