"""Every list input of the schema has a documented cap, refused one item past it, before any SQL.

The cases are generated from the schema: every argument and input field whose type is
a list (at any depth of input objects, and each level of a list of lists) gets a
request holding one item more than its cap. Queries are refused with
``BAD_USER_INPUT`` naming the argument; mutations answer ``ValidationError`` naming
the input field. A new list input without ``@maxItems`` fails here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)

from schema import schema
from schema.limits.lists import MaxItems, max_items
from schema.node import to_global_id
from schema.pipeline import Pipeline
from tests.api import Api, error_codes
from tests.conftest import StatementCounter

GRAPHQL = schema._schema

Path = tuple[str, ...]


@dataclass(frozen=True)
class ListInput:
    """One list position reachable from a root field's argument."""

    operation: str  # "query" or "mutation"
    field: str
    argument: str
    path: Path  # input field names below the argument
    level: int  # 0: the list itself; 1: the lists inside it; ...
    cap: int | None
    definition: GraphQLArgument | GraphQLInputField

    def __str__(self) -> str:
        where = ".".join((self.argument, *self.path))
        return f"{self.operation}.{self.field}({where})" + ("[]" * self.level)


def _nullable(type_: GraphQLInputType) -> GraphQLInputType:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _list_levels(type_: GraphQLInputType) -> int:
    levels = 0
    type_ = _nullable(type_)
    while isinstance(type_, GraphQLList):
        levels += 1
        type_ = _nullable(type_.of_type)
    return levels


def _positions(
    operation: str,
    field: str,
    argument: str,
    definition: GraphQLArgument | GraphQLInputField,
    path: Path,
    seen: frozenset[str],
) -> list[ListInput]:
    found = [
        ListInput(operation, field, argument, path, level, max_items(definition), definition)
        for level in range(_list_levels(definition.type))
    ]
    named = get_named_type(definition.type)
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        for name, inner in named.fields.items():
            found += _positions(operation, field, argument, inner, (*path, name), seen | {named.name})
    return found


def list_inputs() -> list[ListInput]:
    found: list[ListInput] = []
    for operation, root in (("query", GRAPHQL.query_type), ("mutation", GRAPHQL.mutation_type)):
        assert root is not None
        for field_name, field in root.fields.items():
            for argument_name, argument in field.args.items():
                found += _positions(operation, field_name, argument_name, argument, (), frozenset())
    return found


LIST_INPUTS = list_inputs()


def test_every_list_input_declares_a_cap_and_documents_it() -> None:
    assert len(LIST_INPUTS) >= 12
    missing = [str(position) for position in LIST_INPUTS if position.cap is None]
    assert missing == []
    for position in LIST_INPUTS:
        assert f"At most {position.cap}" in (position.definition.description or ""), str(position)


# --- building requests from the schema -------------------------------------------


def scalar_value(type_: GraphQLNamedType) -> Any:
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    assert isinstance(type_, GraphQLScalarType), type_
    return {
        "String": "x",
        "ID": to_global_id("Equipment", uuid.uuid4()),
        "Int": 1,
        "Float": 1.0,
        "Boolean": True,
        "DateTime": "2031-05-01T10:00:00+00:00",
        "JSON": {},
    }[type_.name]


def minimal(type_: GraphQLInputType) -> Any:
    """A value of ``type_`` with only what is required."""
    type_ = _nullable(type_)
    if isinstance(type_, GraphQLList):
        return [minimal(type_.of_type)]
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: minimal(field.type)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    return scalar_value(get_named_type(type_))


def with_items(type_: GraphQLInputType, path: Path, level: int, count: int) -> Any:
    """A minimal value whose list at ``path`` (and nesting ``level``) holds ``count`` items."""
    type_ = _nullable(type_)
    if path:
        assert isinstance(type_, GraphQLInputObjectType)
        value = minimal(type_)
        value[path[0]] = with_items(type_.fields[path[0]].type, path[1:], level, count)
        return value
    assert isinstance(type_, GraphQLList)
    if level == 0:
        return [minimal(type_.of_type) for _ in range(count)]
    return [with_items(type_.of_type, (), level - 1, count)]


def selection(type_: Any) -> str:
    named = get_named_type(type_)
    if isinstance(named, GraphQLUnionType):
        return "{ __typename ... on ValidationError { fields { field message } } }"
    if isinstance(named, GraphQLObjectType) or hasattr(named, "fields"):
        return "{ __typename }"
    return ""


def request(position: ListInput, count: int) -> tuple[str, dict[str, Any]]:
    root = GRAPHQL.query_type if position.operation == "query" else GRAPHQL.mutation_type
    assert root is not None
    field = root.fields[position.field]
    variables: dict[str, Any] = {}
    declarations, arguments = [], []
    for name, argument in field.args.items():
        if name == position.argument:
            variables[name] = with_items(argument.type, position.path, position.level, count)
        elif isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined:
            variables[name] = minimal(argument.type)
        else:
            continue
        declarations.append(f"${name}: {argument.type}")
        arguments.append(f"{name}: ${name}")
    document = (
        f"{position.operation}({', '.join(declarations)}) "
        f"{{ {position.field}({', '.join(arguments)}) {selection(field.type)} }}"
    )
    return document, variables


@pytest.mark.parametrize("position", LIST_INPUTS, ids=str)
async def test_one_item_past_the_cap_is_refused_before_any_sql(
    api: Api, admin_token: str, statements: StatementCounter, position: ListInput
) -> None:
    assert position.cap is not None
    document, variables = request(position, position.cap + 1)
    with statements.counting():
        body = await api.post(document, variables, token=admin_token)
    assert statements.last == 0, body
    where = ".".join((*position.path, *["0"] * position.level))
    if position.operation == "query":
        assert body["data"] is None, body
        [error] = body["errors"]
        argument = ".".join((position.argument, *position.path, *["0"] * position.level))
        assert error["extensions"] == {
            "code": "BAD_USER_INPUT",
            "argument": argument,
            "limit": position.cap,
            "requested": position.cap + 1,
        }
        assert f"`{argument}`" in error["message"]
    else:
        assert "errors" not in body, body["errors"]
        result = body["data"][position.field]
        assert result["__typename"] == "ValidationError"
        expected = where if position.argument == "input" else f"{position.argument}.{where}".rstrip(".")
        assert result["fields"] == [
            {"field": expected, "message": f"At most {position.cap} items ({position.cap + 1} given)."}
        ]


# --- the lists this was found with -----------------------------------------------

EQUIPMENT_BY_TAGS = "query($tags: [String!]) { equipment(filter: {tags: $tags}) { totalCount } }"
RESERVATIONS_BY_STATUS = (
    "query($status: [ReservationStatus!]) { reservations(filter: {status: $status}) { totalCount } }"
)


async def test_thirty_tags_filter_and_thirty_one_are_refused(api: Api, customer_token: str) -> None:
    accepted = await api.data(EQUIPMENT_BY_TAGS, {"tags": [f"t{n}" for n in range(30)]}, token=customer_token)
    refused = await api.post(EQUIPMENT_BY_TAGS, {"tags": [f"t{n}" for n in range(31)]}, token=customer_token)
    literal = await api.post(
        "{ equipment(filter: {tags: [" + ", ".join(f'"t{n}"' for n in range(31)) + "]}) { totalCount } }",
        token=customer_token,
    )
    assert accepted == {"equipment": {"totalCount": 0}}
    assert error_codes(refused) == error_codes(literal) == ["BAD_USER_INPUT"]
    assert refused["errors"][0]["extensions"]["argument"] == "filter.tags"
    assert literal["errors"][0]["locations"] == [{"line": 1, "column": 28}]


async def test_statuses_past_the_cap_never_reach_the_database(
    api: Api, staff_token: str, statements: StatementCounter
) -> None:
    every = ["REQUESTED", "CONFIRMED", "CHECKED_OUT", "RETURNED", "CANCELED", "DECLINED", "EXPIRED"]
    accepted = await api.data(RESERVATIONS_BY_STATUS, {"status": every}, token=staff_token)
    with statements.counting():
        refused = await api.post(RESERVATIONS_BY_STATUS, {"status": [*every, "REQUESTED"]}, token=staff_token)
    assert accepted == {"reservations": {"totalCount": 0}}
    assert refused["errors"][0]["extensions"]["limit"] == 7
    assert statements.last == 0


# --- the mechanism, on lists of lists --------------------------------------------


@strawberry.input
class Grid:
    rows: list[list[int]] = strawberry.field(description="At most 2.", directives=[MaxItems(count=2)])


@strawberry.type
class GridQuery:
    @strawberry.field
    def cells(
        self,
        grid: Grid | None = None,
        rows: Annotated[list[list[int]] | None, strawberry.argument(directives=[MaxItems(count=2)])] = None,
    ) -> int:
        lists = (grid.rows if grid else []) + (rows or [])
        return sum(len(row) for row in lists)


GRID = Pipeline(strawberry.Schema(query=GridQuery))


@pytest.mark.parametrize(
    ("document", "variables", "argument"),
    [
        ("{ cells(rows: [[1], [2], [3]]) }", None, "rows"),
        ("{ cells(rows: [[1, 2, 3]]) }", None, "rows.0"),
        ("query($r: [[Int!]!]) { cells(rows: $r) }", {"r": [[1], [2, 3, 4]]}, "rows.1"),
        ("query($g: Grid) { cells(grid: $g) }", {"g": {"rows": [[1, 2, 3]]}}, "grid.rows.0"),
        ("query($x: [Int!]!) { cells(grid: {rows: [$x, [1]]}) }", {"x": [1, 2, 3]}, "grid.rows.0"),
        ("query($x: [Int!]! = [1, 2, 3]) { cells(rows: [$x]) }", None, "rows.0"),
    ],
)
async def test_caps_hold_at_every_level_of_a_list_of_lists(
    document: str, variables: dict[str, Any] | None, argument: str
) -> None:
    result = await GRID.execute(document, variables=variables)
    assert result.data is None
    [error] = result.errors or []
    assert error.extensions == {"code": "BAD_USER_INPUT", "argument": argument, "limit": 2, "requested": 3}


async def test_lists_within_their_caps_run() -> None:
    result = await GRID.execute(
        "query($g: Grid) { cells(grid: $g, rows: [[1, 2], [3]]) }", variables={"g": {"rows": [[1], [2]]}}
    )
    assert result.errors is None
    assert result.data == {"cells": 5}
