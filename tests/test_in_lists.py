"""IN lists: one array parameter on PostgreSQL (``db/in_lists.py``), the same rows on both databases.

On PostgreSQL ``column.in_(values)`` is sent as ``column = ANY($n::T[])`` with the
list as one parameter, so every length is one SQL text; SQLite keeps one ``?`` per
value. Either way a list selects what it names: uuids, text, enums stored as text,
integers, timestamps, empty lists, NOT IN, NULLs among the values, through a
request's reads and through the ORM.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import BindParameter, Uuid, bindparam, event, literal, select, tuple_
from sqlalchemy.sql import ColumnElement, Executable
from sqlmodel import col

from auth.services import Services
from db.database import Database
from db.scoped import scoped_records
from db.tables import Equipment, EquipmentStatus, Tenant, Tracking
from tests.api import make_tenant
from tests.booking import T0

LONG_CODE = "L" * 64


@dataclass(frozen=True)
class Stock:
    tenant: Tenant
    ids: dict[str, uuid.UUID]
    """Equipment id by code."""


@pytest.fixture
async def stock(services: Services) -> Stock:
    """Four items of one tenant, and one of another with a code they share."""
    tenant = await make_tenant(services, "lists")
    other = await make_tenant(services, "other")
    ids: dict[str, uuid.UUID] = {}
    async with services.database.transaction(tenant.id) as session:
        for index, (code, status) in enumerate(
            [
                ("A", EquipmentStatus.ACTIVE),
                ("B", EquipmentStatus.ACTIVE),
                ("C", EquipmentStatus.RETIRED),
                (LONG_CODE, EquipmentStatus.ACTIVE),
            ]
        ):
            item = Equipment(
                tenant_id=tenant.id,
                name=f"Item {code[:8]}",
                code=code,
                tracking=Tracking.BULK,
                quantity=index + 1,
                status=status,
                created_at=T0 + timedelta(hours=index),
            )
            session.add(item)
            ids[code] = item.id
    async with services.database.transaction(other.id) as session:
        session.add(Equipment(tenant_id=other.id, name="Elsewhere", code="A", tracking=Tracking.BULK))
    return Stock(tenant, ids)


def sql_of(database: Database, statement: Executable) -> tuple[str, list[Any]]:
    """The SQL and arguments a request's read of ``statement`` would send."""
    _read, sql, arguments = database.read_compiler.prepare(statement)
    return sql, arguments


def by_ids(stock: Stock, ids: Sequence[uuid.UUID]) -> Executable:
    return scoped_records(Equipment, stock.tenant.id, ["code"]).where(col(Equipment.id).in_(ids))


async def test_every_length_of_a_list_is_one_statement_on_postgres(services: Services, stock: Stock) -> None:
    database = services.database
    ids = list(stock.ids.values()) + [uuid.uuid4() for _ in range(46)]
    lengths = (1, 3, 50)
    prepared = [database.read_compiler.prepare(by_ids(stock, ids[:n])) for n in lengths]
    if database.is_sqlite:
        # SQLite as SQLAlchemy renders it: one parameter per value.
        assert [len(arguments) for _read, _sql, arguments in prepared] == [1 + n for n in lengths]
        assert all(" IN (" in sql for _read, sql, _arguments in prepared)
    else:
        [sql] = {sql for _read, sql, _arguments in prepared}
        assert "equipment.id = ANY ($2::UUID[])" in sql and " IN " not in sql
        assert [arguments for _read, _sql, arguments in prepared] == [
            [stock.tenant.id, ids[:n]] for n in lengths
        ]
        # Compiled once: the cached form reads each execution's list.
        assert len({id(read) for read, _sql, _arguments in prepared}) == 1

    # The ORM path: the engine's compiled cache is hit, and on PostgreSQL one text is sent.
    sent: list[tuple[str, Any, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, context: Any, _many: bool) -> None:
        sent.append((sql, parameters, context.compiled))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with database.session(stock.tenant.id) as session:
            found = [
                set(
                    (
                        await session.scalars(
                            select(col(Equipment.code)).where(col(Equipment.id).in_(ids[:n]))
                        )
                    ).all()
                )
                for n in lengths
            ]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert found == [{"A"}, {"A", "B", "C"}, {"A", "B", "C", LONG_CODE}]
    statements = [entry for entry in sent if "FROM equipment" in entry[0]]
    assert len(statements) == len(lengths)
    assert len({id(compiled) for _sql, _parameters, compiled in statements}) == 1
    texts = {sql for sql, _parameters, _compiled in statements}
    if database.is_sqlite:
        assert len(texts) == len(lengths)
    else:
        assert len(texts) == 1
        assert [list(parameters) for _sql, parameters, _compiled in statements] == [
            [ids[:n]] for n in lengths
        ]


async def test_what_keeps_sqlalchemys_in(services: Services, stock: Stock) -> None:
    """Tuple IN, IN of a subquery or of expressions and ``literal_execute`` render as before."""
    database = services.database
    tenant = stock.tenant.id
    a, b = stock.ids["A"], stock.ids["B"]
    cases: list[tuple[ColumnElement[bool], str, set[str]]] = [
        (
            tuple_(col(Equipment.tenant_id), col(Equipment.id)).in_([(tenant, a), (tenant, b)]),
            "IN (",
            {"A", "B"},
        ),
        (
            col(Equipment.id).in_(select(col(Equipment.id)).where(col(Equipment.code) < "C")),
            "IN (SELECT",
            {"A", "B"},
        ),
        (col(Equipment.code).in_([col(Equipment.name), "C"]), "IN (equipment.name, ", {"C"}),
        (
            col(Equipment.code).in_(bindparam("codes", ["A", "B"], expanding=True, literal_execute=True)),
            "IN ('A', 'B')",
            {"A", "B"},
        ),
    ]
    for condition, rendered, codes in cases:
        statement = scoped_records(Equipment, tenant, ["code"]).where(condition)
        sql, _arguments = sql_of(database, statement)
        assert rendered in sql and "ANY" not in sql, sql
        reads = database.reads(tenant)
        try:
            assert {row.code for row in await reads.rows(statement)} == codes, sql
        finally:
            await reads.close()


def conditions(stock: Stock) -> list[tuple[ColumnElement[bool], set[str]]]:
    """Conditions on the stock's equipment and the codes each selects."""
    ids = stock.ids
    everything = set(ids)
    unknown = uuid.uuid4()
    keys: BindParameter[uuid.UUID] = bindparam("keys", [ids["A"], ids["B"]], expanding=True)
    return [
        (col(Equipment.id).in_([ids["A"], ids["C"], unknown]), {"A", "C"}),
        (col(Equipment.id).in_([]), set()),
        (col(Equipment.id).not_in([ids["A"], unknown]), everything - {"A"}),
        (col(Equipment.id).not_in([]), everything),
        (~col(Equipment.id).in_([ids["B"]]), everything - {"B"}),
        (col(Equipment.code).in_(["A", "B", "Z"]), {"A", "B"}),
        # A value longer than the column matches no row, not one with its first 64 characters.
        (col(Equipment.code).in_([LONG_CODE + "X"]), set()),
        (col(Equipment.code).in_([LONG_CODE]), {LONG_CODE}),
        (col(Equipment.status).in_([EquipmentStatus.RETIRED]), {"C"}),
        (col(Equipment.status).not_in([EquipmentStatus.RETIRED]), everything - {"C"}),
        (col(Equipment.quantity).in_([2, 3, 99]), {"B", "C"}),
        (col(Equipment.quantity).not_in([1, 2]), {"C", LONG_CODE}),
        (col(Equipment.created_at).in_([T0 + timedelta(hours=1)]), {"B"}),
        # A NULL among the values: IN may still hold, NOT IN never does.
        (col(Equipment.code).in_(["A", None]), {"A"}),
        (col(Equipment.code).not_in(["A", None]), set()),
        # One list parameter in two places.
        (col(Equipment.id).in_(keys) & ~col(Equipment.id).not_in(keys), {"A", "B"}),
    ]


async def test_lists_select_the_rows_they_name(services: Services, stock: Stock) -> None:
    database = services.database
    tenant = stock.tenant.id
    for condition, codes in conditions(stock):
        statement = scoped_records(Equipment, tenant, ["code"]).where(condition)
        reads = database.reads(tenant)
        try:
            assert {row.code for row in await reads.rows(statement)} == codes, condition
        finally:
            await reads.close()
        mine = col(Equipment.tenant_id) == tenant
        async with database.session(tenant) as session:
            found = (await session.scalars(select(Equipment).where(mine, condition))).all()
            assert {item.code for item in found} == codes, condition
            rows = (await session.execute(select(col(Equipment.code)).where(mine, condition))).all()
            assert {row.code for row in rows} == codes, condition


async def test_a_list_compares_as_sql_compares_with_null(services: Services, stock: Stock) -> None:
    """The comparison's own value, NULL included, is the same as SQLAlchemy's IN gives."""
    database = services.database
    code = col(Equipment.code)
    nothing = literal(None, Uuid())
    a = stock.ids["A"]
    statement = (
        scoped_records(Equipment, stock.tenant.id, ["code"])
        .add_columns(
            code.in_(["A", None]).label("in_with_null"),
            code.not_in(["A", None]).label("not_in_with_null"),
            code.in_([]).label("in_empty"),
            code.not_in([]).label("not_in_empty"),
            nothing.in_([a]).label("null_in"),
            nothing.not_in([a]).label("null_not_in"),
            nothing.in_([]).label("null_in_empty"),
            nothing.not_in([]).label("null_not_in_empty"),
        )
        .where(col(Equipment.code).in_(["A", "B"]))
    )
    expected = {
        "A": (True, False, False, True, None, None, False, True),
        "B": (None, None, False, True, None, None, False, True),
    }
    reads = database.reads(stock.tenant.id)
    try:
        rows = await reads.rows(statement)
    finally:
        await reads.close()
    assert {row[0]: tuple(row[1:]) for row in rows} == expected
    async with database.session(stock.tenant.id) as session:
        rows = (await session.execute(statement)).all()
    assert {row[0]: tuple(row[1:]) for row in rows} == expected
