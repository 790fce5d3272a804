"""Units of serialized equipment: adding them, and taking them out of service while booked or not."""

from __future__ import annotations

from typing import Any

from tests.api import Api
from tests.booking import line, reserve
from tests.equipment import ADD_UNITS, add_units, fields_of, node, numbers, update_unit

# --- addEquipmentUnits -----------------------------------------------------------------------


async def test_adding_units_raises_stock(api: Api, manager_token: str, camera: dict[str, Any]) -> None:
    variables = {
        "input": {
            "equipmentId": camera["id"],
            "units": [{"serialNumber": " A3 ", "notes": "spare"}, {"serialNumber": "B1"}],
        }
    }
    result = (await api.data(ADD_UNITS, variables, token=manager_token))["addEquipmentUnits"]
    assert result["__typename"] == "AddEquipmentUnitsSuccess", result
    assert [(unit["serialNumber"], unit["status"], unit["notes"]) for unit in result["units"]] == [
        ("A3", "AVAILABLE", "spare"),
        ("B1", "AVAILABLE", ""),
    ]
    assert result["equipment"]["quantity"] == 4
    assert [unit["serialNumber"] for unit in result["equipment"]["units"]] == ["A1", "A2", "A3", "B1"]
    new_unit = await node(api, manager_token, result["units"][0]["id"])
    assert new_unit == {
        "__typename": "EquipmentUnit",
        "id": result["units"][0]["id"],
        "serialNumber": "A3",
        "unitStatus": "AVAILABLE",
        "equipment": {"name": "Camera"},
    }


async def test_adding_units_validates_serials_and_tracking(
    api: Api, manager_token: str, camera: dict[str, Any], wall: dict[str, Any]
) -> None:
    assert fields_of(await add_units(api, manager_token, camera, "A9", "A1")) == ["units.1.serialNumber"]
    assert fields_of(await add_units(api, manager_token, camera, "A9", "A9")) == ["units.1.serialNumber"]
    assert fields_of(await add_units(api, manager_token, camera, " ")) == ["units.0.serialNumber"]
    assert fields_of(await add_units(api, manager_token, camera)) == ["units"]
    assert fields_of(await add_units(api, manager_token, wall, "W1")) == ["equipmentId"]
    camera_now = await node(api, manager_token, camera["id"])
    wall_now = await node(api, manager_token, wall["id"])
    assert camera_now is not None and wall_now is not None
    assert camera_now["quantity"] == 2
    assert [unit["serialNumber"] for unit in camera_now["units"]] == ["A1", "A2"]
    assert (wall_now["quantity"], wall_now["units"]) == (6, [])


# --- updateEquipmentUnit ---------------------------------------------------------------------


async def test_units_in_maintenance_cannot_be_booked(
    api: Api, manager_token: str, staff_token: str, camera: dict[str, Any]
) -> None:
    a1, a2 = camera["units"]
    repair = await update_unit(api, manager_token, a1, status="MAINTENANCE", notes="Sensor cleaning")
    assert repair["__typename"] == "EquipmentUnitSuccess", repair
    assert repair["unit"] == {
        "id": a1["id"],
        "serialNumber": "A1",
        "status": "MAINTENANCE",
        "notes": "Sensor cleaning",
        "equipment": {"name": "Camera", "quantity": 1},
    }
    by_unit = await reserve(api, staff_token, [line(camera, 1, a1)])
    assert by_unit["__typename"] == "ConflictError", by_unit
    assert [shortage["unit"] for shortage in by_unit["shortages"]] == [{"serialNumber": "A1"}]
    assert by_unit["shortages"][0]["reservations"] == []
    assert (await reserve(api, staff_token, [line(camera, 2)]))["__typename"] == "ConflictError"
    pooled = await reserve(api, staff_token, [line(camera, 1)])
    assert pooled["__typename"] == "CreateReservationSuccess", pooled
    named = await reserve(api, staff_token, [line(camera, 1, a2)], 10, 12)
    assert named["__typename"] == "CreateReservationSuccess", named

    back = await update_unit(api, manager_token, a1, status="AVAILABLE")
    assert back["__typename"] == "EquipmentUnitSuccess", back
    assert (back["unit"]["status"], back["unit"]["equipment"]["quantity"]) == ("AVAILABLE", 2)
    assert (await reserve(api, staff_token, [line(camera, 1, a1)]))[
        "__typename"
    ] == "CreateReservationSuccess"


async def test_a_booked_unit_cannot_be_taken_out_of_service(
    api: Api, manager_token: str, staff_token: str, camera: dict[str, Any]
) -> None:
    a1, a2 = camera["units"]
    booked = (await reserve(api, staff_token, [line(camera, 1, a1)], 0, 4))["reservation"]
    for status in ("MAINTENANCE", "RETIRED"):
        refused = await update_unit(api, manager_token, a1, status=status, notes="broken")
        assert refused["__typename"] == "ConflictError", refused
        [shortage] = refused["shortages"]
        assert shortage["unit"] == {"serialNumber": "A1"}
        assert numbers(shortage) == [booked["number"]]
    unit = await node(api, manager_token, a1["id"])
    assert unit is not None and unit["unitStatus"] == "AVAILABLE"
    equipment = await node(api, manager_token, camera["id"])
    assert equipment is not None and equipment["quantity"] == 2
    assert [(u["serialNumber"], u["status"]) for u in equipment["units"]] == [
        ("A1", "AVAILABLE"),
        ("A2", "AVAILABLE"),
    ]
    # The other unit is free, so it may go to maintenance; then the pool is full.
    assert (await update_unit(api, manager_token, a2, status="MAINTENANCE"))["unit"]["equipment"][
        "quantity"
    ] == 1
    assert (await reserve(api, staff_token, [line(camera, 1)], 2, 6))["__typename"] == "ConflictError"


async def test_taking_out_a_booked_unit_reports_it_as_missing(
    api: Api, manager_token: str, staff_token: str, camera: dict[str, Any]
) -> None:
    a1 = camera["units"][0]
    await reserve(api, staff_token, [line(camera, 1, a1)], 0, 4)
    refused = await update_unit(api, manager_token, a1, status="MAINTENANCE")
    assert refused["__typename"] == "ConflictError", refused
    [shortage] = refused["shortages"]
    # As when booking a taken unit: the booking needs the unit, none of it is free, one is missing.
    assert (shortage["requested"], shortage["available"], shortage["missing"]) == (1, 0, 1)


async def test_taking_a_unit_out_is_refused_when_the_pool_is_fully_booked(
    api: Api, manager_token: str, staff_token: str, camera: dict[str, Any]
) -> None:
    both = (await reserve(api, staff_token, [line(camera, 2)], 0, 4))["reservation"]
    refused = await update_unit(api, manager_token, camera["units"][1], status="MAINTENANCE")
    assert refused["__typename"] == "ConflictError", refused
    assert numbers(refused["shortages"][0]) == [both["number"]]
    equipment = await node(api, manager_token, camera["id"])
    assert equipment is not None and equipment["quantity"] == 2
