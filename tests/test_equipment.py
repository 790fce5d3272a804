"""Equipment: creating it (validated, codes unique per tenant), and who may manage or browse it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import Api, error_codes
from tests.booking import CREATE_EQUIPMENT, create_equipment
from tests.equipment import (
    ADD_UNITS,
    LIST,
    RETIRE_EQUIPMENT,
    UPDATE_EQUIPMENT,
    UPDATE_UNIT,
    add_units,
    create,
    fields_of,
    listed,
    names,
    node,
    retire,
    update,
    update_unit,
)

# --- createEquipment -------------------------------------------------------------------------


async def test_create_bulk_equipment_normalises_tags(api: Api, manager_token: str) -> None:
    result = await create(
        api,
        manager_token,
        name="  LED wall 3.9mm ",
        code=" LED-39 ",
        category="LED walls",
        description="Modular panels",
        tags=[" LED ", "led", "Outdoor", "OUTDOOR", "indoor"],
        quantity=40,
        bufferBefore=30,
        bufferAfter=90,
    )
    assert result["__typename"] == "EquipmentSuccess", result
    equipment = result["equipment"]
    assert equipment == {
        "id": equipment["id"],
        "name": "LED wall 3.9mm",
        "code": "LED-39",
        "tracking": "BULK",
        "quantity": 40,
        "bufferBefore": 30,
        "bufferAfter": 90,
        "status": "ACTIVE",
        "tags": ["led", "outdoor", "indoor"],
        "units": [],
    }
    seen = await node(api, manager_token, equipment["id"])
    assert seen is not None
    assert seen["category"] == "LED walls"
    assert seen["description"] == "Modular panels"
    assert seen["tags"] == ["led", "outdoor", "indoor"]


async def test_create_serialized_equipment_counts_its_units(api: Api, manager_token: str) -> None:
    result = await create(
        api,
        manager_token,
        name="Camera",
        code="CAM-1",
        tracking="SERIALIZED",
        quantity=None,
        units=[{"serialNumber": " B2 "}, {"serialNumber": "A1", "notes": "new lens"}],
    )
    assert result["__typename"] == "EquipmentSuccess", result
    equipment = result["equipment"]
    assert equipment["tracking"] == "SERIALIZED"
    assert equipment["quantity"] == 2
    assert [(unit["serialNumber"], unit["status"]) for unit in equipment["units"]] == [
        ("A1", "AVAILABLE"),
        ("B2", "AVAILABLE"),
    ]
    # An explicit quantity that agrees with the units is accepted.
    agreeing = await create(
        api,
        manager_token,
        name="Tripod",
        code="TRI-1",
        tracking="SERIALIZED",
        quantity=1,
        units=[{"serialNumber": "T1"}],
    )
    assert agreeing["__typename"] == "EquipmentSuccess", agreeing
    assert agreeing["equipment"]["quantity"] == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"code": ""}, "code"),
        ({"code": "   "}, "code"),
        ({"code": "C" * 65}, "code"),
        ({"quantity": -1}, "quantity"),
        ({"bufferBefore": -1}, "bufferBefore"),
        ({"bufferAfter": -5}, "bufferAfter"),
        ({"bufferBefore": 10_000_000}, "bufferBefore"),
        ({"bufferAfter": 60 * 24 * 30 + 1}, "bufferAfter"),
        (
            {
                "tracking": "SERIALIZED",
                "quantity": 3,
                "units": [{"serialNumber": "A1"}, {"serialNumber": "A2"}],
            },
            "quantity",
        ),
        ({"tracking": "BULK", "units": [{"serialNumber": "A1"}]}, "units"),
        (
            {
                "tracking": "SERIALIZED",
                "quantity": None,
                "units": [{"serialNumber": "A1"}, {"serialNumber": "A1"}],
            },
            "units.1.serialNumber",
        ),
    ],
)
async def test_create_validation_names_the_field(
    api: Api, manager_token: str, overrides: dict[str, Any], field: str
) -> None:
    result = await create(api, manager_token, **overrides)
    assert fields_of(result) == [field]
    assert result["code"] == "VALIDATION_FAILED"
    assert (await listed(api, manager_token))["totalCount"] == 0


async def test_codes_are_unique_per_tenant_only(api: Api, manager_token: str, cmh_manager_token: str) -> None:
    await create_equipment(api, manager_token, name="LED wall", code="LED-1", quantity=2)
    for code in ("LED-1", " LED-1 "):
        duplicate = await create(api, manager_token, name="Other wall", code=code)
        assert fields_of(duplicate) == ["code"]
    elsewhere = await create(api, cmh_manager_token, name="Their wall", code="LED-1")
    assert elsewhere["__typename"] == "EquipmentSuccess", elsewhere
    assert elsewhere["equipment"]["code"] == "LED-1"
    assert names(await listed(api, manager_token)) == ["LED wall"]
    assert names(await listed(api, cmh_manager_token)) == ["Their wall"]


# --- permissions -----------------------------------------------------------------------------


async def test_managers_and_admins_manage_equipment(api: Api, manager_token: str, admin_token: str) -> None:
    for index, token in enumerate((manager_token, admin_token)):
        bulk = await create_equipment(api, token, name=f"Wall {index}", code=f"W-{index}", quantity=2)
        changed = await update(api, token, bulk, name=f"Big wall {index}", quantity=5)
        assert changed["__typename"] == "EquipmentSuccess", changed
        assert (changed["equipment"]["name"], changed["equipment"]["quantity"]) == (f"Big wall {index}", 5)
        serialized = await create_equipment(
            api,
            token,
            name=f"Camera {index}",
            code=f"C-{index}",
            tracking="SERIALIZED",
            units=[{"serialNumber": "S1"}],
        )
        added = await add_units(api, token, serialized, "S2")
        assert added["__typename"] == "AddEquipmentUnitsSuccess", added
        assert added["equipment"]["quantity"] == 2
        repaired = await update_unit(api, token, serialized["units"][0], status="MAINTENANCE")
        assert repaired["__typename"] == "EquipmentUnitSuccess", repaired
        assert repaired["unit"]["status"] == "MAINTENANCE"
        retired = await retire(api, token, bulk)
        assert retired["__typename"] == "EquipmentSuccess", retired
        assert retired["equipment"]["status"] == "RETIRED"


async def test_staff_and_customers_may_not_manage_equipment(
    api: Api, manager_token: str, staff_token: str, customer_token: str, camera: dict[str, Any]
) -> None:
    operations: list[tuple[str, dict[str, Any]]] = [
        (CREATE_EQUIPMENT, {"input": {"name": "X", "code": "X-1", "tracking": "BULK", "quantity": 1}}),
        (UPDATE_EQUIPMENT, {"input": {"id": camera["id"], "name": "Hacked"}}),
        (RETIRE_EQUIPMENT, {"id": camera["id"]}),
        (ADD_UNITS, {"input": {"equipmentId": camera["id"], "units": [{"serialNumber": "Z9"}]}}),
        (UPDATE_UNIT, {"input": {"id": camera["units"][0]["id"], "status": "RETIRED"}}),
    ]
    for token in (staff_token, customer_token):
        for operation, variables in operations:
            body = await api.post(operation, variables, token=token)
            assert error_codes(body) == ["FORBIDDEN"], body
            assert body["data"] is None
    for operation, variables in operations:
        body = await api.post(operation, variables)
        assert error_codes(body) == ["UNAUTHENTICATED"], body
    unchanged = await node(api, manager_token, camera["id"])
    assert unchanged is not None
    assert (unchanged["name"], unchanged["status"], unchanged["quantity"]) == ("Camera", "ACTIVE", 2)
    assert [(unit["serialNumber"], unit["status"]) for unit in unchanged["units"]] == [
        ("A1", "AVAILABLE"),
        ("A2", "AVAILABLE"),
    ]
    assert (await listed(api, manager_token))["totalCount"] == 1


async def test_customers_can_browse_the_catalogue_but_anonymous_callers_cannot(
    api: Api, customer_token: str, staff_token: str, wall: dict[str, Any], camera: dict[str, Any]
) -> None:
    for token in (customer_token, staff_token):
        catalogue = await listed(api, token)
        assert catalogue["totalCount"] == 2
        assert names(catalogue) == ["Camera", "LED wall"]
    body = await api.post(LIST)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None
