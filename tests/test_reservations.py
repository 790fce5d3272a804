"""Reservations: booking rules, lifecycle, validation, availability."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from auth.services import Services
from schema.node import to_global_id
from tests.api import Api, TenantUsers, error_codes
from tests.booking import (
    AVAILABILITY,
    UPDATE_RESERVATION,
    at,
    create_equipment,
    line,
    reserve,
    step,
)

LIST = """
query($filter: ReservationFilter, $orderBy: ReservationOrder) {
  reservations(first: 50, filter: $filter, orderBy: $orderBy) { totalCount edges { node { number status customer { email } } } }
}
"""


@pytest.fixture
def wall_quantity() -> int:
    """Three walls: a few bookings run out of them."""
    return 3


async def test_staff_book_confirmed_reservations(
    api: Api, staff_token: str, wall: dict[str, Any], esr: TenantUsers
) -> None:
    result = await reserve(
        api, staff_token, [line(wall, 2)], customerId=to_global_id("User", esr.customer.id)
    )
    reservation = result["reservation"]
    assert reservation["status"] == "CONFIRMED"
    assert reservation["number"] == 1
    assert reservation["version"] == 1
    assert reservation["customer"] == {"email": esr.customer.email}
    assert reservation["createdBy"] == {"email": esr.staff.email}
    assert reservation["lines"] == [{"quantity": 2, "equipment": {"name": "LED wall"}, "unit": None}]
    assert reservation["startsAt"] == at(0)
    second = await reserve(api, staff_token, [line(wall, 1)])
    assert second["reservation"]["number"] == 2


async def test_customers_request_for_themselves_only(
    api: Api, customer_token: str, wall: dict[str, Any], esr: TenantUsers
) -> None:
    own = await reserve(api, customer_token, [line(wall)])
    assert own["reservation"]["status"] == "REQUESTED"
    assert own["reservation"]["customer"] == {"email": esr.customer.email}
    other = await reserve(api, customer_token, [line(wall)], customerId=to_global_id("User", esr.staff.id))
    assert other["__typename"] == "ForbiddenError"


async def test_overbooking_is_refused_with_details(api: Api, staff_token: str, wall: dict[str, Any]) -> None:
    first = await reserve(api, staff_token, [line(wall, 2)], 0, 4)
    conflict = await reserve(api, staff_token, [line(wall, 2)], 2, 6)
    assert conflict["__typename"] == "ConflictError"
    assert conflict["code"] == "CONFLICT"
    assert conflict["shortages"] == [
        {
            "requested": 2,
            "available": 1,
            "missing": 1,
            "equipment": {"name": "LED wall"},
            "unit": None,
            "reservations": [{"number": first["reservation"]["number"]}],
        }
    ]
    assert (await reserve(api, staff_token, [line(wall, 1)], 2, 6))[
        "__typename"
    ] == "CreateReservationSuccess"


async def test_back_to_back_windows_do_not_conflict(api: Api, staff_token: str, wall: dict[str, Any]) -> None:
    assert (await reserve(api, staff_token, [line(wall, 3)], 0, 1))[
        "__typename"
    ] == "CreateReservationSuccess"
    assert (await reserve(api, staff_token, [line(wall, 3)], 1, 2))[
        "__typename"
    ] == "CreateReservationSuccess"
    assert (await reserve(api, staff_token, [line(wall, 1)], 0.5, 1.5))["__typename"] == "ConflictError"


async def test_buffers_make_back_to_back_windows_conflict(
    api: Api, manager_token: str, staff_token: str
) -> None:
    tent = await create_equipment(api, manager_token, name="Marquee", code="TENT", quantity=1, bufferAfter=60)
    assert (await reserve(api, staff_token, [line(tent)], 0, 1))["__typename"] == "CreateReservationSuccess"
    assert (await reserve(api, staff_token, [line(tent)], 1, 2))["__typename"] == "ConflictError"
    assert (await reserve(api, staff_token, [line(tent)], 2, 3))["__typename"] == "CreateReservationSuccess"


@pytest.mark.parametrize("release", ["cancelReservation", "return"])
async def test_released_reservations_free_stock_at_once(
    api: Api, staff_token: str, wall: dict[str, Any], release: str
) -> None:
    held = (await reserve(api, staff_token, [line(wall, 3)]))["reservation"]
    assert (await reserve(api, staff_token, [line(wall, 1)]))["__typename"] == "ConflictError"
    if release == "return":
        await step(api, staff_token, "checkOutReservation", held["id"])
        assert (await reserve(api, staff_token, [line(wall, 1)]))["__typename"] == "ConflictError"
        assert (await step(api, staff_token, "returnReservation", held["id"]))["reservation"][
            "status"
        ] == "RETURNED"
    else:
        assert (await step(api, staff_token, release, held["id"]))["reservation"]["status"] == "CANCELED"
    assert (await reserve(api, staff_token, [line(wall, 3)]))["__typename"] == "CreateReservationSuccess"


async def test_requests_hold_nothing_until_confirmed_and_declined_ones_never(
    api: Api, customer_token: str, staff_token: str, wall: dict[str, Any]
) -> None:
    request = (await reserve(api, customer_token, [line(wall, 3)]))["reservation"]
    other = (await reserve(api, customer_token, [line(wall, 3)]))["reservation"]
    assert (await reserve(api, staff_token, [line(wall, 3)], 10, 12))[
        "__typename"
    ] == "CreateReservationSuccess"
    confirmed = await step(api, staff_token, "confirmReservation", request["id"], expected_version=1)
    assert confirmed["reservation"] == {"id": request["id"], "status": "CONFIRMED", "version": 2}
    short = await step(api, staff_token, "confirmReservation", other["id"])
    assert short["__typename"] == "ConflictError"
    assert short["shortages"][0]["reservations"] == [{"number": request["number"]}]
    declined = await step(api, staff_token, "declineReservation", other["id"])
    assert declined["reservation"]["status"] == "DECLINED"


async def test_transitions_are_compare_and_swap(api: Api, staff_token: str, wall: dict[str, Any]) -> None:
    reservation = (await reserve(api, staff_token, [line(wall)]))["reservation"]
    stale = await step(api, staff_token, "checkOutReservation", reservation["id"], expected_version=7)
    assert stale["__typename"] == "ConflictError"
    assert "version 1" in stale["message"]
    out = await step(api, staff_token, "checkOutReservation", reservation["id"], expected_version=1)
    assert out["reservation"]["version"] == 2
    again = await step(api, staff_token, "checkOutReservation", reservation["id"])
    assert again["__typename"] == "ConflictError"
    assert (await step(api, staff_token, "cancelReservation", reservation["id"]))[
        "__typename"
    ] == "ConflictError"
    assert (await step(api, staff_token, "declineReservation", reservation["id"]))[
        "__typename"
    ] == "ConflictError"


async def test_customers_cannot_confirm_and_only_cancel_their_own_requests(
    api: Api, customer_token: str, staff_token: str, wall: dict[str, Any]
) -> None:
    request = (await reserve(api, customer_token, [line(wall)]))["reservation"]
    body = await api.post(
        "mutation($id: ID!) { confirmReservation(input: {id: $id}) { __typename } }",
        {"id": request["id"]},
        token=customer_token,
    )
    assert error_codes(body) == ["FORBIDDEN"]
    staff_booking = (await reserve(api, staff_token, [line(wall)]))["reservation"]
    assert (await step(api, customer_token, "cancelReservation", staff_booking["id"]))[
        "__typename"
    ] == "NotFoundError"
    assert (await step(api, customer_token, "cancelReservation", request["id"]))["reservation"][
        "status"
    ] == "CANCELED"


async def test_update_reservation_rechecks_stock(api: Api, staff_token: str, wall: dict[str, Any]) -> None:
    first = (await reserve(api, staff_token, [line(wall, 2)], 0, 2))["reservation"]
    second = (await reserve(api, staff_token, [line(wall, 2)], 2, 4))["reservation"]
    widened = (
        await api.data(
            UPDATE_RESERVATION, {"input": {"id": second["id"], "startsAt": at(1)}}, token=staff_token
        )
    )["updateReservation"]
    assert widened["__typename"] == "ConflictError"
    assert widened["shortages"][0]["reservations"] == [{"number": first["number"]}]
    fewer = (
        await api.data(
            UPDATE_RESERVATION,
            {
                "input": {
                    "id": second["id"],
                    "startsAt": at(1),
                    "lines": [line(wall, 1)],
                    "expectedVersion": 1,
                }
            },
            token=staff_token,
        )
    )["updateReservation"]
    assert fewer["__typename"] == "ReservationSuccess"
    assert fewer["reservation"]["startsAt"] == at(1)
    assert fewer["reservation"]["version"] == 2
    assert fewer["reservation"]["lines"][0]["quantity"] == 1


async def test_idempotency_key_returns_the_first_reservation(
    api: Api, staff_token: str, wall: dict[str, Any]
) -> None:
    first = await reserve(api, staff_token, [line(wall)], idempotencyKey="order-42")
    again = await reserve(api, staff_token, [line(wall)], idempotencyKey="order-42")
    assert again["reservation"]["id"] == first["reservation"]["id"]
    data = await api.data(LIST, token=staff_token)
    assert data["reservations"]["totalCount"] == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"startsAt": at(4), "endsAt": at(4)}, "endsAt"),
        ({"startsAt": at(5), "endsAt": at(4)}, "endsAt"),
        ({"startsAt": "2031-05-01T10:00:00"}, "startsAt"),
        ({"endsAt": at(24 * 367)}, "endsAt"),
        ({"title": ""}, "title"),
        ({"lines": []}, "lines"),
        ({"lines": "zero"}, "lines.0.quantity"),
        ({"lines": "unit-quantity"}, "lines.0.quantity"),
        ({"idempotencyKey": "k" * 129}, "idempotencyKey"),
    ],
)
async def test_validation_names_the_field(
    api: Api,
    staff_token: str,
    wall: dict[str, Any],
    camera: dict[str, Any],
    overrides: dict[str, Any],
    field: str,
) -> None:
    lines = {"zero": [line(wall, 0)], "unit-quantity": [line(camera, 2, camera["units"][0])]}
    if isinstance(overrides.get("lines"), str):
        overrides = {**overrides, "lines": lines[overrides["lines"]]}
    values = {"title": "Gala", "startsAt": at(0), "endsAt": at(4), "lines": [line(wall)], **overrides}
    result = (
        await api.data(
            "mutation($input: CreateReservationInput!) { createReservation(input: $input) { __typename ... on ValidationError { fields { field } } } }",
            {"input": values},
            token=staff_token,
        )
    )["createReservation"]
    assert result["__typename"] == "ValidationError", result
    assert field in [problem["field"] for problem in result["fields"]]


async def test_serialized_units_are_never_double_booked(
    api: Api, staff_token: str, camera: dict[str, Any]
) -> None:
    unit = camera["units"][0]
    booked = await reserve(api, staff_token, [line(camera, 1, unit)])
    assert booked["reservation"]["lines"][0]["unit"] == {"serialNumber": "A1"}
    taken = await reserve(api, staff_token, [line(camera, 1, unit)], 3, 5)
    assert taken["__typename"] == "ConflictError"
    assert taken["shortages"][0]["unit"] == {"serialNumber": "A1"}
    # The other unit is still free, from the pool.
    assert (await reserve(api, staff_token, [line(camera, 1)], 3, 5))[
        "__typename"
    ] == "CreateReservationSuccess"
    assert (await reserve(api, staff_token, [line(camera, 1)], 3, 5))["__typename"] == "ConflictError"


async def test_availability_reports_peak_held_quantity(
    api: Api, staff_token: str, customer_token: str, wall: dict[str, Any]
) -> None:
    one = (await reserve(api, staff_token, [line(wall, 1)], 0, 2))["reservation"]
    two = (await reserve(api, staff_token, [line(wall, 1)], 4, 6))["reservation"]
    await reserve(api, customer_token, [line(wall, 3)], 0, 6)  # a request holds nothing
    variables = {"from": at(0), "to": at(8), "ids": [wall["id"]]}
    [found] = (await api.data(AVAILABILITY, variables, token=staff_token))["availability"]
    assert found == {
        "total": 3,
        "held": 1,
        "available": 2,
        "equipment": {"name": "LED wall"},
        "reservations": [{"number": one["number"]}, {"number": two["number"]}],
    }
    [seen_by_customer] = (await api.data(AVAILABILITY, variables, token=customer_token))["availability"]
    assert seen_by_customer["reservations"] is None
    assert seen_by_customer["held"] == 1


@contextlib.contextmanager
def equipment_reads(services: Services) -> Iterator[list[str]]:
    """The SQL of each read of equipment by name that the app sends, on either backend."""
    with reads_where(
        services, lambda sql: "FROM equipment" in sql and "ORDER BY equipment.name" in sql
    ) as found:
        yield found


@contextlib.contextmanager
def reads_where(services: Services, wanted: Callable[[str], bool]) -> Iterator[list[str]]:
    """The SQL of each statement the app sends that is ``wanted``, on either backend."""
    found: list[str] = []

    def heard(sql: str) -> None:
        if wanted(sql):
            found.append(sql)

    def executed(_connection: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        heard(sql)

    database = services.database
    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", executed)
    database.statement_listeners.append(heard)
    try:
        yield found
    finally:
        database.statement_listeners.remove(heard)
        event.remove(engine, "before_cursor_execute", executed)


COUNTS_ONLY = """
query($from: DateTime!, $to: DateTime!, $ids: [ID!]) {
  availability(from: $from, to: $to, equipmentIds: $ids) { __typename total held available reservations { number } }
}
"""

EQUIPMENT_IN_A_FRAGMENT = """
query($from: DateTime!, $to: DateTime!, $ids: [ID!]) {
  availability(from: $from, to: $to, equipmentIds: $ids) { ...Counts }
}
fragment Counts on EquipmentAvailability { total held ... { available equipment @skip(if: true) { name } } }
"""


async def test_availability_reads_whole_equipment_rows_only_when_the_equipment_is_selected(
    api: Api, services: Services, staff_token: str, wall: dict[str, Any]
) -> None:
    one = (await reserve(api, staff_token, [line(wall, 2)], 0, 2))["reservation"]
    variables = {"from": at(0), "to": at(8), "ids": [wall["id"]]}
    with equipment_reads(services) as reads:
        [counts] = (await api.data(COUNTS_ONLY, variables, token=staff_token))["availability"]
        [whole] = (await api.data(AVAILABILITY, variables, token=staff_token))["availability"]
        [fragment] = (await api.data(EQUIPMENT_IN_A_FRAGMENT, variables, token=staff_token))["availability"]
    numbers = {"total": 3, "held": 2, "available": 1}
    assert counts == {
        "__typename": "EquipmentAvailability",
        **numbers,
        "reservations": [{"number": one["number"]}],
    }
    assert whole == {
        **numbers,
        "equipment": {"name": "LED wall"},
        "reservations": [{"number": one["number"]}],
    }
    assert fragment == numbers
    assert len(reads) == 3
    assert "equipment.description" not in reads[0]
    assert "equipment.buffer_after" in reads[0]
    assert all("equipment.description" in sql for sql in reads[1:])


JUST_COUNTS = """
query($from: DateTime!, $to: DateTime!, $ids: [ID!]) {
  availability(from: $from, to: $to, equipmentIds: $ids) { total held available }
}
"""

HOLDERS_IN_A_SKIPPED_FRAGMENT = """
query($from: DateTime!, $to: DateTime!, $ids: [ID!]) {
  availability(from: $from, to: $to, equipmentIds: $ids) { held ... @skip(if: true) { reservations { number } } }
}
"""


async def test_availability_reads_which_reservation_holds_only_when_reservations_are_selected(
    api: Api, services: Services, staff_token: str, wall: dict[str, Any]
) -> None:
    one = (await reserve(api, staff_token, [line(wall, 2)], 0, 2))["reservation"]
    variables = {"from": at(0), "to": at(8), "ids": [wall["id"]]}
    holds = reads_where(services, lambda sql: "FROM reservation_line JOIN reservation" in sql)
    with holds as reads:
        [counts] = (await api.data(JUST_COUNTS, variables, token=staff_token))["availability"]
        [holders] = (await api.data(COUNTS_ONLY, variables, token=staff_token))["availability"]
        [skipped] = (await api.data(HOLDERS_IN_A_SKIPPED_FRAGMENT, variables, token=staff_token))[
            "availability"
        ]
    assert counts == {"total": 3, "held": 2, "available": 1}
    assert holders["held"] == 2
    assert holders["reservations"] == [{"number": one["number"]}]
    assert skipped == {"held": 2}
    assert len(reads) == 3
    selected = [sql.partition("FROM")[0] for sql in reads]
    assert "reservation_line.reservation_id" not in selected[0]
    assert all("reservation_line.reservation_id" in columns for columns in selected[1:])


async def test_availability_rejects_naive_and_reversed_windows(api: Api, staff_token: str) -> None:
    for window in ({"from": "2031-05-01T10:00:00", "to": at(2)}, {"from": at(2), "to": at(1)}):
        body = await api.post(AVAILABILITY, window, token=staff_token)
        assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_customers_list_only_their_own_reservations(
    api: Api, staff_token: str, customer_token: str, wall: dict[str, Any], esr: TenantUsers
) -> None:
    await reserve(api, staff_token, [line(wall)])
    await reserve(api, customer_token, [line(wall)])
    mine = (await api.data(LIST, token=customer_token))["reservations"]
    assert mine["totalCount"] == 1
    assert mine["edges"][0]["node"]["customer"] == {"email": esr.customer.email}
    everything = (await api.data(LIST, token=staff_token))["reservations"]
    assert everything["totalCount"] == 2
    requested = (await api.data(LIST, {"filter": {"status": ["REQUESTED"]}}, token=staff_token))[
        "reservations"
    ]
    assert [edge["node"]["status"] for edge in requested["edges"]] == ["REQUESTED"]


async def test_reservation_filters_by_window_and_equipment(
    api: Api, staff_token: str, wall: dict[str, Any], camera: dict[str, Any]
) -> None:
    await reserve(api, staff_token, [line(wall)], 0, 2)
    await reserve(api, staff_token, [line(camera)], 5, 7)
    in_window = (await api.data(LIST, {"filter": {"from": at(1), "to": at(3)}}, token=staff_token))[
        "reservations"
    ]
    assert in_window["totalCount"] == 1
    by_equipment = (await api.data(LIST, {"filter": {"equipmentId": camera["id"]}}, token=staff_token))[
        "reservations"
    ]
    assert [edge["node"]["number"] for edge in by_equipment["edges"]] == [2]


async def test_an_idempotency_key_never_returns_someone_elses_reservation(
    api: Api, staff_token: str, customer_token: str, wall: dict[str, Any]
) -> None:
    mine = await reserve(api, customer_token, [line(wall)], idempotencyKey="shared-key")
    assert mine["__typename"] == "CreateReservationSuccess"
    theirs = await reserve(api, staff_token, [line(wall)], idempotencyKey="shared-key")
    assert theirs["__typename"] == "ConflictError"
    assert "idempotency key" in theirs["message"]
