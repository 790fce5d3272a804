"""GraphQL abuse limits: each attack is refused with its code; ordinary documents pass."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from graphql import (
    DocumentNode,
    ValidationContext,
    ValidationRule,
    build_schema,
    get_introspection_query,
    parse,
    validate,
)

import schema as rigbook
from app import create_app
from auth.services import Services
from schema.limits import CostModel, QueryLimits
from schema.limits.cost import operation_cost
from schema.pipeline import KEPT_DOCUMENTS_TEXT, Pipeline
from settings import Settings
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers, error_codes
from tests.conftest import StatementCounter, settings_for

DEFAULT_MAX_COST = QueryLimits().max_cost

# --- documents -------------------------------------------------------------------

ALIASES = " ".join(f"e{n}: email" for n in range(1, 11))
ALIASES_SPREAD_4_TIMES = f"""
query {{ me {{ ...Emails ...Emails ...Emails ...Emails }} }}
fragment Emails on User {{ {ALIASES} }}
"""
ALIASES_SPREAD_3_TIMES = f"""
query {{ me {{ ...Emails ...Emails ...Emails }} }}
fragment Emails on User {{ {ALIASES} }}
"""

# `ofType` five levels per fragment, three fragments deep: depth 17 in total, 6 in any one definition.
DEEP_INTROSPECTION_THROUGH_FRAGMENTS = """
query { __schema { types { ...Level1 } } }
fragment Level1 on __Type { ofType { ofType { ofType { ofType { ofType { ...Level2 } } } } } }
fragment Level2 on __Type { ofType { ofType { ofType { ofType { ofType { ...Level3 } } } } } }
fragment Level3 on __Type { ofType { ofType { ofType { ofType { ofType { name } } } } } }
"""
# Shallow, but each `fields` list multiplies the next (graphql-core's recommended rule).
INTROSPECTION_LISTS_NESTED = (
    "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
)
# What GraphiQL sends (graphql-js >= 16: nine `ofType` levels) with every option on.
GRAPHIQL_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)

USERS_DEPTH_4 = """
query { users { edges { ...Edge } } }
fragment Edge on UserEdge { node { ... on User { tenant { name } } } }
"""
USERS_DEPTH_3 = """
query { users { edges { ...Edge } } }
fragment Edge on UserEdge { node { ... on User { email } } }
"""

CIRCULAR_FRAGMENTS = """
query { me { ...A } }
fragment A on User { email ...B }
fragment B on User { name ...A }
"""

FLAGS = " ".join(f"f{n}: email @include(if: true) @skip(if: false)" for n in range(1, 6))
DIRECTIVES_SPREAD_6_TIMES = f"""
query {{ me {{ ...Flags ...Flags ...Flags ...Flags ...Flags ...Flags }} }}
fragment Flags on User {{ {FLAGS} }}
"""
FEW_DIRECTIVES = "query { me { email @include(if: true) name @skip(if: true) } }"

USERS_PAGE = "query Users($n: Int) { users(first: $n) { edges { node { email tenant { name } } } } }"
USERS_WITHOUT_FIRST = "query { users { totalCount edges { node { id } } } }"

LOGIN_FIELDS = "__typename ... on LoginSuccess { accessToken }"
TWO_LOGINS_ALIASED = f"""
mutation ($a: LoginInput!, $b: LoginInput!) {{
  first: login(input: $a) {{ {LOGIN_FIELDS} }}
  second: login(input: $b) {{ {LOGIN_FIELDS} }}
}}
"""
TWO_LOGINS_THROUGH_A_FRAGMENT = f"""
mutation ($a: LoginInput!) {{ ...SignIn again: login(input: $a) {{ __typename }} }}
fragment SignIn on Mutation {{ login(input: $a) {{ {LOGIN_FIELDS} }} }}
"""
LOGIN_AND_REFRESH_THROUGH_A_FRAGMENT = f"""
mutation ($a: LoginInput!) {{ ...SignIn refreshToken(input: {{refreshToken: "x"}}) {{ __typename }} }}
fragment SignIn on Mutation {{ login(input: $a) {{ {LOGIN_FIELDS} }} }}
"""
ONE_LOGIN_THROUGH_A_FRAGMENT = f"""
mutation ($a: LoginInput!) {{ ...SignIn }}
fragment SignIn on Mutation {{ login(input: $a) {{ {LOGIN_FIELDS} }} }}
"""

MISSPELT_FIELD = "query { me { emial } }"
LOGIN_WITH_VARIABLES = f"mutation ($a: LoginInput!) {{ login(input: $a) {{ {LOGIN_FIELDS} }} }}"

# Equipment → reservations → lines → equipment: a page of 100 with two nested plain lists.
EQUIPMENT_SDL = """
type Query { equipment(first: Int, after: String, last: Int, before: String): EquipmentConnection! }
type EquipmentConnection { edges: [EquipmentEdge!]! pageInfo: PageInfo! totalCount: Int! }
type PageInfo { hasNextPage: Boolean! endCursor: String }
type EquipmentEdge { cursor: String! node: Equipment! }
type Equipment { name: String! tags: [String!]! reservations(from: String, to: String, first: Int! = 100): [Reservation!]! }
type Reservation { number: Int! lines: [ReservationLine!]! customer: User }
type ReservationLine { quantity: Int! equipment: Equipment! }
type User { email: String! }
"""
EQUIPMENT_RESERVATIONS = """
query { equipment(first: 100) { edges { node { name reservations(from: "2026-01-01T00:00:00Z",
  to: "2026-02-01T00:00:00Z") { number lines { quantity equipment { name } } customer { email } } } } } }
"""


def login_input(users: TenantUsers, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    return {"tenant": "esr", "email": users.admin.email, "password": password}


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"] is None, body
    [error] = body["errors"]
    result: dict[str, Any] = error
    return result


def errors_by_code(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The errors of a refused document, one per broken limit."""
    assert body["data"] is None, body
    errors = {error["extensions"]["code"]: error for error in body["errors"]}
    assert len(errors) == len(body["errors"]), body["errors"]
    return errors


@asynccontextmanager
async def api_with(database_url: str, **overrides: Any) -> AsyncIterator[Api]:
    """An API over the same database with other settings."""
    services = Services.create(settings_for(database_url, **overrides))
    transport = httpx.ASGITransport(app=create_app(services=services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://rigbook.test") as client:
            yield Api(client)
    finally:
        await services.database.dispose()


# --- depth -----------------------------------------------------------------------


async def test_introspection_nested_deeply_through_fragments_is_refused(api: Api) -> None:
    error = only_error(await api.post(DEEP_INTROSPECTION_THROUGH_FRAGMENTS))
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP", "limit": 14, "requested": 17}
    assert "17 levels deep" in error["message"]


async def test_introspection_lists_nested_in_each_other_are_refused(api: Api) -> None:
    body = await api.post(INTROSPECTION_LISTS_NESTED)
    assert [error["extensions"] for error in body["errors"]] == [{"code": "QUERY_TOO_DEEP", "limit": 2}]


async def test_graphiqls_introspection_query_passes_the_default_limits(api: Api) -> None:
    body = await api.post(GRAPHIQL_INTROSPECTION)
    assert "errors" not in body, body["errors"]
    types = {item["name"] for item in body["data"]["__schema"]["types"]}
    assert {"Query", "Mutation", "User", "UserConnection"} <= types
    cost = body["extensions"]["cost"]
    assert 0 < cost["requested"] <= cost["limit"] == DEFAULT_MAX_COST


async def test_depth_counts_through_fragments_and_inline_fragments(
    database_url: str, admin_token: str
) -> None:
    async with api_with(database_url, max_query_depth=3) as api:
        refused = await api.post(USERS_DEPTH_4, token=admin_token)
        accepted = await api.data(USERS_DEPTH_3, token=admin_token)
    assert only_error(refused)["extensions"] == {"code": "QUERY_TOO_DEEP", "limit": 3, "requested": 4}
    assert {edge["node"]["email"] for edge in accepted["users"]["edges"]} >= {"admin@esr.example"}


async def test_circular_fragments_are_an_ordinary_validation_error(api: Api, admin_token: str) -> None:
    body = await api.post(CIRCULAR_FRAGMENTS, token=admin_token)
    assert body["data"] is None
    messages = [error["message"] for error in body["errors"]]
    assert "Cannot spread fragment 'A' within itself via 'B'." in messages
    assert "INTERNAL_SERVER_ERROR" not in error_codes(body)


# --- aliases ---------------------------------------------------------------------


async def test_aliases_in_a_fragment_count_once_per_spread(
    api: Api, admin_token: str, statements: StatementCounter
) -> None:
    with statements.counting():
        error = only_error(await api.post(ALIASES_SPREAD_4_TIMES, token=admin_token))
    assert error["extensions"] == {"code": "TOO_MANY_ALIASES", "limit": 30, "requested": 40}
    assert statements.last == 0  # refused before any resolver ran


async def test_thirty_aliases_through_fragments_pass(api: Api, admin_token: str) -> None:
    data = await api.data(ALIASES_SPREAD_3_TIMES, token=admin_token)
    assert data["me"]["e1"] == data["me"]["e10"] == "admin@esr.example"


async def test_exponentially_spread_fragments_are_counted_without_expanding_them(api: Api) -> None:
    fragments = ["fragment F0 on User { a: email b: email }"]
    fragments += [f"fragment F{n} on User {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, 41)]
    body = await api.post("query { me { ...F40 } } " + " ".join(fragments))
    errors = errors_by_code(body)
    assert set(errors) == {"TOO_MANY_ALIASES", "TOO_MANY_FIELDS"}
    assert errors["TOO_MANY_ALIASES"]["extensions"] == {
        "code": "TOO_MANY_ALIASES",
        "limit": 30,
        "requested": 2**41,
    }
    assert errors["TOO_MANY_FIELDS"]["extensions"] == {
        "code": "TOO_MANY_FIELDS",
        "limit": 500,
        "requested": 2**41 + 1,
    }


async def test_astronomical_counts_are_reported_as_json_safe_numbers(api: Api, admin_token: str) -> None:
    fragments = ["fragment F0 on User { a: email b: email }"]
    fragments += [f"fragment F{n} on User {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, 71)]
    refused = errors_by_code(await api.post("query { me { ...F70 } } " + " ".join(fragments)))
    aliases, fields = refused["TOO_MANY_ALIASES"], refused["TOO_MANY_FIELDS"]
    costly = await api.post(USERS_PAGE, {"n": 10**30}, token=admin_token)
    assert aliases["extensions"]["requested"] == 2**53 - 1
    assert aliases["message"].startswith(f"The document uses more than {2**53 - 1} aliases")
    assert fields["extensions"]["requested"] == 2**53 - 1
    assert only_error(costly)["extensions"]["requested"] == 2**53 - 1
    assert costly["extensions"]["cost"]["requested"] == 2**53 - 1


# --- tokens ----------------------------------------------------------------------


async def test_a_document_over_the_token_limit_is_refused_before_it_is_read_to_the_end(api: Api) -> None:
    # The tail is not GraphQL: a parser that read it would report a syntax error there.
    body = await api.post("{ " + "__typename " * 2500 + "}}} ¡not graphql")
    error = only_error(body)
    assert error["extensions"] == {"code": "TOO_MANY_TOKENS", "limit": 2000}
    assert "more than 2000 tokens" in error["message"]


async def test_comments_count_as_tokens(api: Api) -> None:
    body = await api.post("# padding\n" * 2500 + "{ __typename }")
    assert only_error(body)["extensions"]["code"] == "TOO_MANY_TOKENS"


async def test_a_document_just_under_the_token_limit_passes(client: httpx.AsyncClient) -> None:
    # 398 operations of 5 tokens each: 1,990 tokens.
    document = " ".join(f"query Q{n} {{ __typename }}" for n in range(398))
    response = await client.post("/graphql", json={"query": document, "operationName": "Q397"})
    assert response.json()["data"] == {"__typename": "Query"}
    over = " ".join(f"query Q{n} {{ __typename }}" for n in range(401))
    refused = await client.post("/graphql", json={"query": over, "operationName": "Q0"})
    assert only_error(refused.json())["extensions"]["code"] == "TOO_MANY_TOKENS"


async def test_syntax_errors_keep_their_usual_message(api: Api) -> None:
    error = only_error(await api.post("{ me { "))
    assert error["message"].startswith("Syntax Error:")
    assert "extensions" not in error or error["extensions"].get("code") != "TOO_MANY_TOKENS"


# --- fields ----------------------------------------------------------------------


def me_ids(count: int) -> str:
    """``count`` times `me { id }`, under a comment of its own so no cache can answer it."""
    return f"# {uuid.uuid4()}\n{{" + " me { id }" * count + " }"


def recording(pipeline: Pipeline) -> list[DocumentNode]:
    """The documents ``pipeline`` validates in full from now on."""
    validated: list[DocumentNode] = []

    class Recording(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            validated.append(context.document)

    pipeline.rules = (*pipeline.rules, Recording)
    return validated


async def test_480_repeated_fields_are_refused_with_their_own_code(api: Api, admin_token: str) -> None:
    error = only_error(await api.post(me_ids(480), token=admin_token))
    assert error["extensions"] == {"code": "TOO_MANY_FIELDS", "limit": 500, "requested": 960}
    assert error["message"].startswith("The document selects 960 fields")


def test_field_limits_are_checked_before_the_document_is_validated() -> None:
    pipeline = Pipeline(rigbook.schema)
    validated = recording(pipeline)
    refused = pipeline.prepare(me_ids(480))
    [error] = refused.errors
    assert error.extensions == {"code": "TOO_MANY_FIELDS", "limit": 500, "requested": 960}
    assert validated == []  # the quadratic rule never saw it
    assert pipeline.prepare(me_ids(2)).errors == ()
    assert len(validated) == 1


def test_an_unused_fragment_is_refused_before_the_document_is_validated() -> None:
    # Validation compares the fields of every fragment, used or not; the limits count used ones.
    pipeline = Pipeline(rigbook.schema)
    validated = recording(pipeline)
    document = "{ __typename } fragment Heavy on Query {" + " me { id }" * 250 + " }"
    [error] = pipeline.prepare(document).errors
    assert error.message == "Fragment 'Heavy' is never used."
    assert error.extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert validated == []


async def test_fragments_nested_past_the_stack_are_measured_without_recursing(api: Api) -> None:
    # Six fragments, each nesting 100 levels and spreading the next: 600 levels in all.
    def fragment(index: int) -> str:
        inner = f"...F{index + 1}" if index < 5 else "id"
        return f"fragment F{index} on User {{ " + "tenant { " * 100 + inner + " }" * 100 + " }"

    document = "{ me { ...F0 } } " + " ".join(fragment(index) for index in range(6))
    body = await api.post(document)
    assert body["data"] is None
    codes = error_codes(body)
    assert "QUERY_TOO_DEEP" in codes
    assert "INTERNAL_SERVER_ERROR" not in codes


async def test_ten_selections_of_one_field_pass_and_eleven_do_not(api: Api, admin_token: str) -> None:
    accepted = await api.data(me_ids(10), token=admin_token)
    refused = errors_by_code(await api.post(me_ids(11), token=admin_token))
    assert accepted == {"me": {"id": ANY}}
    assert set(refused) == {"TOO_MANY_REPEATED_FIELDS"}
    assert refused["TOO_MANY_REPEATED_FIELDS"]["extensions"]["requested"] == 11


@pytest.mark.parametrize(
    "document",
    [
        "{ me { "
        + " ".join(f"...F{n}" for n in range(11))
        + " } } "
        + " ".join(f"fragment F{n} on User {{ id }}" for n in range(11)),
        "{ me { " + "...F " * 11 + "} } fragment F on User { id email }",
        "{ ...Q ...Q ...Q ...Q ...Q ...Q me { id } me { id } me { id } me { id } me { id } } "
        "fragment Q on Query { me { email } }",
    ],
    ids=["eleven fragments", "one fragment spread eleven times", "fragments and fields together"],
)
async def test_selections_merging_through_fragments_count(api: Api, admin_token: str, document: str) -> None:
    refused = errors_by_code(await api.post(document, token=admin_token))
    assert refused["TOO_MANY_REPEATED_FIELDS"]["extensions"]["requested"] == 11


async def test_a_lowered_field_limit_takes_effect(database_url: str, admin_token: str) -> None:
    async with api_with(database_url, max_fields=3) as api:
        accepted = await api.data("{ me { id email } }", token=admin_token)
        refused = await api.post("{ me { id email name } }", token=admin_token)
    async with api_with(database_url, max_repeated_fields=2) as api:
        repeated = await api.post(me_ids(3), token=admin_token)
    assert accepted == {"me": {"id": ANY, "email": "admin@esr.example"}}
    assert only_error(refused)["extensions"] == {"code": "TOO_MANY_FIELDS", "limit": 3, "requested": 4}
    assert errors_by_code(repeated)["TOO_MANY_REPEATED_FIELDS"]["extensions"]["limit"] == 2


def test_field_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = settings_for("sqlite+aiosqlite://")
    monkeypatch.setenv("RIGBOOK_MAX_FIELDS", "300")
    monkeypatch.setenv("RIGBOOK_MAX_REPEATED_FIELDS", "5")
    settings = Settings(_env_file=None)
    assert (settings.max_fields, settings.max_repeated_fields) == (300, 5)
    assert (defaults.max_fields, defaults.max_repeated_fields) == (
        QueryLimits().max_fields,
        QueryLimits().max_repeated_fields,
    )


# --- directives ------------------------------------------------------------------


async def test_directives_in_a_fragment_count_once_per_spread(api: Api, admin_token: str) -> None:
    error = only_error(await api.post(DIRECTIVES_SPREAD_6_TIMES, token=admin_token))
    assert error["extensions"] == {"code": "TOO_MANY_DIRECTIVES", "limit": 50, "requested": 60}


async def test_a_few_directives_pass_and_apply(api: Api, admin_token: str) -> None:
    data = await api.data(FEW_DIRECTIVES, token=admin_token)
    assert data == {"me": {"email": "admin@esr.example"}}


# --- cost ------------------------------------------------------------------------


async def test_the_cost_of_an_accepted_operation_is_reported(api: Api, admin_token: str) -> None:
    # users 1 + edges (1 + 10 × (node 1 + tenant 1)) = 22; scalars are free.
    body = await api.post(USERS_PAGE, {"n": 10}, token=admin_token)
    assert len(body["data"]["users"]["edges"]) == 4
    assert body["extensions"]["cost"] == {"requested": 22, "limit": DEFAULT_MAX_COST}
    # Without `first`, a page is assumed to hold the default 20 items.
    default_page = await api.post(USERS_WITHOUT_FIRST, token=admin_token)
    assert default_page["data"]["users"]["totalCount"] == 4
    assert default_page["extensions"]["cost"] == {"requested": 22, "limit": DEFAULT_MAX_COST}


async def test_each_operation_of_a_document_keeps_its_own_cost(api: Api, admin_token: str) -> None:
    # Costs written in the document are remembered per operation; a variable page is priced each time.
    document = (
        "query Small { users(first: 1) { edges { node { email } } } } "
        "query Big { users(first: 50) { edges { node { email } } } } "
        "query Paged($n: Int) { users(first: $n) { edges { node { email } } } }"
    )
    costs = []
    for name, variables in [("Small", None), ("Big", None), ("Small", None), ("Big", None)]:
        body = await api.post(document, variables, token=admin_token, operation_name=name)
        costs.append(body["extensions"]["cost"]["requested"])
    for n in (1, 50, 2):
        body = await api.post(document, {"n": n}, token=admin_token, operation_name="Paged")
        costs.append(body["extensions"]["cost"]["requested"])
    assert costs == [3, 52, 3, 52, 3, 52, 4]


async def test_a_costly_operation_is_refused_before_any_resolver_runs(
    api: Api, admin_token: str, statements: StatementCounter
) -> None:
    # The page size comes from a variable; 1 + (1 + 5,000,000 × 2) is far over 1,100,000.
    with statements.counting():
        body = await api.post(USERS_PAGE, {"n": 5_000_000}, token=admin_token)
    error = only_error(body)
    assert error["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "limit": DEFAULT_MAX_COST,
        "requested": 10_000_002,
    }
    assert "BAD_USER_INPUT" not in error_codes(body)
    assert body["extensions"]["cost"] == {"requested": 10_000_002, "limit": DEFAULT_MAX_COST}
    assert statements.last == 0


async def test_a_lowered_cost_limit_takes_effect(database_url: str, admin_token: str) -> None:
    async with api_with(database_url, max_query_cost=50) as api:
        refused = await api.post(USERS_PAGE, {"n": 30}, token=admin_token)  # 62
        accepted = await api.post(USERS_PAGE, {"n": 20}, token=admin_token)  # 42
    assert only_error(refused)["extensions"] == {"code": "QUERY_TOO_COSTLY", "limit": 50, "requested": 62}
    assert len(accepted["data"]["users"]["edges"]) == 4
    assert accepted["extensions"]["cost"] == {"requested": 42, "limit": 50}


def test_a_page_of_equipment_with_its_reservations_fits_the_default_cost() -> None:
    schema = build_schema(EQUIPMENT_SDL)
    document = parse(EQUIPMENT_RESERVATIONS)
    assert validate(schema, document) == []
    cost = operation_cost(schema, document, None, None, CostModel())
    # equipment 1 + edges (1 + 100 × (node 1 + reservations (1 + 100 × (lines (1 + 100 × 1) + customer 1)))):
    # at most 100 reservations per equipment (`first`'s default), 100 lines per reservation.
    assert cost == 1_020_202
    assert cost <= QueryLimits().max_cost


# --- sign-in fields --------------------------------------------------------------


async def test_two_aliased_logins_in_one_document_are_refused(
    api: Api, esr: TenantUsers, statements: StatementCounter
) -> None:
    variables = {"a": login_input(esr, "wrong-1"), "b": login_input(esr)}
    with statements.counting():
        error = only_error(await api.post(TWO_LOGINS_ALIASED, variables))
    assert error["extensions"] == {"code": "TOO_MANY_SENSITIVE_FIELDS", "limit": 1, "requested": 2}
    assert "`login`" in error["message"]
    assert statements.last == 0  # no password was checked


@pytest.mark.parametrize("document", [TWO_LOGINS_THROUGH_A_FRAGMENT, LOGIN_AND_REFRESH_THROUGH_A_FRAGMENT])
async def test_sign_in_fields_count_through_fragments(api: Api, esr: TenantUsers, document: str) -> None:
    error = only_error(await api.post(document, {"a": login_input(esr)}))
    assert error["extensions"]["code"] == "TOO_MANY_SENSITIVE_FIELDS"


async def test_one_login_through_a_fragment_signs_in(api: Api, esr: TenantUsers) -> None:
    data = await api.data(ONE_LOGIN_THROUGH_A_FRAGMENT, {"a": login_input(esr)})
    assert data["login"]["__typename"] == "LoginSuccess"
    assert data["login"]["accessToken"]


# --- suggestions and configuration -----------------------------------------------


async def test_production_errors_do_not_suggest_field_names(database_url: str, admin_token: str) -> None:
    typo = {"a": {"tenant": "esr", "emial": "admin@esr.example", "password": "x"}}
    async with api_with(database_url, env="production") as production:
        field = only_error(await production.post(MISSPELT_FIELD, token=admin_token))
        variable = await production.post(LOGIN_WITH_VARIABLES, typo)
    async with api_with(database_url) as development:
        hinted = only_error(await development.post(MISSPELT_FIELD, token=admin_token))
    assert field["message"] == "Cannot query field 'emial' on type 'User'."
    # Input coercion at execution time suggests names too; hidden, graphql-core words it ", found:".
    messages = [error["message"] for error in variable["errors"]]
    assert any("not to include unknown field 'emial', found:" in message for message in messages)
    assert not any("Did you mean" in message for message in messages)
    assert hinted["message"] == "Cannot query field 'emial' on type 'User'. Did you mean 'email'?"


def test_settings_defaults_are_the_schema_defaults() -> None:
    settings = settings_for("sqlite+aiosqlite://")
    defaults = QueryLimits()
    assert (
        settings.max_query_depth,
        settings.max_aliases,
        settings.max_tokens,
        settings.max_directives,
        settings.max_query_cost,
    ) == (
        defaults.max_depth,
        defaults.max_aliases,
        defaults.max_tokens,
        defaults.max_directives,
        defaults.max_cost,
    )


def test_limits_leave_the_schema_unchanged() -> None:
    before = rigbook.schema.as_str()
    Pipeline(
        rigbook.schema, limits=QueryLimits(max_depth=3, max_cost=10), introspection=False, suggestions=False
    )
    assert rigbook.schema.as_str() == before


def test_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGBOOK_MAX_ALIASES", "3")
    monkeypatch.setenv("RIGBOOK_MAX_QUERY_COST", "500")
    settings = Settings(_env_file=None)
    assert (settings.max_aliases, settings.max_query_cost) == (3, 500)


async def test_a_lowered_alias_limit_takes_effect(database_url: str, admin_token: str) -> None:
    async with api_with(database_url, max_aliases=2) as api:
        refused = await api.post("query { me { a: email b: email c: email } }", token=admin_token)
        accepted = await api.data("query { me { a: email b: email } }", token=admin_token)
    assert only_error(refused)["extensions"] == {"code": "TOO_MANY_ALIASES", "limit": 2, "requested": 3}
    assert accepted == {"me": {"a": "admin@esr.example", "b": "admin@esr.example"}}


def test_the_document_cache_holds_a_bounded_amount_of_text() -> None:
    pipeline = Pipeline(rigbook.schema)

    def document(index: int) -> str:
        # ~10 KiB each: distinct, valid, under the longest kept document.
        return f"query Q{index} {{ __typename }}" + " " * (10 * 1024)

    first = pipeline.prepare(document(0))
    for index in range(1, 10):
        pipeline.prepare(document(index))
    assert pipeline.prepare(document(0)) is first  # a few documents stay parsed
    for index in range(10, 10 + KEPT_DOCUMENTS_TEXT // (10 * 1024) + 1):
        pipeline.prepare(document(index))
    # Past the text budget the least recently used go, though far fewer than 512 are kept.
    assert pipeline.prepare(document(0)) is not first
