"""Changing stock (quantity, buffers, retiring, units out of service) is checked against bookings.

The check lives with booking (``resolvers/booking.py``): what would remain must
still cover every current and future hold. These add to the refusals pinned in
the equipment tests: the refusal's wording, several shortages at once, and holds
that are over (or over but for their return buffer).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from db.clock import utcnow
from tests.api import Api
from tests.booking import CONFLICT_FIELDS, create_equipment, line, reserve

EQUIPMENT_FIELDS = "id quantity bufferAfter status"
UPDATE_EQUIPMENT = f"""
mutation($input: UpdateEquipmentInput!) {{
  updateEquipment(input: $input) {{
    __typename
    ... on EquipmentSuccess {{ equipment {{ {EQUIPMENT_FIELDS} }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
  }}
}}
"""
RETIRE_EQUIPMENT = f"""
mutation($id: ID!) {{
  retireEquipment(input: {{id: $id}}) {{
    __typename
    ... on EquipmentSuccess {{ equipment {{ {EQUIPMENT_FIELDS} }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
  }}
}}
"""
UPDATE_UNIT = f"""
mutation($input: UpdateEquipmentUnitInput!) {{
  updateEquipmentUnit(input: $input) {{
    __typename
    ... on EquipmentUnitSuccess {{ unit {{ status }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
  }}
}}
"""
REFUSED = "Reservations need more than would remain; change or cancel them first."


async def update(api: Api, token: str, equipment: dict[str, Any], **fields: Any) -> dict[str, Any]:
    data = await api.data(UPDATE_EQUIPMENT, {"input": {"id": equipment["id"], **fields}}, token=token)
    result: dict[str, Any] = data["updateEquipment"]
    return result


def shortages(refused: dict[str, Any]) -> list[tuple[int, int, str | None, list[int]]]:
    assert refused["__typename"] == "ConflictError", refused
    assert (refused["code"], refused["message"]) == ("CONFLICT", REFUSED)
    return [
        (
            shortage["requested"],
            shortage["available"],
            (shortage["unit"] or {}).get("serialNumber"),
            sorted(reservation["number"] for reservation in shortage["reservations"]),
        )
        for shortage in refused["shortages"]
    ]


async def test_every_kind_of_stock_change_is_refused_alike(
    api: Api, manager_token: str, staff_token: str
) -> None:
    wall = await create_equipment(api, manager_token, name="Wall", code="W", quantity=2)
    camera = await create_equipment(
        api, manager_token, name="Camera", code="C", tracking="SERIALIZED", units=[{"serialNumber": "A1"}]
    )
    on_wall = (await reserve(api, staff_token, [line(wall, 2)]))["reservation"]["number"]
    on_unit = (await reserve(api, staff_token, [line(camera, 1, camera["units"][0])]))["reservation"][
        "number"
    ]

    assert shortages(await update(api, manager_token, wall, quantity=1)) == [(2, 1, None, [on_wall])]
    retired = (await api.data(RETIRE_EQUIPMENT, {"id": wall["id"]}, token=manager_token))["retireEquipment"]
    assert shortages(retired) == [(2, 0, None, [on_wall])]
    out = {"input": {"id": camera["units"][0]["id"], "status": "MAINTENANCE"}}
    taken_out = (await api.data(UPDATE_UNIT, out, token=manager_token))["updateEquipmentUnit"]
    # The unit is missing, and so is the pool's only unit.
    assert shortages(taken_out) == [(1, 0, None, [on_unit]), (1, 0, "A1", [on_unit])]


async def test_one_refusal_names_the_pool_and_the_unit_it_overbooks(
    api: Api, manager_token: str, staff_token: str
) -> None:
    camera = await create_equipment(
        api,
        manager_token,
        name="Camera",
        code="C",
        tracking="SERIALIZED",
        units=[{"serialNumber": "A1"}, {"serialNumber": "A2"}],
    )
    a1 = camera["units"][0]
    morning = (await reserve(api, staff_token, [line(camera, 1, a1)], 0, 1))["reservation"]["number"]
    noon = (await reserve(api, staff_token, [line(camera, 1, a1)], 1, 2))["reservation"]["number"]
    pooled = (await reserve(api, staff_token, [line(camera)], 0, 2))["reservation"]["number"]
    # An hour of return handling: from 1 to 2 all three need a camera, and A1 is needed twice.
    assert shortages(await update(api, manager_token, camera, bufferAfter=60)) == [
        (3, 2, None, sorted([morning, noon, pooled])),
        (2, 1, "A1", sorted([morning, noon])),
    ]


async def test_holds_that_are_over_block_nothing_unless_their_return_buffer_still_runs(
    api: Api, manager_token: str, staff_token: str
) -> None:
    wall = await create_equipment(api, manager_token, name="Wall", code="W", quantity=1)
    now = utcnow()
    starts, ends = (now - timedelta(hours=3)).isoformat(), (now - timedelta(minutes=30)).isoformat()
    past = (await reserve(api, staff_token, [line(wall)], startsAt=starts, endsAt=ends))["reservation"]
    assert past["status"] == "CONFIRMED"

    # Over half an hour ago; with two hours of return handling it still holds the wall.
    assert (await update(api, manager_token, wall, bufferAfter=120))["__typename"] == "EquipmentSuccess"
    assert shortages(await update(api, manager_token, wall, quantity=0)) == [(1, 0, None, [past["number"]])]
    assert (await update(api, manager_token, wall, bufferAfter=0))["__typename"] == "EquipmentSuccess"
    lowered = await update(api, manager_token, wall, quantity=0)
    assert lowered["__typename"] == "EquipmentSuccess", lowered
    assert lowered["equipment"]["quantity"] == 0
