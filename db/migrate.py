"""Apply Alembic migrations programmatically (``rigbook migrate`` and start-up).

Besides bringing a database to the newest revision, ``rigbook migrate`` can move it
to a named revision (``--to``, down as well as up), and show the revision it is at
and the history of revisions; each reports what it applied.

With an owner URL (``RIGBOOK_MIGRATION_DATABASE_URL``) the migrations run as the
owner, and the serving role of ``RIGBOOK_DATABASE_URL`` is then granted what it
needs (``db/roles.py``); without one they run as the serving URL's role (SQLite,
or a single-role PostgreSQL set-up that ``rigbook serve`` warns about).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from db.database import Database
from db.roles import grant_runtime_role, serving_role

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@dataclass(frozen=True)
class Revision:
    """One migration of the code's history."""

    id: str
    title: str


def history() -> list[Revision]:
    """Every revision the code has, oldest first (the history is one line)."""
    script = ScriptDirectory.from_config(alembic_config(""))
    newest_first = [Revision(rev.revision, rev.doc or "") for rev in script.walk_revisions()]
    return newest_first[::-1]


def head() -> str:
    """The newest revision the code knows."""
    return history()[-1].id


class UnknownRevision(ValueError):
    """A revision the code's history does not have."""


def _position(revision: str | None) -> int:
    """Where ``revision`` stands in the history: 0 for none applied, 1 for the first."""
    if revision is None or revision == "base":
        return 0
    ids = [rev.id for rev in history()]
    if revision == "head":
        return len(ids)
    if revision not in ids:
        raise UnknownRevision(f"no revision {revision!r}: `rigbook migrate history` lists them")
    return ids.index(revision) + 1


async def current(url: str) -> str | None:
    """The revision the database at ``url`` is at; ``None`` before the first migration."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await database.dispose()


@dataclass(frozen=True)
class Moved:
    """What a migration run did: the revisions it applied (up) or reverted (down), in order."""

    before: str | None
    after: str | None
    applied: list[Revision]
    reverted: list[Revision]


def upgrade_sync(url: str) -> None:
    """``upgrade`` for callers without an event loop (test databases, the bench seed)."""
    command.upgrade(alembic_config(url), "head")


def plan(before: str | None, target: str) -> tuple[list[Revision], list[Revision]]:
    """The revisions moving from ``before`` to ``target`` applies and reverts, in order."""
    start, end = _position(before), _position(target)
    revisions = history()
    return revisions[start:end], revisions[end:start][::-1]


async def _move(url: str, target: str) -> Moved:
    before = await current(url)
    applied, reverted = plan(before, target)
    # Alembic's env.py drives its own event loop, so it runs in a worker thread.
    if applied:
        await asyncio.to_thread(command.upgrade, alembic_config(url), target)
    elif reverted:
        await asyncio.to_thread(command.downgrade, alembic_config(url), target)
    return Moved(before=before, after=await current(url), applied=applied, reverted=reverted)


async def upgrade(url: str) -> Moved:
    """Bring the database at ``url`` to the newest revision; a no-op when it is current."""
    return await _move(url, "head")


async def migrate(database_url: str, migration_url: str | None = None, target: str = "head") -> Moved:
    """What ``rigbook migrate`` does: move to ``target`` (the newest by default); idempotent."""
    _position(target)  # an unknown revision is refused before anything is touched
    if migration_url is None:
        return await _move(database_url, target)
    role = serving_role(database_url, migration_url)
    moved = await _move(migration_url, target)
    # Again after every migration: new tables may need narrower rights than the defaults.
    await grant_runtime_role(migration_url, role)
    return moved
