"""Another tenant's equipment, units and reservations, and ``node(id:)`` for one's own."""

from __future__ import annotations

from typing import Any

from auth.services import Services
from db.tables import Role
from schema.node import to_global_id
from tests.api import Api, TenantUsers, make_user
from tests.booking import AVAILABILITY, at, create_equipment, line, reserve
from tests.equipment import add_units, node, reservation_count, retire, update, update_unit

# --- tenant isolation ------------------------------------------------------------------------


async def test_another_tenants_equipment_cannot_be_changed(
    api: Api, manager_token: str, cmh_manager_token: str, camera: dict[str, Any], wall: dict[str, Any]
) -> None:
    updated = await update(api, cmh_manager_token, wall, name="pwned", quantity=0)
    assert (updated["__typename"], updated["field"]) == ("NotFoundError", "id")
    assert updated["code"] == "NOT_FOUND"
    retired = await retire(api, cmh_manager_token, camera)
    assert (retired["__typename"], retired["field"]) == ("NotFoundError", "id")
    added = await add_units(api, cmh_manager_token, camera, "EVIL-1")
    assert (added["__typename"], added["field"]) == ("NotFoundError", "equipmentId")
    unit = await update_unit(api, cmh_manager_token, camera["units"][0], status="RETIRED", serialNumber="X")
    assert (unit["__typename"], unit["field"]) == ("NotFoundError", "id")

    wall_now = await node(api, manager_token, wall["id"])
    camera_now = await node(api, manager_token, camera["id"])
    assert wall_now is not None and camera_now is not None
    assert (wall_now["name"], wall_now["quantity"], wall_now["status"]) == ("LED wall", 6, "ACTIVE")
    assert (camera_now["quantity"], camera_now["status"]) == (2, "ACTIVE")
    assert [(u["serialNumber"], u["status"]) for u in camera_now["units"]] == [
        ("A1", "AVAILABLE"),
        ("A2", "AVAILABLE"),
    ]


async def test_node_hides_another_tenants_objects(
    api: Api, staff_token: str, cmh_manager_token: str, camera: dict[str, Any]
) -> None:
    booked = (await reserve(api, staff_token, [line(camera, 1, camera["units"][0])]))["reservation"]
    for global_id in (camera["id"], camera["units"][0]["id"], booked["id"]):
        assert await node(api, cmh_manager_token, global_id) is None
    found = await api.data(
        AVAILABILITY, {"from": at(0), "to": at(4), "ids": [camera["id"]]}, token=cmh_manager_token
    )
    assert found == {"availability": []}


async def test_bookings_cannot_name_another_tenants_equipment_or_units(
    api: Api,
    staff_token: str,
    cmh_manager_token: str,
    cmh_staff_token: str,
    camera: dict[str, Any],
    wall: dict[str, Any],
) -> None:
    their_camera = await create_equipment(
        api,
        cmh_manager_token,
        name="Camera",
        code="CAM-1",
        tracking="SERIALIZED",
        units=[{"serialNumber": "A1"}],
    )
    their_stage = await create_equipment(api, cmh_manager_token, name="Stage", code="STG", quantity=1)
    attempts: list[tuple[dict[str, Any], str]] = [
        (line(wall, 1), "lines.0.equipmentId"),
        (line(camera, 1, camera["units"][0]), "lines.0.equipmentId"),
        (line(their_camera, 1, camera["units"][0]), "lines.0.unitId"),
        (line(their_stage, 1, camera["units"][0]), "lines.0.unitId"),
    ]
    for requested, field in attempts:
        result = await reserve(api, cmh_staff_token, [requested])
        assert (result["__typename"], result.get("field")) == ("NotFoundError", field), result
    assert await reservation_count(api, cmh_staff_token) == 0
    assert await reservation_count(api, staff_token) == 0
    # Their own unit books fine.
    own = await reserve(api, cmh_staff_token, [line(their_camera, 1, their_camera["units"][0])])
    assert own["__typename"] == "CreateReservationSuccess", own
    assert own["reservation"]["number"] == 1


# --- node(id:) -------------------------------------------------------------------------------


async def test_node_returns_own_equipment_units_and_reservations(
    api: Api, manager_token: str, staff_token: str, camera: dict[str, Any]
) -> None:
    booked = (await reserve(api, staff_token, [line(camera, 1)]))["reservation"]
    equipment = await node(api, staff_token, camera["id"])
    assert equipment is not None
    assert (equipment["__typename"], equipment["id"], equipment["name"], equipment["quantity"]) == (
        "Equipment",
        camera["id"],
        "Camera",
        2,
    )
    unit = await node(api, manager_token, camera["units"][1]["id"])
    assert unit == {
        "__typename": "EquipmentUnit",
        "id": camera["units"][1]["id"],
        "serialNumber": "A2",
        "unitStatus": "AVAILABLE",
        "equipment": {"name": "Camera"},
    }
    reservation = await node(api, manager_token, booked["id"])
    assert reservation == {
        "__typename": "Reservation",
        "id": booked["id"],
        "number": booked["number"],
        "reservationStatus": "CONFIRMED",
    }


async def test_customers_see_only_their_own_reservations_through_node(
    api: Api,
    services: Services,
    esr: TenantUsers,
    staff_token: str,
    customer_token: str,
    camera: dict[str, Any],
) -> None:
    other = await make_user(services, esr.tenant, Role.CUSTOMER, "other.customer@esr.example")
    other_token = await api.token("esr", other.email)
    mine = (await reserve(api, customer_token, [line(camera)]))["reservation"]
    theirs = (await reserve(api, other_token, [line(camera)]))["reservation"]
    internal = (await reserve(api, staff_token, [line(camera)], 10, 12))["reservation"]
    for_me = (
        await reserve(
            api, staff_token, [line(camera)], 20, 22, customerId=to_global_id("User", esr.customer.id)
        )
    )["reservation"]
    seen = await node(api, customer_token, mine["id"])
    assert seen is not None
    assert (seen["number"], seen["reservationStatus"]) == (mine["number"], "REQUESTED")
    booked_for_me = await node(api, customer_token, for_me["id"])
    assert booked_for_me is not None and booked_for_me["number"] == for_me["number"]
    assert await node(api, customer_token, theirs["id"]) is None
    assert await node(api, customer_token, internal["id"]) is None
    # The catalogue itself is visible to customers.
    equipment = await node(api, customer_token, camera["id"])
    assert equipment is not None and equipment["name"] == "Camera"
    unit = await node(api, customer_token, camera["units"][0]["id"])
    assert unit is not None and unit["serialNumber"] == "A1"
