"""A tenant-isolation suite generated from the schema itself.

Every root query and mutation argument that carries an ID (directly or inside
input objects, at any depth) is exercised: that one ID is set to an object of
another tenant while every other ID names the caller's own objects. The answer
must be null / empty / NOT_FOUND (or FORBIDDEN for the role), and the other
tenant's rows must be byte-for-byte unchanged. A new field with an ID argument
is covered without anyone adding a test; one whose ID type cannot be inferred
fails here until ``ID_TYPES`` learns it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLType,
    GraphQLUnionType,
    Undefined,
)
from sqlalchemy import select
from sqlmodel import SQLModel

import db.tables  # noqa: F401  (every table on the metadata)
from auth.services import Services
from schema import schema
from schema.node import to_global_id
from tests.api import Api, TenantUsers
from tests.booking import create_equipment, line, reserve

# Argument name → the type of object its ID names.
ID_TYPES = {
    "equipmentId": "Equipment",
    "equipmentIds": "Equipment",
    "unitId": "EquipmentUnit",
    "customerId": "User",
    "ownerId": "User",
    "actorId": "User",
    "recipientId": "User",
    "designId": "Design",
    "shareId": "DesignShare",
    "tenantId": "Tenant",
    "targetId": "Reservation",
    "webhookId": "Webhook",
    "enquiryId": "Enquiry",
    "assigneeId": "User",
    "assignedTo": "User",
}
# For a bare ``id``, the longest of these found in the field's name.
NAMED_TYPES = [
    "Attachment",
    "WebhookDelivery",
    "Webhook",
    "EquipmentUnit",
    "Equipment",
    "Reservation",
    "DesignShare",
    "DesignVersion",
    "Design",
    "Enquiry",
    "User",
    "Tenant",
]
OPERATOR_ONLY = {"assumeTenant", "createTenant", "tenants"}
START = datetime(2036, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class World:
    """One object of each kind in a tenant, by type name → global id."""

    ids: dict[str, str]


async def build_world(api: Api, users: TenantUsers, token: str, booker: str | None = None) -> World:
    """``booker`` makes the reservation (a customer's is a REQUESTED one they may still edit)."""
    wall = await create_equipment(api, token, name="Wall", code="W", quantity=5)
    camera = await create_equipment(
        api, token, name="Cam", code="C", tracking="SERIALIZED", units=[{"serialNumber": "C1"}]
    )
    customer = to_global_id("User", users.customer.id)
    booked = (
        await reserve(api, booker, [line(wall)])
        if booker
        else await reserve(api, token, [line(wall)], customerId=customer)
    )
    reservation = booked["reservation"]
    design = (
        await api.data(
            "mutation($i: CreateDesignInput!) { createDesign(input: $i) { ... on DesignSuccess { design { id currentVersion { id } } } } }",
            {
                "i": {
                    "name": "Stage",
                    "configuration": {"size": "6x4"},
                    "items": [{"equipmentId": wall["id"], "quantity": 1}],
                }
            },
            token=token,
        )
    )["createDesign"]["design"]
    share = (
        await api.data(
            "mutation($d: ID!) { shareDesign(input: {designId: $d}) { ... on ShareDesignSuccess { share { id } } } }",
            {"d": design["id"]},
            token=token,
        )
    )["shareDesign"]["share"]
    webhook = (
        await api.data(
            "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { ... on WebhookSecretSuccess { webhook { id } } } }",
            {"i": {"url": "https://hooks.example/isolation", "events": ["*"]}},
            token=token,
        )
    )["createWebhook"]["webhook"]
    attached = await api.client.post(
        "/files",
        params={"owner": wall["id"], "filename": "rider.pdf"},
        content=b"%PDF-1.4\n%%EOF\n",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"},
    )
    assert attached.status_code == 201, attached.text
    customer_token = await api.token(users.tenant.slug, users.customer.email)
    enquiry = (
        await api.data(
            "mutation($i: SubmitEnquiryInput!) { submitEnquiry(input: $i) { ... on SubmitEnquirySuccess { enquiry { id } } } }",
            {"i": {"message": "Isolation", "items": [{"equipmentId": wall["id"]}]}},
            token=customer_token,
        )
    )["submitEnquiry"]["enquiry"]
    note = (
        await api.data(
            "mutation($i: AddEnquiryMessageInput!) { addEnquiryMessage(input: $i) { ... on EnquiryMessageSuccess { enquiryMessage { id } } } }",
            {"i": {"enquiryId": enquiry["id"], "kind": "NOTE", "text": "Isolation"}},
            token=token,
        )
    )["addEnquiryMessage"]["enquiryMessage"]
    return World(
        {
            "Attachment": attached.json()["id"],
            "Enquiry": enquiry["id"],
            "EnquiryMessage": note["id"],
            "Equipment": wall["id"],
            "EquipmentUnit": camera["units"][0]["id"],
            "User": customer,
            "Tenant": to_global_id("Tenant", users.tenant.id),
            "Reservation": reservation["id"],
            "Design": design["id"],
            "DesignVersion": design["currentVersion"]["id"],
            "DesignShare": share["id"],
            "Webhook": webhook["id"],
        }
    )


def _unwrap(graphql_type: GraphQLType) -> GraphQLType:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def _is_id(graphql_type: GraphQLType) -> bool:
    base = _unwrap(graphql_type)
    return isinstance(base, GraphQLScalarType) and base.name == "ID"


def _id_paths(
    name: str, graphql_type: GraphQLType, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    path = (*prefix, name)
    base = _unwrap(graphql_type)
    if _is_id(graphql_type):
        yield path
    elif isinstance(base, GraphQLInputObjectType):
        for field_name, field in base.fields.items():
            yield from _id_paths(field_name, field.type, path)


def id_type(field_name: str, path: tuple[str, ...]) -> str:
    leaf = path[-1]
    if leaf in ID_TYPES:
        return ID_TYPES[leaf]
    if leaf == "id":
        for candidate in NAMED_TYPES:
            if candidate.lower() in field_name.lower():
                return candidate
    raise AssertionError(f"teach ID_TYPES what {field_name}({'.'.join(path)}) names")


def scalar_value(name: str, scalar: str) -> Any:
    if scalar == "String":
        lowered = name.lower()
        if "email" in lowered:
            return "probe@probe.example"
        if "password" in lowered:
            return "Probe-Password-123"
        return {"slug": "probe", "code": "PROBE-1", "serialNumber": "P-1"}.get(name, "Isolation probe")
    if scalar == "Int":
        return 1
    if scalar == "Boolean":
        return True
    if scalar == "DateTime":
        offsets = {"endsAt": timedelta(hours=2), "to": timedelta(hours=2), "expiresAt": timedelta(days=30)}
        return (START + offsets.get(name, timedelta())).isoformat()
    if scalar == "JSON":
        return {}
    raise AssertionError(f"no probe value for scalar {scalar} ({name})")


def build_value(
    name: str,
    graphql_type: GraphQLType,
    path: tuple[str, ...],
    target: tuple[str, ...],
    foreign: World,
    own: World,
    field: str,
) -> Any:
    nullable: GraphQLType = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    if isinstance(nullable, GraphQLList):
        return [build_value(name, nullable.of_type, path, target, foreign, own, field)]
    if _is_id(nullable):
        world = foreign if path == target else own
        return world.ids[id_type(field, path)]
    if isinstance(nullable, GraphQLInputObjectType):
        value: dict[str, Any] = {}
        for field_name, input_field in nullable.fields.items():
            if _wanted(field_name, input_field):
                value[field_name] = build_value(
                    field_name, input_field.type, (*path, field_name), target, foreign, own, field
                )
        return value
    if isinstance(nullable, GraphQLEnumType):
        return next(iter(nullable.values))
    assert isinstance(nullable, GraphQLScalarType)
    return scalar_value(name, nullable.name)


def _wanted(name: str, argument: GraphQLArgument | GraphQLInputField) -> bool:
    """Required values, plus optional ones that carry IDs (those are what is under test)."""
    required = isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
    # expectedVersion: without it a design save conflicts before it ever looks at the ids.
    return required or name == "expectedVersion" or any(True for _ in _id_paths(name, argument.type))


def selection(graphql_type: GraphQLType) -> str:
    base = _unwrap(graphql_type)
    if isinstance(base, GraphQLUnionType):
        return "{ __typename ... on Error { code } }"
    if isinstance(base, GraphQLObjectType | GraphQLInterfaceType):
        return "{ __typename totalCount }" if "totalCount" in base.fields else "{ __typename }"
    return ""


@dataclass
class Probe:
    kind: str
    field: str
    target: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.kind}.{self.field}({'.'.join(self.target)})"


def probes() -> list[Probe]:
    found: list[Probe] = []
    for kind, root in (("query", schema._schema.query_type), ("mutation", schema._schema.mutation_type)):
        assert root is not None
        for field_name, field in root.fields.items():
            if field_name in OPERATOR_ONLY or field_name == "node":
                continue
            for arg_name, argument in field.args.items():
                found += [Probe(kind, field_name, path) for path in _id_paths(arg_name, argument.type)]
    return found


def operation(probe: Probe, foreign: World, own: World) -> tuple[str, dict[str, Any]]:
    root = schema._schema.query_type if probe.kind == "query" else schema._schema.mutation_type
    assert root is not None
    field: GraphQLField = root.fields[probe.field]
    variables: dict[str, Any] = {}
    declarations: list[str] = []
    arguments: list[str] = []
    for arg_name, argument in field.args.items():
        if not _wanted(arg_name, argument):
            continue
        variables[arg_name] = build_value(
            arg_name, argument.type, (arg_name,), probe.target, foreign, own, probe.field
        )
        declarations.append(f"${arg_name}: {argument.type}")
        arguments.append(f"{arg_name}: ${arg_name}")
    header = f"({', '.join(declarations)})" if declarations else ""
    call = f"({', '.join(arguments)})" if arguments else ""
    return f"{probe.kind} {header} {{ {probe.field}{call} {selection(field.type)} }}", variables


def isolated(result: Any) -> bool:
    """What another tenant's id may produce: nothing at all."""
    if result is None or result == []:
        return True
    if isinstance(result, dict):
        if "totalCount" in result:
            return bool(result["totalCount"] == 0)
        # FORBIDDEN comes before any lookup, so it says nothing about the foreign id either.
        return result.get("__typename") in {"NotFoundError", "ForbiddenError"}
    return False


async def snapshot(services: Services, users: TenantUsers) -> str:
    """Every tenant-owned row of the tenant, as text."""
    dump: dict[str, Any] = {}
    async with services.database.session(users.tenant.id) as session:
        for table in SQLModel.metadata.sorted_tables:
            if "tenant_id" not in table.c:
                continue
            rows = (
                (await session.execute(select(table).where(table.c.tenant_id == users.tenant.id)))
                .mappings()
                .all()
            )
            dump[table.name] = sorted(
                json.dumps({k: str(v) for k, v in row.items()}, sort_keys=True) for row in rows
            )
    return json.dumps(dump, sort_keys=True)


def test_the_generated_suite_covers_every_id_argument() -> None:
    names = {str(probe) for probe in probes()}
    for expected in (
        "mutation.createReservation(input.lines.equipmentId)",
        "mutation.createReservation(input.customerId)",
        "mutation.updateUser(input.id)",
        "mutation.saveDesignVersion(input.items.equipmentId)",
        "query.availability(equipmentIds)",
        "mutation.updateWebhook(input.id)",
        "query.webhookDeliveries(webhookId)",
        "mutation.submitEnquiry(input.items.equipmentId)",
        "mutation.convertEnquiry(input.enquiryId)",
        "mutation.convertEnquiry(input.lines.equipmentId)",
        "mutation.assignEnquiry(input.assigneeId)",
        "query.enquiries(filter.assignedTo)",
    ):
        assert expected in names
    assert len(names) >= 25


@pytest.mark.parametrize("role", ["admin", "customer"])
async def test_no_id_argument_reaches_another_tenant(
    api: Api, services: Services, esr: TenantUsers, cmh: TenantUsers, role: str
) -> None:
    esr_token = await api.token("esr", esr.admin.email)
    cmh_admin = await api.token("cmh", cmh.admin.email)
    caller = cmh_admin if role == "admin" else await api.token("cmh", cmh.customer.email)
    foreign = await build_world(api, esr, esr_token)
    own = await build_world(api, cmh, cmh_admin, booker=None if role == "admin" else caller)
    before = await snapshot(services, esr)
    leaks: list[str] = []
    for probe in probes():
        document, variables = operation(probe, foreign, own)
        body = await api.post(document, variables, token=caller)
        codes = {(error.get("extensions") or {}).get("code") for error in body.get("errors") or []}
        result = (body.get("data") or {}).get(probe.field)
        if codes and codes <= {"FORBIDDEN"}:
            continue
        if codes or not isolated(result):
            leaks.append(f"{probe}: {json.dumps(body)[:300]}")
    assert leaks == []
    for type_name, global_id in foreign.ids.items():
        found = await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, token=caller)
        assert found == {"node": None}, type_name
    assert await snapshot(services, esr) == before
