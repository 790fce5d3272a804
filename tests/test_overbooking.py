"""Concurrent requests never overbook: many clients race for the same stock at once.

Every test fires its requests together through the ASGI app; each request runs
its own database transaction on its own connection, so on PostgreSQL the
transactions really overlap and meet at the row locks.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from tests.api import Api
from tests.booking import AVAILABILITY, UPDATE_RESERVATION, at, create_equipment, line, reserve, step

RACERS = 24


def outcomes(results: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result["__typename"]] = counts.get(result["__typename"], 0) + 1
    return counts


async def held(api: Api, token: str, equipment: dict[str, Any], starts: float, ends: float) -> dict[str, Any]:
    variables = {"from": at(starts), "to": at(ends), "ids": [equipment["id"]]}
    [found] = (await api.data(AVAILABILITY, variables, token=token))["availability"]
    return dict(found)


async def test_racing_for_bulk_stock_books_exactly_the_stock(
    api: Api, manager_token: str, staff_token: str
) -> None:
    wall = await create_equipment(api, manager_token, name="LED wall", code="LED", quantity=3)
    results = await asyncio.gather(
        *(reserve(api, staff_token, [line(wall)], starts=index * 0.01, ends=4) for index in range(RACERS))
    )
    assert outcomes(results) == {"CreateReservationSuccess": 3, "ConflictError": RACERS - 3}
    usage = await held(api, staff_token, wall, 0, 5)
    assert (usage["held"], usage["available"]) == (3, 0)


async def test_racing_for_one_serialized_unit_books_it_once(
    api: Api, manager_token: str, staff_token: str
) -> None:
    camera = await create_equipment(
        api,
        manager_token,
        name="Camera",
        code="CAM",
        tracking="SERIALIZED",
        units=[{"serialNumber": "C1"}, {"serialNumber": "C2"}],
    )
    unit = camera["units"][0]
    results = await asyncio.gather(
        *(
            reserve(api, staff_token, [line(camera, 1, unit)], starts=index * 0.1, ends=5)
            for index in range(RACERS)
        )
    )
    assert outcomes(results) == {"CreateReservationSuccess": 1, "ConflictError": RACERS - 1}


async def test_racing_confirmations_confirm_only_what_fits(
    api: Api, manager_token: str, staff_token: str, customer_token: str
) -> None:
    stage = await create_equipment(api, manager_token, name="Stage deck", code="DECK", quantity=2)
    requests = [(await reserve(api, customer_token, [line(stage)], 0, 3))["reservation"] for _ in range(12)]
    results = await asyncio.gather(
        *(step(api, staff_token, "confirmReservation", item["id"]) for item in requests)
    )
    assert outcomes(results) == {"ReservationSuccess": 2, "ConflictError": 10}
    assert (await held(api, staff_token, stage, 0, 3))["held"] == 2


async def test_racing_window_changes_never_overlap_the_last_unit(
    api: Api, manager_token: str, staff_token: str
) -> None:
    space = await create_equipment(api, manager_token, name="Studio", code="STUDIO", quantity=1)
    bookings = [
        (await reserve(api, staff_token, [line(space)], 2 * index, 2 * index + 1))["reservation"]
        for index in range(10)
    ]

    async def widen(reservation: dict[str, Any]) -> dict[str, Any]:
        variables = {"input": {"id": reservation["id"], "startsAt": at(0), "endsAt": at(20)}}
        result: dict[str, Any] = (await api.data(UPDATE_RESERVATION, variables, token=staff_token))[
            "updateReservation"
        ]
        return result

    results = await asyncio.gather(*(widen(booking) for booking in bookings))
    # Only the booking that needs nobody else to move can take the whole span, and only if it moves first.
    assert outcomes(results).get("ReservationSuccess", 0) <= 1
    assert (await held(api, staff_token, space, 0, 20))["held"] == 1


async def test_bookings_over_several_items_in_any_order_neither_deadlock_nor_overbook(
    api: Api, manager_token: str, staff_token: str
) -> None:
    items = [
        await create_equipment(api, manager_token, name=f"Item {index}", code=f"IT{index}", quantity=4)
        for index in range(4)
    ]
    shuffler = random.Random(7)

    async def book(index: int) -> dict[str, Any]:
        chosen = shuffler.sample(items, k=3)
        return await reserve(api, staff_token, [line(item) for item in chosen], starts=index * 0.01, ends=6)

    results = await asyncio.wait_for(asyncio.gather(*(book(index) for index in range(RACERS))), timeout=120)
    counts = outcomes(results)
    assert set(counts) <= {"CreateReservationSuccess", "ConflictError"}
    assert counts.get("CreateReservationSuccess", 0) >= 4
    for item in items:
        usage = await held(api, staff_token, item, 0, 6)
        assert usage["held"] <= 4
    assert (
        sum([(await held(api, staff_token, item, 0, 6))["held"] for item in items])
        == 3 * counts["CreateReservationSuccess"]
    )


async def test_a_retried_create_with_one_idempotency_key_makes_one_reservation(
    api: Api, manager_token: str, staff_token: str
) -> None:
    wall = await create_equipment(api, manager_token, name="LED wall", code="LED", quantity=50)
    results = await asyncio.gather(
        *(reserve(api, staff_token, [line(wall)], idempotencyKey="checkout-7") for _ in range(10))
    )
    assert {result["reservation"]["id"] for result in results} == {results[0]["reservation"]["id"]}
    assert (await held(api, staff_token, wall, 0, 4))["held"] == 1


async def test_reservation_numbers_stay_unique_under_concurrency(
    api: Api, manager_token: str, staff_token: str
) -> None:
    wall = await create_equipment(api, manager_token, name="LED wall", code="LED", quantity=100)
    results = await asyncio.gather(
        *(reserve(api, staff_token, [line(wall)], index, index + 1) for index in range(20))
    )
    assert sorted(result["reservation"]["number"] for result in results) == list(range(1, 21))


@pytest.mark.parametrize("release", ["cancelReservation", "declineReservation"])
async def test_released_stock_is_free_for_the_next_racer(
    api: Api, manager_token: str, staff_token: str, customer_token: str, release: str
) -> None:
    deck = await create_equipment(api, manager_token, name="Deck", code="DECK", quantity=1)
    request = (await reserve(api, customer_token, [line(deck)]))["reservation"]
    if release == "cancelReservation":
        await step(api, staff_token, "confirmReservation", request["id"])
    assert (await step(api, staff_token, release, request["id"]))["__typename"] == "ReservationSuccess"
    results = await asyncio.gather(*(reserve(api, staff_token, [line(deck)]) for _ in range(8)))
    assert outcomes(results) == {"CreateReservationSuccess": 1, "ConflictError": 7}
