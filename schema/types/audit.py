"""The audit trail as GraphQL: ``AuditEvent`` and its filter."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from db.tables import AuditEvent as AuditRow
from resolvers.audit import AuditFilter as AuditFilterValue
from schema.context import Info
from schema.node import Node, from_global_id, pk_of, to_global_id
from schema.rows import FromRow, Reader, row_type
from schema.types.user import User

# Table names in the trail → the GraphQL type their ids are exposed as.
TYPE_OF_TABLE = {
    "app_user": "User",
    "equipment": "Equipment",
    "equipment_unit": "EquipmentUnit",
    "reservation": "Reservation",
    "reservation_line": "ReservationLine",
    "design": "Design",
    "design_version": "DesignVersion",
    "design_item": "DesignItem",
    "design_share": "DesignShare",
    "refresh_token": "Session",
    "monthly_report": "MonthlyReport",
    "tenant": "Tenant",
}


def _type_name(table: str) -> str:
    return TYPE_OF_TABLE.get(table, table)


def _target_id(row: AuditRow) -> strawberry.ID | None:
    return to_global_id(_type_name(row.target_type), row.target_id) if row.target_id is not None else None


@row_type(AuditRow, target_type=_type_name, target_id=Reader(("target_type", "target_id"), _target_id))
@strawberry.type(description="One recorded change: who did what to which object, old → new.")
class AuditEvent(FromRow[AuditRow], Node):
    action: str = strawberry.field(
        description="What happened, e.g. `reservation.updated` or `session.revoked`."
    )
    target_type: str = strawberry.field(description="The kind of object changed, e.g. `Reservation`.")
    target_id: strawberry.ID | None = strawberry.field(description="Global id of the object changed.")
    actor_kind: str = strawberry.field(
        description="`user`, `operator` (platform support), `anonymous` (sign-in) or `system` (background jobs, the `rigbook` command)."
    )
    changes: JSON = strawberry.field(
        description="Changed fields: `{field: [old, new]}`; secrets such as password hashes never appear."
    )
    request_id: str | None = strawberry.field(
        description="The X-Request-ID of the request that made the change."
    )
    created_at: datetime = strawberry.field(description="When it happened.")
    row: strawberry.Private[AuditRow]

    @strawberry.field(description="The user who made the change; null for operators and anonymous sign-ins.")
    async def actor(self, info: Info) -> User | None:
        if self.row.actor_id is None or self.row.actor_kind != "user":
            return None
        found = await info.context.loaders.user_by_id.load(self.row.actor_id)
        return User.from_row(found) if found is not None else None


@strawberry.input(description="Narrow the audit trail; all given conditions must hold.")
class AuditEventFilter:
    actor_id: strawberry.ID | None = strawberry.field(default=None, description="Changes made by this user.")
    target_id: strawberry.ID | None = strawberry.field(
        default=None, description="Changes to this object (any global id)."
    )
    action: str | None = strawberry.field(
        default=None, description="Exactly this action, e.g. `reservation.updated`."
    )
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="At or after this instant."
    )
    to: datetime | None = strawberry.field(default=None, description="Before this instant.")

    def to_value(self) -> AuditFilterValue:
        target = from_global_id(self.target_id) if self.target_id is not None else None
        return AuditFilterValue(
            actor_id=pk_of(self.actor_id, "User") if self.actor_id is not None else None,
            actor_given=self.actor_id is not None,
            target_id=target[1] if target is not None else None,
            target_given=self.target_id is not None,
            action=self.action,
            since=self.from_,
            until=self.to,
        )


AuditFilterArg = Annotated[AuditEventFilter | None, strawberry.argument(description="Conditions to meet.")]
