"""Stored JSON always reads back: inputs a response cannot carry are refused, older rows degrade.

Responses are written with orjson (integers within 64 bits, 254 levels of nesting
in all). Every JSON input is a design configuration; audit `changes` hold stored
rows' values, configurations included.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from graphql import GraphQLInputObjectType, get_named_type
from sqlalchemy import Uuid, bindparam, select, text
from sqlmodel import col

from auth.services import Services
from db.clock import utcnow
from db.json_values import MAX_DEPTH, READ_DEPTH
from db.tables import AuditEvent, DesignVersion
from db.types import UtcDateTime
from schema import schema
from schema.node import pk_of
from tests.api import Api, TenantUsers
from tests.designs import create_design, share

BIG = 123456789012345678901234567890


def nested(levels: int, leaf: Any = 1) -> Any:
    """``levels`` objects inside each other around ``leaf``."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


def test_every_json_input_is_a_design_configuration() -> None:
    """The inputs checked here are all the schema has: a new JSON input needs its check and a test."""
    found = set()
    for type_ in schema._schema.type_map.values():
        if isinstance(type_, GraphQLInputObjectType):
            for name, field in type_.fields.items():
                if get_named_type(field.type).name == "JSON":
                    found.add(f"{type_.name}.{name}")
    for root in (schema._schema.query_type, schema._schema.mutation_type):
        assert root is not None
        for field_name, field in root.fields.items():
            for name, argument in field.args.items():
                if get_named_type(argument.type).name == "JSON":
                    found.add(f"{root.name}.{field_name}({name})")
    assert found == {"CreateDesignInput.configuration", "SaveDesignVersionInput.configuration"}


async def post_raw(client: httpx.AsyncClient, body: str, token: str) -> dict[str, Any]:
    """A body as written, e.g. with NaN, which JSON encoders refuse to produce."""
    response = await client.post(
        "/graphql",
        content=body.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def graphql_literal(value: Any) -> str:
    """``value`` written as a GraphQL input literal (object keys unquoted)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {graphql_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(graphql_literal(item) for item in value) + "]"
    return json.dumps(value)


async def save_with(
    api: Api, client: httpx.AsyncClient, token: str, mutation: str, where: str, configuration: str
) -> dict[str, Any]:
    """Create a design, or save a version of a new one, with ``configuration`` (JSON or GraphQL text)
    as a variable or as a literal in the document."""
    if mutation == "createDesign":
        call, type_ = 'createDesign(input: {name: "Stage", configuration: $c})', "JSON"
    else:
        design = await create_design(api, token, "Stage")
        call = f'saveDesignVersion(input: {{designId: "{design["id"]}", items: [], configuration: $c}})'
        type_ = "JSON!"
    selection = "{ __typename ... on ValidationError { fields { field message } } }"
    if where == "literal":
        query = f"mutation {{ {call.replace('$c', configuration)} {selection} }}"
        body = json.dumps({"query": query})
    else:
        query = f"mutation($c: {type_}) {{ {call} {selection} }}"
        body = json.dumps({"query": query}).rstrip("}") + f', "variables": {{"c": {configuration}}}}}'
    result = await post_raw(client, body, token)
    if "errors" in result:
        # Variables nested past the request's own limit never reach the mutation.
        [error] = result["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert where == "variable" and configuration.count("[") + configuration.count("{") > 100, error
        return {"__typename": "refused before execution"}
    [answer] = result["data"].values()
    assert isinstance(answer, dict)
    return answer


# Integers are written in the document: in variables, the request parser (orjson) reads
# integers beyond 64 bits as floats, which the response can carry.
UNCARRIABLE = {
    "an integer over 64 bits": ("literal", graphql_literal({"n": BIG})),
    "a negative integer over 64 bits": ("literal", graphql_literal({"n": -(2**63) - 1})),
    "an integer over 64 bits deep inside": ("literal", graphql_literal(nested(10, [1, 2, 2**64]))),
    "one level too deep": ("variable", json.dumps(nested(MAX_DEPTH + 1))),
    "one level too deep, in the document": ("literal", graphql_literal(nested(MAX_DEPTH + 1))),
    "80 levels deep": ("variable", json.dumps(nested(80))),
    "280 levels deep": ("variable", json.dumps(nested(280))),
    "arrays 280 levels deep": ("variable", '{"a": ' + "[" * 279 + "]" * 279 + "}"),
    "NaN": ("variable", '{"n": NaN}'),
    "Infinity": ("variable", '{"n": [Infinity]}'),
    "-Infinity": ("variable", '{"n": {"m": -Infinity}}'),
}
# Deeper than the nesting any variable may have (README, input bounds): a top-level
# BAD_USER_INPUT before the mutation runs.
REFUSED_BEFORE_EXECUTION = frozenset({"280 levels deep", "arrays 280 levels deep"})
MESSAGES = {
    "an integer over 64 bits": "Integers must fit in 64 bits; send larger numbers as strings.",
    "one level too deep": f"Must be nested at most {MAX_DEPTH} levels deep.",
    "NaN": "Numbers must be finite (no NaN or Infinity).",
}
DESIGN_READS = """
{
  designs(first: 50) { edges { node { name currentVersion { configuration } versions { configuration } } } }
}
"""


@pytest.mark.parametrize("mutation", ["createDesign", "saveDesignVersion"])
@pytest.mark.parametrize("case", list(UNCARRIABLE))
async def test_json_a_response_cannot_carry_is_refused(
    api: Api, client: httpx.AsyncClient, staff_token: str, mutation: str, case: str
) -> None:
    answer = await save_with(api, client, staff_token, mutation, *UNCARRIABLE[case])
    if case in REFUSED_BEFORE_EXECUTION:
        assert answer["__typename"] == "refused before execution", answer
    else:
        assert answer["__typename"] == "ValidationError", answer
        [problem] = answer["fields"]
        assert problem["field"] == "configuration"
        if case in MESSAGES:
            assert problem["message"] == MESSAGES[case]
    # Nothing was stored that could break a read.
    designs = (await api.data(DESIGN_READS, token=staff_token))["designs"]["edges"]
    assert all(edge["node"]["currentVersion"] is None for edge in designs)


async def test_the_issue_literal_is_refused(api: Api, staff_token: str) -> None:
    body = await api.post(
        'mutation { createDesign(input: {name: "Big", configuration: {n: 123456789012345678901234567890}}) '
        "{ __typename ... on ValidationError { fields { field message } } } }",
        token=staff_token,
    )
    assert body["data"]["createDesign"] == {
        "__typename": "ValidationError",
        "fields": [{"field": "configuration", "message": MESSAGES["an integer over 64 bits"]}],
    }
    assert (await api.data(DESIGN_READS, token=staff_token))["designs"]["edges"] == []


@pytest.mark.parametrize(
    "configuration",
    [
        {"n": 2**64 - 1, "m": -(2**63), "f": 1.5e300},
        nested(MAX_DEPTH),
        nested(MAX_DEPTH - 1, []),
    ],
    ids=["64-bit integers", "nested to the limit (objects)", "nested to the limit (an array inside)"],
)
async def test_json_at_the_bounds_is_saved_and_reads_back(
    api: Api, staff_token: str, admin_token: str, configuration: dict[str, Any]
) -> None:
    design = await create_design(api, staff_token, configuration=configuration)
    assert design["currentVersion"]["configuration"] == configuration
    listed = (await api.data(DESIGN_READS, token=staff_token))["designs"]["edges"]
    assert listed[0]["node"]["currentVersion"]["configuration"] == configuration
    events = (await api.data(AUDIT_READS, token=admin_token))["auditEvents"]["edges"]
    stored = [e["node"]["changes"] for e in events if e["node"]["action"] == "design_version.created"]
    assert [changes["configuration"] for changes in stored] == [[None, configuration]]


AUDIT_READS = "{ auditEvents(first: 100) { edges { node { action changes } } } }"
EVERY_READ = """
query($id: ID!, $token: String!) {
  designs(first: 50) { edges { node { currentVersion { configuration } versions { number configuration } } } }
  node(id: $id) { ... on Design { currentVersion { configuration } } }
  sharedDesign(token: $token) { currentVersion { configuration } }
  auditEvents(first: 100) { edges { node { action changes } } }
}
"""

# Stored by earlier code (its check was json.dumps) → what every read now shows.
LEGACY = {
    "an integer over 64 bits": (
        {"n": BIG, "list": [1, -(2**64)], "ok": "yes"},
        {"n": str(BIG), "list": [1, str(-(2**64))], "ok": "yes"},
    ),
    "280 levels deep": (nested(280), nested(READ_DEPTH, None)),
}


async def store_legacy_version(
    services: Services, esr: TenantUsers, design_id: uuid.UUID, value: Any
) -> None:
    """Version 2 of the design and an audit event holding ``value``, written with plain SQL."""
    postgres = services.database.engine.dialect.name == "postgresql"
    as_json = "CAST(:value AS json)" if postgres else ":value"
    ids = [bindparam(name, type_=Uuid()) for name in ("tenant", "id", "design", "target")]
    async with services.database.transaction(esr.tenant.id) as session:
        await session.execute(
            text(
                "INSERT INTO design_version (tenant_id, id, design_id, number, configuration, note, created_at) "
                f"VALUES (:tenant, :id, :design, 2, {as_json}, '', :at)"
            ).bindparams(*ids[:3], bindparam("at", type_=UtcDateTime())),
            {
                "tenant": esr.tenant.id,
                "id": uuid.uuid4(),
                "design": design_id,
                "value": json.dumps(value),
                "at": utcnow(),
            },
        )
        await session.execute(
            text(
                "UPDATE design SET current_version_number = 2, status = 'PUBLISHED' WHERE tenant_id = :tenant AND id = :design"
            ).bindparams(ids[0], ids[2]),
            {"tenant": esr.tenant.id, "design": design_id},
        )
        await session.execute(
            text(
                "INSERT INTO audit_event (tenant_id, id, actor_kind, action, target_type, target_id, changes, created_at) "
                f"VALUES (:tenant, :id, 'user', 'design_version.created', 'design_version', :target, {as_json}, :at)"
            ).bindparams(ids[0], ids[1], ids[3], bindparam("at", type_=UtcDateTime())),
            {
                "tenant": esr.tenant.id,
                "id": uuid.uuid4(),
                "target": uuid.uuid4(),
                "value": json.dumps({"configuration": [None, value]}),
                "at": utcnow(),
            },
        )


@pytest.mark.parametrize("case", list(LEGACY))
async def test_rows_stored_before_the_checks_read_in_a_safe_form(
    api: Api, services: Services, esr: TenantUsers, staff_token: str, admin_token: str, case: str
) -> None:
    stored, shown = LEGACY[case]
    design = await create_design(api, staff_token, configuration={"v": 1})
    token = (await share(api, staff_token, design["id"]))["token"]
    design_pk = pk_of(design["id"], "Design")
    assert design_pk is not None
    await store_legacy_version(services, esr, design_pk, stored)

    data = await api.data(EVERY_READ, {"id": design["id"], "token": token}, token=admin_token)
    [listed] = data["designs"]["edges"]
    assert listed["node"]["currentVersion"]["configuration"] == shown
    versions = {version["number"]: version["configuration"] for version in listed["node"]["versions"]}
    assert versions == {1: {"v": 1}, 2: shown}
    assert data["node"]["currentVersion"]["configuration"] == shown
    assert data["sharedDesign"]["currentVersion"]["configuration"] == shown
    changes = [edge["node"]["changes"] for edge in data["auditEvents"]["edges"]]
    legacy_events = [c for c in changes if "configuration" in c and c["configuration"][1] != {"v": 1}]
    # The event wraps the value in two levels (`configuration`, then [old, new]).
    expected = shown if case != "280 levels deep" else nested(READ_DEPTH - 2, None)
    assert legacy_events == [{"configuration": [None, expected]}]

    # A copy stores what readers were shown, and so does its audit event.
    clone = await api.data(
        "mutation($id: ID!) { cloneDesign(input: {designId: $id}) "
        "{ ... on DesignSuccess { design { id currentVersion { id configuration } } } } }",
        {"id": design["id"]},
        token=staff_token,
    )
    copy = clone["cloneDesign"]["design"]
    assert copy["currentVersion"]["configuration"] == shown
    copy_version = pk_of(copy["currentVersion"]["id"], "DesignVersion")
    async with services.database.session(esr.tenant.id) as session:
        stored_copy = (
            await session.execute(
                select(col(DesignVersion.configuration)).where(col(DesignVersion.id) == copy_version)
            )
        ).scalar_one()
        audited = (
            await session.execute(
                select(col(AuditEvent.changes)).where(col(AuditEvent.target_id) == copy_version)
            )
        ).scalar_one()
    assert stored_copy == shown
    assert audited["configuration"][1] == expected
