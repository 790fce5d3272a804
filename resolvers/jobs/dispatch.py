"""The ``event`` job: tells every consumer of a domain event that it happened.

The job was queued in the transaction that made the change (``db/events.py``). Its
handler reads the audit entry, then each consumer (lifecycle mail, webhooks, ...)
queues its own jobs in one transaction that also completes this one: a retry after
a crash either finds everything queued already or nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from db.events import EVENT_JOB
from db.tables.audit import AuditEvent
from resolvers.jobs.registry import JobRun, handler

Consumer = Callable[[JobRun, AsyncSession, AuditEvent], Awaitable[None]]
CONSUMERS: list[Consumer] = []


def consumer(function: Consumer) -> Consumer:
    """Register ``function`` to hear of every domain event."""
    CONSUMERS.append(function)
    return function


@handler(EVENT_JOB)
async def dispatch(run: JobRun) -> None:
    tenant_id = run.job.tenant_id
    async with run.transaction(tenant_id) as session:
        if tenant_id is None:
            return
        entry = await session.get(AuditEvent, (tenant_id, uuid.UUID(run.job.payload["audit_event_id"])))
        if entry is None or entry.event is None:
            return
        for each in CONSUMERS:
            await each(run, session, entry)
