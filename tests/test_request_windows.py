"""Customers ask only for windows still to come; staff may still record past bookings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from db.clock import utcnow
from tests.api import Api
from tests.booking import UPDATE_RESERVATION, line

CREATE = """
mutation($input: CreateReservationInput!) {
  createReservation(input: $input) {
    __typename
    ... on CreateReservationSuccess { reservation { status } }
    ... on ValidationError { fields { field message } }
  }
}
"""
CREATE_WITH_ID = """
mutation($input: CreateReservationInput!) {
  createReservation(input: $input) { __typename ... on CreateReservationSuccess { reservation { id } } }
}
"""


def _window(starts_in: timedelta, length: timedelta = timedelta(hours=4)) -> dict[str, str]:
    starts = utcnow() + starts_in
    return {"startsAt": starts.isoformat(), "endsAt": (starts + length).isoformat()}


async def _create(api: Api, token: str, wall: dict[str, Any], starts_in: timedelta) -> dict[str, Any]:
    values = {"title": "Gala", "lines": [line(wall)], **_window(starts_in)}
    result: dict[str, Any] = (await api.data(CREATE, {"input": values}, token=token))["createReservation"]
    return result


async def test_a_customer_cannot_request_a_window_that_has_started(
    api: Api, customer_token: str, wall: dict[str, Any]
) -> None:
    started = await _create(api, customer_token, wall, -timedelta(hours=1))
    assert started["__typename"] == "ValidationError", started
    assert [problem["field"] for problem in started["fields"]] == ["startsAt"]
    assert "already started" in started["fields"][0]["message"]
    ahead = await _create(api, customer_token, wall, timedelta(hours=1))
    assert ahead == {"__typename": "CreateReservationSuccess", "reservation": {"status": "REQUESTED"}}


async def test_a_customer_cannot_move_a_request_into_the_past(
    api: Api, customer_token: str, wall: dict[str, Any]
) -> None:
    values = {"title": "Gala", "lines": [line(wall)], **_window(timedelta(days=2))}
    created = (await api.data(CREATE_WITH_ID, {"input": values}, token=customer_token))["createReservation"]
    moved = (
        await api.data(
            UPDATE_RESERVATION,
            {"input": {"id": created["reservation"]["id"], **_window(-timedelta(hours=1))}},
            token=customer_token,
        )
    )["updateReservation"]
    assert moved["__typename"] == "ValidationError", moved
    assert [problem["field"] for problem in moved["fields"]] == ["startsAt"]
    renamed = (
        await api.data(
            UPDATE_RESERVATION,
            {"input": {"id": created["reservation"]["id"], "title": "Gala dinner"}},
            token=customer_token,
        )
    )["updateReservation"]
    assert renamed["__typename"] == "ReservationSuccess"


async def test_staff_may_still_record_a_booking_that_has_started(
    api: Api, staff_token: str, wall: dict[str, Any]
) -> None:
    started = await _create(api, staff_token, wall, -timedelta(hours=1))
    assert started == {"__typename": "CreateReservationSuccess", "reservation": {"status": "CONFIRMED"}}
