"""Helpers for tests of the reservation jobs: a worker on a given clock, and what they recorded."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, select

from auth.services import Services
from db.scoped import scoped
from db.tables import AuditEvent, Job, Reservation
from resolvers.jobs.worker import Worker
from schema.node import pk_of


async def run_at(services: Services, when: datetime) -> int:
    """Everything due at ``when``, as one worker runs it; returns how many jobs ran."""
    return await Worker(services, clock=lambda: when).run_due()


async def row_of(services: Services, tenant_id: uuid.UUID, global_id: str) -> Reservation:
    async with services.database.session(tenant_id) as session:
        found = await session.get(Reservation, (tenant_id, pk_of(global_id, "Reservation")))
    if found is None:
        raise LookupError(global_id)
    return found


async def announced(services: Services, tenant_id: uuid.UUID, event: str) -> list[AuditEvent]:
    """The tenant's audit entries announcing ``event``, oldest first."""
    statement = (
        scoped(AuditEvent, tenant_id)
        .where(col(AuditEvent.event) == event)
        .order_by(col(AuditEvent.created_at), col(AuditEvent.id))
    )
    async with services.database.session(tenant_id) as session:
        return list((await session.scalars(statement)).all())


async def announcing_jobs(services: Services, entries: list[AuditEvent]) -> list[str]:
    """The ids of the entries among ``entries`` that an ``event`` job was queued for."""
    wanted = {str(entry.id) for entry in entries}
    async with services.database.session(None) as session:
        jobs = (await session.scalars(select(Job).where(col(Job.kind) == "event"))).all()
    return sorted(job.payload["audit_event_id"] for job in jobs if job.payload["audit_event_id"] in wanted)
