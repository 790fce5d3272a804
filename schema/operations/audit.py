"""``auditEvents``: a tenant's audit trail, for its admins."""

from __future__ import annotations

import strawberry

from db.tables import Role
from resolvers.audit import AuditFilter, list_audit_events
from resolvers.pagination import PageArgs
from schema.context import Info
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least
from schema.types.audit import AuditEvent, AuditFilterArg


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Your tenant's audit trail, newest first (ADMIN).", extensions=role_at_least(Role.ADMIN)
    )
    @paginated
    async def audit_events(
        self,
        info: Info,
        paging: PageArgs,
        filter: AuditFilterArg = None,
    ) -> Connection[AuditEvent]:
        value = filter.to_value() if filter is not None else AuditFilter()
        context = info.context
        page = await list_audit_events(context, context.caller(), value, paging)
        return to_connection(page, AuditEvent.from_row)
