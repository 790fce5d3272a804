"""The committed SDL matches the code, and GraphiQL documents everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
)

from schema import schema
from schema.pagination import paginated

SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", (
        "schema.graphql is stale: run `uv run rigbook export-schema --output schema.graphql`"
    )


def test_every_type_field_argument_and_enum_value_has_a_description() -> None:
    missing: list[str] = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg})"
                    for arg, value in field.args.items()
                    if not value.description
                ]
        elif isinstance(graphql_type, GraphQLInputObjectType):
            missing += [
                f"{name}.{field}" for field, value in graphql_type.fields.items() if not value.description
            ]
        elif isinstance(graphql_type, GraphQLEnumType):
            missing += [
                f"{name}.{value}" for value, spec in graphql_type.values.items() if not spec.description
            ]
        elif isinstance(graphql_type, GraphQLUnionType):
            pass
    assert missing == [], "\n".join(missing)


def test_every_root_list_pages_with_the_same_four_arguments() -> None:
    """The root connections take ``first/after/last/before`` first, declared once (``paginated``)."""
    query = schema._schema.query_type
    assert query is not None
    connections = {
        name: field
        for name, field in query.fields.items()
        if get_named_type(field.type).name.endswith("Connection")
    }
    assert set(connections) == {
        "auditEvents",
        "designs",
        "gallery",
        "enquiries",
        "equipment",
        "monthlyReports",
        "reservations",
        "tenants",
        "tenantExports",
        "users",
        "webhooks",
        "webhookDeliveries",
    }
    shapes = {
        name: [(arg, str(value.type), value.description) for arg, value in list(field.args.items())[:4]]
        for name, field in connections.items()
    }
    expected = shapes["equipment"]
    assert [arg for arg, _, _ in expected] == ["first", "after", "last", "before"]
    assert all(shape == expected for shape in shapes.values()), shapes


def test_a_paginated_resolver_declares_where_the_arguments_go() -> None:
    async def listing(root: object) -> None: ...

    with pytest.raises(TypeError, match="paging: PageArgs"):
        paginated(listing)
