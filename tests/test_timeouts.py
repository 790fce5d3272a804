"""Runaway work ends in a clean error, and the server stays usable."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from starlette.types import Receive, Scope, Send

from app import create_app
from auth.services import Services
from db.database import Database
from tests.api import Api, make_tenant_with_users
from tests.booking import create_equipment
from tests.conftest import settings_for
from tests.equipment import UPDATE_EQUIPMENT
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


async def test_a_write_past_its_statement_timeout_answers_503_timeout(database_url: str) -> None:
    """A mutation stuck on a row lock another transaction holds: TIMEOUT, not a masked error."""
    if not database_url.startswith("postgresql"):
        pytest.skip("statement_timeout is a PostgreSQL setting")
    services = Services.create(settings_for(database_url, statement_timeout_ms=300, request_timeout=120))
    try:
        esr = await make_tenant_with_users(services, "esr")
        app = create_app(services=services)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.10", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
            api = Api(client)
            token = await api.token("esr", esr.admin.email)
            equipment = await create_equipment(api, token, name="Truss")
            update = {"input": {"id": equipment["id"], "name": "Truss 2"}}
            # Another transaction holds the equipment row (as a superuser: no row-level security).
            locker = await asyncpg.connect(
                make_url(database_url)
                .set(drivername="postgresql", username="postgres")
                .render_as_string(False)
            )
            try:
                async with locker.transaction():
                    await locker.execute("SELECT 1 FROM equipment FOR UPDATE")
                    responses = await asyncio.gather(
                        *(
                            client.post(
                                "/graphql",
                                json={"query": UPDATE_EQUIPMENT, "variables": update},
                                headers={"Authorization": f"Bearer {token}"},
                            )
                            for _ in range(3)
                        )
                    )
            finally:
                await locker.close()
            for response in responses:
                assert response.status_code == 503, response.text
                [error] = response.json()["errors"]
                assert (error["message"], error["extensions"]["code"]) == (
                    "The request took too long.",
                    "TIMEOUT",
                )
                assert error["path"] == ["updateEquipment"]
            # Nothing was changed, and the lock released, the same write goes through.
            done = await api.data(UPDATE_EQUIPMENT, update, token=token)
            assert done["updateEquipment"]["equipment"]["name"] == "Truss 2"
    finally:
        await services.database.dispose()
