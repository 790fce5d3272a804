"""Apply Alembic migrations programmatically (``rigbook migrate`` and start-up)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

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
