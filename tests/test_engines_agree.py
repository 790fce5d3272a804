"""The two execution engines answer every query byte for byte alike.

``create_app()`` completes projectable subtrees list-at-once; ``create_app(projection=False)``
leaves every field to graphql-core and the per-field resolvers. Both run here over
one database seeded with edge cases (``tests/edge_world.py``), built once per
backend, and every query goes to both as each kind of caller: every role,
anonymous, an operator, an operator acting in the tenant, and an admin of the
other tenant. Status codes and bodies must be equal, errors included.

The documents: one per path of relations through the schema, with every field
along it (``tests/schema_documents.py``); ``node(id:)`` for every seeded object;
hand-written ones with filters, orders, windows and pages
(``tests/argument_documents.py``); and documents generated from the schema by
hypothesis-graphql, with ids, strings and instants drawn from the seeded rows
(``tests/generated_documents.py``). Only queries: a document with a mutation is
refused before it is sent, and the rows read the same after each test as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from graphql import GraphQLError, get_named_type, is_leaf_type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth.services import Services
from schema import schema
from schema.limits import QueryLimits
from schema.limits.cost import operation_cost
from schema.limits.parsing import parse_within_budget
from schema.limits.rules import document_limit_errors
from schema.node import from_global_id
from tests.api import Api
from tests.argument_documents import cases
from tests.booking import at
from tests.conftest import settings_for
from tests.databases import PostgresTemplate, SqliteTemplate, backends
from tests.edge_world import World, build_world
from tests.engines import Answer, Comparison, Engines, engine_clients, errors_of, fields_with_values, snapshot
from tests.generated_documents import rooted_selections, whole_queries
from tests.schema_documents import (
    fields_selected,
    node_documents,
    readable_fields,
    relation_documents,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCHEMA = schema._schema
SDL = schema.as_str()
SETTINGS = settings_for("sqlite+aiosqlite://")
# The server's limits, as ``web/graphql.py`` takes them from the settings.
LIMITS = QueryLimits.of(SETTINGS)
WHOLE_QUERIES = 100
ROOTED_SELECTIONS = 240
GENERATION = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=backends())
async def engines(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: SqliteTemplate,
    postgres_template: PostgresTemplate | None,
) -> AsyncIterator[Engines]:
    """Both engines over one seeded database per backend, shared by every test here."""
    name: str | None = None
    if request.param == "sqlite":
        url = sqlite_template.fresh(tmp_path_factory.mktemp("engines"))
    else:
        assert postgres_template is not None
        url, name = await postgres_template.fresh()
    # Tokens outlive the module however slow the machine (they are signed in once).
    services = Services.create(settings_for(url, access_token_ttl=3600, assumed_token_ttl=3600))
    try:
        async with engine_clients(services) as (projected, plain):
            world = await build_world(Api(projected), services)
            yield Engines(projected, plain, world)
    finally:
        await services.database.dispose()
        if name is not None:
            assert postgres_template is not None
            await postgres_template.drop(name)


@pytest_asyncio.fixture(loop_scope="module")
async def comparison(engines: Engines) -> AsyncIterator[Comparison]:
    """Compares the engines; after the test, checks that reading changed no row."""
    before = await snapshot(engines)
    yield Comparison(engines)
    assert await snapshot(engines) == before


def within_limits(variables: dict[str, Any]) -> Callable[[str], bool]:
    """Whether the server accepts a document's size, shape and cost, under ``variables``."""

    def fits(document: str) -> bool:
        try:
            parsed = parse_within_budget(document, LIMITS.max_tokens)
        except GraphQLError:
            return False
        if document_limit_errors(SCHEMA, parsed, LIMITS):
            return False
        cost = operation_cost(SCHEMA, parsed, None, variables, LIMITS.cost_model)
        return cost is not None and cost <= LIMITS.max_cost

    return fits


def path_variables(world: World) -> list[tuple[dict[str, Any], bool]]:
    """Short pages and a window around the bookings, one path per document; then longer
    pages and no window, paths sharing documents."""
    common = {
        "page": 2,
        "few": 2,
        "from": at(-1),
        "to": at(8),
        "webhook": world.named["webhook"],
        "id": world.named["export"],
    }
    return [
        ({**common, "since": at(1), "until": at(100), "token": world.share_tokens[0]}, False),
        (
            {**common, "page": 20, "few": 100, "since": None, "until": None, "token": world.share_tokens[-1]},
            True,
        ),
    ]


async def test_every_field_through_every_relation_reads_the_same(
    engines: Engines, comparison: Comparison
) -> None:
    answers: list[Answer] = []
    for variables, merge in path_variables(engines.world):
        for document in relation_documents(SCHEMA, within_limits(variables), merge=merge):
            by_caller = await comparison.run(document, variables)
            answers += by_caller.values()
            # Within every limit: the admin gets no error but for what only operators read.
            operators_only = document.startswith(("query Tenants", "query CurrentOperator"))
            assert operators_only or errors_of(by_caller["admin"]) == [], (document, by_caller["admin"])
    comparison.assert_agreed()
    # The seed reaches every field: each holds a value somewhere (not only nulls and empty lists).
    assert readable_fields(SCHEMA) - fields_with_values(answers) == {"Query.node"}


async def test_every_object_reads_the_same_by_id(engines: Engines, comparison: Comparison) -> None:
    documents = node_documents(SCHEMA)
    variables, _ = path_variables(engines.world)[0]
    assert {from_global_id(global_id)[0] for global_id in engines.world.ids} == set(documents)  # type: ignore[index]
    for global_id in engines.world.ids:
        decoded = from_global_id(global_id)
        assert decoded is not None
        await comparison.run(documents[decoded[0]], {**variables, "id": global_id})
    comparison.assert_agreed()


async def test_filters_orders_pages_and_windows_read_the_same(
    engines: Engines, comparison: Comparison
) -> None:
    for case in cases(engines.world):
        by_caller = await comparison.run(case.document, case.variables)
        assert bool(errors_of(by_caller[case.reader])) == case.refused, (case, by_caller[case.reader])
    comparison.assert_agreed()


def _draw(strategy: st.SearchStrategy[Any], examples: int) -> list[Any]:
    drawn: list[Any] = []

    @settings(GENERATION, max_examples=examples)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


def relations(fields: set[str]) -> set[str]:
    """The fields among ``fields`` by which one kind of row leads to another.

    Fields returning objects, but not those of connections and their edges (the
    wrappers a list is paged in).
    """
    found = set()
    for name in fields:
        owner, _, field = name.partition(".")
        if owner.endswith(("Connection", "Edge")):
            continue
        definition = SCHEMA.get_type(owner).fields[field]  # type: ignore[union-attr]
        if not is_leaf_type(get_named_type(definition.type)):
            found.add(name)
    return found


async def test_generated_documents_read_the_same(engines: Engines, comparison: Comparison) -> None:
    world = engines.world
    # Hypothesis drives sync functions; the documents then run against the real apps.
    whole = await asyncio.to_thread(_draw, whole_queries(SDL, world), WHOLE_QUERIES)
    rooted = await asyncio.to_thread(_draw, rooted_selections(SCHEMA, world), ROOTED_SELECTIONS)
    documents = [(document, None) for document in whole] + rooted
    for document, variables in documents:
        await comparison.run(document, variables)
    comparison.assert_agreed()
    # Enough examples to go down every relation of every type, seeded rows under them.
    selected = fields_selected(SCHEMA, [document for document, _ in documents])
    missing = relations(readable_fields(SCHEMA)) - relations(selected)
    assert not missing, sorted(missing)
