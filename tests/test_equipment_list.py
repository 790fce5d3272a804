"""The equipment list: order, filters, cursors, a constant number of statements, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import Api
from tests.booking import create_equipment
from tests.conftest import StatementCounter
from tests.equipment import listed, names, retire


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
