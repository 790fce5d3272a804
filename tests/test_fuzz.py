"""Fuzzing: random valid documents and hostile inputs never produce a 500 or a traceback.

Schema-driven documents, then input classes no generator reaches: variables nested
past their limit, too many values, big integers, garbage cursors for every
connection, lists far past their caps; some of them also against a production
server on a real socket, whose log must stay free of tracebacks. Bounded (a fixed
number of examples, no shrinking deadline) so CI time stays predictable.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql

from schema import schema
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers
from tests.conftest import TEST_SECRET

LOGIN_QUERY = "mutation($input: LoginInput!) { login(input: $input) { ... on LoginSuccess { accessToken } } }"

SDL = schema.as_str()
EXAMPLES = 150
SCALARS = {
    "DateTime": st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ).map(lambda value: nodes.String(value.isoformat())),
    "JSON": st.just(nodes.Object([])),
}
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def assert_no_crash(body: dict[str, Any], document: str) -> None:
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code != "INTERNAL_SERVER_ERROR", (document, error)
        assert "Traceback" not in str(error), document


async def run_documents(api: Api, token: str, documents: list[str]) -> None:
    for document in documents:
        response = await api.client.post(
            "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code in {200, 400}, (document, response.text)
        if response.status_code == 200:
            assert_no_crash(response.json(), document)


@pytest.mark.parametrize("kind", ["queries", "mutations"])
async def test_random_operations_never_crash(api: Api, admin_token: str, kind: str) -> None:
    strategy = (
        gql.queries(SDL, custom_scalars=SCALARS)
        if kind == "queries"
        else gql.mutations(SDL, custom_scalars=SCALARS)
    )
    documents: list[str] = []

    @FUZZ_SETTINGS
    @given(strategy)
    def collect(document: str) -> None:
        documents.append(document)

    # Hypothesis drives a sync function; the documents then run against the real app.
    await asyncio.to_thread(collect)
    assert len(documents) >= EXAMPLES // 2
    await run_documents(api, admin_token, documents)


# --- hostile inputs: deep and big variables, big integers, crafted cursors, huge lists ---

QUERY_TYPE = schema._schema.query_type
assert QUERY_TYPE is not None
CONNECTION_FIELDS = sorted(
    name for name, field in QUERY_TYPE.fields.items() if {"after", "before"} <= set(field.args)
)
JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Garbage, not forgeries: text, and base64 of random bytes (which may still decode as JSON).
GARBAGE_CURSORS = st.one_of(st.text(max_size=300), st.binary(max_size=200).map(_b64))


def nested_list(depth: int) -> str:
    """JSON text of a list ``depth`` deep (written out: encoders recurse)."""
    return "[" * depth + '"x"' + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


USERS_PAGE = "query($n: Int) { users(first: $n) { totalCount } }"
CONFIGURATION = (
    'mutation($c: JSON!) { createDesign(input: {name: "Fuzz", configuration: $c}) { __typename } }'
)
TAGS = "query($t: [String!]) { equipment(filter: {tags: $t}) { totalCount } }"
LINES = (
    'mutation($l: [ReservationLineInput!]!) { createReservation(input: {title: "F", '
    'startsAt: "2031-05-01T10:00:00Z", endsAt: "2031-05-01T12:00:00Z", lines: $l}) { __typename } }'
)


def hostile_requests() -> list[tuple[str, str]]:
    """Documents and their variables (as JSON text) no client should send; each must get a clean answer."""
    requests: list[tuple[str, str]] = []
    for depth in (99, 100, 101, 500, 1000):
        requests += [
            ("{ __typename }", f'{{"a": {nested_list(depth)}}}'),
            ("{ __typename }", f'{{"a": {nested_object(depth)}}}'),
            (CONFIGURATION, f'{{"c": {nested_object(depth)}}}'),
        ]
    for number in (2**31, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**100, 1e308, -0.0):
        requests.append((USERS_PAGE, json.dumps({"n": number})))
        requests.append((CONFIGURATION, json.dumps({"c": {"n": number}})))
    big: list[tuple[str, Any]] = [
        ("{ __typename }", {"a": [0] * 50_000}),
        ("{ __typename }", {f"v{n}": n for n in range(20_000)}),
        ("{ __typename }", {"a": "x" * 500_000}),
        (TAGS, {"t": ["x"] * 100_000}),
        (TAGS, {"t": [""] * 31}),
        (TAGS, {"t": "one tag"}),
        (LINES, {"l": [{"equipmentId": "x"}] * 5_000}),
        (LINES, {"l": [[[{"equipmentId": "x"}]]]}),
        (USERS_PAGE, {"n": [[[[1]]]]}),
        ("{ equipment(filter: {tags: [" + ", ".join(['"t"'] * 400) + "]}) { totalCount } }", None),
    ]
    requests += [(document, json.dumps(variables)) for document, variables in big]
    return requests


def hostile_body(document: str, variables: str) -> bytes:
    return b'{"query": %s, "variables": %s}' % (json.dumps(document).encode(), variables.encode())


def assert_clean(status: int, text: str, what: object) -> None:
    assert status in {200, 400, 413}, (what, status, text[:500])
    assert "Traceback" not in text, what
    if status == 200:
        assert_no_crash(orjson.loads(text), str(what)[:300])


async def test_hostile_variables_and_lists_get_clean_answers(api: Api, admin_token: str) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    for document, variables in hostile_requests():
        body = hostile_body(document, variables)
        response = await api.client.post(
            "/graphql", content=body, headers={**headers, "content-type": "application/json"}
        )
        assert_clean(response.status_code, response.text, (document, variables[:100]))


def garbage_cursors() -> list[str]:
    cursors: list[str] = []

    @FUZZ_SETTINGS
    @given(GARBAGE_CURSORS)
    def collect(cursor: str) -> None:
        cursors.append(cursor)

    collect()
    return cursors


async def test_garbage_cursors_never_crash_a_connection(api: Api, admin_token: str) -> None:
    assert {"users", "equipment", "reservations", "designs", "auditEvents", "tenants"} <= set(
        CONNECTION_FIELDS
    )
    cursors = await asyncio.to_thread(garbage_cursors)
    for index, cursor in enumerate(cursors):
        field = CONNECTION_FIELDS[index % len(CONNECTION_FIELDS)]
        for direction, size in (("after", "first"), ("before", "last")):
            document = f"query($c: String) {{ {field}({direction}: $c, {size}: 2) {{ totalCount }} }}"
            body = await api.post(document, {"c": cursor}, token=admin_token)
            assert_no_crash(body, f"{field}({direction}: {cursor!r})")


# --- the same against a production server on a real socket ---------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.socket
async def test_a_production_server_answers_hostile_requests_cleanly(
    database_url: str, esr: TenantUsers, tmp_path: Path
) -> None:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RIGBOOK_")}
    env.update(RIGBOOK_ENV="production", RIGBOOK_JWT_SECRET=TEST_SECRET, RIGBOOK_DATABASE_URL=database_url)
    log = tmp_path / "server.log"
    with log.open("w") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            "serve",
            "--port",
            str(port),
            cwd=Path(__file__).parent.parent,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for _ in range(300):
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.returncode is None, log.read_text()
                await asyncio.sleep(0.2)
            login = await client.post(
                "/graphql",
                json={
                    "query": LOGIN_QUERY,
                    "variables": {
                        "input": {"tenant": "esr", "email": esr.admin.email, "password": DEFAULT_PASSWORD}
                    },
                },
            )
            token = login.json()["data"]["login"]["accessToken"]
            headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
            for document, variables in hostile_requests()[::3]:
                body = hostile_body(document, variables)
                response = await client.post("/graphql", content=body, headers=headers)
                assert_clean(response.status_code, response.text, (document, variables[:100]))
            for field in CONNECTION_FIELDS:
                document = f'{{ {field}(after: "%%%", first: 1) {{ totalCount }} }}'
                response = await client.post("/graphql", json={"query": document}, headers=headers)
                assert_clean(response.status_code, response.text, document)
            # A deep body the standard JSON parser has to read (orjson refuses the lone surrogate).
            deep = b'{"query": "{ __typename }", "variables": {"a": %s, "s": "\\ud800"}}' % (
                b"[" * 900 + b"]" * 900
            )
            response = await client.post("/graphql", content=deep, headers=headers)
            assert_clean(response.status_code, response.text, "deep body")
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    assert "Traceback" not in log.read_text()
