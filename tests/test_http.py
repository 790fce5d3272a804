"""The HTTP surface: health, body limits, transport rules, headers, error masking."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from app import create_app
from auth.services import Services
from db.database import Database
from tests.api import Api, TenantUsers
from tests.conftest import settings_for
from tests.databases import owner_url
from web.middleware import Deadline

QUERY = {"query": "{ __typename }"}


async def test_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    live = await client.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = await client.get("/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok"})


async def test_readiness_is_503_when_the_database_is_unreachable() -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    services = Services.create(settings_for(url))
    app = create_app(services=services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://rigbook.test"
    ) as client:
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")
    await services.database.dispose()
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert live.status_code == 200


async def test_bodies_over_one_mebibyte_are_refused_before_parsing(client: httpx.AsyncClient) -> None:
    padding = "x" * (1024 * 1024)
    response = await client.post("/graphql", json={"query": "{ __typename }", "variables": {"pad": padding}})
    assert response.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    streamed = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    for refused in (response, streamed):
        assert refused.json()["errors"][0]["extensions"] == {
            "code": "PAYLOAD_TOO_LARGE",
            "limit": 1024 * 1024,
        }


async def test_queries_over_get_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"accept": "application/json"}
    )
    assert response.status_code in {400, 405}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_only_json_posts_are_accepted(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": content_type}
    )
    assert response.status_code in {400, 415}


async def test_array_batches_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=[QUERY, QUERY])
    assert response.status_code == 400


@pytest.mark.parametrize("accept", ["text/html", "*/*"])
async def test_a_document_sent_with_get_never_reaches_a_parser(
    client: httpx.AsyncClient, accept: str
) -> None:
    """Where GraphiQL is served, a GET carrying a document still goes through no parser or validator."""
    heavy = "subscription S { ...F } fragment F on Query { " + " ".join(["me { id }"] * 600) + " }"
    for params in ({"query": heavy}, {"query": "subscription { x }"}, {"operationName": "S"}):
        response = await client.get("/graphql", params=params, headers={"accept": accept})
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("accept", ["text/html", "*/*", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"])
async def test_graphiql_is_served_in_development(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.get("/graphql", headers={"accept": accept})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"query": ""}', "No GraphQL query found in the request"),
        (b'{"variables": {}}', "No GraphQL query found in the request"),
        (b'{"query": 1}', "The GraphQL operation's `query` must be a string or null, if provided."),
        (b'{"query": "{ __typename }", "variables": []}', "must be an object or null"),
        (b'"{ __typename }"', "The request body must be a JSON object."),
        (b"{not json", "Unable to parse request body as JSON"),
        # Past orjson's nesting limit, and past the standard parser's recursion limit.
        (b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}", "JSON"),
        (
            b'{"query": "query A { __typename } query B { __typename }"}',
            "Must provide operation name if query contains multiple operations.",
        ),
        (b'{"query": "query A { __typename }", "operationName": "B"}', 'Unknown operation named "B".'),
        # A name echoed back that is no valid UTF-8 on its own.
        (b'{"query": "query A { __typename }", "operationName": "\\ud800"}', "Unknown operation named"),
    ],
)
async def test_malformed_requests_get_a_400_that_says_why(
    client: httpx.AsyncClient, body: bytes, reason: str
) -> None:
    response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert reason in response.text


async def test_security_headers_and_request_id(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=QUERY, headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-request-id"] == "abc-123"
    generated = await client.post("/graphql", json=QUERY, headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32


async def test_cors_allows_only_configured_origins(database_url: str) -> None:
    services = Services.create(settings_for(database_url, cors_origins="https://app.example"))
    app = create_app(services=services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://rigbook.test"
    ) as client:
        headers = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
        allowed = await client.options("/graphql", headers=headers)
        refused = await client.options("/graphql", headers={**headers, "Origin": "https://evil.example"})
    await services.database.dispose()
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in refused.headers


async def test_unexpected_failures_are_masked_with_a_logged_id(
    api: Api, database_url: str, admin_token: str, esr: TenantUsers, caplog: pytest.LogCaptureFixture
) -> None:
    # The serving role may not alter tables: the owner breaks the query for it.
    owner = Database(owner_url(database_url))
    async with owner.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE app_user RENAME TO app_user_gone"))
    await owner.dispose()
    body = await api.post("query { users { totalCount } }", token=admin_token)
    [error] = body["errors"]
    assert error["message"] == "Unexpected error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "app_user" not in str(body)
    error_id = error["extensions"]["errorId"]
    assert any(error_id in record.getMessage() for record in caplog.records)


async def test_production_refuses_a_missing_or_short_secret(database_url: str) -> None:
    from settings import ConfigurationError

    for secret in (None, "too-short"):
        with pytest.raises(ConfigurationError):
            create_app(settings_for(database_url, env="production", jwt_secret=secret))


async def test_production_turns_off_graphiql_and_introspection(database_url: str) -> None:
    settings = settings_for(database_url, env="production")
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://rigbook.test"
    ) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        introspection = await client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        plain = await client.post("/graphql", json=QUERY)
    await app.state.services.database.dispose()
    assert page.status_code != 200 or "graphiql" not in page.text.lower()
    assert introspection.json()["errors"]
    assert plain.json()["data"] == {"__typename": "Query"}
    assert plain.headers["strict-transport-security"].startswith("max-age=")


async def test_the_deadline_stops_when_the_response_is_sent() -> None:
    cleaned_up = []

    async def slow_clean_up(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        await asyncio.sleep(0.2)  # ending the read transaction, past the deadline
        cleaned_up.append(True)

    async def too_slow(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.2)

    for app in (slow_clean_up, too_slow):
        transport = httpx.ASGITransport(app=Deadline(app, seconds=0.05))
        async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
            response = await client.get("/")
        if app is slow_clean_up:
            assert (response.status_code, response.text, cleaned_up) == (200, "ok", [True])
        else:
            assert response.status_code == 503
            assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
