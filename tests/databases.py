"""Fresh databases for tests: a migrated template per run, copied per test.

SQLite: the template is a file, copied for each test. PostgreSQL: the template is
a database, cloned with ``CREATE DATABASE ... TEMPLATE`` for each test (a clone
keeps the template's tables, owners and grants).

On PostgreSQL the roles are those of production: ``rigbook_owner`` owns the
database and migrates; the app under test connects as ``rigbook_app``, which owns
nothing, is no superuser, has no BYPASSRLS, and holds only the privileges that
``rigbook migrate`` grants it (``db.migrate.migrate``, the same code path). So the
whole suite runs as the serving role; a test that needs DDL asks for the owner's URL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from db.migrate import migrate, upgrade_sync

POSTGRES_ENV = "RIGBOOK_TEST_DATABASE_URL"
OWNER_ROLE = "rigbook_owner"
RUNTIME_ROLE = "rigbook_app"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_url() else ["sqlite"]


def require_postgres(what: str) -> str:
    """The PostgreSQL URL, for a test of ``what`` only PostgreSQL has.

    Without one the test is skipped, except under CI (``CI`` set): there a missing
    URL is a broken setup, and a skip would let it pass unnoticed.
    """
    url = postgres_url()
    if url is None:
        reason = f"{what} needs PostgreSQL: set {POSTGRES_ENV}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is not skipped)", pytrace=False)
        pytest.skip(reason)
    return url


def with_role(url: str, role: str | None) -> str:
    """The same database, connecting as ``role`` (trust authentication, no password)."""
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def owner_url(url: str) -> str:
    """The URL that owns the test database at ``url`` (SQLite: the same file)."""
    return url if url.startswith("sqlite") else with_role(url, OWNER_ROLE)


def _with_database(url: str, name: str, user: str) -> str:
    return with_role(make_url(url).set(database=name).render_as_string(hide_password=False), user)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _create_role(role: str) -> str:
    return f"""DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS;
      END IF;
    END $$"""


async def _admin(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        upgrade_sync(f"sqlite+aiosqlite:///{self.path}")

    def fresh(self, directory: Path) -> str:
        target = directory / f"test-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(self.path, target)
        return f"sqlite+aiosqlite:///{target}"


class PostgresTemplate:
    def __init__(self, url: str) -> None:
        self.admin_url = url
        self.name = f"rigbook_tpl_{os.getpid()}"
        asyncio.run(
            _admin(
                url,
                _create_role(OWNER_ROLE),
                _create_role(RUNTIME_ROLE),
                f'DROP DATABASE IF EXISTS "{self.name}"',
                f'CREATE DATABASE "{self.name}" OWNER {OWNER_ROLE}',
            )
        )
        asyncio.run(
            migrate(
                _with_database(url, self.name, RUNTIME_ROLE),
                migration_url=_with_database(url, self.name, OWNER_ROLE),
            )
        )

    async def fresh(self) -> tuple[str, str]:
        name = f"rigbook_t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        await _admin(self.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.name}" OWNER {OWNER_ROLE}')
        return _with_database(self.admin_url, name, RUNTIME_ROLE), name

    async def empty(self) -> tuple[str, str, str]:
        """An unmigrated database owned by the owner role: serving URL, owner URL, name."""
        name = f"rigbook_e_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        await _admin(self.admin_url, f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
        return (
            _with_database(self.admin_url, name, RUNTIME_ROLE),
            _with_database(self.admin_url, name, OWNER_ROLE),
            name,
        )

    async def drop(self, name: str) -> None:
        await _admin(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        asyncio.run(_admin(self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
