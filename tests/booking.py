"""Operations and helpers for equipment and reservation tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api import Api

T0 = datetime(2031, 5, 1, 10, 0, tzinfo=UTC)


def at(hours: float) -> str:
    """An ISO instant ``hours`` after a fixed future morning."""
    return (T0 + timedelta(hours=hours)).isoformat()


CREATE_EQUIPMENT = """
mutation Create($input: CreateEquipmentInput!) {
  createEquipment(input: $input) {
    __typename
    ... on EquipmentSuccess { equipment { id name code tracking quantity bufferBefore bufferAfter status tags units { id serialNumber status } } }
    ... on ValidationError { fields { field message } }
    ... on Error { code message }
  }
}
"""

RESERVATION_FIELDS = "id number title status version startsAt endsAt customer { email } createdBy { email } lines { quantity equipment { name } unit { serialNumber } }"
CONFLICT_FIELDS = "code message shortages { requested available missing equipment { name } unit { serialNumber } reservations { number } }"

CREATE_RESERVATION = f"""
mutation Reserve($input: CreateReservationInput!) {{
  createReservation(input: $input) {{
    __typename
    ... on CreateReservationSuccess {{ reservation {{ {RESERVATION_FIELDS} }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
    ... on ValidationError {{ fields {{ field message }} }}
    ... on NotFoundError {{ field }}
    ... on Error {{ code message }}
  }}
}}
"""

UPDATE_RESERVATION = f"""
mutation Update($input: UpdateReservationInput!) {{
  updateReservation(input: $input) {{
    __typename
    ... on ReservationSuccess {{ reservation {{ {RESERVATION_FIELDS} }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
    ... on ValidationError {{ fields {{ field message }} }}
    ... on Error {{ code message }}
  }}
}}
"""


def transition_mutation(name: str) -> str:
    return f"""
mutation Step($input: ReservationTransitionInput!) {{
  {name}(input: $input) {{
    __typename
    ... on ReservationSuccess {{ reservation {{ id status version }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
    ... on Error {{ code message }}
  }}
}}
"""


AVAILABILITY = """
query Availability($from: DateTime!, $to: DateTime!, $ids: [ID!]) {
  availability(from: $from, to: $to, equipmentIds: $ids) {
    total held available equipment { name } reservations { number }
  }
}
"""


async def create_equipment(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "LED wall panel",
        "code": f"EQ-{fields.get('name', 'x')}",
        "tracking": "BULK",
    }
    values.update(fields)
    result: dict[str, Any] = (await api.data(CREATE_EQUIPMENT, {"input": values}, token=token))[
        "createEquipment"
    ]
    assert result["__typename"] == "EquipmentSuccess", result
    equipment: dict[str, Any] = result["equipment"]
    return equipment


async def reserve(
    api: Api, token: str, lines: list[dict[str, Any]], starts: float = 0, ends: float = 4, **extra: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {"title": "Gala", "startsAt": at(starts), "endsAt": at(ends), "lines": lines}
    values.update(extra)
    result: dict[str, Any] = (await api.data(CREATE_RESERVATION, {"input": values}, token=token))[
        "createReservation"
    ]
    return result


async def step(
    api: Api, token: str, name: str, reservation_id: str, expected_version: int | None = None
) -> dict[str, Any]:
    variables = {"input": {"id": reservation_id, "expectedVersion": expected_version}}
    result: dict[str, Any] = (await api.data(transition_mutation(name), variables, token=token))[name]
    return result


def line(equipment: dict[str, Any], quantity: int = 1, unit: dict[str, Any] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"equipmentId": equipment["id"], "quantity": quantity}
    if unit is not None:
        value["unitId"] = unit["id"]
    return value
