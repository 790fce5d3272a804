"""Every top-level error carries `extensions.code`, whichever phase refused the request."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import Api, error_codes
from tests.test_limits import CIRCULAR_FRAGMENTS, GRAPHIQL_INTROSPECTION, api_with

USERS_PAGE = "query Users($n: Int) { users(first: $n) { totalCount } }"
AVAILABILITY = "query($d: DateTime!) { availability(from: $d, to: $d) { held } }"
LOGIN = "mutation($a: LoginInput!) { login(input: $a) { __typename } }"

# (what is wrong, document, variables, the code it must get)
BAD_REQUESTS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("unclosed selection", "{ me { ", None, "GRAPHQL_PARSE_FAILED"),
    ("stray character", "{ me } ¡", None, "GRAPHQL_PARSE_FAILED"),
    ("unknown field", "{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("unknown argument", "{ me(id: 1) { id } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("wrong literal type", '{ users(first: "ten") { totalCount } }', None, "GRAPHQL_VALIDATION_FAILED"),
    ("unused variable", "query($a: Int) { __typename }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("undefined variable", "{ users(first: $n) { totalCount } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("conflicting fields", "{ me { a: id a: email } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("fragment cycle", CIRCULAR_FRAGMENTS, None, "GRAPHQL_VALIDATION_FAILED"),
    ("missing selection", "{ me }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("bad DateTime variable", AVAILABILITY, {"d": "garbage"}, "BAD_USER_INPUT"),
    ("naive DateTime variable", AVAILABILITY, {"d": "2031-05-01T10:00:00"}, "BAD_USER_INPUT"),
    ("missing variable", AVAILABILITY, {}, "BAD_USER_INPUT"),
    ("Int variable over 32 bits", USERS_PAGE, {"n": 2**40}, "BAD_USER_INPUT"),
    ("Int variable over 64 bits", USERS_PAGE, {"n": 2**70}, "BAD_USER_INPUT"),
    ("Int variable that is text", USERS_PAGE, {"n": "ten"}, "BAD_USER_INPUT"),
    ("Int variable that is a fraction", USERS_PAGE, {"n": 1.5}, "BAD_USER_INPUT"),
    (
        "unknown input field in a variable",
        LOGIN,
        {"a": {"tenant": "esr", "emial": "a@b.example", "password": "x"}},
        "BAD_USER_INPUT",
    ),
    ("input variable that is a list", LOGIN, {"a": [1, 2]}, "BAD_USER_INPUT"),
    ("page out of range", "{ users(first: 1000) { totalCount } }", None, "BAD_USER_INPUT"),
    ("cursor that is garbage", '{ users(after: "%%%") { totalCount } }', None, "BAD_USER_INPUT"),
]


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [pytest.param(*request[1:], id=request[0]) for request in BAD_REQUESTS],
)
async def test_every_refusal_carries_a_code(
    api: Api, admin_token: str, document: str, variables: dict[str, Any] | None, code: str
) -> None:
    body = await api.post(document, variables, token=admin_token)
    assert body["errors"], body
    assert None not in error_codes(body), body["errors"]
    assert code in error_codes(body), body["errors"]


async def test_introspection_refused_in_production_says_so(database_url: str) -> None:
    async with api_with(database_url, env="production") as production:
        body = await production.post(GRAPHIQL_INTROSPECTION)
        typename = await production.post("{ __typename }")
    assert body["data"] is None
    assert set(error_codes(body)) == {"INTROSPECTION_DISABLED"}, body["errors"]
    assert typename["data"] == {"__typename": "Query"}


async def test_aborted_validation_has_a_code(api: Api) -> None:
    # More than a hundred errors: graphql-core stops and says so in one more error.
    body = await api.post("{ " + " ".join(f"nope{n}" for n in range(120)) + " }")
    assert body["errors"][-1]["message"].startswith("Too many validation errors")
    assert set(error_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
