"""New rows written without the ORM's unit of work: fewer statements, less Python.

A booking inserts a reservation, its lines and their audit events. Through the
unit of work that is four statements (each table, and each flush's audit events)
and a large share of the booking's CPU: identity map, state tracking, one flush
plan per flush. ``insert_new`` writes rows that are new and complete (every value
set, as their model's constructor leaves them) with the same audit events the
unit of work would record (``db/audit.py``), in the caller's transaction:

* PostgreSQL: one statement for everything. Each table's rows are one
  ``INSERT ... SELECT * FROM unnest($1::T1[], $2::T2[], ...)`` in a data-modifying
  ``WITH`` clause: one array parameter per column, however many rows, so the SQL
  is the same for one line or a thousand and is built once per set of tables.
  Foreign keys are checked at the statement's end, so a line may reference a
  reservation inserted beside it.
* SQLite: one ``executemany`` of SQLAlchemy's own INSERT per table, in order.

The rows are not added to the session: they are values, as the caller built them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import sqltypes
from sqlmodel import SQLModel

from db import writes
from db.audit import announcements, created_events
from db.caches import bounded
from db.queue import note_added

Processor = Callable[[Any], Any]


def _table(rows: Sequence[SQLModel]) -> Table:
    table: Table = rows[0].__table__  # type: ignore[attr-defined]
    if any(row.__table__ is not table for row in rows):  # type: ignore[attr-defined]
        raise TypeError("one batch holds the rows of one table")
    return table


@bounded(maxsize=64)
def _fills(table: Table) -> dict[str, Callable[[], Any]]:
    """What a ``None`` in each NOT NULL column with a default becomes: the default.

    The unit of work leaves such a column out of its INSERT, so that the default
    applies; an explicit ``None`` here would be a NULL the column refuses.
    """
    fills: dict[str, Callable[[], Any]] = {}
    for column in table.columns:
        default = column.default
        if column.nullable or default is None:
            continue
        if default.is_scalar:
            fills[column.key] = functools.partial(_same, default.arg)  # type: ignore[attr-defined]
        elif default.is_callable:
            fills[column.key] = functools.partial(default.arg, None)  # type: ignore[attr-defined]
    return fills


def _same(value: Any) -> Any:
    return value


def _column_values(rows: Sequence[SQLModel], key: str, fill: Callable[[], Any] | None) -> list[Any]:
    values = [getattr(row, key) for row in rows]
    if fill is not None and None in values:
        values = [fill() if value is None else value for value in values]
    return values


def _array_type(column: Column[Any], dialect: Dialect) -> str:
    if column.type._type_affinity is sqltypes.String:
        # An explicit cast to VARCHAR(64)[] would silently cut longer values; the
        # column's own length still refuses them on insert.
        return "VARCHAR[]"
    return f"{dialect.type_compiler_instance.process(column.type)}[]"


@dataclass(frozen=True)
class _PostgresInsert:
    """The one statement inserting rows of ``tables``, and how each column's values are bound."""

    sql: str
    tables: tuple[Table, ...]
    columns: tuple[tuple[tuple[str, Processor | None], ...], ...]
    """Per table, per column: its attribute name and its type's bind processor."""

    def arguments(self, batches: Sequence[Sequence[SQLModel]]) -> tuple[list[Any], ...]:
        arguments: list[list[Any]] = []
        for table, columns, rows in zip(self.tables, self.columns, batches, strict=True):
            fills = _fills(table)
            for key, process in columns:
                values = _column_values(rows, key, fills.get(key))
                arguments.append(values if process is None else [process(value) for value in values])
        return tuple(arguments)


@bounded(maxsize=64)
def _postgres_insert(tables: tuple[Table, ...], dialect: Dialect) -> _PostgresInsert:
    """The statement for a set of tables: built once, as its SQL never depends on row counts."""
    quote = dialect.identifier_preparer
    parts: list[str] = []
    columns: list[tuple[tuple[str, Processor | None], ...]] = []
    position = 0
    for index, table in enumerate(tables):
        names = ", ".join(quote.quote(column.name) for column in table.columns)
        arrays = []
        for column in table.columns:
            position += 1
            arrays.append(f"${position}::{_array_type(column, dialect)}")
        parts.append(
            f"inserted_{index} AS (INSERT INTO {quote.format_table(table)} ({names}) "
            f"SELECT * FROM unnest({', '.join(arrays)}))"
        )
        columns.append(
            tuple((column.key, column.type._cached_bind_processor(dialect)) for column in table.columns)
        )
    return _PostgresInsert(f"WITH {', '.join(parts)} SELECT 1", tables, tuple(columns))


async def _insert_sqlite(connection: AsyncConnection, batches: Sequence[Sequence[SQLModel]]) -> None:
    for rows in batches:
        table = _table(rows)
        fills = _fills(table)
        values = {
            column.key: _column_values(rows, column.key, fills.get(column.key)) for column in table.columns
        }
        await connection.execute(
            insert(table), [dict(zip(values, row, strict=True)) for row in zip(*values.values(), strict=True)]
        )


async def insert_new(session: AsyncSession, *batches: Sequence[SQLModel]) -> None:
    """Insert each batch (the new rows of one table) in order, then the rows' audit events and their jobs."""
    written: list[Sequence[SQLModel]] = [rows for rows in batches if rows]
    events = created_events(session.sync_session, [row for rows in written for row in rows])
    if events:
        written.append(events)
        jobs = announcements(session.sync_session, events)
        if jobs:
            written.append(jobs)
            note_added(session)
    if not written:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        await _insert_sqlite(await session.connection(), written)
        return
    statement = _postgres_insert(tuple(_table(rows) for rows in written), dialect)
    await writes.execute(session, statement.sql, statement.arguments(written))
