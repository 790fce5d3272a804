"""Sign-ins made before sign-in sessions were recorded keep working after the upgrade."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command

from app import create_app
from auth.principal import Principal
from auth.services import Services
from db.clock import utcnow
from db.database import Database
from db.migrate import alembic_config
from db.tables import RefreshToken, Role, Tenant
from db.types import UtcDateTime
from tests.api import Api, error_codes
from tests.conftest import settings_for
from tests.databases import OWNER_ROLE, _admin, _with_database, backends, postgres_url

BEFORE = "0006"
USER_AT_BEFORE = sa.table(
    "app_user",
    sa.column("tenant_id", sa.Uuid()),
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("name", sa.String()),
    sa.column("role", sa.String()),
    sa.column("password_hash", sa.String()),
    sa.column("is_active", sa.Boolean()),
    sa.column("created_at", UtcDateTime()),
    sa.column("updated_at", UtcDateTime()),
)


@pytest.fixture(params=backends())
async def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database migrated up to the revision before sign-in sessions."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        await asyncio.to_thread(command.upgrade, alembic_config(url), BEFORE)
        yield url
        return
    admin_url = postgres_url()
    assert admin_url is not None
    name = f"rigbook_old_{uuid.uuid4().hex[:10]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
    url = _with_database(admin_url, name, OWNER_ROLE)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), BEFORE)
        yield url
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _seed(url: str, tenant: uuid.UUID, user: uuid.UUID, live: uuid.UUID, ended: uuid.UUID) -> None:
    """A tenant, a user, one live sign-in (a spent token and its successor), one ended one."""
    now = utcnow()
    later = now + timedelta(days=1)
    database = Database(url)
    try:
        async with database.transaction(tenant) as session:
            session.add(Tenant(id=tenant, slug="old", name="Old"))
            await session.flush()
            # The columns app_user has at BEFORE (the model has gained some since).
            await session.execute(
                USER_AT_BEFORE.insert().values(
                    tenant_id=tenant,
                    id=user,
                    email="old@old.example",
                    name="",
                    role=Role.STAFF,
                    password_hash="x",
                    is_active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            for family, used, revoked in [
                (live, now, None),
                (live, None, None),
                (ended, now, now),
                (ended, None, now),
            ]:
                session.add(
                    RefreshToken(
                        tenant_id=tenant,
                        user_id=user,
                        family_id=family,
                        token_hash="h",
                        expires_at=later,
                        session_expires_at=later,
                        used_at=used,
                        revoked_at=revoked,
                    )
                )
    finally:
        await database.dispose()


async def test_existing_sign_ins_become_sessions_revoked_as_their_tokens_were(old_database: str) -> None:
    tenant, user, live, ended = (uuid.uuid4() for _ in range(4))
    await _seed(old_database, tenant, user, live, ended)
    await asyncio.to_thread(command.upgrade, alembic_config(old_database), "head")

    services = Services.create(settings_for(old_database))
    try:
        transport = httpx.ASGITransport(app=create_app(services=services))
        async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
            api = Api(client)
            for family, refused in [(live, False), (ended, True)]:
                token = services.access_tokens.issue(
                    Principal(user, family, tenant, Role.STAFF), now=utcnow()
                )
                body = await api.post("query { me { email } }", token=token)
                if refused:
                    assert error_codes(body) == ["UNAUTHENTICATED"], body
                else:
                    assert body["data"] == {"me": {"email": "old@old.example"}}, body
    finally:
        await services.database.dispose()
