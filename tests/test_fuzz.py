"""Schema-driven fuzzing: random valid documents never produce a 500 or a traceback.

Bounded (a fixed number of examples, no shrinking deadline) so CI time stays
predictable; Hypothesis keeps failing examples in its database for reruns.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql

from schema import schema
from tests.api import Api

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
