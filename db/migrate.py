"""Apply Alembic migrations programmatically (``rigbook migrate`` and start-up).

With an owner URL (``RIGBOOK_MIGRATION_DATABASE_URL``) the migrations run as the
owner, and the serving role of ``RIGBOOK_DATABASE_URL`` is then granted what it
needs (``db/roles.py``); without one they run as the serving URL's role (SQLite,
or a single-role PostgreSQL set-up that ``rigbook serve`` warns about).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from db.roles import grant_runtime_role, serving_role

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


async def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest revision; a no-op when it is current."""
    # Alembic's env.py drives its own event loop, so it runs in a worker thread.
    await asyncio.to_thread(upgrade_sync, url)


async def migrate(database_url: str, migration_url: str | None = None) -> None:
    """What ``rigbook migrate`` does; idempotent."""
    if migration_url is None:
        await upgrade(database_url)
        return
    role = serving_role(database_url, migration_url)
    await upgrade(migration_url)
    # Again after every migration: new tables may need narrower rights than the defaults.
    await grant_runtime_role(migration_url, role)
