"""Runaway work ends in a clean error, and the server stays usable."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.types import Receive, Scope, Send

from db.database import Database
from web.middleware import Deadline


async def test_a_request_past_its_deadline_gets_a_clean_503() -> None:
    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(5)

    app = Deadline(slow_app, seconds=0.2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"


async def test_statement_timeout_cancels_runaway_sql_and_the_pool_recovers(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("statement_timeout is a PostgreSQL setting")
    database = Database(database_url, statement_timeout_ms=100)
    try:
        async with database.engine.connect() as connection:
            with pytest.raises(DBAPIError):
                await connection.execute(text("SELECT pg_sleep(2)"))
        async with database.engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await database.dispose()
