"""Every tenant, a page at a time, for platform work that visits each tenant in turn.

Jobs that serve all tenants (expiry, reminders, housekeeping, monthly reports) must
read tenant-owned rows in each tenant's own scope, so they walk the tenants. The walk
is by id (keyset), one short read transaction per page: thousands of tenants are
neither read at once nor kept in an open transaction while each is visited.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Row
from sqlmodel import col, select

from db.database import Database
from db.tables import Tenant

PAGE = 500


async def tenant_pages(database: Database, *columns: Any, page: int = PAGE) -> AsyncIterator[list[Row[Any]]]:
    """Pages of tenants in id order: each row is the tenant's ``id``, then ``columns``."""
    after: uuid.UUID | None = None
    while True:
        statement = select(col(Tenant.id), *columns).order_by(col(Tenant.id)).limit(page)
        if after is not None:
            statement = statement.where(col(Tenant.id) > after)
        async with database.session(None) as session:
            rows = list((await session.execute(statement)).all())
        if rows:
            yield rows
        if len(rows) < page:
            return
        after = rows[-1][0]


async def each_tenant(database: Database, *columns: Any) -> AsyncIterator[Row[Any]]:
    """Every tenant in id order: its ``id``, then ``columns``."""
    async for rows in tenant_pages(database, *columns):
        for row in rows:
            yield row
