"""Designs: numbered immutable versions, compare-and-swap saves, cloning, visibility, validation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from auth.services import Services
from db.tables import Operator
from schema.node import to_global_id
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers
from tests.booking import create_equipment
from tests.designs import (
    ARCHIVE_DESIGN,
    CLONE_DESIGN,
    CONFIGURATION,
    CREATE_DESIGN,
    DESIGNS,
    UPDATE_DESIGN,
    create_design,
    item,
    mutate,
    node,
    not_found,
    save_version,
)


@pytest.fixture
def wall_quantity() -> int:
    """Plenty of walls: designs here are about versions, not stock."""
    return 10


async def count_designs(api: Api, token: str) -> int:
    return int((await api.data(DESIGNS, token=token))["designs"]["totalCount"])


async def test_a_design_starts_without_a_version_unless_given_one(
    api: Api, staff_token: str, esr: TenantUsers, wall: dict[str, Any]
) -> None:
    empty = await create_design(api, staff_token, "Empty", description="Nothing yet")
    assert empty["status"] == "DRAFT"
    assert empty["owner"] == {"email": esr.staff.email}
    assert (empty["currentVersion"], empty["versions"], empty["clonedFrom"]) == (None, [], None)

    full = await create_design(
        api, staff_token, "Full", configuration=CONFIGURATION, items=[item(wall, 4, "upstage")], note="first"
    )
    version = full["currentVersion"]
    assert version["number"] == 1
    assert version["configuration"] == CONFIGURATION
    assert version["note"] == "first"
    assert version["createdBy"] == {"email": esr.staff.email}
    assert version["items"] == [{"quantity": 4, "notes": "upstage", "equipment": {"name": "LED wall"}}]
    items_only = await create_design(api, staff_token, "Items only", items=[item(wall)])
    assert items_only["currentVersion"]["configuration"] == {}


async def test_versions_are_numbered_immutable_and_saved_only_on_top_of_what_you_saw(
    api: Api, staff_token: str, wall: dict[str, Any], deck: dict[str, Any]
) -> None:
    design = await create_design(api, staff_token, configuration={"v": 1}, items=[item(wall, 2)])
    second = await save_version(api, staff_token, design["id"], [item(deck, 3)], 1, {"v": 2}, "bigger")
    assert second["__typename"] == "SaveDesignVersionSuccess"
    assert second["version"]["number"] == 2
    assert second["design"]["currentVersion"]["number"] == 2
    assert second["design"]["versions"] == [{"number": 2}, {"number": 1}]

    stale = await save_version(api, staff_token, design["id"], [item(wall)], 1, {"v": "lost"})
    assert stale["__typename"] == "ConflictError"
    assert "version 2, not 1" in stale["message"]
    assert (await save_version(api, staff_token, design["id"], [item(wall)], None))[
        "__typename"
    ] == "ConflictError"

    # Version 1 still reads exactly as it was saved.
    first_id = design["currentVersion"]["id"]
    found = await api.data(
        "query($id: ID!) { node(id: $id) { ... on DesignVersion { number configuration "
        "items { quantity equipment { name } } } } }",
        {"id": first_id},
        token=staff_token,
    )
    assert found["node"] == {
        "number": 1,
        "configuration": {"v": 1},
        "items": [{"quantity": 2, "equipment": {"name": "LED wall"}}],
    }
    third = await save_version(api, staff_token, design["id"], [], 2, {"v": 3})
    assert [v["number"] for v in third["design"]["versions"]] == [3, 2, 1]


async def test_concurrent_saves_on_the_same_version_let_exactly_one_win(
    api: Api, staff_token: str, manager_token: str, wall: dict[str, Any]
) -> None:
    design = await create_design(api, staff_token)
    for expected in (0, 1):
        results = await asyncio.gather(
            *(
                save_version(api, token, design["id"], [item(wall, index + 1)], expected, {"racer": index})
                for index, token in enumerate([staff_token, manager_token] * 5)
            )
        )
        kinds = sorted(result["__typename"] for result in results)
        assert kinds == ["ConflictError"] * 9 + ["SaveDesignVersionSuccess"], kinds
    listed = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Design { versions { number } currentVersion { number } } } }",
        {"id": design["id"]},
        token=staff_token,
    )
    assert listed["node"] == {"versions": [{"number": 2}, {"number": 1}], "currentVersion": {"number": 2}}


async def test_items_naming_another_tenants_or_malformed_equipment_are_not_found_and_save_nothing(
    api: Api, staff_token: str, other_tenant_admin_token: str, wall: dict[str, Any]
) -> None:
    foreign = await create_equipment(api, other_tenant_admin_token, name="Their wall", code="THEIRS")
    for bad, index in ((foreign, 1), ({"id": "bm9wZQ=="}, 1), ({"id": "not-an-id"}, 1)):
        result = await mutate(
            api, CREATE_DESIGN, staff_token, name="Sneaky", configuration={}, items=[item(wall), item(bad)]
        )
        assert not_found(result) == f"items.{index}.equipmentId"
    assert await count_designs(api, staff_token) == 0

    design = await create_design(api, staff_token, items=[item(wall)])
    result = await save_version(api, staff_token, design["id"], [item(foreign)], 1)
    assert not_found(result) == "items.0.equipmentId"
    after = await node(api, staff_token, design["currentVersion"]["id"])
    assert after is not None and after["number"] == 1
    listed = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Design { versions { number } } } }",
        {"id": design["id"]},
        token=staff_token,
    )
    assert listed["node"]["versions"] == [{"number": 1}]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"description": "x" * 5001}, "description"),
        ({"configuration": [1, 2]}, "configuration"),
        ({"configuration": "text"}, "configuration"),
        ({"configuration": {"blob": "x" * (64 * 1024)}}, "configuration"),
        ({"items": "QUANTITY_0"}, "items.0.quantity"),
        ({"items": "TOO_MANY"}, "items"),
        ({"items": "LONG_NOTES"}, "items.0.notes"),
        ({"note": "orphan note"}, "note"),
        ({"configuration": {}, "note": "x" * 2001}, "note"),
    ],
)
async def test_invalid_designs_are_refused_field_by_field(
    api: Api, staff_token: str, wall: dict[str, Any], values: dict[str, Any], field: str
) -> None:
    special = {
        "QUANTITY_0": [item(wall, 0)],
        "TOO_MANY": [item(wall)] * 101,
        "LONG_NOTES": [item(wall, 1, "x" * 1001)],
    }
    if isinstance(values.get("items"), str):
        values = {**values, "items": special[values["items"]]}
    result = await mutate(api, CREATE_DESIGN, staff_token, **{"name": "Valid", **values})
    assert result["__typename"] == "ValidationError", result
    assert [problem["field"] for problem in result["fields"]] == [field]
    assert await count_designs(api, staff_token) == 0
    # The same rules hold for saving a version.
    if field.startswith(("configuration", "items")):
        design = await create_design(api, staff_token)
        version = {"configuration": {}, "items": [], **{k: v for k, v in values.items() if k != "name"}}
        saved = await save_version(
            api, staff_token, design["id"], version["items"], 0, version["configuration"]
        )
        assert saved["__typename"] == "ValidationError"
        assert [problem["field"] for problem in saved["fields"]] == [field]


async def test_a_configuration_of_exactly_64_kib_is_accepted(api: Api, staff_token: str) -> None:
    overhead = len('{"blob":""}')
    design = await create_design(api, staff_token, configuration={"blob": "x" * (64 * 1024 - overhead)})
    assert design["currentVersion"]["number"] == 1


async def test_publish_needs_a_version_and_archived_designs_are_frozen_until_drafted_again(
    api: Api, staff_token: str, wall: dict[str, Any]
) -> None:
    design = await create_design(api, staff_token, "Old name")
    refused = await mutate(api, UPDATE_DESIGN, staff_token, id=design["id"], status="PUBLISHED")
    assert refused["__typename"] == "ValidationError"
    assert refused["fields"][0]["field"] == "status"
    await save_version(api, staff_token, design["id"], [item(wall)], 0)
    renamed = await mutate(
        api, UPDATE_DESIGN, staff_token, id=design["id"], name="New name", description="d", status="PUBLISHED"
    )
    assert renamed["design"]["name"] == "New name"
    assert (renamed["design"]["description"], renamed["design"]["status"]) == ("d", "PUBLISHED")

    archived = await mutate(api, ARCHIVE_DESIGN, staff_token, id=design["id"])
    assert archived["design"]["status"] == "ARCHIVED"
    frozen = await save_version(api, staff_token, design["id"], [item(wall)], 1)
    assert frozen["__typename"] == "ConflictError"
    assert "archived" in frozen["message"]
    revived = await mutate(api, UPDATE_DESIGN, staff_token, id=design["id"], status="DRAFT")
    assert revived["design"]["status"] == "DRAFT"
    assert (await save_version(api, staff_token, design["id"], [item(wall)], 1))[
        "__typename"
    ] == "SaveDesignVersionSuccess"
    unknown = await mutate(api, UPDATE_DESIGN, staff_token, id=to_global_id("Design", uuid.uuid4()), name="x")
    assert not_found(unknown) == "id"


async def test_clone_copies_a_version_into_a_new_draft_owned_by_the_caller(
    api: Api,
    staff_token: str,
    manager_token: str,
    esr: TenantUsers,
    wall: dict[str, Any],
    deck: dict[str, Any],
) -> None:
    source = await create_design(
        api, staff_token, "Marquee", configuration={"v": 1}, items=[item(wall, 2, "n")]
    )
    await save_version(api, staff_token, source["id"], [item(deck, 5)], 1, {"v": 2})
    await mutate(api, UPDATE_DESIGN, staff_token, id=source["id"], status="PUBLISHED")

    copy = (await mutate(api, CLONE_DESIGN, manager_token, designId=source["id"]))["design"]
    assert copy["name"] == "Copy of Marquee"
    assert copy["status"] == "DRAFT"
    assert copy["owner"] == {"email": esr.manager.email}
    assert copy["clonedFrom"] == {"name": "Marquee"}
    assert copy["clonedFromVersion"] == {"number": 2}
    assert copy["versions"] == [{"number": 1}]
    assert copy["currentVersion"]["configuration"] == {"v": 2}
    assert copy["currentVersion"]["items"] == [
        {"quantity": 5, "notes": "", "equipment": {"name": "Stage deck"}}
    ]
    assert copy["id"] != source["id"]

    old = (await mutate(api, CLONE_DESIGN, staff_token, designId=source["id"], version=1, name="From v1"))[
        "design"
    ]
    assert (old["name"], old["clonedFromVersion"]) == ("From v1", {"number": 1})
    assert old["currentVersion"]["items"] == [
        {"quantity": 2, "notes": "n", "equipment": {"name": "LED wall"}}
    ]
    missing = await mutate(api, CLONE_DESIGN, staff_token, designId=source["id"], version=9)
    assert not_found(missing) == "version"
    # The source is untouched by cloning.
    assert (await node(api, staff_token, source["id"])) == {
        "__typename": "Design",
        "id": source["id"],
        "name": "Marquee",
    }
    assert await count_designs(api, staff_token) == 3


async def test_create_and_clone_are_idempotent_per_key(
    api: Api, staff_token: str, customer_token: str
) -> None:
    first = await create_design(api, staff_token, "Once", idempotencyKey="k-1")
    again = await create_design(api, staff_token, "Once", idempotencyKey="k-1")
    assert first["id"] == again["id"]
    clones = await asyncio.gather(
        *(
            mutate(api, CLONE_DESIGN, staff_token, designId=first["id"], idempotencyKey="k-2")
            for _ in range(5)
        )
    )
    assert len({clone["design"]["id"] for clone in clones}) == 1
    assert await count_designs(api, staff_token) == 2
    # Someone else's key is refused, not answered with their design.
    theirs = await mutate(api, CREATE_DESIGN, customer_token, name="Mine", idempotencyKey="k-1")
    assert theirs["__typename"] == "ConflictError"


async def test_customers_see_and_change_only_their_own_designs(
    api: Api, staff_token: str, customer_token: str, esr: TenantUsers, wall: dict[str, Any]
) -> None:
    staff_design = await create_design(api, staff_token, "Staff plan", items=[item(wall)])
    own = await create_design(api, customer_token, "My wedding", items=[item(wall, 2)])
    assert own["owner"] == {"email": esr.customer.email}

    listed = (await api.data(DESIGNS, token=customer_token))["designs"]
    assert listed["totalCount"] == 1
    assert [edge["node"]["name"] for edge in listed["edges"]] == ["My wedding"]
    by_staff = {"ownerId": to_global_id("User", esr.staff.id)}
    assert (await api.data(DESIGNS, {"filter": by_staff}, token=customer_token))["designs"]["totalCount"] == 0
    assert await node(api, customer_token, staff_design["id"]) is None
    assert await node(api, customer_token, staff_design["currentVersion"]["id"]) is None
    own_version = await node(api, customer_token, own["currentVersion"]["id"])
    assert own_version is not None and own_version["design"] == {"name": "My wedding"}

    for query, values in (
        (UPDATE_DESIGN, {"id": staff_design["id"], "name": "mine now"}),
        (ARCHIVE_DESIGN, {"id": staff_design["id"]}),
        (CLONE_DESIGN, {"designId": staff_design["id"]}),
    ):
        result = await mutate(api, query, customer_token, **values)
        assert result["__typename"] == "NotFoundError", (query, result)
    refused = await save_version(api, customer_token, staff_design["id"], [item(wall)], 1)
    assert refused["__typename"] == "NotFoundError"

    # Staff see and work on everyone's designs in the tenant.
    assert await count_designs(api, staff_token) == 2
    staff_edit = await save_version(api, staff_token, own["id"], [item(wall, 3)], 1)
    assert staff_edit["version"]["number"] == 2
    mine = await save_version(api, customer_token, own["id"], [item(wall, 1)], 2)
    assert mine["version"]["createdBy"] == {"email": esr.customer.email}
    published = await mutate(api, UPDATE_DESIGN, customer_token, id=own["id"], status="PUBLISHED")
    assert published["design"]["status"] == "PUBLISHED"
    by_status = {"status": ["PUBLISHED"], "search": "WEDD"}
    found = (await api.data(DESIGNS, {"filter": by_status}, token=staff_token))["designs"]
    assert [edge["node"]["name"] for edge in found["edges"]] == ["My wedding"]


async def test_another_tenants_designs_behave_as_if_they_did_not_exist(
    api: Api, staff_token: str, other_tenant_admin_token: str, wall: dict[str, Any]
) -> None:
    design = await create_design(api, staff_token, items=[item(wall)])
    assert await node(api, other_tenant_admin_token, design["id"]) is None
    assert await node(api, other_tenant_admin_token, design["currentVersion"]["id"]) is None
    assert await count_designs(api, other_tenant_admin_token) == 0
    for query, values in (
        (UPDATE_DESIGN, {"id": design["id"], "name": "pwned"}),
        (ARCHIVE_DESIGN, {"id": design["id"]}),
        (CLONE_DESIGN, {"designId": design["id"]}),
    ):
        assert (await mutate(api, query, other_tenant_admin_token, **values))["__typename"] == "NotFoundError"
    assert (await save_version(api, other_tenant_admin_token, design["id"], [], 1))[
        "__typename"
    ] == "NotFoundError"
    assert (await node(api, staff_token, design["id"])) == {
        "__typename": "Design",
        "id": design["id"],
        "name": "Outdoor stage",
    }


async def test_designs_list_pages_and_sorts(api: Api, staff_token: str) -> None:
    for name in ("Bravo", "Alpha", "Charlie"):
        await create_design(api, staff_token, name)
    query = "query($after: String) { designs(first: 2, after: $after, orderBy: {field: NAME, direction: DESC}) { totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }"
    first = (await api.data(query, token=staff_token))["designs"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await api.data(query, {"after": first["pageInfo"]["endCursor"]}, token=staff_token))["designs"]
    names = [edge["node"]["name"] for edge in first["edges"] + rest["edges"]]
    assert names == ["Charlie", "Bravo", "Alpha"]


def _keys(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        table: (inspector.get_pk_constraint(table)["constrained_columns"], inspector.get_foreign_keys(table))
        for table in inspector.get_table_names()
    }


async def test_design_tables_are_keyed_and_referenced_by_tenant(services: Services) -> None:
    async with services.database.engine.connect() as connection:
        keys = await connection.run_sync(_keys)
    for table in ("design", "design_version", "design_item", "design_share", "reservation"):
        primary_key, foreign_keys = keys[table]
        assert primary_key == ["tenant_id", "id"], table
        for foreign_key in foreign_keys:
            if foreign_key["referred_table"] != "tenant":
                assert foreign_key["constrained_columns"][0] == "tenant_id", (table, foreign_key)
                assert foreign_key["referred_columns"][:2] == ["tenant_id", "id"], (table, foreign_key)
    assert ["tenant_id", "design_version_id"] in [fk["constrained_columns"] for fk in keys["reservation"][1]]


ASSUME = """
mutation($tenant: ID!) {
  assumeTenant(input: {tenantId: $tenant, reason: "Ticket 42: design help"}) { ... on AssumeTenantSuccess { accessToken } }
}
"""


async def test_an_operator_in_a_tenant_may_work_on_designs_but_not_own_one(
    api: Api, services: Services, staff_token: str, esr: TenantUsers, wall: dict[str, Any]
) -> None:
    async with services.database.transaction(None) as session:
        session.add(
            Operator(
                email="ops@rigbook.example", password_hash=await services.passwords.hash(DEFAULT_PASSWORD)
            )
        )
    operator = await api.token(None, "ops@rigbook.example")
    assumed = await api.data(ASSUME, {"tenant": to_global_id("Tenant", esr.tenant.id)}, token=operator)
    token = assumed["assumeTenant"]["accessToken"]
    refused = await mutate(api, CREATE_DESIGN, token, name="Operator's")
    assert refused["__typename"] == "ForbiddenError"
    design = await create_design(api, staff_token, items=[item(wall)])
    assert (await mutate(api, CLONE_DESIGN, token, designId=design["id"]))["__typename"] == "ForbiddenError"
    saved = await save_version(api, token, design["id"], [item(wall, 2)], 1)
    assert (saved["version"]["number"], saved["version"]["createdBy"]) == (2, None)
