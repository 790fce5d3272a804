"""Inputs at the edges get clear errors, never an internal one."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api import Api, TenantUsers, error_codes
from tests.booking import CREATE_RESERVATION, create_equipment, line, reserve


@pytest.fixture
async def buffered(api: Api, manager_token: str) -> dict[str, Any]:
    return await create_equipment(
        api, manager_token, name="Truss", code="TR", quantity=2, bufferBefore=120, bufferAfter=120
    )


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        ("9999-12-31T20:00:00+00:00", "9999-12-31T23:00:00+00:00"),
        ("0001-01-01T05:00:00+14:00", "0001-01-02T05:00:00+14:00"),
        ("1900-01-01T00:00:00+00:00", "1900-01-02T00:00:00+00:00"),
    ],
)
async def test_instants_far_from_now_are_validation_errors(
    api: Api, staff_token: str, buffered: dict[str, Any], starts: str, ends: str
) -> None:
    result = (
        await api.data(
            CREATE_RESERVATION,
            {"input": {"title": "Far", "startsAt": starts, "endsAt": ends, "lines": [line(buffered)]}},
            token=staff_token,
        )
    )["createReservation"]
    assert result["__typename"] == "ValidationError"
    assert {problem["field"] for problem in result["fields"]} <= {"startsAt", "endsAt"}


async def test_availability_and_nested_reservation_windows_are_checked(
    api: Api, staff_token: str, buffered: dict[str, Any]
) -> None:
    query = "query($id: ID!, $from: DateTime!, $to: DateTime!) { node(id: $id) { ... on Equipment { reservations(from: $from) { id } availability(from: $from, to: $to) { held } } } }"
    for window in (
        {"from": "0001-01-01T00:30:00+00:00", "to": "0001-01-02T00:00:00+00:00"},
        {"from": "2031-05-01T10:00:00", "to": "2031-05-02T10:00:00+00:00"},
    ):
        body = await api.post(query, {"id": buffered["id"], **window}, token=staff_token)
        assert "BAD_USER_INPUT" in error_codes(body)
        assert "INTERNAL_SERVER_ERROR" not in error_codes(body)


async def test_stock_cannot_shrink_under_a_booking_centuries_ahead(
    api: Api, manager_token: str, staff_token: str, buffered: dict[str, Any]
) -> None:
    far = await reserve(
        api,
        staff_token,
        [line(buffered)],
        0,
        2,
        startsAt="2200-05-01T10:00:00+00:00",
        endsAt="2200-05-01T12:00:00+00:00",
    )
    assert far["__typename"] == "CreateReservationSuccess"
    result = (
        await api.data(
            "mutation($id: ID!) { updateEquipment(input: {id: $id, quantity: 0}) { __typename } }",
            {"id": buffered["id"]},
            token=manager_token,
        )
    )["updateEquipment"]
    assert result["__typename"] == "ConflictError"


@pytest.mark.parametrize("title", ["a\x00b", "a\ud800b"])
async def test_unstorable_text_is_bad_input_on_both_databases(
    api: Api, staff_token: str, buffered: dict[str, Any], title: str
) -> None:
    variables = {
        "input": {
            "title": title,
            "startsAt": "2031-05-01T10:00:00Z",
            "endsAt": "2031-05-01T12:00:00Z",
            "lines": [line(buffered)],
        }
    }
    response = await api.client.post(
        "/graphql",
        content=json.dumps({"query": CREATE_RESERVATION, "variables": variables}).encode(),
        headers={"Authorization": f"Bearer {staff_token}", "content-type": "application/json"},
    )
    body = response.json()
    assert error_codes(body) == ["BAD_USER_INPUT"]
    literal = await api.post(
        'mutation { createReservation(input: {title: "a\\u0000b", startsAt: "2031-05-01T10:00:00Z", endsAt: "2031-05-01T12:00:00Z", lines: []}) { __typename } }',
        token=staff_token,
    )
    assert error_codes(literal) == ["BAD_USER_INPUT"]


async def test_customers_do_not_see_staff_identities(
    api: Api, staff_token: str, customer_token: str, buffered: dict[str, Any], esr: TenantUsers
) -> None:
    from schema.node import to_global_id

    booked = await reserve(
        api, staff_token, [line(buffered)], customerId=to_global_id("User", esr.customer.id)
    )
    seen = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Reservation { customer { email } createdBy { email } } } }",
        {"id": booked["reservation"]["id"]},
        token=customer_token,
    )
    assert seen["node"] == {"customer": {"email": esr.customer.email}, "createdBy": None}


# --- variables: depth, size, text ------------------------------------------------


def nested(depth: int) -> Any:
    """A list ``depth`` levels deep: ``[[[]]]`` is 3."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


async def test_variables_nested_past_the_limit_are_bad_input(api: Api) -> None:
    # Unused and undeclared: the variables are bounded before anything reads them.
    body = await api.post("{ __typename }", {"a": nested(500)})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "limit": 100}
    assert "`$a`" in error["message"]
    within = await api.post("{ __typename }", {"a": nested(100), "b": {"c": nested(99)}})
    assert within["data"] == {"__typename": "Query"}


async def test_deep_variables_read_by_the_fallback_json_parser_are_bad_input(
    client: httpx.AsyncClient,
) -> None:
    # An escaped lone surrogate sends the body past orjson to the standard parser.
    body = b'{"query": "{ __typename }", "variables": {"a": %s, "s": "\\ud800"}}' % (b"[" * 900 + b"]" * 900)
    response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("variables", "limit"),
    [
        ({"a": [0] * 10_001}, 10_000),
        ({"a": {f"k{n}": n for n in range(6_000)}, "b": ["x"] * 5_000}, 10_000),
        ({"a": "x" * 100_001}, 100_000),
        ({"a": {"b": ["x" * 100_001]}}, 100_000),
    ],
    ids=["items", "keys and items together", "text", "nested text"],
)
async def test_big_variables_are_bad_input(api: Api, variables: dict[str, Any], limit: int) -> None:
    body = await api.post("{ __typename }", variables)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["limit"] == limit


async def test_variables_at_the_limits_pass(api: Api) -> None:
    variables = {"a": [0] * 9_998, "b": "x" * 100_000}  # 10,000 values
    assert (await api.post("{ __typename }", variables))["data"] == {"__typename": "Query"}


async def test_a_long_text_literal_is_bad_input(api: Api, staff_token: str) -> None:
    document = '{ equipment(filter: {search: "%s"}) { totalCount } }'
    refused = await api.post(document % ("x" * 100_001), token=staff_token)
    accepted = await api.post(document % ("x" * 1_000), token=staff_token)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "limit": 100_000}
    assert accepted["data"] == {"equipment": {"totalCount": 0}}


async def test_integers_past_64_bits_never_reach_a_resolver(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    headers = {"content-type": "application/json", "Authorization": f"Bearer {admin_token}"}
    query = b'"query Users($n: Int) { users(first: $n) { totalCount } }"'
    for number in (b"18446744073709551616", b"-9" * 1 + b"9" * 40, b"1" + b"0" * 5000):
        response = await client.post(
            "/graphql", content=b'{"query": %s, "variables": {"n": %s}}' % (query, number), headers=headers
        )
        assert response.status_code in {200, 400}, response.text
        if response.status_code == 200:
            assert error_codes(response.json()) == ["BAD_USER_INPUT"]
