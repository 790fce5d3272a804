"""Reading the audit trail (ADMIN)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col

from db.scoped import scoped
from db.tables import AuditEvent
from resolvers.caller import TenantCaller
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.reservation_queries import require_aware
from resolvers.transactions import Snapshot


@dataclass(frozen=True)
class AuditFilter:
    actor_id: uuid.UUID | None = None
    actor_given: bool = False
    target_id: uuid.UUID | None = None
    target_given: bool = False
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_audit_events(
    snapshot: Snapshot, caller: TenantCaller, filter: AuditFilter, args: PageArgs
) -> Page[AuditEvent]:
    """Newest first."""
    require_aware("filter.from", filter.since)
    require_aware("filter.to", filter.until)
    statement = scoped(AuditEvent, caller.tenant_id)
    if filter.actor_given:
        statement = statement.where(col(AuditEvent.actor_id) == filter.actor_id)
    if filter.target_given:
        statement = statement.where(col(AuditEvent.target_id) == filter.target_id)
    if filter.action:
        statement = statement.where(col(AuditEvent.action) == filter.action)
    if filter.since is not None:
        statement = statement.where(col(AuditEvent.created_at) >= filter.since)
    if filter.until is not None:
        statement = statement.where(col(AuditEvent.created_at) < filter.until)
    sort = [col(AuditEvent.created_at), col(AuditEvent.id)]
    return await paginate(snapshot, statement, sort=sort, descending=True, args=args)
