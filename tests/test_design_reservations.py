"""reserveDesign: one reservation from a version's items, all or nothing, never overbooking."""

from __future__ import annotations

from typing import Any

import pytest

from schema.node import to_global_id
from tests.api import Api, TenantUsers
from tests.booking import AVAILABILITY, at, line, reserve
from tests.designs import (
    ARCHIVE_DESIGN,
    RESERVATION_COUNT,
    RESERVE_DESIGN,
    create_design,
    item,
    mutate,
    not_found,
    save_version,
)


@pytest.fixture
def wall_quantity() -> int:
    """Scarce stock, so that a design's items can run out."""
    return 3


@pytest.fixture
def deck_quantity() -> int:
    return 2


async def reserve_design(api: Api, token: str, design_id: str, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"designId": design_id, "title": "Festival", "startsAt": at(0), "endsAt": at(4)}
    return await mutate(api, RESERVE_DESIGN, token, **{**values, **extra})


async def reservation_count(api: Api, token: str) -> int:
    return int((await api.data(RESERVATION_COUNT, token=token))["reservations"]["totalCount"])


async def held(api: Api, token: str, equipment: dict[str, Any]) -> int:
    variables = {"from": at(0), "to": at(4), "ids": [equipment["id"]]}
    [found] = (await api.data(AVAILABILITY, variables, token=token))["availability"]
    return int(found["held"])


async def test_staff_get_one_confirmed_reservation_with_the_versions_items(
    api: Api, staff_token: str, esr: TenantUsers, wall: dict[str, Any], deck: dict[str, Any]
) -> None:
    design = await create_design(api, staff_token, "Stage", items=[item(wall, 2), item(deck, 1)])
    customer = to_global_id("User", esr.customer.id)
    result = await reserve_design(api, staff_token, design["id"], customerId=customer, notes="gate B")
    assert result["__typename"] == "CreateReservationSuccess", result
    reservation = result["reservation"]
    assert reservation["status"] == "CONFIRMED"
    assert (reservation["title"], reservation["notes"]) == ("Festival", "gate B")
    assert reservation["customer"] == {"email": esr.customer.email}
    assert reservation["designVersion"] == {"number": 1, "design": {"name": "Stage"}}
    assert reservation["lines"] == [
        {"quantity": 2, "equipment": {"name": "LED wall"}, "unit": None},
        {"quantity": 1, "equipment": {"name": "Stage deck"}, "unit": None},
    ]
    assert (await held(api, staff_token, wall), await held(api, staff_token, deck)) == (2, 1)
    listed = await api.data(
        "{ reservations { edges { node { number designVersion { number } } } } }", token=staff_token
    )
    assert listed["reservations"]["edges"] == [{"node": {"number": 1, "designVersion": {"number": 1}}}]


async def test_customers_get_a_request_for_their_own_designs_only(
    api: Api, staff_token: str, customer_token: str, esr: TenantUsers, wall: dict[str, Any]
) -> None:
    own = await create_design(api, customer_token, "Wedding", items=[item(wall, 3)])
    result = await reserve_design(api, customer_token, own["id"])
    reservation = result["reservation"]
    assert reservation["status"] == "REQUESTED"
    assert reservation["customer"] == {"email": esr.customer.email}
    assert reservation["designVersion"]["number"] == 1
    assert await held(api, staff_token, wall) == 0  # requests hold nothing

    staff_design = await create_design(api, staff_token, "Staff plan", items=[item(wall)])
    assert not_found(await reserve_design(api, customer_token, staff_design["id"])) == "designId"
    someone_else = to_global_id("User", esr.staff.id)
    forbidden = await reserve_design(api, customer_token, own["id"], customerId=someone_else)
    assert forbidden["__typename"] == "ForbiddenError"
    # Staff reserving their own design for a customer do not reveal that design to the customer.
    made = await reserve_design(
        api, staff_token, staff_design["id"], customerId=to_global_id("User", esr.customer.id)
    )
    seen = await api.data(
        "{ reservations(first: 10) { edges { node { number designVersion { number } } } } }",
        token=customer_token,
    )
    numbers = {
        edge["node"]["number"]: edge["node"]["designVersion"] for edge in seen["reservations"]["edges"]
    }
    assert numbers[made["reservation"]["number"]] is None
    assert numbers[reservation["number"]] == {"number": 1}


async def test_a_short_item_makes_the_whole_design_fail_and_writes_nothing(
    api: Api, staff_token: str, wall: dict[str, Any], deck: dict[str, Any]
) -> None:
    blocker = await reserve(api, staff_token, [line(wall, 2)], 1, 3)
    assert blocker["__typename"] == "CreateReservationSuccess"
    design = await create_design(api, staff_token, "Too big", items=[item(deck, 2), item(wall, 2)])
    conflict = await reserve_design(api, staff_token, design["id"])
    assert conflict["__typename"] == "ConflictError"
    assert conflict["shortages"] == [
        {
            "requested": 2,
            "available": 1,
            "missing": 1,
            "equipment": {"name": "LED wall"},
            "unit": None,
            "reservations": [{"number": blocker["reservation"]["number"]}],
        }
    ]
    assert await reservation_count(api, staff_token) == 1
    assert (await held(api, staff_token, deck), await held(api, staff_token, wall)) == (0, 2)
    # Outside the blocker's window the same design fits.
    later = await reserve_design(api, staff_token, design["id"], startsAt=at(3), endsAt=at(5))
    assert later["__typename"] == "CreateReservationSuccess"


async def test_a_chosen_version_is_reserved_and_retries_with_a_key_reserve_once(
    api: Api, staff_token: str, wall: dict[str, Any], deck: dict[str, Any]
) -> None:
    design = await create_design(api, staff_token, items=[item(wall, 1)])
    await save_version(api, staff_token, design["id"], [item(deck, 2)], 1)
    current = await reserve_design(api, staff_token, design["id"], idempotencyKey="r-1")
    assert current["reservation"]["designVersion"]["number"] == 2
    assert current["reservation"]["lines"][0]["equipment"] == {"name": "Stage deck"}
    retry = await reserve_design(api, staff_token, design["id"], idempotencyKey="r-1")
    assert retry["reservation"]["id"] == current["reservation"]["id"]
    first = await reserve_design(api, staff_token, design["id"], version=1, startsAt=at(10), endsAt=at(12))
    assert first["reservation"]["designVersion"]["number"] == 1
    assert first["reservation"]["lines"][0]["equipment"] == {"name": "LED wall"}
    assert not_found(await reserve_design(api, staff_token, design["id"], version=7)) == "version"
    assert await reservation_count(api, staff_token) == 2


async def test_designs_without_items_archived_or_foreign_cannot_be_reserved(
    api: Api, staff_token: str, other_tenant_admin_token: str, wall: dict[str, Any]
) -> None:
    empty = await create_design(api, staff_token, "Empty")
    no_version = await reserve_design(api, staff_token, empty["id"])
    assert no_version["__typename"] == "ValidationError"
    assert no_version["fields"][0]["field"] == "version"
    await save_version(api, staff_token, empty["id"], [], 0)
    no_items = await reserve_design(api, staff_token, empty["id"])
    assert no_items["fields"][0]["field"] == "version"
    bad_window = await reserve_design(
        api, staff_token, (await create_design(api, staff_token, items=[item(wall)]))["id"], endsAt=at(-1)
    )
    assert bad_window["__typename"] == "ValidationError"
    assert bad_window["fields"][0]["field"] == "endsAt"

    design = await create_design(api, staff_token, "Old", items=[item(wall)])
    assert not_found(await reserve_design(api, other_tenant_admin_token, design["id"])) == "designId"
    assert not_found(await reserve_design(api, staff_token, "bogus")) == "designId"
    await mutate(api, ARCHIVE_DESIGN, staff_token, id=design["id"])
    assert (await reserve_design(api, staff_token, design["id"]))["__typename"] == "ConflictError"
    assert await reservation_count(api, staff_token) == 0
