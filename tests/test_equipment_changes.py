"""Changing and retiring equipment: the given fields only, and never below what is booked."""

from __future__ import annotations

from typing import Any

from tests.api import Api
from tests.booking import AVAILABILITY, at, create_equipment, line, reserve, step
from tests.equipment import fields_of, node, numbers, reservation_count, retire, update

# --- updateEquipment -------------------------------------------------------------------------


async def test_update_changes_the_given_fields_only(
    api: Api, manager_token: str, wall: dict[str, Any], camera: dict[str, Any]
) -> None:
    result = await update(
        api, manager_token, wall, name="LED wall 2.6", category="LED walls", tags=["Indoor", "indoor", "LED"]
    )
    assert result["__typename"] == "EquipmentSuccess", result
    equipment = result["equipment"]
    assert (equipment["name"], equipment["code"], equipment["category"], equipment["tags"]) == (
        "LED wall 2.6",
        "LED-1",
        "LED walls",
        ["indoor", "led"],
    )
    assert (equipment["quantity"], equipment["bufferBefore"], equipment["bufferAfter"]) == (6, 0, 0)
    same_tracking = await update(api, manager_token, wall, tracking="BULK", code="LED-26")
    assert same_tracking["__typename"] == "EquipmentSuccess", same_tracking
    assert same_tracking["equipment"]["code"] == "LED-26"
    assert fields_of(await update(api, manager_token, wall, code="CAM-1")) == ["code"]
    assert fields_of(await update(api, manager_token, wall, name=" ")) == ["name"]


async def test_tracking_is_fixed_and_serialized_stock_is_counted_in_units(
    api: Api, manager_token: str, wall: dict[str, Any], camera: dict[str, Any]
) -> None:
    assert fields_of(await update(api, manager_token, wall, tracking="SERIALIZED")) == ["tracking"]
    assert fields_of(await update(api, manager_token, camera, tracking="BULK")) == ["tracking"]
    assert fields_of(await update(api, manager_token, camera, quantity=5)) == ["quantity"]
    assert fields_of(await update(api, manager_token, wall, quantity=-1)) == ["quantity"]
    assert fields_of(await update(api, manager_token, wall, bufferAfter=10_000_000)) == ["bufferAfter"]
    wall_now = await node(api, manager_token, wall["id"])
    camera_now = await node(api, manager_token, camera["id"])
    assert wall_now is not None and camera_now is not None
    assert (wall_now["tracking"], wall_now["quantity"], wall_now["bufferAfter"]) == ("BULK", 6, 0)
    assert (camera_now["tracking"], camera_now["quantity"]) == ("SERIALIZED", 2)


async def test_lowering_stock_below_confirmed_bookings_is_refused(
    api: Api, manager_token: str, staff_token: str, wall: dict[str, Any]
) -> None:
    first = (await reserve(api, staff_token, [line(wall, 3)], 0, 4))["reservation"]
    second = (await reserve(api, staff_token, [line(wall, 2)], 2, 6))["reservation"]
    later = (await reserve(api, staff_token, [line(wall, 2)], 10, 12))["reservation"]
    assert {first["status"], second["status"], later["status"]} == {"CONFIRMED"}

    refused = await update(api, manager_token, wall, quantity=4, name="Renamed")
    assert refused["__typename"] == "ConflictError", refused
    assert refused["code"] == "CONFLICT"
    [shortage] = refused["shortages"]
    assert numbers(shortage) == sorted([first["number"], second["number"]])
    assert (shortage["requested"], shortage["available"], shortage["missing"]) == (5, 4, 1)
    assert shortage["equipment"] == {"name": "LED wall"}
    unchanged = await node(api, manager_token, wall["id"])
    assert unchanged is not None
    assert (unchanged["quantity"], unchanged["name"]) == (6, "LED wall")

    exactly = await update(api, manager_token, wall, quantity=5)
    assert exactly["__typename"] == "EquipmentSuccess", exactly
    assert exactly["equipment"]["quantity"] == 5
    reread = await node(api, manager_token, wall["id"])
    assert reread is not None and reread["quantity"] == 5


async def test_checked_out_bookings_also_hold_stock(
    api: Api, manager_token: str, staff_token: str, wall: dict[str, Any]
) -> None:
    out = (await reserve(api, staff_token, [line(wall, 4)], 0, 4))["reservation"]
    assert (await step(api, staff_token, "checkOutReservation", out["id"]))["reservation"][
        "status"
    ] == "CHECKED_OUT"
    refused = await update(api, manager_token, wall, quantity=3)
    assert refused["__typename"] == "ConflictError", refused
    assert numbers(refused["shortages"][0]) == [out["number"]]
    assert (await update(api, manager_token, wall, quantity=4))["equipment"]["quantity"] == 4


async def test_widening_buffers_over_back_to_back_bookings_is_refused(
    api: Api, manager_token: str, staff_token: str
) -> None:
    tent = await create_equipment(api, manager_token, name="Marquee", code="TENT", quantity=1)
    morning = (await reserve(api, staff_token, [line(tent)], 0, 1))["reservation"]
    afternoon = (await reserve(api, staff_token, [line(tent)], 1, 2))["reservation"]
    assert afternoon["status"] == "CONFIRMED"
    for fields in ({"bufferAfter": 60}, {"bufferBefore": 1}, {"bufferBefore": 30, "bufferAfter": 30}):
        refused = await update(api, manager_token, tent, **fields)
        assert refused["__typename"] == "ConflictError", (fields, refused)
        assert numbers(refused["shortages"][0]) == sorted([morning["number"], afternoon["number"]])
    unchanged = await node(api, manager_token, tent["id"])
    assert unchanged is not None
    assert (unchanged["bufferBefore"], unchanged["bufferAfter"]) == (0, 0)
    # A buffer that fits in the gap before the next booking at hour 3 is fine.
    await step(api, staff_token, "cancelReservation", afternoon["id"])
    await reserve(api, staff_token, [line(tent)], 3, 4)
    fits = await update(api, manager_token, tent, bufferAfter=120)
    assert fits["__typename"] == "EquipmentSuccess", fits
    assert fits["equipment"]["bufferAfter"] == 120
    refused = await update(api, manager_token, tent, bufferAfter=121)
    assert refused["__typename"] == "ConflictError", refused


async def test_widening_buffers_cannot_make_one_unit_overlap_itself(
    api: Api, manager_token: str, staff_token: str, camera: dict[str, Any]
) -> None:
    a1 = camera["units"][0]
    morning = (await reserve(api, staff_token, [line(camera, 1, a1)], 0, 1))["reservation"]
    afternoon = (await reserve(api, staff_token, [line(camera, 1, a1)], 1, 2))["reservation"]
    assert (morning["status"], afternoon["status"]) == ("CONFIRMED", "CONFIRMED")
    # Two units in stock, but both bookings name A1: with a return buffer they would overlap on it.
    refused = await update(api, manager_token, camera, bufferAfter=60)
    assert refused["__typename"] == "ConflictError", refused
    assert numbers(refused["shortages"][0]) == sorted([morning["number"], afternoon["number"]])
    assert refused["shortages"][0]["unit"] == {"serialNumber": "A1"}
    unchanged = await node(api, manager_token, camera["id"])
    assert unchanged is not None and unchanged["bufferAfter"] == 0


async def test_requested_and_canceled_reservations_never_block_stock_changes(
    api: Api, manager_token: str, staff_token: str, customer_token: str, wall: dict[str, Any]
) -> None:
    requested = (await reserve(api, customer_token, [line(wall, 6)], 0, 4))["reservation"]
    assert requested["status"] == "REQUESTED"
    canceled = (await reserve(api, staff_token, [line(wall, 6)], 0, 4))["reservation"]
    assert (await step(api, staff_token, "cancelReservation", canceled["id"]))["reservation"][
        "status"
    ] == "CANCELED"
    lowered = await update(api, manager_token, wall, quantity=0, bufferBefore=600, bufferAfter=600)
    assert lowered["__typename"] == "EquipmentSuccess", lowered
    assert (lowered["equipment"]["quantity"], lowered["equipment"]["bufferAfter"]) == (0, 600)
    retired = await retire(api, manager_token, wall)
    assert retired["__typename"] == "EquipmentSuccess", retired


# --- retireEquipment -------------------------------------------------------------------------


async def test_retiring_waits_for_bookings_and_stops_new_ones(
    api: Api, manager_token: str, staff_token: str, wall: dict[str, Any]
) -> None:
    booked = (await reserve(api, staff_token, [line(wall, 1)], 24, 30))["reservation"]
    refused = await retire(api, manager_token, wall)
    assert refused["__typename"] == "ConflictError", refused
    assert numbers(refused["shortages"][0]) == [booked["number"]]
    still = await node(api, manager_token, wall["id"])
    assert still is not None and still["status"] == "ACTIVE"
    near = (await reserve(api, staff_token, [line(wall, 1)], 0, 2))["reservation"]
    refused = await retire(api, manager_token, wall)
    assert numbers(refused["shortages"][0]) == sorted([booked["number"], near["number"]])
    await step(api, staff_token, "cancelReservation", booked["id"])
    refused = await retire(api, manager_token, wall)
    assert numbers(refused["shortages"][0]) == [near["number"]]
    await step(api, staff_token, "cancelReservation", near["id"])
    retired = await retire(api, manager_token, wall)
    assert retired["__typename"] == "EquipmentSuccess", retired
    assert retired["equipment"]["status"] == "RETIRED"
    again = await retire(api, manager_token, wall)
    assert again["__typename"] == "EquipmentSuccess"
    assert again["equipment"]["status"] == "RETIRED"

    refused_booking = await reserve(api, staff_token, [line(wall, 1)], 40, 42)
    assert fields_of(refused_booking) == ["lines.0.equipmentId"]
    [availability] = (
        await api.data(AVAILABILITY, {"from": at(0), "to": at(48), "ids": [wall["id"]]}, token=staff_token)
    )["availability"]
    assert (availability["total"], availability["held"], availability["available"]) == (0, 0, 0)
    assert await reservation_count(api, staff_token) == 2  # no reservation was written
