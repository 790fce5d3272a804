"""Fresh databases for tests: a migrated template per run, copied per test.

SQLite: the template is a file, copied for each test. PostgreSQL: the template is
a database, cloned with ``CREATE DATABASE ... TEMPLATE`` for each test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from db.migrate import upgrade_sync

POSTGRES_ENV = "RIGBOOK_TEST_DATABASE_URL"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_url() else ["sqlite"]


# The app connects as a role that owns the tables but is not a superuser, as in
# production: superusers bypass row-level security, table owners under FORCE do not.
APP_ROLE = "rigbook_app_owner"


def _with_database(url: str, name: str, user: str | None = None) -> str:
    target = make_url(url).set(database=name)
    if user is not None:
        target = target.set(username=user, password=None)
    return target.render_as_string(hide_password=False)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


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
                f"""DO $$ BEGIN
                      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                        CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS;
                      END IF;
                    END $$""",
                f'DROP DATABASE IF EXISTS "{self.name}"',
                f'CREATE DATABASE "{self.name}" OWNER {APP_ROLE}',
            )
        )
        upgrade_sync(_with_database(url, self.name, APP_ROLE))

    async def fresh(self) -> tuple[str, str]:
        name = f"rigbook_t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        await _admin(self.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.name}" OWNER {APP_ROLE}')
        return _with_database(self.admin_url, name, APP_ROLE), name

    async def drop(self, name: str) -> None:
        await _admin(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        asyncio.run(_admin(self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
