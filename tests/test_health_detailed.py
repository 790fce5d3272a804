"""``/health`` and ``/health/detailed``: what operators see, and who may see it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import text

from app import create_app
from auth.services import Services
from db.database import Database
from db.migrate import head, history
from tests.conftest import settings_for
from tests.databases import owner_url

OPS_TOKEN = "o" * 40


@asynccontextmanager
async def _client(database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    services = Services.create(settings_for(database_url, **overrides))
    transport = httpx.ASGITransport(app=create_app(services=services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
            yield client
    finally:
        await services.database.dispose()


async def test_detailed_health_reports_version_database_pool_jobs_and_live(database_url: str) -> None:
    async with _client(database_url) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        answer = await client.get("/health/detailed")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["status"] == "ok"
    assert body["version"] and body["uptimeSeconds"] >= 0
    database = body["database"]
    assert (database["status"], database["revision"], database["codeRevision"]) == ("ok", head(), head())
    assert database["latencyMs"] >= 0
    assert body["jobs"] == {"queued": 0, "running": 0, "done": 0, "dead": 0}
    assert body["live"] == {"connections": 0, "subscriptions": 0}
    assert body["worker"] == {"inline": False}
    assert body["pool"]["size"] > 0 and body["pool"]["checkedOut"] >= 0


async def test_a_database_behind_the_code_is_degraded(database_url: str) -> None:
    owner = Database(owner_url(database_url))
    older = history()[-2].id
    try:
        async with owner.engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :older"), {"older": older}
            )
    finally:
        await owner.dispose()
    async with _client(database_url) as client:
        answer = await client.get("/health/detailed")
    assert answer.status_code == 503
    assert answer.json()["status"] == "degraded"
    assert (answer.json()["database"]["revision"], answer.json()["database"]["codeRevision"]) == (
        older,
        head(),
    )


async def test_an_unreachable_database_is_reported_not_raised() -> None:
    async with _client("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere") as client:
        answer = await client.get("/health/detailed")
    assert answer.status_code == 503
    assert answer.json()["database"] == {"status": "unreachable", "codeRevision": head()}


async def test_production_closes_the_page_without_the_ops_token(database_url: str) -> None:
    async with _client(database_url, env="production") as client:
        closed = await client.get("/health/detailed")
        assert closed.status_code == 401
        assert "RIGBOOK_OPS_TOKEN" in closed.json()["error"]
        assert (await client.get("/health")).status_code == 200  # liveness stays public
    async with _client(database_url, env="production", ops_token=OPS_TOKEN) as client:
        for header in ({}, {"Authorization": "Bearer " + "x" * 40}, {"Authorization": OPS_TOKEN}):
            refused = await client.get("/health/detailed", headers=header)
            assert refused.status_code == 401, header
            assert refused.headers["www-authenticate"] == "Bearer"
        opened = await client.get("/health/detailed", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
    assert opened.status_code == 200
    assert opened.json()["database"]["revision"] == head()


async def test_a_configured_token_is_asked_for_outside_production_too(database_url: str) -> None:
    async with _client(database_url, ops_token=OPS_TOKEN) as client:
        assert (await client.get("/health/detailed")).status_code == 401
        assert (
            await client.get("/health/detailed", headers={"Authorization": f"bearer {OPS_TOKEN}"})
        ).status_code == 200
