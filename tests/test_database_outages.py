"""When the database cannot serve a request: an exhausted pool, a database that is down or mute.

Each ends in a prompt HTTP 503 whose error says ``SERVICE_UNAVAILABLE`` and carries
``Retry-After`` (what a load balancer and a client retry on), never a masked
"Unexpected error" with status 200 nor a wait as long as the request's deadline.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app import create_app
from auth.principal import Principal
from auth.services import Services
from db.tables import Role
from tests.api import DEFAULT_PASSWORD, LOGIN, Api, make_tenant_with_users
from tests.booking import CREATE_EQUIPMENT
from tests.conftest import settings_for

ME = {"query": "{ me { email } }"}
CREATE = {
    "query": CREATE_EQUIPMENT,
    "variables": {"input": {"name": "LED wall panel", "code": "LED-1", "tracking": "BULK"}},
}
# Far longer than any answer below may take: a request that waits for it has failed.
LONG_DEADLINE = 120.0
POOL_SIZE = 1


def login(email: str) -> dict[str, Any]:
    return {
        "query": LOGIN,
        "variables": {"input": {"tenant": "esr", "email": email, "password": DEFAULT_PASSWORD}},
    }


@asynccontextmanager
async def served(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
        yield client


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    codes = {error["extensions"]["code"] for error in response.json()["errors"]}
    assert codes == {"SERVICE_UNAVAILABLE"}, response.text
    assert int(response.headers["retry-after"]) > 0


def token_for_nobody(services: Services) -> str:
    """A valid access token, issued without the database (which these tests make unreachable)."""
    import uuid

    principal = Principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), Role.ADMIN)
    return services.access_tokens.issue(principal, now=datetime.now(UTC))


async def test_an_exhausted_pool_answers_503_service_unavailable_at_once(database_url: str) -> None:
    settings = settings_for(
        database_url,
        db_pool_size=POOL_SIZE,
        db_max_overflow=0,
        pool_timeout=0.2,
        request_timeout=LONG_DEADLINE,
    )
    # Signed in through an ordinary pool: the tiny one below is for the requests under test.
    setup = Services.create(settings_for(database_url))
    try:
        esr = await make_tenant_with_users(setup, "esr")
        async with served(setup) as client:
            token = await Api(client).token("esr", esr.admin.email)
    finally:
        await setup.database.dispose()
    auth = {"Authorization": f"Bearer {token}"}
    services = Services.create(settings)
    try:
        async with served(services) as client:
            async with AsyncExitStack() as held:
                # Every connection the pool may open, held by someone else.
                for _ in range(POOL_SIZE):
                    await held.enter_async_context(services.database.engine.connect())
                read, write, sign_in, ready = await asyncio.gather(
                    client.post("/graphql", json=ME, headers=auth),
                    client.post("/graphql", json=CREATE, headers=auth),
                    client.post("/graphql", json=login(esr.staff.email)),
                    client.get("/health/ready"),
                )
            for response in (read, write, sign_in):
                assert_unavailable(response)
            # The database itself answers: readiness does not queue behind the busy pool.
            assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok"})
            # Once connections are free again, the same requests succeed.
            again = await client.post("/graphql", json=ME, headers=auth)
            assert again.json()["data"] == {"me": {"email": esr.admin.email}}
    finally:
        await services.database.dispose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_database_answers_503_service_unavailable() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/nowhere"
    services = Services.create(settings_for(url, request_timeout=LONG_DEADLINE))
    try:
        auth = {"Authorization": f"Bearer {token_for_nobody(services)}"}
        async with served(services) as client:
            responses = await asyncio.gather(
                client.post("/graphql", json=ME, headers=auth),
                client.post("/graphql", json=CREATE, headers=auth),
                client.post("/graphql", json=login("admin@esr.example")),
            )
            ready = await client.get("/health/ready")
        for response in responses:
            assert_unavailable(response)
        assert ready.status_code == 503
    finally:
        await services.database.dispose()


async def test_a_database_that_accepts_but_never_answers_is_unavailable_within_the_pool_timeout() -> None:
    # A listening socket nobody accepts on: the kernel completes the handshake, then silence.
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(64)
        port = mute.getsockname()[1]
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/mute"
        services = Services.create(settings_for(url, pool_timeout=0.3, request_timeout=LONG_DEADLINE))
        try:
            auth = {"Authorization": f"Bearer {token_for_nobody(services)}"}
            async with served(services) as client:
                read, sign_in = await asyncio.gather(
                    client.post("/graphql", json=ME, headers=auth),
                    client.post("/graphql", json=login("admin@esr.example")),
                )
                ready = await client.get("/health/ready")
            assert_unavailable(read)
            assert_unavailable(sign_in)
            assert ready.status_code == 503
        finally:
            await services.database.dispose()


async def test_partial_answers_keep_status_200_with_the_code_on_the_failed_field() -> None:
    """A 503 would tell the client that nothing came of its request; here some fields did."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/nowhere"
    services = Services.create(settings_for(url))
    try:
        auth = {"Authorization": f"Bearer {token_for_nobody(services)}"}
        async with served(services) as client:
            response = await client.post(
                "/graphql", json={"query": "{ __typename me { email } }"}, headers=auth
            )
        assert response.status_code == 200
        assert "retry-after" not in response.headers
        body = response.json()
        assert body["data"] == {"__typename": "Query", "me": None}
        [error] = body["errors"]
        assert (error["path"], error["extensions"]["code"]) == (["me"], "SERVICE_UNAVAILABLE")
    finally:
        await services.database.dispose()


@pytest.mark.parametrize("pool_timeout", [0.0, -1.0])
def test_the_pool_timeout_must_be_positive(pool_timeout: float) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        settings_for("sqlite+aiosqlite:///:memory:", pool_timeout=pool_timeout)


async def test_a_flood_of_readiness_probes_costs_the_database_one_connection(database_url: str) -> None:
    services = Services.create(settings_for(database_url))
    opened: list[object] = []

    def connected(*_args: object) -> None:
        opened.append(True)

    probes = services.database._probes.sync_engine
    event.listen(probes, "connect", connected)
    try:
        async with served(services) as client:
            answers = await asyncio.gather(*(client.get("/health/ready") for _ in range(50)))
        assert [answer.status_code for answer in answers] == [200] * 50
        assert len(opened) == 1
    finally:
        event.remove(probes, "connect", connected)
        await services.database.dispose()
