"""Who sees which rows, wherever they are reached from: lists, nesting, ``node``, mutations' errors.

Customers see their own reservations and designs and themselves among users, and
are never told which reservations hold stock; staff and operators acting in a
tenant see all of it; operators outside a tenant see none of it. Each place a
row can surface is asked here, through both completion engines where a field
has two (one parent resolved alone; a list completed at once).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from auth.services import Services
from db.tables import Operator, Role
from schema.node import to_global_id
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers, make_user
from tests.booking import AVAILABILITY, UPDATE_RESERVATION, at, create_equipment, line, reserve
from tests.designs import RESERVE_DESIGN, SHARE_DESIGN, create_design, item, mutate

EQUIPMENT_AVAILABILITY = """
query($id: ID!, $from: DateTime!, $to: DateTime!) {
  node(id: $id) { ... on Equipment { availability(from: $from, to: $to) { held reservations { number } } } }
  equipment(first: 10) {
    edges { node { availability(from: $from, to: $to) { held reservations { number } } } }
  }
}
"""
EQUIPMENT_RESERVATIONS = """
query($id: ID!) {
  node(id: $id) { ... on Equipment { reservations { number } } }
  equipment(first: 10) { edges { node { reservations { number } } } }
  reservations(first: 50, filter: {equipmentId: $id}) { edges { node { number } } }
}
"""
RESERVATION_PEOPLE = """
query($id: ID!) {
  node(id: $id) { ... on Reservation { customer { email } createdBy { email } designVersion { number } } }
  reservations(first: 50) {
    edges { node { number customer { email } createdBy { email } designVersion { number } } }
  }
}
"""
NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename
    ... on User { email }
    ... on Tenant { slug }
    ... on Operator { email }
    ... on Equipment { name }
    ... on Reservation { number }
    ... on DesignVersion { number }
    ... on DesignShare { active }
  }
}
"""
CANCEL = """
mutation($input: ReservationTransitionInput!) {
  cancelReservation(input: $input) { __typename ... on Error { code } }
}
"""
ASSUME = """
mutation($tenant: ID!) {
  assumeTenant(input: {tenantId: $tenant, reason: "Ticket 7: a customer cannot see their booking"}) {
    ... on AssumeTenantSuccess { accessToken }
  }
}
"""
REVOKE_SHARE = """
mutation($input: RevokeDesignShareInput!) { revokeDesignShare(input: $input) { __typename } }
"""


@pytest.fixture
async def wall(api: Api, manager_token: str) -> dict[str, Any]:
    return await create_equipment(api, manager_token, name="LED wall", code="LED-1", quantity=2)


@pytest.fixture
async def second_customer_token(api: Api, services: Services, esr: TenantUsers) -> str:
    await make_user(services, esr.tenant, Role.CUSTOMER, "second@esr.example")
    return await api.token("esr", "second@esr.example")


@pytest.fixture
async def operator_token(api: Api, services: Services) -> str:
    async with services.database.transaction(None) as session:
        session.add(
            Operator(
                email="ops@rigbook.example", password_hash=await services.passwords.hash(DEFAULT_PASSWORD)
            )
        )
    return await api.token(None, "ops@rigbook.example")


@pytest.fixture
async def acting_token(api: Api, operator_token: str, esr: TenantUsers) -> str:
    assumed = await api.data(ASSUME, {"tenant": to_global_id("Tenant", esr.tenant.id)}, token=operator_token)
    token: str = assumed["assumeTenant"]["accessToken"]
    return token


def user_id(user: Any) -> str:
    return to_global_id("User", user.id)


def holders(shortage_result: dict[str, Any]) -> list[list[int]]:
    """The reservation numbers each shortage of a ConflictError names."""
    assert shortage_result["__typename"] == "ConflictError", shortage_result
    return [
        sorted(r["number"] for r in shortage["reservations"]) for shortage in shortage_result["shortages"]
    ]


async def test_holders_are_named_to_staff_only_wherever_stock_is_reported(
    api: Api,
    staff_token: str,
    customer_token: str,
    acting_token: str,
    esr: TenantUsers,
    wall: dict[str, Any],
) -> None:
    # The wall is fully held from hour 0 to 4: once for the customer, once internally.
    theirs = (await reserve(api, staff_token, [line(wall)], 0, 4, customerId=user_id(esr.customer)))[
        "reservation"
    ]
    internal = (await reserve(api, staff_token, [line(wall)], 0, 4))["reservation"]
    both = sorted([theirs["number"], internal["number"]])
    window = {"from": at(0), "to": at(4)}

    for token, named in ((staff_token, both), (acting_token, both), (customer_token, None)):
        [root] = (await api.data(AVAILABILITY, {**window, "ids": [wall["id"]]}, token=token))["availability"]
        nested = await api.data(EQUIPMENT_AVAILABILITY, {"id": wall["id"], **window}, token=token)
        found = [
            root,
            nested["node"]["availability"],
            nested["equipment"]["edges"][0]["node"]["availability"],
        ]
        for availability in found:
            assert availability["held"] == 2  # how much is held is no secret; by whom is
            listed = availability["reservations"]
            assert (sorted(r["number"] for r in listed) if listed is not None else None) == named

    # Asking for what is held: staff are told by whom, customers (even one holding it) are not.
    assert holders(await reserve(api, staff_token, [line(wall)], 1, 2)) == [both]
    assert holders(await reserve(api, acting_token, [line(wall)], 1, 2)) == [both]
    assert holders(await reserve(api, customer_token, [line(wall)], 1, 2)) == [[]]

    request = (await reserve(api, customer_token, [line(wall)], 10, 12))["reservation"]
    moved = {"id": request["id"], "startsAt": at(1), "endsAt": at(3)}
    updated = (await api.data(UPDATE_RESERVATION, {"input": moved}, token=customer_token))[
        "updateReservation"
    ]
    assert holders(updated) == [[]]
    staff_moved = (await api.data(UPDATE_RESERVATION, {"input": moved}, token=staff_token))[
        "updateReservation"
    ]
    assert holders(staff_moved) == [both]

    design = await create_design(api, customer_token, "Stage", items=[item(wall)])
    plan = {"designId": design["id"], "title": "Gig", "startsAt": at(1), "endsAt": at(2)}
    assert holders(await mutate(api, RESERVE_DESIGN, customer_token, **plan)) == [[]]
    assert holders(await mutate(api, RESERVE_DESIGN, staff_token, **plan)) == [both]


async def test_a_taken_unit_is_named_to_staff_only(
    api: Api, manager_token: str, staff_token: str, customer_token: str
) -> None:
    camera = await create_equipment(
        api, manager_token, name="Camera", code="CAM", tracking="SERIALIZED", units=[{"serialNumber": "A1"}]
    )
    unit = camera["units"][0]
    booked = (await reserve(api, staff_token, [line(camera, 1, unit)]))["reservation"]
    assert holders(await reserve(api, staff_token, [line(camera, 1, unit)])) == [[booked["number"]]] * 2
    assert holders(await reserve(api, customer_token, [line(camera, 1, unit)])) == [[], []]


async def test_customers_see_only_their_own_reservations_of_an_equipment(
    api: Api,
    staff_token: str,
    customer_token: str,
    second_customer_token: str,
    esr: TenantUsers,
    wall: dict[str, Any],
) -> None:
    mine = (await reserve(api, customer_token, [line(wall)], 0, 2))["reservation"]
    theirs = (await reserve(api, second_customer_token, [line(wall)], 2, 4))["reservation"]
    internal = (await reserve(api, staff_token, [line(wall)], 4, 6))["reservation"]

    async def seen(token: str) -> list[list[int]]:
        data = await api.data(EQUIPMENT_RESERVATIONS, {"id": wall["id"]}, token=token)
        return [
            [r["number"] for r in data["node"]["reservations"]],
            [r["number"] for r in data["equipment"]["edges"][0]["node"]["reservations"]],
            [edge["node"]["number"] for edge in data["reservations"]["edges"]],
        ]

    assert await seen(customer_token) == [[mine["number"]]] * 3
    assert await seen(second_customer_token) == [[theirs["number"]]] * 3
    everyone = sorted([mine["number"], theirs["number"], internal["number"]])
    assert [sorted(numbers) for numbers in await seen(staff_token)] == [everyone] * 3


async def test_customers_see_themselves_but_not_staff_on_their_reservations(
    api: Api, staff_token: str, customer_token: str, esr: TenantUsers, wall: dict[str, Any]
) -> None:
    booked = (await reserve(api, staff_token, [line(wall)], customerId=user_id(esr.customer)))["reservation"]
    me, staff = {"email": esr.customer.email}, {"email": esr.staff.email}

    by_customer = await api.data(RESERVATION_PEOPLE, {"id": booked["id"]}, token=customer_token)
    [listed] = [edge["node"] for edge in by_customer["reservations"]["edges"]]
    for seen in (by_customer["node"], listed):
        assert (seen["customer"], seen["createdBy"]) == (me, None)
    by_staff = await api.data(RESERVATION_PEOPLE, {"id": booked["id"]}, token=staff_token)
    [listed] = [edge["node"] for edge in by_staff["reservations"]["edges"]]
    for seen in (by_staff["node"], listed):
        assert (seen["customer"], seen["createdBy"]) == (me, staff)


async def test_a_reservation_shows_its_design_version_to_who_may_see_the_design(
    api: Api, staff_token: str, customer_token: str, esr: TenantUsers, wall: dict[str, Any]
) -> None:
    staff_design = await create_design(api, staff_token, "House setup", items=[item(wall)])
    own_design = await create_design(api, customer_token, "My party", items=[item(wall)])
    window = {"title": "Gig", "startsAt": at(0), "endsAt": at(2)}
    for_customer = await mutate(
        api,
        RESERVE_DESIGN,
        staff_token,
        designId=staff_design["id"],
        customerId=user_id(esr.customer),
        **window,
    )
    requested = await mutate(api, RESERVE_DESIGN, customer_token, designId=own_design["id"], **window)
    from_staff, from_own = for_customer["reservation"], requested["reservation"]

    async def versions(token: str) -> dict[int, Any]:
        shown: dict[int, Any] = {}
        for reservation in (from_staff, from_own):
            data = await api.data(RESERVATION_PEOPLE, {"id": reservation["id"]}, token=token)
            listed = {
                edge["node"]["number"]: edge["node"]["designVersion"]
                for edge in data["reservations"]["edges"]
            }
            assert listed[reservation["number"]] == data["node"]["designVersion"]
            shown[reservation["number"]] = data["node"]["designVersion"]
        return shown

    assert await versions(customer_token) == {from_staff["number"]: None, from_own["number"]: {"number": 1}}
    assert await versions(staff_token) == {
        from_staff["number"]: {"number": 1},
        from_own["number"]: {"number": 1},
    }


async def test_customers_reach_no_one_elses_rows_by_id(
    api: Api,
    staff_token: str,
    customer_token: str,
    second_customer_token: str,
    wall: dict[str, Any],
) -> None:
    theirs = (await reserve(api, second_customer_token, [line(wall)], 0, 2))["reservation"]
    staff_design = await create_design(api, staff_token, "House setup", items=[item(wall)])
    shared = await mutate(api, SHARE_DESIGN, staff_token, designId=staff_design["id"])
    share_id = shared["share"]["id"]
    rows = [theirs["id"], staff_design["currentVersion"]["id"], share_id]

    for global_id in rows:
        assert (await api.data(NODE, {"id": global_id}, token=customer_token))["node"] is None
        assert (await api.data(NODE, {"id": global_id}, token=staff_token))["node"] is not None
    change = {"id": theirs["id"], "title": "Mine now"}
    updated = (await api.data(UPDATE_RESERVATION, {"input": change}, token=customer_token))[
        "updateReservation"
    ]
    assert (updated["__typename"], updated["code"]) == ("NotFoundError", "NOT_FOUND")
    canceled = (await api.data(CANCEL, {"input": {"id": theirs["id"]}}, token=customer_token))[
        "cancelReservation"
    ]
    assert canceled == {"__typename": "NotFoundError", "code": "NOT_FOUND"}
    revoked = (await api.data(REVOKE_SHARE, {"input": {"shareId": share_id}}, token=customer_token))[
        "revokeDesignShare"
    ]
    assert revoked == {"__typename": "NotFoundError"}
    # Nothing changed: the owner still has both.
    assert (await api.data(NODE, {"id": theirs["id"]}, token=second_customer_token))["node"] == {
        "__typename": "Reservation",
        "number": theirs["number"],
    }
    share = (await api.data(NODE, {"id": share_id}, token=staff_token))["node"]
    assert share == {"__typename": "DesignShare", "active": True}


async def test_operators_see_a_tenant_only_by_acting_in_it(
    api: Api,
    services: Services,
    staff_token: str,
    operator_token: str,
    acting_token: str,
    esr: TenantUsers,
    cmh: TenantUsers,
    wall: dict[str, Any],
) -> None:
    booked = (await reserve(api, staff_token, [line(wall)], customerId=user_id(esr.customer)))["reservation"]
    async with services.database.session(None) as session:
        operator = (await session.scalars(select(col(Operator.id)))).one()  # behind both tokens
    tenant_rows = [wall["id"], booked["id"], user_id(esr.customer)]

    async def node(token: str, global_id: str) -> Any:
        return (await api.data(NODE, {"id": global_id}, token=token))["node"]

    for global_id in tenant_rows:
        assert await node(operator_token, global_id) is None
        assert await node(acting_token, global_id) is not None
    esr_tenant, cmh_tenant = to_global_id("Tenant", esr.tenant.id), to_global_id("Tenant", cmh.tenant.id)
    assert await node(operator_token, cmh_tenant) == {"__typename": "Tenant", "slug": "cmh"}
    assert await node(acting_token, esr_tenant) == {"__typename": "Tenant", "slug": "esr"}
    assert await node(acting_token, cmh_tenant) is None
    operator_id = to_global_id("Operator", operator)
    assert await node(operator_token, operator_id) == {
        "__typename": "Operator",
        "email": "ops@rigbook.example",
    }
    assert await node(acting_token, operator_id) is None
