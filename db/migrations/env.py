"""Alembic environment: runs migrations over the async engine of the configured URL.

On SQLite, migrations run with foreign keys off, as SQLite's own procedure for
changing a table asks: batch mode rebuilds a table by copying it and dropping the
old one, and with foreign keys on that drop would first delete every row referring
to it through ``ON DELETE CASCADE`` (a reservation's lines). ``PRAGMA
foreign_key_check`` then confirms, before the migrations commit, that every
reference still holds.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import db.tables  # noqa: F401  (registers the tables on the metadata)
from db.database import Database

target_metadata = SQLModel.metadata


class BrokenReferences(RuntimeError):
    """A migration left rows whose foreign keys point nowhere (SQLite)."""


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    # On the driver's connection: SQLAlchemy would open a transaction first, and
    # inside one SQLite ignores the pragma.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    if sqlite:
        _sqlite_foreign_keys(connection, on=False)
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise BrokenReferences(f"rows with broken foreign keys: {broken[:10]}")
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)


async def _run_async(url: str) -> None:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await database.dispose()


url = context.config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("sqlalchemy.url must be set by db.migrate")
connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async(url))
