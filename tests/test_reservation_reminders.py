"""Pickup reminders once before the start; overdue notices when a return is late, then daily."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from auth.services import Services
from db.clock import utcnow
from tests.api import Api, TenantUsers
from tests.booking import UPDATE_RESERVATION, line, reserve, step
from tests.reservation_jobs import announced, announcing_jobs, row_of, run_at


@pytest.fixture
def started() -> datetime:
    """The real time at the start of the test."""
    return utcnow()


def _window(starts: datetime, hours: float = 4) -> dict[str, str]:
    return {"startsAt": starts.isoformat(), "endsAt": (starts + timedelta(hours=hours)).isoformat()}


async def _book(api: Api, token: str, wall: dict[str, Any], starts: datetime, hours: float = 4) -> str:
    window = _window(starts, hours)
    made = await reserve(api, token, [line(wall)], startsAt=window["startsAt"], endsAt=window["endsAt"])
    assert made["__typename"] == "CreateReservationSuccess", made
    reservation_id: str = made["reservation"]["id"]
    return reservation_id


async def test_a_confirmed_reservation_is_reminded_of_its_pickup_once(
    api: Api,
    services: Services,
    staff_token: str,
    customer_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
    started: datetime,
) -> None:
    booking = await _book(api, staff_token, wall, started + timedelta(hours=30))
    request = await _book(api, customer_token, wall, started + timedelta(hours=10))
    tenant = esr.tenant.id
    before = await row_of(services, tenant, booking)

    await run_at(services, started + timedelta(hours=5))  # starts in 25 h
    assert (await row_of(services, tenant, booking)).pickup_reminded_at is None
    await run_at(services, started + timedelta(hours=7))  # starts in 23 h
    reminded = await row_of(services, tenant, booking)
    assert reminded.pickup_reminded_at == started + timedelta(hours=7)
    # Bookkeeping of what the customer was told: the booking itself did not change.
    assert (reminded.version, reminded.updated_at) == (before.version, before.updated_at)
    assert (await row_of(services, tenant, request)).pickup_reminded_at is None  # requests are not

    for hours in (7.25, 20, 29):
        await run_at(services, started + timedelta(hours=hours))
    entries = await announced(services, tenant, "reservation.pickup_reminder")
    assert [(entry.target_id, entry.actor_kind) for entry in entries] == [(reminded.id, "system")]
    assert entries[0].changes == {"pickup_reminded_at": [None, (started + timedelta(hours=7)).isoformat()]}
    assert await announcing_jobs(services, entries) == [str(entries[0].id)]


async def test_moving_the_start_reminds_of_the_new_one(
    api: Api,
    services: Services,
    staff_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
    started: datetime,
) -> None:
    booking = await _book(api, staff_token, wall, started + timedelta(hours=10))
    await run_at(services, started + timedelta(minutes=1))
    assert (await row_of(services, esr.tenant.id, booking)).pickup_reminded_at is not None
    moved = (
        await api.data(
            UPDATE_RESERVATION,
            {"input": {"id": booking, **_window(started + timedelta(hours=50))}},
            token=staff_token,
        )
    )["updateReservation"]
    assert moved["__typename"] == "ReservationSuccess", moved
    assert (await row_of(services, esr.tenant.id, booking)).pickup_reminded_at is None
    await run_at(services, started + timedelta(hours=20))  # the new start is 30 h away
    assert (await row_of(services, esr.tenant.id, booking)).pickup_reminded_at is None
    await run_at(services, started + timedelta(hours=27))
    assert len(await announced(services, esr.tenant.id, "reservation.pickup_reminder")) == 2


async def test_a_late_return_is_flagged_once_then_again_a_day_later(
    api: Api,
    services: Services,
    staff_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
    started: datetime,
) -> None:
    late = await _book(api, staff_token, wall, started - timedelta(hours=5))
    out_now = await _book(api, staff_token, wall, started - timedelta(hours=1), hours=30)
    never_out = await _book(api, staff_token, wall, started - timedelta(hours=10))
    for reservation in (late, out_now):
        assert (await step(api, staff_token, "checkOutReservation", reservation))["__typename"] == (
            "ReservationSuccess"
        )
    tenant = esr.tenant.id
    version = (await row_of(services, tenant, late)).version

    first = started + timedelta(minutes=1)
    await run_at(services, first)
    flagged = await row_of(services, tenant, late)
    assert (flagged.overdue_notified_at, flagged.version) == (first, version)
    assert (await row_of(services, tenant, out_now)).overdue_notified_at is None
    assert (await row_of(services, tenant, never_out)).overdue_notified_at is None

    for later in (timedelta(minutes=15), timedelta(hours=12), timedelta(hours=23, minutes=45)):
        await run_at(services, first + later)
    assert len(await announced(services, tenant, "reservation.overdue")) == 1
    await run_at(services, first + timedelta(hours=24))
    entries = await announced(services, tenant, "reservation.overdue")
    assert [entry.target_id for entry in entries] == [flagged.id, flagged.id]
    assert [entry.actor_kind for entry in entries] == ["system", "system"]
    assert await announcing_jobs(services, entries) == sorted(str(entry.id) for entry in entries)
    assert (await row_of(services, tenant, late)).overdue_notified_at == first + timedelta(hours=24)

    # Back at last: no more notices. The one still out within its window is overdue
    # once its window has ended (30 h after it began).
    assert (await step(api, staff_token, "returnReservation", late))["__typename"] == "ReservationSuccess"
    await run_at(services, first + timedelta(hours=48))
    entries = await announced(services, tenant, "reservation.overdue")
    assert [entry.target_id for entry in entries][2:] == [(await row_of(services, tenant, out_now)).id]
