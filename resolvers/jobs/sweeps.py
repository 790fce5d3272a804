"""What the reservation jobs share: every tenant in turn, and changes in short transactions.

The expiry and reminder jobs (``expiry.py``, ``reminders.py``) serve every tenant
from one job, but tenant rows are read only in a tenant's scope (row-level security
on PostgreSQL), so they visit the tenants one by one. In each, ``sweep`` first looks
for due reservations in a read-only transaction (most tenants have none, and a read
takes no write lock), then changes at most ``batch`` of them per write transaction:
it locks them, checks the condition again under the lock (a reservation staff
confirmed meanwhile is left alone: a compare-and-swap) and changes them through the
unit of work, so the audit trail names the system and announces the domain event.
A tenant with more than ``MAX_BATCHES`` batches due gets the rest in the next slot.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import col

from db.database import Database
from db.scoped import scoped, scoped_records
from db.tables import Reservation, Tenant
from db.tenant_pages import each_tenant as every_tenant
from resolvers.jobs.registry import JobRun

MAX_BATCHES = 10


@dataclass(frozen=True)
class TenantSettings:
    id: uuid.UUID
    settings: dict[str, Any]


async def each_tenant(database: Database) -> AsyncIterator[TenantSettings]:
    """Every tenant with its settings, by id."""
    async for row in every_tenant(database, col(Tenant.settings)):
        yield TenantSettings(row.id, dict(row.settings or {}))


async def sweep(
    run: JobRun,
    tenant_id: uuid.UUID,
    due: Sequence[ColumnElement[bool]],
    change: Callable[[Reservation], None],
    batch: int,
) -> int:
    """Apply ``change`` to every reservation of the tenant meeting ``due``, a batch per transaction.

    Returns how many were changed.
    """
    changed = 0
    for _ in range(MAX_BATCHES):
        found = scoped_records(Reservation, tenant_id, ("id",)).where(*due).order_by(col(Reservation.id))
        async with run.services.database.session(tenant_id) as session:
            ids = list((await session.scalars(found.limit(batch))).all())
        if not ids:
            break
        locked = (
            scoped(Reservation, tenant_id)
            .where(col(Reservation.id).in_(ids), *due)
            .order_by(col(Reservation.id))
            .with_for_update(skip_locked=True)  # one a request holds is left for the next slot
        )
        async with run.transaction(tenant_id, completes=False) as session:
            for reservation in (await session.scalars(locked)).all():
                change(reservation)
                changed += 1
        if len(ids) < batch:
            break
    return changed


async def complete(run: JobRun) -> None:
    """Mark the job done (its work committed tenant by tenant before)."""
    async with run.transaction(None):
        pass
