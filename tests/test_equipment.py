"""Equipment: the catalogue, stock changes that respect bookings, units, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from auth.services import Services
from db.tables import Role
from schema.node import to_global_id
from tests.api import Api, TenantUsers, error_codes, make_user
from tests.booking import (
    AVAILABILITY,
    CONFLICT_FIELDS,
    CREATE_EQUIPMENT,
    at,
    create_equipment,
    line,
    reserve,
    step,
)
from tests.conftest import StatementCounter

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


# --- helpers ---------------------------------------------------------------------------------


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


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
async def wall(api: Api, manager_token: str) -> dict[str, Any]:
    return await create_equipment(api, manager_token, name="LED wall", code="LED-1", quantity=6)


@pytest.fixture
async def camera(api: Api, manager_token: str) -> dict[str, Any]:
    return await create_equipment(
        api,
        manager_token,
        name="Camera",
        code="CAM-1",
        tracking="SERIALIZED",
        units=[{"serialNumber": "A1"}, {"serialNumber": "A2"}],
    )


@pytest.fixture
async def cmh_manager_token(api: Api, cmh: TenantUsers) -> str:
    return await api.token("cmh", cmh.manager.email)


@pytest.fixture
async def cmh_staff_token(api: Api, cmh: TenantUsers) -> str:
    return await api.token("cmh", cmh.staff.email)


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


# --- the equipment list ----------------------------------------------------------------------


@pytest.fixture
async def catalogue(api: Api, manager_token: str) -> list[dict[str, Any]]:
    items = [
        await create_equipment(
            api,
            manager_token,
            name="Truss frame",
            code="TRS-1",
            category="Rigging",
            description="Holds LED walls",
            tags=["ledwall", "rigging"],
            quantity=8,
        ),
        await create_equipment(
            api,
            manager_token,
            name="LED wall",
            code="LED-1",
            category="LED walls",
            description="Modular panels",
            tags=["LED", "outdoor"],
            quantity=10,
        ),
        await create_equipment(
            api,
            manager_token,
            name="Camera",
            code="CAM-1",
            category="Broadcast",
            description="4K, 100% tested",
            tags=["camera"],
            tracking="SERIALIZED",
            units=[{"serialNumber": "C1"}],
        ),
        await create_equipment(
            api,
            manager_token,
            name="Marquee",
            code="TENT_1",
            category="Tents",
            description="10 by 20 metres",
            tags=["outdoor", "tent"],
            quantity=1,
        ),
        await create_equipment(
            api, manager_token, name="Old projector", code="PRJ-0", category="Video", quantity=1
        ),
    ]
    assert (await retire(api, manager_token, items[-1]))["__typename"] == "EquipmentSuccess"
    return items


async def test_list_is_ordered_by_name_by_default(
    api: Api, customer_token: str, catalogue: list[dict[str, Any]]
) -> None:
    everything = await listed(api, customer_token)
    assert everything["totalCount"] == 5
    assert names(everything) == ["Camera", "LED wall", "Marquee", "Old projector", "Truss frame"]
    by_code = await listed(api, customer_token, orderBy={"field": "CODE", "direction": "DESC"})
    assert [edge["node"]["code"] for edge in by_code["edges"]] == [
        "TRS-1",
        "TENT_1",
        "PRJ-0",
        "LED-1",
        "CAM-1",
    ]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"search": "LeD"}, ["LED wall", "Truss frame"]),  # name, and description
        ({"search": "prj"}, ["Old projector"]),  # code only
        ({"search": "  modular PANELS "}, ["LED wall"]),  # description, trimmed
        ({"search": "%"}, ["Camera"]),  # a literal percent sign
        ({"search": "0% t"}, ["Camera"]),
        ({"search": "_"}, ["Marquee"]),  # a literal underscore
        ({"search": "nothing like this"}, []),
        ({"category": "led WALLS"}, ["LED wall"]),
        ({"category": "LED"}, []),  # exact category, not a substring
        ({"tags": ["led"]}, ["LED wall"]),  # not "ledwall"
        ({"tags": ["LEDWALL"]}, ["Truss frame"]),
        ({"tags": ["outdoor"]}, ["LED wall", "Marquee"]),
        ({"tags": ["outdoor", "tent"]}, ["Marquee"]),  # all tags must match
        ({"tags": ["led", "tent"]}, []),
        ({"tags": ["wall"]}, []),
        ({"tracking": "SERIALIZED"}, ["Camera"]),
        ({"tracking": "BULK"}, ["LED wall", "Marquee", "Old projector", "Truss frame"]),
        ({"status": "RETIRED"}, ["Old projector"]),
        ({"status": "ACTIVE"}, ["Camera", "LED wall", "Marquee", "Truss frame"]),
        ({"status": "ACTIVE", "tags": ["outdoor"], "search": "mar"}, ["Marquee"]),
    ],
)
async def test_list_filters(
    api: Api,
    staff_token: str,
    catalogue: list[dict[str, Any]],
    filter: dict[str, Any],
    expected: list[str],
) -> None:
    found = await listed(api, staff_token, filter=filter)
    assert names(found) == expected
    assert found["totalCount"] == len(expected)


async def test_list_pages_with_cursors(api: Api, manager_token: str, catalogue: list[dict[str, Any]]) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await listed(api, manager_token, first=2, after=after)
        assert page["totalCount"] == 5
        assert len(page["edges"]) <= 2
        seen += names(page)
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == ["Camera", "LED wall", "Marquee", "Old projector", "Truss frame"]
    filtered = await listed(api, manager_token, first=1, filter={"tags": ["outdoor"]})
    assert (filtered["totalCount"], names(filtered), filtered["pageInfo"]["hasNextPage"]) == (
        2,
        ["LED wall"],
        True,
    )
    rest = await listed(
        api, manager_token, first=1, after=filtered["pageInfo"]["endCursor"], filter={"tags": ["outdoor"]}
    )
    assert (names(rest), rest["pageInfo"]["hasNextPage"]) == (["Marquee"], False)


LIST_WITH_UNITS = (
    "query { equipment(first: 100) { totalCount edges { node { name units { serialNumber } } } } }"
)


async def test_listing_equipment_with_units_costs_the_same_for_2_and_20_items(
    api: Api, manager_token: str, statements: StatementCounter
) -> None:
    async def statements_for(items: int) -> int:
        with statements.counting():
            data = await api.data(LIST_WITH_UNITS, token=manager_token)
        assert data["equipment"]["totalCount"] == items
        assert all(len(edge["node"]["units"]) == 2 for edge in data["equipment"]["edges"])
        return statements.last

    async def add(start: int, stop: int) -> None:
        for index in range(start, stop):
            units = [{"serialNumber": f"S{index}-1"}, {"serialNumber": f"S{index}-2"}]
            await create_equipment(
                api,
                manager_token,
                name=f"Kit {index:02}",
                code=f"K-{index}",
                tracking="SERIALIZED",
                units=units,
            )

    await add(0, 2)
    small = await statements_for(2)
    await add(2, 20)
    assert await statements_for(20) == small


@pytest.mark.parametrize("tag", ["bühne", '19" rack', "in\\out"])
async def test_any_tag_can_be_filtered_on(api: Api, manager_token: str, tag: str) -> None:
    tagged = await create_equipment(
        api, manager_token, name="Tagged", code="TAG-1", quantity=1, tags=[tag, "x"]
    )
    assert tagged["tags"] == [tag, "x"]
    await create_equipment(api, manager_token, name="Other", code="TAG-2", quantity=1, tags=["x"])
    found = await listed(api, manager_token, filter={"tags": [tag]})
    assert names(found) == ["Tagged"]
    assert found["totalCount"] == 1


@pytest.mark.parametrize(
    "filter",
    [
        {"search": "ÜBERDACHUNG"},
        {"search": "überdachung"},
        {"search": "Über"},
        {"category": "BÜHNE"},
        {"category": "bühne"},
    ],
)
async def test_search_and_category_ignore_case_beyond_ascii(
    api: Api, manager_token: str, filter: dict[str, Any]
) -> None:
    await create_equipment(
        api, manager_token, name="ÜBERDACHUNG 10x20", code="UEB-1", category="BÜHNE", quantity=1
    )
    await create_equipment(api, manager_token, name="Truss", code="TRS-1", category="Rigging", quantity=1)
    assert names(await listed(api, manager_token, filter=filter)) == ["ÜBERDACHUNG 10x20"]


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


async def test_lists_never_show_another_tenants_equipment(
    api: Api, cmh_manager_token: str, catalogue: list[dict[str, Any]]
) -> None:
    await create_equipment(api, cmh_manager_token, name="Stage", code="STG", quantity=1, tags=["outdoor"])
    theirs = await listed(api, cmh_manager_token, first=100)
    assert (theirs["totalCount"], names(theirs)) == (1, ["Stage"])
    for filter in (
        {"search": "led"},
        {"tags": ["outdoor"]},
        {"status": "RETIRED"},
        {"tracking": "SERIALIZED"},
    ):
        found = await listed(api, cmh_manager_token, filter=filter)
        assert names(found) == (["Stage"] if filter == {"tags": ["outdoor"]} else [])


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
