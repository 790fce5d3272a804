"""The cost of an operation bounds its work: every list is priced by the most it can hold.

Lists without paging arguments are priced by ``CostModel.list_sizes``; each bound
is enforced where the items are made or read, shown here with data at the bound.
The list fields are read from the schema, so a new one fails the first test until
it is priced.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLOutputType, get_named_type, parse

from app import create_app
from auth.services import Services
from bench.scenarios import NESTED
from db.tables import Design, DesignShare, DesignVersion, Reservation, ReservationLine
from resolvers.list_caps import (
    MAX_DESIGN_SHARES_LISTED,
    MAX_DESIGN_VERSIONS_LISTED,
    MAX_EQUIPMENT_RESERVATIONS,
    MAX_HOLDERS_LISTED,
    MAX_UNITS_PER_EQUIPMENT,
)
from schema import schema
from schema.limits import CostModel, QueryLimits
from schema.limits.cost import operation_cost
from schema.node import pk_of
from settings import Settings
from tests.api import Api, TenantUsers, error_codes
from tests.booking import T0, at, create_equipment, line, reserve
from tests.conftest import settings_for
from tests.equipment import add_units


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def unpaged_lists() -> set[str]:
    """`Type.field` of every list of objects whose length changes the cost, without `first`/`last`."""
    found = set()
    for type_name, type_ in schema._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for name, field in type_.fields.items():
            item = get_named_type(field.type)
            if not (_is_list(field.type) and isinstance(item, GraphQLObjectType)):
                continue
            if {"first", "last"} & set(field.args) or "pageInfo" in type_.fields:
                continue
            # Items without object fields cost nothing inside: the length does not matter.
            if any(
                isinstance(get_named_type(inner.type), GraphQLObjectType) for inner in item.fields.values()
            ):
                found.add(f"{type_name}.{name}")
    return found


def test_every_list_without_paging_is_priced_by_a_bound() -> None:
    model = CostModel()
    assert unpaged_lists() == set(model.list_sizes)
    # Each bound is the limit the code enforces (the tests below), not the former guess of 10.
    assert model.list_sizes["Reservation.lines"] == 100
    assert model.list_sizes["Equipment.units"] == MAX_UNITS_PER_EQUIPMENT


def test_the_benchmarks_nested_page_fits_the_default_limit() -> None:
    """100 equipment × at most 100 reservations × at most 100 lines: priced as such, and accepted."""
    cost = operation_cost(schema._schema, parse(NESTED), None, None, CostModel())
    assert cost == 2 + 100 * (1 + 1 + 100 * (1 + 100 * 1 + 1))
    assert cost <= QueryLimits().max_cost == Settings.model_fields["max_query_cost"].default


def test_every_plain_list_with_first_defaults_to_its_cap() -> None:
    """A plain list with `first` returns at most its default when `first` is left out, and is priced so."""
    capped = []
    for type_name, type_ in schema._schema.type_map.items():
        if (
            type_name.startswith("__")
            or not isinstance(type_, GraphQLObjectType)
            or "pageInfo" in type_.fields
        ):
            continue
        for name, field in type_.fields.items():
            if _is_list(field.type) and "first" in field.args:
                capped.append((f"{type_name}.{name}", field.args["first"].default_value))
    assert capped == [("Equipment.reservations", MAX_EQUIPMENT_RESERVATIONS)]


async def seed_holders(services: Services, esr: TenantUsers, equipment_id: uuid.UUID, count: int) -> None:
    """``count`` CONFIRMED reservations of one unit of the equipment over ``[T0, T0 + 4 h)``."""
    async with services.database.transaction(esr.tenant.id) as session:
        for index in range(count):
            reservation = Reservation(
                tenant_id=esr.tenant.id,
                number=1000 + index,
                title=f"Held {index}",
                starts_at=T0 + timedelta(minutes=index),
                ends_at=T0 + timedelta(hours=4),
                status="CONFIRMED",
            )
            session.add(reservation)
            await session.flush()
            session.add(
                ReservationLine(
                    tenant_id=esr.tenant.id,
                    reservation_id=reservation.id,
                    equipment_id=equipment_id,
                    quantity=1,
                )
            )


EQUIPMENT_RESERVATIONS = """
query($first: Int!) {
  equipment(first: 5) { edges { node { name
    all: reservations { number lines { equipment { name } } }
    some: reservations(first: $first) { number customer { email } }
  } } }
}
"""


async def test_equipment_reservations_hold_at_most_first(
    api: Api, plain_api: Api, services: Services, esr: TenantUsers, admin_token: str
) -> None:
    wall = await create_equipment(api, admin_token, name="Wall", quantity=500)
    wall_pk = pk_of(wall["id"], "Equipment")
    assert wall_pk is not None
    await seed_holders(services, esr, wall_pk, MAX_EQUIPMENT_RESERVATIONS + 1)

    body = await api.post(EQUIPMENT_RESERVATIONS, {"first": 3}, token=admin_token)
    assert body == await plain_api.post(EQUIPMENT_RESERVATIONS, {"first": 3}, token=admin_token)
    assert "errors" not in body, body["errors"]
    [node] = [edge["node"] for edge in body["data"]["equipment"]["edges"]]
    numbers = [reservation["number"] for reservation in node["all"]]
    assert numbers == list(range(1000, 1000 + MAX_EQUIPMENT_RESERVATIONS))  # the earliest, by start
    assert [reservation["number"] for reservation in node["some"]] == [1000, 1001, 1002]
    # equipment 1 + edges (1 + 5 × (node 1 + all (1 + 100 × (lines 1 + 100 × 1)) + some (1 + 3 × 1)))
    assert body["extensions"]["cost"]["requested"] == 2 + 5 * (1 + (1 + 100 * 101) + (1 + 3))

    for first in (-1, MAX_EQUIPMENT_RESERVATIONS + 1):
        refused = await api.post(EQUIPMENT_RESERVATIONS, {"first": first}, token=admin_token)
        assert refused == await plain_api.post(EQUIPMENT_RESERVATIONS, {"first": first}, token=admin_token)
        assert error_codes(refused) == ["BAD_USER_INPUT"]


HOLDERS = """
query($from: DateTime!, $to: DateTime!, $ids: [ID!]) {
  availability(from: $from, to: $to, equipmentIds: $ids) { held reservations { number customer { email } } }
}
"""


async def test_reservations_holding_stock_are_listed_up_to_their_cap(
    api: Api, services: Services, esr: TenantUsers, admin_token: str
) -> None:
    stock = MAX_HOLDERS_LISTED + 5
    wall = await create_equipment(api, admin_token, name="Wall", quantity=stock)
    wall_pk = pk_of(wall["id"], "Equipment")
    assert wall_pk is not None
    await seed_holders(services, esr, wall_pk, MAX_HOLDERS_LISTED + 1)

    data = await api.data(HOLDERS, {"from": at(0), "to": at(4), "ids": [wall["id"]]}, token=admin_token)
    [availability] = data["availability"]
    assert availability["held"] == MAX_HOLDERS_LISTED + 1
    assert len(availability["reservations"]) == MAX_HOLDERS_LISTED

    short = await reserve(api, admin_token, [line(wall, stock)], starts=1, ends=2)
    assert short["__typename"] == "ConflictError", short
    [shortage] = short["shortages"]
    assert len(shortage["reservations"]) == MAX_HOLDERS_LISTED


async def test_an_equipment_has_at_most_its_cap_of_units(api: Api, admin_token: str) -> None:
    camera = await create_equipment(api, admin_token, name="Camera", tracking="SERIALIZED")
    per_call = 500
    for start in range(0, MAX_UNITS_PER_EQUIPMENT, per_call):
        added = await add_units(api, admin_token, camera, *(f"S-{n}" for n in range(start, start + per_call)))
        assert added["__typename"] == "AddEquipmentUnitsSuccess", added
    refused = await add_units(api, admin_token, camera, "ONE-TOO-MANY")
    assert refused["__typename"] == "ValidationError", refused
    assert [problem["field"] for problem in refused["fields"]] == ["units"]
    listed = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Equipment { quantity units { serialNumber } } } }",
        {"id": camera["id"]},
        token=admin_token,
    )
    assert listed["node"]["quantity"] == MAX_UNITS_PER_EQUIPMENT
    assert len(listed["node"]["units"]) == MAX_UNITS_PER_EQUIPMENT


async def test_a_design_lists_at_most_its_cap_of_versions_and_shares(
    api: Api, services: Services, esr: TenantUsers, staff_token: str
) -> None:
    extra = 1
    async with services.database.transaction(esr.tenant.id) as session:
        design = Design(
            tenant_id=esr.tenant.id,
            name="Long-lived",
            owner_id=esr.staff.id,
            current_version_number=MAX_DESIGN_VERSIONS_LISTED + extra,
        )
        session.add(design)
        await session.flush()
        session.add_all(
            DesignVersion(tenant_id=esr.tenant.id, design_id=design.id, number=number, configuration={})
            for number in range(1, MAX_DESIGN_VERSIONS_LISTED + extra + 1)
        )
        session.add_all(
            DesignShare(tenant_id=esr.tenant.id, design_id=design.id, token_hash=f"{index:064}")
            for index in range(MAX_DESIGN_SHARES_LISTED + extra)
        )
    data = await api.data(
        "{ designs { edges { node { versions { number design { name } } shares { design { name } } } } } }",
        token=staff_token,
    )
    [node] = [edge["node"] for edge in data["designs"]["edges"]]
    assert [version["number"] for version in node["versions"]] == list(
        range(MAX_DESIGN_VERSIONS_LISTED + extra, extra, -1)
    )
    assert len(node["shares"]) == MAX_DESIGN_SHARES_LISTED


LINES = "{ reservations { edges { node { lines { equipment { name } } } } } }"


async def test_lines_are_priced_by_the_configured_line_limit(database_url: str, esr: TenantUsers) -> None:
    services = Services.create(settings_for(database_url, max_reservation_lines=3))
    transport = httpx.ASGITransport(app=create_app(services=services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
            api = Api(client)
            token = await api.token("esr", esr.admin.email)
            kinds = [await create_equipment(api, token, name=f"Kit {n}", quantity=5) for n in range(4)]
            at_the_bound = await reserve(api, token, [line(kind) for kind in kinds[:3]])
            assert at_the_bound["__typename"] == "CreateReservationSuccess", at_the_bound
            over = await reserve(api, token, [line(kind) for kind in kinds])
            assert over["__typename"] == "ValidationError", over
            body: dict[str, Any] = await api.post(LINES, token=token)
    finally:
        await services.database.dispose()
    [node] = [edge["node"] for edge in body["data"]["reservations"]["edges"]]
    assert len(node["lines"]) == 3
    # reservations 1 + edges (1 + 20 × (node 1 + lines (1 + 3 × equipment 1)))
    assert body["extensions"]["cost"]["requested"] == 2 + 20 * (1 + 1 + 3)
