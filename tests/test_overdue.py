"""``Reservation.isOverdue`` and the ``isOverdue`` filter: handed out, window ended, not back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from db.clock import utcnow
from schema.node import to_global_id
from tests.api import Api, TenantUsers
from tests.booking import line, reserve, step

LIST = """
query($overdue: Boolean) {
  reservations(first: 20, filter: {isOverdue: $overdue}, orderBy: {field: NUMBER}) {
    totalCount edges { node { title status isOverdue } }
  }
}
"""


async def _book(
    api: Api, token: str, wall: dict[str, Any], title: str, starts_in: float, **extra: Any
) -> str:
    starts = utcnow() + timedelta(hours=starts_in)
    made = await reserve(
        api,
        token,
        [line(wall)],
        title=title,
        startsAt=starts.isoformat(),
        endsAt=(starts + timedelta(hours=4)).isoformat(),
        **extra,
    )
    assert made["__typename"] == "CreateReservationSuccess", made
    reservation_id: str = made["reservation"]["id"]
    return reservation_id


@pytest.fixture
async def bookings(api: Api, staff_token: str, wall: dict[str, Any], esr: TenantUsers) -> None:
    """Out and late (for the customer), out in time, late but never handed out, back after being late."""
    customer = to_global_id("User", esr.customer.id)
    late = await _book(api, staff_token, wall, "late", -10, customerId=customer)
    in_time = await _book(api, staff_token, wall, "in time", -1)
    await _book(api, staff_token, wall, "never out", -10)
    back = await _book(api, staff_token, wall, "back", -10)
    for reservation in (late, in_time, back):
        await step(api, staff_token, "checkOutReservation", reservation)
    await step(api, staff_token, "returnReservation", back)


@pytest.mark.usefixtures("bookings")
@pytest.mark.parametrize("engine", ["projection", "plain"])
async def test_is_overdue_as_a_field_and_a_filter(
    api: Api, plain_api: Api, staff_token: str, customer_token: str, engine: str
) -> None:
    client = api if engine == "projection" else plain_api

    async def titles(token: str, overdue: bool | None) -> list[tuple[str, str, bool]]:
        found = (await client.data(LIST, {"overdue": overdue}, token=token))["reservations"]
        assert found["totalCount"] == len(found["edges"])
        return [
            (edge["node"]["title"], edge["node"]["status"], edge["node"]["isOverdue"])
            for edge in found["edges"]
        ]

    assert await titles(staff_token, None) == [
        ("late", "CHECKED_OUT", True),
        ("in time", "CHECKED_OUT", False),
        ("never out", "CONFIRMED", False),
        ("back", "RETURNED", False),
    ]
    assert await titles(staff_token, True) == [("late", "CHECKED_OUT", True)]
    assert await titles(staff_token, False) == [
        ("in time", "CHECKED_OUT", False),
        ("never out", "CONFIRMED", False),
        ("back", "RETURNED", False),
    ]
    # Customers see only their own, overdue or not.
    assert await titles(customer_token, True) == [("late", "CHECKED_OUT", True)]
    assert await titles(customer_token, False) == []
