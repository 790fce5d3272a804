"""New rows written without the ORM's unit of work: fewer statements, less Python.

A booking inserts a reservation, its lines and their audit events. Through the
unit of work that is four statements (each table, and each flush's audit events)
and most of the booking's CPU: identity map, state tracking, one flush plan per
flush. ``insert_new`` writes rows that are new and complete (every value set, as
their model's constructor leaves them) with the same audit events the unit of
work would record (``db/audit.py``), in the caller's transaction:

* PostgreSQL: one statement, each table's rows one multi-row ``INSERT`` in a
  data-modifying ``WITH`` clause (foreign keys are checked at the statement's end,
  so a line may reference a reservation inserted beside it);
* SQLite: one multi-row ``INSERT`` per table, in the order given.

Statements are built from named parameters only and compiled once per shape
(which tables, how many rows each) and dialect, so the driver prepares each
shape once too. The rows are not added to the session: they are values, as the caller
built them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, literal_column, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from db.audit import created_events

Shape = tuple[tuple[Table, int], ...]
"""Which tables, in order, and how many rows of each."""

# Shapes kept: a booking has 1 to ``max_reservation_lines`` lines, so a few hundred at most.
SHAPES_KEPT = 512


def _table(rows: Sequence[SQLModel]) -> Table:
    table: Table = rows[0].__table__  # type: ignore[attr-defined]
    if any(row.__table__ is not table for row in rows):  # type: ignore[attr-defined]
        raise TypeError("one batch holds the rows of one table")
    return table


def _name(batch: int, row: int, key: str) -> str:
    return f"b{batch}_{row}_{key}"


def _inserts(shape: Shape) -> list[Any]:
    return [
        insert(table).values(
            [
                {
                    column.key: bindparam(_name(batch, row, column.key), type_=column.type)
                    for column in table.columns
                }
                for row in range(count)
            ]
        )
        for batch, (table, count) in enumerate(shape)
    ]


@dataclass(frozen=True)
class _Compiled:
    """One statement of a shape, compiled: its SQL and how to order and convert its parameters."""

    sql: str
    positions: tuple[str, ...]
    processors: Mapping[str, Callable[[Any], Any]]

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        processors = self.processors
        return tuple(
            processors[name](params[name]) if name in processors else params[name] for name in self.positions
        )


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _compiled(shape: Shape, dialect: Dialect) -> tuple[_Compiled, ...]:
    """A shape's statements for ``dialect``, compiled once.

    SQLAlchemy does not cache a statement with data-modifying ``WITH`` clauses
    (it has no cache key): compiled on each execution, it cost more than the insert.
    """
    inserts = _inserts(shape)
    if dialect.name == "postgresql":
        ctes = [statement.cte(f"inserted_{index}") for index, statement in enumerate(inserts)]
        statements: list[Any] = [select(literal_column("1")).add_cte(*ctes)]
    else:
        statements = inserts
    compiled = []
    for statement in statements:
        form = statement.compile(dialect=dialect)
        if not form.positiontup:
            raise RuntimeError(f"{dialect.name} binds parameters by name; inserts expect positions")
        compiled.append(_Compiled(form.string, tuple(form.positiontup), dict(form._bind_processors)))
    return tuple(compiled)


async def insert_new(session: AsyncSession, *batches: Sequence[SQLModel]) -> None:
    """Insert each batch (the new rows of one table) in order, and the rows' audit events."""
    written = [rows for rows in batches if rows]
    events = created_events(session.sync_session, [row for rows in written for row in rows])
    if events:
        written.append(events)
    if not written:
        return
    shape: Shape = tuple((_table(rows), len(rows)) for rows in written)
    params: dict[str, Any] = {}
    for batch, ((table, _count), rows) in enumerate(zip(shape, written, strict=True)):
        keys = [column.key for column in table.columns]
        for index, row in enumerate(rows):
            for key in keys:
                params[_name(batch, index, key)] = getattr(row, key)
    connection = await session.connection()
    for statement in _compiled(shape, connection.dialect):
        await connection.exec_driver_sql(statement.sql, statement.arguments(params))
