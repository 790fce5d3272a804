"""`importEquipment`: a catalogue from CSV, checked like createEquipment/updateEquipment, all rows or none."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlmodel import col, select

from auth.services import Services
from db.tables import AuditEvent, Job
from tests.api import Api, TenantUsers, error_codes
from tests.booking import create_equipment, line, reserve
from tests.equipment_import import HEADER, IMPORT, catalogue, problems, run_import, serials

CATALOGUE_CSV = (
    HEADER
    + 'LED-1,LED wall,LED walls,BULK,40,30,90,"LED, Outdoor, led",Modular panels,\n'
    + 'CAM-1,Camera,Video,serialized,,0,0,,"Body only,\nno lens","A1, A2 ,A3"\n'
    + "DECK-1,Stage deck,,,8,,,,,\n"
)


async def _audit(services: Services, esr: TenantUsers) -> list[AuditEvent]:
    """The tenant's audit entries of equipment and units, oldest first."""
    async with services.database.session(esr.tenant.id) as session:
        statement = (
            select(AuditEvent)
            .where(col(AuditEvent.target_type).in_(["equipment", "equipment_unit"]))
            .order_by(col(AuditEvent.created_at), col(AuditEvent.id))
        )
        return list((await session.scalars(statement)).all())


async def test_import_creates_bulk_and_serialized_equipment(api: Api, manager_token: str) -> None:
    result = await run_import(api, manager_token, CATALOGUE_CSV)
    assert result == {
        "__typename": "ImportEquipmentSuccess",
        "dryRun": False,
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
    }
    found = await catalogue(api, manager_token)
    assert sorted(found) == ["CAM-1", "DECK-1", "LED-1"]
    assert found["LED-1"] | {"units": None} == {
        "code": "LED-1",
        "name": "LED wall",
        "category": "LED walls",
        "description": "Modular panels",
        "tags": ["led", "outdoor"],
        "tracking": "BULK",
        "quantity": 40,
        "bufferBefore": 30,
        "bufferAfter": 90,
        "status": "ACTIVE",
        "units": None,
    }
    camera = found["CAM-1"]
    assert (camera["tracking"], camera["quantity"], camera["description"]) == (
        "SERIALIZED",
        3,
        "Body only,\nno lens",
    )
    assert serials(camera) == {"A1": "AVAILABLE", "A2": "AVAILABLE", "A3": "AVAILABLE"}
    assert (found["DECK-1"]["tracking"], found["DECK-1"]["quantity"], found["DECK-1"]["bufferBefore"]) == (
        "BULK",
        8,
        0,
    )


async def test_header_names_and_a_byte_order_mark(api: Api, manager_token: str) -> None:
    csv = '\ufeff Serial Numbers ,CODE,Name,Tracking\r\n"S1,S2",CAM-9,Camera,SERIALIZED\r\n\r\n,,,\r\n'
    result = await run_import(api, manager_token, csv)
    assert (result["__typename"], result.get("rows"), result.get("created")) == (
        "ImportEquipmentSuccess",
        1,
        1,
    )
    assert serials((await catalogue(api, manager_token))["CAM-9"]) == {"S1": "AVAILABLE", "S2": "AVAILABLE"}


BROKEN_CSV = (
    HEADER
    + "LED-1,LED wall,,BULK,ten,0,0,,,\n"  # line 2
    + "CAM-1,Camera,,TRIPOD,,,,,,\n"  # line 3
    + "LED-1,Again,,BULK,1,,,,,\n"  # line 4: the code again
    + ",No code,,BULK,1,-5,,,,\n"  # line 5
    + "DECK-1,   ,,BULK,1,,,,,X1\n"  # line 6
    + "SHORT,row\n"  # line 7
    + 'CAM-2,Camera,,SERIALIZED,3,,,,,"B1,B1"\n'  # line 8
    + "OK-1,Fine,,BULK,2,,,,,\n"  # line 9
)
BROKEN_PROBLEMS = [
    (2, "quantity", "Must be a whole number."),
    (3, "tracking", "Must be BULK or SERIALIZED."),
    (7, None, "Has 2 fields; the header has 10."),
    (4, "code", "Code 'LED-1' is already on line 2."),
    (5, "code", "Must be 1 to 64 characters long."),
    (5, "buffer_before", "Must be between 0 and 43200 minutes."),
    (6, "name", "Must not be empty."),
    (6, "serial_numbers", "Only serialized equipment has units."),
    (8, "quantity", "Serialized stock is the number of units; add units instead."),
    (8, "serial_numbers", "Serial number 'B1': Appears twice."),
]


@pytest.mark.parametrize("dry_run", [True, False])
async def test_problems_are_reported_by_line_and_column_and_nothing_is_written(
    api: Api, manager_token: str, services: Services, esr: TenantUsers, dry_run: bool
) -> None:
    result = await run_import(api, manager_token, BROKEN_CSV, dry_run=dry_run)
    assert sorted(problems(result), key=lambda item: (item[0] or 0, item[1] or "")) == sorted(
        BROKEN_PROBLEMS, key=lambda item: (item[0] or 0, item[1] or "")
    )
    assert (result["dryRun"], result["problemCount"]) == (dry_run, len(BROKEN_PROBLEMS))
    quantity = next(problem for problem in result["problems"] if problem["column"] == "quantity")
    assert quantity["columnNumber"] == 5
    assert await catalogue(api, manager_token) == {}
    assert await _audit(services, esr) == []


async def test_one_bad_row_writes_nothing_not_even_the_good_ones(
    api: Api, manager_token: str, wall: dict[str, Any]
) -> None:
    csv = HEADER + "LED-1,LED wall renamed,,,9,,,,,\nNEW-1,New,,BULK,1,,,,,\nNEW-2,,,BULK,1,,,,,\n"
    result = await run_import(api, manager_token, csv)
    assert problems(result) == [(4, "name", "Must not be empty.")]
    found = await catalogue(api, manager_token)
    assert sorted(found) == ["LED-1"]
    assert (found["LED-1"]["name"], found["LED-1"]["quantity"]) == ("LED wall", 6)


async def test_a_dry_run_of_a_good_file_counts_without_writing(api: Api, manager_token: str) -> None:
    result = await run_import(api, manager_token, CATALOGUE_CSV, dry_run=True)
    assert (result["__typename"], result["dryRun"], result["created"]) == ("ImportEquipmentSuccess", True, 3)
    assert await catalogue(api, manager_token) == {}


async def test_reimport_updates_by_code_and_reports_unchanged(
    api: Api, manager_token: str, services: Services, esr: TenantUsers
) -> None:
    await run_import(api, manager_token, CATALOGUE_CSV)
    again = await run_import(api, manager_token, CATALOGUE_CSV)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    changed = CATALOGUE_CSV.replace("DECK-1,Stage deck,,,8", "DECK-1,Stage deck XL,,,12")
    third = await run_import(api, manager_token, changed)
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 2)
    found = await catalogue(api, manager_token)
    assert len(found) == 3
    assert (found["DECK-1"]["name"], found["DECK-1"]["quantity"]) == ("Stage deck XL", 12)

    events = await _audit(services, esr)
    actions = Counter(event.action for event in events)
    # The same entries createEquipment/addEquipmentUnits would write, one update, and one summary per write.
    assert actions == {
        "equipment.created": 3,
        "equipment_unit.created": 3,
        "equipment.updated": 1,
        "equipment.imported": 3,
    }
    update = next(event for event in events if event.action == "equipment.updated")
    assert update.changes["name"] == ["Stage deck", "Stage deck XL"]
    assert update.changes["quantity"] == [8, 12]
    assert update.event == "equipment.changed"
    summaries = [event.changes for event in events if event.action == "equipment.imported"]
    assert summaries == [
        {"rows": 3, "created": 3, "updated": 0, "unchanged": 0},
        {"rows": 3, "created": 0, "updated": 0, "unchanged": 3},
        {"rows": 3, "created": 0, "updated": 1, "unchanged": 2},
    ]
    # The entries of one import share its request id, and each names the manager.
    first_request = next(event.request_id for event in events if event.action == "equipment.imported")
    assert sum(event.request_id == first_request for event in events) == 7
    assert {event.actor_id for event in events} == {esr.manager.id}


async def test_created_and_changed_equipment_announce_their_events(
    api: Api, manager_token: str, services: Services, esr: TenantUsers
) -> None:
    await run_import(api, manager_token, CATALOGUE_CSV)
    await run_import(api, manager_token, CATALOGUE_CSV.replace("Stage deck", "Deck"))
    events = Counter(event.event for event in await _audit(services, esr) if event.event is not None)
    assert events == {"equipment.created": 3, "unit.created": 3, "equipment.changed": 1}
    async with services.database.session(None) as session:
        jobs = (await session.scalars(select(Job).where(col(Job.kind) == "event"))).all()
    assert len(jobs) == 7


async def test_who_may_import(
    api: Api, admin_token: str, staff_token: str, customer_token: str, manager_token: str
) -> None:
    variables = {"input": {"csv": CATALOGUE_CSV}}
    for token, code in ((customer_token, "FORBIDDEN"), (staff_token, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = await api.post(IMPORT, variables, token=token)
        assert error_codes(body) == [code], body
    assert await catalogue(api, manager_token) == {}
    assert (await run_import(api, admin_token, CATALOGUE_CSV))["created"] == 3


async def test_another_tenants_codes_are_never_touched(
    api: Api, manager_token: str, cmh_manager_token: str
) -> None:
    await create_equipment(api, cmh_manager_token, name="Their wall", code="LED-1", quantity=3)
    result = await run_import(api, manager_token, HEADER + "LED-1,Our wall,,BULK,9,,,,,\n")
    assert (result["created"], result["updated"]) == (1, 0)
    assert (await catalogue(api, cmh_manager_token))["LED-1"]["quantity"] == 3
    assert (await catalogue(api, cmh_manager_token))["LED-1"]["name"] == "Their wall"
    assert (await catalogue(api, manager_token))["LED-1"]["quantity"] == 9


async def test_lowering_stock_below_what_is_booked_is_a_problem(
    api: Api, manager_token: str, staff_token: str, wall: dict[str, Any]
) -> None:
    held = await reserve(api, staff_token, [line(wall, 4)])
    assert held["__typename"] == "CreateReservationSuccess", held
    csv = HEADER + "LED-1,LED wall,,BULK,3,,,,,\nNEW-1,New,,BULK,1,,,,,\n"
    result = await run_import(api, manager_token, csv)
    assert problems(result) == [
        (
            2,
            "quantity",
            "1 reservation need up to 4 at once, but only 3 would remain: change or cancel them first.",
        )
    ]
    assert (await run_import(api, manager_token, csv, dry_run=True))["problems"] == result["problems"]
    assert sorted(await catalogue(api, manager_token)) == ["LED-1"]
    assert (await catalogue(api, manager_token))["LED-1"]["quantity"] == 6
    # Down to what is booked is fine.
    fits = await run_import(api, manager_token, HEADER + "LED-1,LED wall,,BULK,4,,,,,\n")
    assert fits["updated"] == 1


async def test_serial_numbers_are_the_units_in_service(
    api: Api, manager_token: str, staff_token: str, camera: dict[str, Any]
) -> None:
    # camera: CAM-1 with units A1, A2.
    result = await run_import(api, manager_token, 'code,name,serial_numbers\nCAM-1,Camera,"A2,A3"\n')
    assert (result["updated"], result["unchanged"]) == (1, 0)
    found = (await catalogue(api, manager_token))["CAM-1"]
    assert serials(found) == {"A1": "RETIRED", "A2": "AVAILABLE", "A3": "AVAILABLE"}
    assert found["quantity"] == 2
    again = await run_import(
        api, manager_token, 'code,name,serial_numbers,quantity\nCAM-1,Camera,"A2,A3",2\n'
    )
    assert again["unchanged"] == 1
    # Listing a retired unit brings it back.
    back = await run_import(api, manager_token, 'code,name,serial_numbers\nCAM-1,Camera,"A1,A2,A3"\n')
    assert back["updated"] == 1
    assert (await catalogue(api, manager_token))["CAM-1"]["quantity"] == 3

    # A booked unit cannot be dropped, and a booked pool cannot shrink below its bookings.
    units = {unit["serialNumber"]: unit for unit in camera["units"]}
    booked = await reserve(api, staff_token, [line(camera, 1, units["A2"])])
    assert booked["__typename"] == "CreateReservationSuccess", booked
    refused = await run_import(api, manager_token, 'code,name,serial_numbers\nCAM-1,Camera,"A1,A3"\n')
    assert problems(refused) == [
        (2, "serial_numbers", "Unit A2 is held by 1 reservation: change or cancel them first.")
    ]
    assert serials((await catalogue(api, manager_token))["CAM-1"])["A2"] == "AVAILABLE"

    # Serialized stock has no quantity of its own.
    counted = await run_import(api, manager_token, "code,name,quantity\nCAM-1,Camera,5\n")
    assert problems(counted) == [
        (2, "quantity", "Serialized stock is the number of available units; add or retire units instead.")
    ]
    fixed = await run_import(api, manager_token, "code,name,tracking\nCAM-1,Camera,BULK\n")
    assert problems(fixed) == [(2, "tracking", "Tracking is fixed once equipment is created.")]


async def test_a_file_over_the_text_limit_of_other_fields_goes_through(api: Api, manager_token: str) -> None:
    description = "y" * 150
    rows = "".join(
        f"LONG-{index:05},Equipment {index},,BULK,{index % 50},,,,{description},\n" for index in range(1000)
    )
    csv = HEADER + rows
    assert len(csv) > 150_000
    result = await run_import(api, manager_token, csv, dry_run=True)
    assert (result["__typename"], result["rows"], result["created"]) == ("ImportEquipmentSuccess", 1000, 1000)
    # The longer limit is the file's only: the same text in any other field is refused.
    body = await api.post(
        'mutation($name: String!) { createEquipment(input: {name: $name, code: "X", tracking: BULK}) { __typename } }',
        {"name": csv},
        token=manager_token,
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    inline = await api.post(
        "mutation($csv: String!) { importEquipment(input: {csv: $csv}) { __typename } }",
        {"csv": csv},
        token=manager_token,
    )
    assert error_codes(inline) == ["BAD_USER_INPUT"]


async def test_a_field_over_its_length_is_a_problem_of_its_cell(api: Api, manager_token: str) -> None:
    csv = "code,name,description\nC-1,Item," + "x" * 60_001 + "\nC-2,Other,fine\n"
    assert problems(await run_import(api, manager_token, csv)) == [
        (2, "description", "At most 60000 characters.")
    ]
    csv = "code,name,description\nC-1,Item," + "x" * 5_001 + "\n"
    assert problems(await run_import(api, manager_token, csv)) == [
        (2, "description", "At most 5000 characters.")
    ]


async def test_parallel_imports_of_the_same_new_codes_create_them_once(api: Api, manager_token: str) -> None:
    results = await asyncio.gather(*(run_import(api, manager_token, CATALOGUE_CSV) for _ in range(3)))
    kinds = Counter(result["__typename"] for result in results)
    assert sum(result.get("created", 0) for result in results) == 3
    # The others found the rows made (unchanged) or lost the race on a code (a conflict to retry).
    assert kinds["ImportEquipmentSuccess"] + kinds["ConflictError"] == 3
    assert all(result.get("created") in (None, 0, 3) for result in results)
    assert sorted(await catalogue(api, manager_token)) == ["CAM-1", "DECK-1", "LED-1"]
