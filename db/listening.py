"""Dedicated PostgreSQL connections for ``LISTEN``, outside the request pool.

A listening connection must stay one session for as long as it listens, so it is
never taken from the pool, and it cannot go through PgBouncer in transaction mode:
``RIGBOOK_LISTEN_DATABASE_URL`` gives it an address of its own (a direct or
session-pooled one); without it, it connects where the pool does. The job worker
(``resolvers/jobs/worker.py``) and live updates (``db/live.py``) each hold one per
process.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url

from db.database import Database

LISTEN_TIMEOUT = 5.0  # seconds to open a listening connection
# Options of SQLAlchemy's asyncpg dialect that are not asyncpg's own.
_DIALECT_ONLY = ("async_creator_fn", "prepared_statement_cache_size", "prepared_statement_name_func")


async def listen_connection(database: Database, application_name: str) -> asyncpg.Connection:
    """A new connection for ``LISTEN`` (PostgreSQL only), named ``application_name`` in ``pg_stat_activity``."""
    engine = database.engine
    url = make_url(database.listen_url) if database.listen_url else engine.url
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+asyncpg")
    # The URL read as the pool's connections read it: its query holds driver options
    # (``ssl``, ``prepared_statement_cache_size``) that asyncpg would send as settings.
    _args, options = engine.dialect.create_connect_args(url)
    for key in _DIALECT_ONLY:
        options.pop(key, None)
    connection: asyncpg.Connection = await asyncpg.connect(
        **options, timeout=LISTEN_TIMEOUT, server_settings={"application_name": application_name}
    )
    return connection
