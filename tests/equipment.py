"""Operations and helpers for the equipment tests (``tests/test_equipment*.py``)."""

from __future__ import annotations

from typing import Any

from tests.api import Api
from tests.booking import CONFLICT_FIELDS, CREATE_EQUIPMENT

EQUIPMENT_FIELDS = (
    "id name code category description tags tracking quantity bufferBefore bufferAfter status "
    "units { id serialNumber status }"
)

UPDATE_EQUIPMENT = f"""
mutation Update($input: UpdateEquipmentInput!) {{
  updateEquipment(input: $input) {{
    __typename
    ... on EquipmentSuccess {{ equipment {{ {EQUIPMENT_FIELDS} }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
    ... on ValidationError {{ fields {{ field message }} }}
    ... on NotFoundError {{ field }}
    ... on Error {{ code message }}
  }}
}}
"""

RETIRE_EQUIPMENT = f"""
mutation Retire($id: ID!) {{
  retireEquipment(input: {{id: $id}}) {{
    __typename
    ... on EquipmentSuccess {{ equipment {{ {EQUIPMENT_FIELDS} }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
    ... on NotFoundError {{ field }}
    ... on Error {{ code message }}
  }}
}}
"""

ADD_UNITS = f"""
mutation AddUnits($input: AddEquipmentUnitsInput!) {{
  addEquipmentUnits(input: $input) {{
    __typename
    ... on AddEquipmentUnitsSuccess {{ equipment {{ {EQUIPMENT_FIELDS} }} units {{ id serialNumber status notes }} }}
    ... on ValidationError {{ fields {{ field message }} }}
    ... on NotFoundError {{ field }}
    ... on Error {{ code message }}
  }}
}}
"""

UPDATE_UNIT = f"""
mutation UpdateUnit($input: UpdateEquipmentUnitInput!) {{
  updateEquipmentUnit(input: $input) {{
    __typename
    ... on EquipmentUnitSuccess {{ unit {{ id serialNumber status notes equipment {{ name quantity }} }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
    ... on ValidationError {{ fields {{ field message }} }}
    ... on NotFoundError {{ field }}
    ... on Error {{ code message }}
  }}
}}
"""

LIST = """
query List($first: Int, $after: String, $filter: EquipmentFilter, $orderBy: EquipmentOrder) {
  equipment(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name code } }
  }
}
"""

NODE = f"""
query Node($id: ID!) {{
  node(id: $id) {{
    __typename
    id
    ... on Equipment {{ {EQUIPMENT_FIELDS} }}
    ... on EquipmentUnit {{ serialNumber unitStatus: status equipment {{ name }} }}
    ... on Reservation {{ number reservationStatus: status }}
  }}
}}
"""

RESERVATION_COUNT = "query { reservations(first: 100) { totalCount } }"


async def create(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    """The raw ``createEquipment`` result (success or error)."""
    values: dict[str, Any] = {"name": "Wall", "code": "W-1", "tracking": "BULK", "quantity": 1, **fields}
    result: dict[str, Any] = (await api.data(CREATE_EQUIPMENT, {"input": values}, token=token))[
        "createEquipment"
    ]
    return result


async def update(api: Api, token: str, equipment: dict[str, Any], **fields: Any) -> dict[str, Any]:
    variables = {"input": {"id": equipment["id"], **fields}}
    result: dict[str, Any] = (await api.data(UPDATE_EQUIPMENT, variables, token=token))["updateEquipment"]
    return result


async def retire(api: Api, token: str, equipment: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(RETIRE_EQUIPMENT, {"id": equipment["id"]}, token=token))[
        "retireEquipment"
    ]
    return result


async def add_units(api: Api, token: str, equipment: dict[str, Any], *serials: str) -> dict[str, Any]:
    variables = {"input": {"equipmentId": equipment["id"], "units": [{"serialNumber": s} for s in serials]}}
    result: dict[str, Any] = (await api.data(ADD_UNITS, variables, token=token))["addEquipmentUnits"]
    return result


async def update_unit(api: Api, token: str, unit: dict[str, Any], **changes: Any) -> dict[str, Any]:
    variables = {"input": {"id": unit["id"], **changes}}
    result: dict[str, Any] = (await api.data(UPDATE_UNIT, variables, token=token))["updateEquipmentUnit"]
    return result


async def node(api: Api, token: str, global_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await api.data(NODE, {"id": global_id}, token=token))["node"]
    return found


async def listed(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(LIST, variables, token=token))["equipment"]
    return result


def names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


def fields_of(result: dict[str, Any]) -> list[str]:
    assert result["__typename"] == "ValidationError", result
    return [problem["field"] for problem in result["fields"]]


def numbers(shortage: dict[str, Any]) -> list[int]:
    return sorted(reservation["number"] for reservation in shortage["reservations"])


async def reservation_count(api: Api, token: str) -> int:
    count: int = (await api.data(RESERVATION_COUNT, token=token))["reservations"]["totalCount"]
    return count
