"""Write transactions: opened and ended on the connection itself, never left open.

On PostgreSQL a write transaction begins with ``BEGIN`` and the caller's check in
one round trip, its own statements (the booking's) run straight on the asyncpg
connection, and it ends with ``COMMIT`` or ``ROLLBACK`` there (``db/writes.py``).
These tests watch every query asyncpg sends, per connection, through asyncpg's
own query logger, so they see what the server sees, not what SQLAlchemy reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import Update, event, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from app import create_app
from auth.services import Services
from db import writes
from db.database import Database
from db.tables import Tenant
from tests.api import Api, TenantUsers
from tests.booking import at, create_equipment, line, reserve
from tests.conftest import settings_for

# What a booking screen asks back: nothing that needs another read.
RESERVE = """
mutation($input: CreateReservationInput!) {
  createReservation(input: $input) {
    __typename
    ... on CreateReservationSuccess { reservation { id number } }
    ... on Error { code }
  }
}
"""
CREATE_EQUIPMENT = """
mutation($input: CreateEquipmentInput!) {
  createEquipment(input: $input) { __typename ... on Error { code } }
}
"""
LOGOUT_ALL = "mutation { logoutAll { revokedSessions } }"


@dataclass
class Wire:
    """Every query sent on the pool's connections while watched, in order, with its connection."""

    sent: list[tuple[asyncpg.Connection, str]] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0

    def on(self, driver: asyncpg.Connection) -> list[str]:
        return [query for connection, query in self.sent if connection is driver]

    def note(self, driver: asyncpg.Connection, query: str) -> None:
        self.sent.append((driver, query))
        if query.startswith("BEGIN"):
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
        elif query in ("COMMIT", "ROLLBACK"):
            self.open_now -= 1


@contextlib.asynccontextmanager
async def watching(database: Database) -> AsyncIterator[Wire]:
    wire = Wire()
    loggers: dict[int, tuple[asyncpg.Connection, Any]] = {}

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver: asyncpg.Connection = dbapi_connection.driver_connection
        if id(driver) in loggers:
            return

        def log(record: Any) -> None:
            wire.note(driver, record.query)

        driver.add_query_logger(log)
        loggers[id(driver)] = (driver, log)

    engine = database.engine.sync_engine
    event.listen(engine, "checkout", on_checkout)
    try:
        yield wire
        # asyncpg calls its query loggers soon after each query, not during it.
        await asyncio.sleep(0)
    finally:
        event.remove(engine, "checkout", on_checkout)
        for driver, log in loggers.values():
            driver.remove_query_logger(log)


def transaction_of(wire: Wire) -> tuple[asyncpg.Connection, list[str]]:
    """The one connection that ran a write transaction while watched, and what it sent."""
    writers = {id(driver): driver for driver, query in wire.sent if query.startswith("BEGIN; ")}
    assert len(writers) == 1, wire.sent
    [driver] = writers.values()
    return driver, wire.on(driver)


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[tuple[Services, Api]]:
    """The app on a pool of one connection: a warmed-up booking leaves it with every statement prepared.

    (asyncpg prepares statements and learns types once per connection, in round
    trips of its own: on a pool of ten, each connection would pay that once.)
    """
    services = Services.create(settings_for(database_url, db_pool_size=1, db_max_overflow=0))
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
            yield services, Api(client)
    finally:
        await services.close()


@pytest.mark.usefixtures("postgres_only")
async def test_a_booking_is_six_queries_on_one_connection(
    one_connection: tuple[Services, Api], manager_token: str, staff_token: str
) -> None:
    services, api = one_connection
    items = [
        await create_equipment(api, manager_token, name=f"Item {index}", code=f"I{index}", quantity=3)
        for index in range(2)
    ]
    values = {"title": "Gala", "startsAt": at(0), "endsAt": at(4), "lines": [line(item) for item in items]}
    warm = (await api.data(RESERVE, {"input": values}, token=staff_token))["createReservation"]
    assert warm["__typename"] == "CreateReservationSuccess", warm
    async with watching(services.database) as wire:
        made = (await api.data(RESERVE, {"input": values}, token=staff_token))["createReservation"]
    assert made["__typename"] == "CreateReservationSuccess", made
    driver, sent = transaction_of(wire)
    # Nothing else went to the server for this request.
    assert len(wire.sent) == len(sent), wire.sent
    begin, lock, holds, number, insert, commit = sent
    # BEGIN rides with the caller's check (which sets the tenant for row-level security).
    assert begin.startswith("BEGIN; SELECT rigbook_begin(")
    assert "FOR UPDATE" in lock
    # The holds are read by a statement of their own, after the locks are granted.
    assert "FOR UPDATE" not in holds and "reservation_line" in holds
    assert number.startswith("UPDATE tenant SET reservation_counter")
    assert insert.startswith("WITH inserted_0 AS (INSERT INTO reservation ")
    assert commit == "COMMIT"
    assert not driver.is_in_transaction()


@pytest.mark.usefixtures("postgres_only")
async def test_a_refused_booking_rolls_back_on_its_connection(
    api: Api, services: Services, manager_token: str, staff_token: str
) -> None:
    wall = await create_equipment(api, manager_token, name="Wall", code="W", quantity=1)
    assert (await reserve(api, staff_token, [line(wall)]))["__typename"] == "CreateReservationSuccess"
    async with watching(services.database) as wire:
        refused = await reserve(api, staff_token, [line(wall)])
    assert refused["__typename"] == "ConflictError", refused
    driver, sent = transaction_of(wire)
    # The number was never taken: the shortage ended the transaction after the holds.
    assert len(sent) == 4 and sent[-1] == "ROLLBACK", sent
    assert not driver.is_in_transaction()


@pytest.mark.usefixtures("postgres_only")
async def test_a_write_of_an_ended_session_is_refused_and_leaves_its_connection_idle(
    api: Api, services: Services, esr: TenantUsers
) -> None:
    token = await api.token("esr", esr.manager.email)
    await api.data(LOGOUT_ALL, token=token)
    values = {"name": "Wall", "code": "W", "tracking": "BULK"}
    async with watching(services.database) as wire:
        body = await api.post(CREATE_EQUIPMENT, {"input": values}, token=token)
    assert {error["extensions"]["code"] for error in body["errors"]} == {"UNAUTHENTICATED"}, body
    driver, sent = transaction_of(wire)
    assert sent == [sent[0], "ROLLBACK"] and sent[0].startswith("BEGIN; SELECT rigbook_begin("), sent
    assert not driver.is_in_transaction()


@pytest.mark.usefixtures("postgres_only")
async def test_racing_bookings_overlap_on_their_own_connections_and_never_overbook(
    api: Api, services: Services, manager_token: str, staff_token: str
) -> None:
    wall = await create_equipment(api, manager_token, name="LED wall", code="LED", quantity=3)
    racers = 12
    async with watching(services.database) as wire:
        results = await asyncio.gather(
            *(reserve(api, staff_token, [line(wall)], starts=index * 0.01, ends=4) for index in range(racers))
        )
    kinds = [result["__typename"] for result in results]
    assert kinds.count("CreateReservationSuccess") == 3, results
    assert kinds.count("ConflictError") == racers - 3, results
    # Really parallel: transactions were open at once, each on its own connection,
    # and they met at the row locks rather than taking turns in Python.
    assert wire.most_open > 1
    begun = [driver for driver, query in wire.sent if query.startswith("BEGIN; ")]
    assert len(begun) == racers and len({id(driver) for driver in begun}) > 1
    assert wire.open_now == 0


def next_number(tenant_id: uuid.UUID) -> Update:
    return (
        update(Tenant)
        .where(col(Tenant.id) == tenant_id)
        .values(reservation_counter=col(Tenant.reservation_counter) + 1)
        .returning(col(Tenant.reservation_counter))
    )


async def take_a_number_then_fail(database: Database, tenant_id: uuid.UUID, before: int) -> None:
    async with database.transaction(tenant_id) as session:
        [(taken,)] = await writes.rows(session, next_number(tenant_id))
        assert taken == before + 1
        raise RuntimeError("on purpose")


async def test_a_failed_write_leaves_its_connection_with_no_transaction_and_no_tenant(
    services: Services, esr: TenantUsers
) -> None:
    # One connection: the next transaction must get the very one the failed write used.
    database = Database(services.database.url, pool_size=1, max_overflow=0)
    tenant_id = esr.tenant.id
    try:
        async with database.session(tenant_id) as session:
            before = (await session.execute(select(col(Tenant.reservation_counter)))).scalar_one()
        with pytest.raises(RuntimeError, match="on purpose"):
            await take_a_number_then_fail(database, tenant_id, before)
        async with database.engine.connect() as connection:
            if not database.is_sqlite:
                driver = (await connection.get_raw_connection()).driver_connection
                assert driver is not None and not driver.is_in_transaction()
                tenant = await connection.scalar(text("SELECT current_setting('app.tenant_id', true)"))
                assert tenant in (None, "")
        async with database.session(tenant_id) as session:
            after = (await session.execute(select(col(Tenant.reservation_counter)))).scalar_one()
        assert after == before
        # And a transaction that ends well is committed.
        async with database.transaction(tenant_id) as session:
            await writes.rows(session, next_number(tenant_id))
        async with database.session(tenant_id) as session:
            assert (await session.execute(select(col(Tenant.reservation_counter)))).scalar_one() == before + 1
    finally:
        await database.dispose()


async def test_a_refused_constraint_in_the_transactions_own_statements_is_an_integrity_error(
    services: Services, esr: TenantUsers, cmh: TenantUsers
) -> None:
    """Callers catch SQLAlchemy's ``IntegrityError`` (a lost idempotency-key race), however it was sent."""
    statement = (
        update(Tenant)
        .where(col(Tenant.id) == cmh.tenant.id)
        .values(slug=esr.tenant.slug)
        .returning(col(Tenant.id))
    )
    with pytest.raises(IntegrityError):
        async with services.database.transaction(cmh.tenant.id) as session:
            await writes.rows(session, statement)
    async with services.database.session(cmh.tenant.id) as session:
        slug = (
            await session.execute(select(col(Tenant.slug)).where(col(Tenant.id) == cmh.tenant.id))
        ).scalar_one()
    assert slug == cmh.tenant.slug
