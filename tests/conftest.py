"""Fixtures of the whole suite: a fresh database per test on each backend, the app and its
client, two tenants with a user of every role, role-named tokens, and shared equipment."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app import create_app
from auth.services import Services
from db.tables import Operator
from settings import Settings
from tests.api import DEFAULT_PASSWORD, OPERATOR_EMAIL, Api, TenantUsers, make_tenant_with_users
from tests.booking import create_equipment
from tests.databases import PostgresTemplate, SqliteTemplate, backends, postgres_url

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-and-hs512-0123456789abcdef"


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        # Cheap argon2 parameters keep the suite fast; production uses the defaults.
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "password_hash_parallelism": 1,
        "allow_tenant_signup": True,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate | None]:
    url = postgres_url()
    if url is None:
        yield None
        return
    template = PostgresTemplate(url)
    yield template
    template.close()


@pytest.fixture(params=backends())
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: SqliteTemplate,
    postgres_template: PostgresTemplate | None,
) -> AsyncIterator[str]:
    """A freshly migrated, empty database on each backend under test."""
    if request.param == "sqlite":
        yield sqlite_template.fresh(tmp_path)
        return
    assert postgres_template is not None
    url, name = await postgres_template.fresh()
    yield url
    await postgres_template.drop(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Files go to the test's own directory, never to ./data/files.
    return settings_for(database_url, storage_url=f"file://{tmp_path}/files")


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = Services.create(settings)
    yield services
    await services.database.dispose()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
        yield client


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


@pytest.fixture
async def plain_api(services: Services) -> AsyncIterator[Api]:
    """The same app with every field left to graphql-core (no list-at-once completion)."""
    app = create_app(services=services, projection=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
        yield Api(client)


@pytest.fixture
def postgres_only(database_url: str) -> None:
    """Skips the SQLite run of a test of what only PostgreSQL has (roles, row-level security)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL feature")


@pytest.fixture
async def esr(services: Services) -> TenantUsers:
    return await make_tenant_with_users(services, "esr")


@pytest.fixture
async def cmh(services: Services) -> TenantUsers:
    return await make_tenant_with_users(services, "cmh")


@pytest.fixture
async def admin_token(api: Api, esr: TenantUsers) -> str:
    return await api.token("esr", esr.admin.email)


@pytest.fixture
async def manager_token(api: Api, esr: TenantUsers) -> str:
    return await api.token("esr", esr.manager.email)


@pytest.fixture
async def staff_token(api: Api, esr: TenantUsers) -> str:
    return await api.token("esr", esr.staff.email)


@pytest.fixture
async def customer_token(api: Api, esr: TenantUsers) -> str:
    return await api.token("esr", esr.customer.email)


@pytest.fixture
async def other_tenant_admin_token(api: Api, cmh: TenantUsers) -> str:
    return await api.token("cmh", cmh.admin.email)


@pytest.fixture
async def cmh_manager_token(api: Api, cmh: TenantUsers) -> str:
    return await api.token("cmh", cmh.manager.email)


@pytest.fixture
async def cmh_staff_token(api: Api, cmh: TenantUsers) -> str:
    return await api.token("cmh", cmh.staff.email)


@pytest.fixture
async def operator_token(api: Api, services: Services) -> str:
    """A platform operator's access token (``OPERATOR_EMAIL``)."""
    async with services.database.transaction(None) as session:
        session.add(
            Operator(email=OPERATOR_EMAIL, password_hash=await services.passwords.hash(DEFAULT_PASSWORD))
        )
    return await api.token(None, OPERATOR_EMAIL)


# Equipment that many modules book. A module needing other stock overrides the quantity
# fixture (``wall_quantity``, ``deck_quantity``) with its own.


@pytest.fixture
def wall_quantity() -> int:
    return 6


@pytest.fixture
async def wall(api: Api, manager_token: str, wall_quantity: int) -> dict[str, Any]:
    """Bulk equipment of tenant esr: ``wall_quantity`` LED walls."""
    return await create_equipment(api, manager_token, name="LED wall", code="LED-1", quantity=wall_quantity)


@pytest.fixture
def deck_quantity() -> int:
    return 8


@pytest.fixture
async def deck(api: Api, manager_token: str, deck_quantity: int) -> dict[str, Any]:
    """Bulk equipment of tenant esr: ``deck_quantity`` stage decks."""
    return await create_equipment(
        api, manager_token, name="Stage deck", code="DECK-1", quantity=deck_quantity
    )


@pytest.fixture
async def camera(api: Api, manager_token: str) -> dict[str, Any]:
    """Serialized equipment of tenant esr with two units, A1 and A2."""
    return await create_equipment(
        api,
        manager_token,
        name="Camera",
        code="CAM-1",
        tracking="SERIALIZED",
        units=[{"serialNumber": "A1"}, {"serialNumber": "A2"}],
    )


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        start = self.count
        yield
        self.last = self.count - start


@pytest.fixture
def statements(services: Services) -> Iterator[StatementCounter]:
    """Counts SQL statements the app sends (for constant-query assertions).

    Both kinds: those SQLAlchemy executes, and the request reads that PostgreSQL
    runs on asyncpg directly (``db/reads.py``).
    """
    counter = StatementCounter()

    def count(*_args: Any) -> None:
        counter.count += 1

    database = services.database
    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    database.statement_listeners.append(count)
    yield counter
    database.statement_listeners.remove(count)
    event.remove(engine, "before_cursor_execute", count)
