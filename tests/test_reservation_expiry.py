"""Requests nobody answers in time, or whose window begins first, become EXPIRED on their own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from auth.services import Services
from db.clock import utcnow
from db.tables import Reservation
from schema.node import pk_of
from tests.api import Api, TenantUsers
from tests.booking import AVAILABILITY, at, create_equipment, line, reserve, step
from tests.conftest import settings_for
from tests.reservation_jobs import announced, announcing_jobs, row_of, run_at

TRAIL = """
query($target: ID!) { auditEvents(first: 10, filter: {targetId: $target}) {
    edges { node { action actorKind actor { email } requestId changes } } } }
"""
SET_EXPIRY = """
mutation($hours: Int) { updateTenantSettings(input: {requestExpiryHours: $hours}) { __typename } }
"""


@pytest.fixture
def wall_quantity() -> int:
    return 3


@pytest.fixture
def started() -> datetime:
    """The real time at the start of the test: requests made now are this old at ``started + age``."""
    return utcnow()


async def _request(api: Api, token: str, wall: dict[str, Any], **window: Any) -> dict[str, Any]:
    made = await reserve(api, token, [line(wall, 3)], **window)
    assert made["__typename"] == "CreateReservationSuccess", made
    reservation: dict[str, Any] = made["reservation"]
    assert reservation["status"] == "REQUESTED"
    return reservation


async def _made_hours_ago(services: Services, tenant_id: uuid.UUID, global_id: str, hours: float) -> None:
    """Date a request back, as if it had been made ``hours`` before the test started."""
    async with services.database.transaction(tenant_id) as session:
        row = await session.get(Reservation, (tenant_id, pk_of(global_id, "Reservation")))
        assert row is not None
        row.created_at -= timedelta(hours=hours)


async def test_an_old_request_expires_and_a_fresh_one_does_not(
    api: Api,
    services: Services,
    customer_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
    started: datetime,
) -> None:
    old = await _request(api, customer_token, wall)
    await _made_hours_ago(services, esr.tenant.id, old["id"], 72)
    fresh = await _request(api, customer_token, wall)

    await run_at(services, started + timedelta(minutes=1))
    expired = await row_of(services, esr.tenant.id, old["id"])
    assert (expired.status, expired.version) == ("EXPIRED", 2)
    assert expired.updated_at == started + timedelta(minutes=1)
    waiting = await row_of(services, esr.tenant.id, fresh["id"])
    assert (waiting.status, waiting.version) == ("REQUESTED", 1)

    await run_at(services, started + timedelta(hours=71, minutes=55))
    assert (await row_of(services, esr.tenant.id, fresh["id"])).status == "REQUESTED"
    await run_at(services, started + timedelta(hours=72, minutes=1))
    assert (await row_of(services, esr.tenant.id, fresh["id"])).status == "EXPIRED"


async def test_a_request_whose_window_has_begun_expires_however_young(
    api: Api,
    services: Services,
    customer_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
    started: datetime,
) -> None:
    soon = started + timedelta(hours=2)
    request = await _request(
        api, customer_token, wall, startsAt=soon.isoformat(), endsAt=(soon + timedelta(hours=4)).isoformat()
    )
    later = await _request(api, customer_token, wall)
    await run_at(services, soon - timedelta(minutes=5))  # the slot before: runs are one per slot
    assert (await row_of(services, esr.tenant.id, request["id"])).status == "REQUESTED"
    await run_at(services, soon)
    assert (await row_of(services, esr.tenant.id, request["id"])).status == "EXPIRED"
    assert (await row_of(services, esr.tenant.id, later["id"])).status == "REQUESTED"


async def test_each_tenant_expires_by_its_own_setting_and_only_its_own_rows(
    api: Api,
    services: Services,
    admin_token: str,
    customer_token: str,
    cmh_manager_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
    cmh: TenantUsers,
    started: datetime,
) -> None:
    assert (await api.data(SET_EXPIRY, {"hours": 2}, token=admin_token))["updateTenantSettings"][
        "__typename"
    ] == "TenantSettingsSuccess"
    cmh_wall = await create_equipment(api, cmh_manager_token, name="Wall", code="W", quantity=3)
    cmh_customer = await api.token("cmh", cmh.customer.email)
    ours = await _request(api, customer_token, wall)
    theirs = await _request(api, cmh_customer, cmh_wall)

    await run_at(services, started + timedelta(hours=1, minutes=54))
    assert (await row_of(services, esr.tenant.id, ours["id"])).status == "REQUESTED"
    await run_at(services, started + timedelta(hours=2, minutes=1))
    assert (await row_of(services, esr.tenant.id, ours["id"])).status == "EXPIRED"
    untouched = await row_of(services, cmh.tenant.id, theirs["id"])
    assert (untouched.status, untouched.version) == ("REQUESTED", 1)
    assert await announced(services, cmh.tenant.id, "reservation.expired") == []

    await run_at(services, started + timedelta(hours=72, minutes=1))
    assert (await row_of(services, cmh.tenant.id, theirs["id"])).status == "EXPIRED"


async def test_expiry_is_audited_as_the_system_and_announced(
    api: Api,
    services: Services,
    admin_token: str,
    customer_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
    started: datetime,
) -> None:
    request = await _request(api, customer_token, wall)
    await run_at(services, started + timedelta(hours=73))

    trail = (await api.data(TRAIL, {"target": request["id"]}, token=admin_token))["auditEvents"]["edges"]
    newest = trail[0]["node"]
    assert newest["action"] == "reservation.updated"
    assert newest["actorKind"] == "system"
    assert newest["actor"] is None
    assert newest["requestId"].startswith("job:")
    assert newest["changes"]["status"] == ["REQUESTED", "EXPIRED"]
    assert newest["changes"]["version"] == [1, 2]
    entries = await announced(services, esr.tenant.id, "reservation.expired")
    assert [entry.target_id for entry in entries] == [
        (await row_of(services, esr.tenant.id, request["id"])).id
    ]
    assert await announcing_jobs(services, entries) == [str(entries[0].id)]


async def test_an_expired_request_holds_nothing_and_can_no_longer_be_confirmed(
    api: Api,
    services: Services,
    staff_token: str,
    customer_token: str,
    wall: dict[str, Any],
    started: datetime,
) -> None:
    request = await _request(api, customer_token, wall)
    await run_at(services, started + timedelta(hours=73))
    assert (await step(api, staff_token, "confirmReservation", request["id"]))[
        "__typename"
    ] == "ConflictError"
    assert (await step(api, customer_token, "cancelReservation", request["id"]))[
        "__typename"
    ] == "ConflictError"
    counted = await api.data(
        AVAILABILITY, {"from": at(0), "to": at(4), "ids": [wall["id"]]}, token=staff_token
    )
    assert counted["availability"] == [
        {"total": 3, "held": 0, "available": 3, "equipment": {"name": "LED wall"}, "reservations": []}
    ]
    booked = await reserve(api, staff_token, [line(wall, 3)])
    assert booked["__typename"] == "CreateReservationSuccess"


async def test_one_slot_expires_each_request_once_however_many_workers_run_it(
    api: Api,
    services: Services,
    customer_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
    started: datetime,
) -> None:
    requests = [await _request(api, customer_token, wall) for _ in range(3)]
    when = started + timedelta(hours=73)
    await asyncio.gather(run_at(services, when), run_at(services, when))
    await run_at(services, when)
    await run_at(services, when + timedelta(minutes=5))  # the next slot finds nothing left
    for request in requests:
        row = await row_of(services, esr.tenant.id, request["id"])
        assert (row.status, row.version) == ("EXPIRED", 2)
    entries = await announced(services, esr.tenant.id, "reservation.expired")
    assert len(entries) == 3
    assert len({entry.target_id for entry in entries}) == 3


@pytest.fixture
async def small_batches(database_url: str) -> AsyncIterator[Services]:
    """Services changing at most one reservation per transaction."""
    services = Services.create(settings_for(database_url, reservation_job_batch=1))
    yield services
    await services.database.dispose()


async def test_a_run_changes_a_bounded_number_and_the_next_slot_the_rest(
    api: Api,
    small_batches: Services,
    customer_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
    started: datetime,
) -> None:
    requests = [await _request(api, customer_token, wall) for _ in range(12)]
    when = started + timedelta(hours=73)
    await run_at(small_batches, when)
    statuses = [(await row_of(small_batches, esr.tenant.id, r["id"])).status for r in requests]
    assert statuses.count("EXPIRED") == 10  # ten batches of one per tenant and run
    await run_at(small_batches, when + timedelta(minutes=5))
    statuses = [(await row_of(small_batches, esr.tenant.id, r["id"])).status for r in requests]
    assert statuses == ["EXPIRED"] * 12
