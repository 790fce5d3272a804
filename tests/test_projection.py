"""Whole-subtree completion (``schema/projection.py``) answers exactly what field-by-field completion does.

Every query runs twice over the same database: through the app as served, and
through an app whose schema leaves every field to graphql-core. The bodies,
errors included, must be identical.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLBoolean, GraphQLID, GraphQLInt, GraphQLString
from strawberry.permission import BasePermission, PermissionExtension

import web.graphql
from app import create_app
from auth.services import Services
from db.tables import User as UserRow
from schema import projection, schema
from schema.rows import row_type
from schema.schema import _TYPES, Mutation, Query
from schema.types.equipment import Equipment
from schema.types.reservation import ReservationStatus
from schema.types.user import EMAIL_VERIFIED, Role, User
from tests.api import Api, TenantUsers
from tests.booking import CREATE_RESERVATION, at, create_equipment, line, reserve
from tests.designs import CLONE_DESIGN, RESERVE_DESIGN, create_design, item, mutate, save_version, share

EVERYTHING = """
query Everything($from: DateTime, $to: DateTime, $withUnits: Boolean!, $first: Int) {
  equipment(first: $first) {
    __typename
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        id __typename name code category description tags tracking quantity bufferBefore bufferAfter status
        createdAt updatedAt
        units @include(if: $withUnits) { id serialNumber status notes createdAt updatedAt equipment { name } }
        upcoming: reservations(from: $from, to: $to) { ...ReservationParts }
        all: reservations { number }
      }
    }
  }
}

fragment ReservationParts on Reservation {
  id number title status startsAt endsAt notes version createdAt updatedAt
  lines { quantity equipment { id name tracking } unit { serialNumber status } }
  customer { id email name role isActive createdAt updatedAt tenant { slug name } }
  createdBy { email role }
  ... on Node { id }
}
"""

# ``availability`` has no list-at-once form: the level around it is completed field
# by field, the lists below it in one pass.
MIXED = """
query Mixed($from: DateTime!, $to: DateTime!) {
  equipment(first: 20) {
    edges { node { name availability(from: $from, to: $to) { total held available }
      reservations { number designVersion { number } lines { equipment { name } } } } }
  }
  reservations(first: 20) { edges { node { number lines { quantity equipment { code } } customer { email } } } }
  me { __typename ... on User { email tenant { slug } } }
}
"""

# A naive instant is refused by the field's resolver; the error must read the same.
NAIVE_WINDOW = """
query { equipment(first: 5) { edges { node { name reservations(from: "2031-05-01T00:00:00") { number } } } } }
"""

# Objects whose every field is skipped are empty objects, at every level.
ALL_SKIPPED = """
query Skipped($skip: Boolean!) {
  equipment(first: 5) {
    edges { node { name @skip(if: $skip) reservations { number @include(if: false) } } }
    pageInfo { hasNextPage @skip(if: $skip) }
  }
}
"""


@pytest.fixture
async def bookings(api: Api, admin_token: str, esr: TenantUsers, customer_token: str) -> None:
    """Bulk and serialized equipment, with staff bookings for a customer and a customer's request."""
    wall = await create_equipment(api, admin_token, name="LED wall", quantity=10, tags=["led", "outdoor"])
    camera = await create_equipment(
        api,
        admin_token,
        name="Camera",
        tracking="SERIALIZED",
        units=[{"serialNumber": "CAM-1"}, {"serialNumber": "CAM-2"}],
        bufferBefore=30,
    )
    await create_equipment(api, admin_token, name="Unbooked truss", quantity=4)
    customer_id = (await api.data("{ me { ... on User { id } } }", token=customer_token))["me"]["id"]
    for index in range(4):
        result = await reserve(
            api,
            admin_token,
            [line(wall, 2), line(camera, 1, camera["units"][index % 2])],
            starts=index * 10,
            ends=index * 10 + 4,
            customerId=customer_id if index % 2 == 0 else None,
        )
        assert result["__typename"] == "CreateReservationSuccess", result
    request = await reserve(api, customer_token, [line(wall, 1)], starts=100, ends=104)
    assert request["__typename"] == "CreateReservationSuccess", request


def _count_projections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the object types completed in one pass, as they happen."""
    seen: list[str] = []
    original = projection.ObjectShape.complete

    async def counting(self: projection.ObjectShape, context: Any, values: list[Any]) -> list[Any]:
        seen.append(self.type_name)
        return await original(self, context, values)

    monkeypatch.setattr(projection.ObjectShape, "complete", counting)
    return seen


async def both(api: Api, plain_api: Api, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    projected = await api.post(query, variables, token)
    plain = await plain_api.post(query, variables, token)
    assert projected == plain
    return projected


@pytest.mark.usefixtures("bookings")
@pytest.mark.parametrize("role", ["admin", "customer"])
async def test_every_projectable_field_reads_the_same(
    api: Api,
    plain_api: Api,
    admin_token: str,
    customer_token: str,
    role: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = admin_token if role == "admin" else customer_token
    projected_types = _count_projections(monkeypatch)
    for variables in (
        {"from": at(-1), "to": at(25), "withUnits": True, "first": 10},
        {"from": None, "to": None, "withUnits": False, "first": 2},
    ):
        body = await both(api, plain_api, EVERYTHING, variables, token)
        assert "errors" not in body, body["errors"]
        edges = body["data"]["equipment"]["edges"]
        assert edges
        booked = [reservation for edge in edges for reservation in edge["node"]["all"]]
        # Staff see every booking; a customer only their own (two staff bookings and one request).
        assert len(booked) == (9 if role == "admin" else 5)
    # The whole response was one projection rooted at the connection.
    assert projected_types[0] == "EquipmentConnection"
    assert {"Equipment", "Reservation", "ReservationLine", "User", "Tenant"} <= set(projected_types)


@pytest.mark.usefixtures("bookings")
async def test_fields_without_a_list_form_leave_their_level_to_graphql_core(
    api: Api, plain_api: Api, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projected_types = _count_projections(monkeypatch)
    body = await both(api, plain_api, MIXED, {"from": at(0), "to": at(48)}, admin_token)
    assert "errors" not in body, body["errors"]
    assert body["data"]["me"]["tenant"]["slug"] == "esr"
    # The equipment list (availability) is completed field by field; availability, the
    # reservations under each equipment and the top-level reservation connection in
    # one pass each.
    assert "EquipmentConnection" not in projected_types
    assert "EquipmentEdge" not in projected_types
    assert {"EquipmentAvailability", "Reservation", "ReservationLine", "ReservationConnection"} <= set(
        projected_types
    )


@pytest.mark.usefixtures("bookings")
async def test_objects_with_every_field_skipped_are_empty(api: Api, plain_api: Api, admin_token: str) -> None:
    body = await both(api, plain_api, ALL_SKIPPED, {"skip": True}, admin_token)
    assert "errors" not in body, body["errors"]
    connection = body["data"]["equipment"]
    assert connection["pageInfo"] == {}
    assert connection["edges"]
    assert all(edge["node"].keys() == {"reservations"} for edge in connection["edges"])
    assert {} in [reservation for edge in connection["edges"] for reservation in edge["node"]["reservations"]]


@pytest.mark.usefixtures("bookings")
async def test_invalid_arguments_are_reported_by_the_resolver(
    api: Api, plain_api: Api, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projected_types = _count_projections(monkeypatch)
    body = await both(api, plain_api, NAIVE_WINDOW, {}, admin_token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["path"][-1] == "reservations"
    assert "EquipmentConnection" not in projected_types


@pytest.mark.usefixtures("bookings")
async def test_other_tenants_rows_stay_out_of_projected_lists(
    api: Api, plain_api: Api, other_tenant_admin_token: str
) -> None:
    body = await both(
        api,
        plain_api,
        EVERYTHING,
        {"from": None, "to": None, "withUnits": True, "first": 10},
        other_tenant_admin_token,
    )
    assert body["data"]["equipment"] == {
        "__typename": "EquipmentConnection",
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
        "edges": [],
    }


@pytest.mark.usefixtures("bookings")
async def test_shapes_are_shared_only_between_requests_with_the_same_variables(
    api: Api,
    plain_api: Api,
    admin_token: str,
    customer_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled: list[str] = []
    original = projection._Compiler.object_shape

    def counting(self: projection._Compiler, object_type: Any, details: Any, rows: bool) -> Any:
        compiled.append(object_type.name)
        return original(self, object_type, details, rows)

    monkeypatch.setattr(projection._Compiler, "object_shape", counting)
    with_units: dict[str, Any] = {"from": at(-1), "to": at(25), "withUnits": True, "first": 10}
    without_units: dict[str, Any] = {"from": None, "to": None, "withUnits": False, "first": 2}
    compiles: list[int] = []
    units: list[bool] = []
    # Shapes hold no caller: a customer's request reuses the admin's and still sees only its own rows.
    for token, variables in [
        (admin_token, with_units),
        (customer_token, with_units),
        (admin_token, without_units),
        (customer_token, with_units),
        (admin_token, without_units),
    ]:
        before = len(compiled)
        body = await both(api, plain_api, EVERYTHING, variables, token)
        compiles.append(len(compiled) - before)
        units.append(all("units" in edge["node"] for edge in body["data"]["equipment"]["edges"]))
    # Only the first request with each set of variables compiles (the plain app never does).
    assert compiles[0] > 0 and compiles[2] > 0
    assert compiles[1] == compiles[3] == compiles[4] == 0
    assert units == [True, True, False, True, False]


class Refuse(BasePermission):
    message = "Nobody may read this field."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


# A plain attribute (``code``), a batched relation (``units``), and ``code`` again
# read as a column of rows fetched by a batched field (``lines.equipment``).
REFUSED_FIELDS = {
    ("equipment", "code"): "query { equipment(first: 10) { edges { node { name code } } } }",
    (
        "equipment",
        "units",
    ): "query { equipment(first: 10) { edges { node { name units { serialNumber } } } } }",
    ("reservations", "code"): (
        "query { reservations(first: 10) { edges { node { number lines { quantity equipment { code } } } } } }"
    ),
}
ALLOWED_FIELDS = """
query { equipment(first: 10) { edges { node { name reservations { number lines { quantity equipment { name } } } } } } }
"""


@pytest.fixture
async def refusing_apis(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Api, Api]]:
    """The app with and without projection, on a schema whose ``Equipment.code`` and
    ``Equipment.units`` carry a permission that always refuses."""
    fields = {field.python_name: field for field in Equipment.__strawberry_definition__.fields}  # type: ignore[attr-defined]
    for name in ("code", "units"):
        field = fields[name]
        # What ``strawberry.field(permission_classes=[Refuse])`` sets up.
        monkeypatch.setattr(field, "permission_classes", [Refuse])
        monkeypatch.setattr(
            field, "extensions", [*field.extensions, PermissionExtension([Refuse()], use_directives=False)]
        )
    refusing = strawberry.Schema(query=Query, mutation=Mutation, types=_TYPES)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(web.graphql, "schema", refusing)
        projected_app = create_app(services=services)
        plain_app = create_app(services=services, projection=False)
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=projected_app), base_url="http://rigbook.test"
        ) as one,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=plain_app), base_url="http://rigbook.test"
        ) as two,
    ):
        yield Api(one), Api(two)


@pytest.mark.usefixtures("bookings")
async def test_a_field_permission_holds_whether_or_not_the_field_is_projected(
    refusing_apis: tuple[Api, Api], admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projected_api, plain_api = refusing_apis
    for (root, field), query in REFUSED_FIELDS.items():
        projected = await projected_api.post(query, token=admin_token)
        plain = await plain_api.post(query, token=admin_token)
        assert projected == plain
        (error,) = projected["errors"]
        assert error["message"] == Refuse.message
        assert (error["path"][0], error["path"][-1]) == (root, field)
        # Non-null all the way up: the refusal nulls the whole response, no code or unit in it.
        assert projected["data"] is None
    # What carries no permission is still completed in one pass, rows read as rows.
    projected_types = _count_projections(monkeypatch)
    body = await projected_api.post(ALLOWED_FIELDS, token=admin_token)
    assert "errors" not in body, body["errors"]
    assert {"EquipmentConnection", "Reservation", "ReservationLine"} <= set(projected_types)


# Every relation of the design types, and the equipment, units and users they reach.
DESIGNS = """
query Designs($first: Int) {
  designs(first: $first) {
    totalCount
    edges { node {
      id name description status createdAt updatedAt
      owner { id email name role tenant { slug name timezone } }
      currentVersion { ...Version }
      versions { ...Version }
      clonedFrom { name currentVersion { number items { equipment { units { serialNumber equipment { code } } } } } }
      shares { id expiresAt createdAt revokedAt design { name } }
    } }
  }
}

fragment Version on DesignVersion {
  id number configuration note createdAt
  createdBy { email }
  design { name status }
  items { quantity notes equipment { id code tracking } }
}
"""

RESERVATIONS = """
query Reservations {
  reservations(first: 50) { edges { node {
    number
    designVersion { number design { name } items { quantity equipment { name } } }
    lines { quantity unit { serialNumber status equipment { name } } }
    customer { email tenant { slug } }
  } } }
}
"""

AVAILABILITY = """
query Availability($from: DateTime!, $to: DateTime!) {
  availability(from: $from, to: $to) { total held available equipment { name units { serialNumber } } }
}
"""

# Refused for want of stock, so it writes nothing and both apps answer alike.
OVERBOOK = CREATE_RESERVATION.replace(
    "shortages { requested available missing equipment { name } unit { serialNumber } reservations { number } }",
    "shortages { requested available missing equipment { name units { serialNumber } } unit { serialNumber } }",
)


@pytest.fixture
async def designs(
    api: Api, admin_token: str, customer_token: str, bookings: None
) -> dict[str, dict[str, Any]]:
    """A design with two versions, a share, a clone and a reservation made from it; a customer's own design."""
    deck = await create_equipment(api, admin_token, name="Stage deck", code="DECK-1", quantity=6)
    light = await create_equipment(
        api, admin_token, name="Spot", code="SPOT", tracking="SERIALIZED", units=[{"serialNumber": "S-1"}]
    )
    stage = await create_design(api, admin_token, "Stage", items=[item(deck, 2, "front")])
    saved = await save_version(api, admin_token, stage["id"], [item(deck, 3), item(light, 1, "rig")], 1)
    assert saved["__typename"] == "SaveDesignVersionSuccess", saved
    await share(api, admin_token, stage["id"], expiresAt=at(500))
    clone = await mutate(api, CLONE_DESIGN, admin_token, designId=stage["id"], name="Stage copy")
    assert clone["__typename"] == "DesignSuccess", clone
    reserved = await mutate(
        api, RESERVE_DESIGN, admin_token, designId=stage["id"], title="Show", startsAt=at(200), endsAt=at(204)
    )
    assert reserved["__typename"] == "CreateReservationSuccess", reserved
    own = await create_design(api, customer_token, "My party", items=[item(deck, 1)])
    return {"deck": deck, "light": light, "stage": stage, "own": own}


@pytest.mark.usefixtures("designs")
@pytest.mark.parametrize("role", ["admin", "customer"])
async def test_design_relations_read_the_same(
    api: Api,
    plain_api: Api,
    admin_token: str,
    customer_token: str,
    role: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = admin_token if role == "admin" else customer_token
    projected_types = _count_projections(monkeypatch)
    body = await both(api, plain_api, DESIGNS, {"first": 5}, token)
    assert "errors" not in body, body["errors"]
    names = {edge["node"]["name"] for edge in body["data"]["designs"]["edges"]}
    # Customers see only their own designs.
    assert names == ({"Stage", "Stage copy", "My party"} if role == "admin" else {"My party"})
    assert projected_types[0] == "DesignConnection"
    assert {"Design", "DesignVersion", "DesignItem", "DesignShare", "User", "Tenant", "Equipment"} <= set(
        projected_types
    )
    if role == "admin":
        # Reached through the clone's original, which customers have none of.
        assert "EquipmentUnit" in projected_types


@pytest.mark.usefixtures("designs")
@pytest.mark.parametrize("role", ["admin", "customer"])
async def test_reservation_relations_read_the_same(
    api: Api,
    plain_api: Api,
    admin_token: str,
    customer_token: str,
    role: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = admin_token if role == "admin" else customer_token
    projected_types = _count_projections(monkeypatch)
    body = await both(api, plain_api, RESERVATIONS, {}, token)
    assert "errors" not in body, body["errors"]
    reservations = [edge["node"] for edge in body["data"]["reservations"]["edges"]]
    from_design = [node["designVersion"] for node in reservations if node["designVersion"] is not None]
    # The staff reservation made from the design is not the customer's to see.
    assert from_design == (
        [{"number": 2, "design": {"name": "Stage"}, "items": from_design[0]["items"]}]
        if role == "admin"
        else []
    )
    assert projected_types[0] == "ReservationConnection"
    assert {"Reservation", "ReservationLine", "EquipmentUnit", "User", "Tenant"} <= set(projected_types)
    if role == "admin":
        assert {"DesignVersion", "Design", "DesignItem"} <= set(projected_types)


@pytest.mark.usefixtures("bookings")
async def test_value_types_read_the_same(
    api: Api, plain_api: Api, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projected_types = _count_projections(monkeypatch)
    body = await both(api, plain_api, AVAILABILITY, {"from": at(0), "to": at(48)}, admin_token)
    assert "errors" not in body, body["errors"]
    assert {"EquipmentAvailability", "Equipment", "EquipmentUnit"} <= set(projected_types)
    equipment = await api.data("{ equipment(first: 10) { edges { node { id name } } } }", token=admin_token)
    wall = next(
        edge["node"] for edge in equipment["equipment"]["edges"] if edge["node"]["name"] == "LED wall"
    )
    request = {"input": {"title": "Too big", "startsAt": at(0), "endsAt": at(4), "lines": [line(wall, 50)]}}
    refused = await both(api, plain_api, OVERBOOK, request, admin_token)
    [shortage] = refused["data"]["createReservation"]["shortages"]
    assert (shortage["requested"], shortage["missing"], shortage["equipment"]["name"]) == (50, 42, "LED wall")
    assert "Shortage" in projected_types


@pytest.mark.usefixtures("bookings")
async def test_one_reader_table_answers_both_paths(
    api: Api, plain_api: Api, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The converter the resolvers build objects with is the one rows are projected with."""
    query = """
    { reservations(first: 20) { edges { node { number customer { name } createdBy { name } } } } }
    """
    monkeypatch.setattr(User, "__row_source__", User.__row_source__)
    monkeypatch.setattr(User, "from_row", User.__dict__["from_row"])
    row_type(UserRow, role=Role, email_verified=EMAIL_VERIFIED, name=lambda name: f"<{name}>")(User)
    body = await both(api, plain_api, query, {}, admin_token)
    names = [
        node[field]["name"]
        for node in (edge["node"] for edge in body["data"]["reservations"]["edges"])
        for field in ("customer", "createdBy")
        if node[field] is not None
    ]
    assert names
    assert all(name.startswith("<") and name.endswith(">") for name in names)


class Text(str):
    pass


class Number(enum.IntEnum):
    ONE = 1


LEAF_VALUES: list[Any] = [
    None,
    "",
    "text",
    Text("a str subclass"),
    "12",
    True,
    False,
    0,
    -1,
    2**31 - 1,
    -(2**31),
    2**31,
    -(2**31) - 1,
    1.0,
    1.5,
    float("nan"),
    Number.ONE,
    *ReservationStatus,
    "CONFIRMED",
    datetime(2031, 5, 1, tzinfo=UTC),
    [1],
]


def outcome(serialize: Any, value: Any) -> tuple[Any, ...]:
    try:
        return ("value", None if value is None else serialize(value))
    except Exception as error:
        return ("error", type(error), str(error))


@pytest.mark.parametrize(
    ("leaf_type", "shape_type"),
    [
        (GraphQLString, projection.UnchangedLeafShape),
        (GraphQLID, projection.UnchangedLeafShape),
        (GraphQLBoolean, projection.UnchangedLeafShape),
        (GraphQLInt, projection.IntLeafShape),
        (schema._schema.type_map["ReservationStatus"], projection.EnumLeafShape),
        (schema._schema.type_map["DateTime"], projection.LeafShape),
    ],
    ids=lambda item: getattr(item, "name", ""),
)
async def test_leaves_complete_as_their_serialize_does(leaf_type: Any, shape_type: type[Any]) -> None:
    shape = projection.leaf_shape(leaf_type)
    assert type(shape) is shape_type
    for value in LEAF_VALUES:
        try:
            completed: tuple[Any, ...] = ("value", (await shape.complete(None, [value]))[0])
        except Exception as error:
            completed = ("error", type(error), str(error))
        expected = outcome(leaf_type.serialize, value)
        assert completed == expected, value
        # The same value, not only an equal one (True is not 1).
        assert type(completed[1]) is type(expected[1]), value


def test_object_builders_are_shared_by_their_keys_and_long_keys_are_not_kept() -> None:
    build = projection._object_builder(("name", "code"))
    assert projection._object_builder(("name", "code")) is build
    assert build("Deck", "D") == {"name": "Deck", "code": "D"}
    kept = projection._kept_builder.cache_info().currsize  # type: ignore[attr-defined]
    long = tuple(f"alias{index}_" + "x" * 100 for index in range(8))
    assert projection._object_builder(long) is not projection._object_builder(long)
    assert projection._kept_builder.cache_info().currsize == kept  # type: ignore[attr-defined]
