"""Reservations, their lines, and shortages (why a booking does not fit), as GraphQL types."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from db.clock import utcnow
from db.tables import Reservation as ReservationRow
from db.tables import ReservationLine as LineRow
from db.tables import ReservationStatus as StatusValue
from resolvers.errors import Shortage as ShortageValue
from resolvers.list_caps import MAX_HOLDERS_LISTED
from resolvers.visibility import visibility_of
from schema.context import Info
from schema.fetches import (
    ATTACHMENTS_OF_RESERVATIONS,
    EQUIPMENT,
    LINES_OF_RESERVATIONS,
    UNITS,
    USERS,
    VERSIONS,
)
from schema.node import Node
from schema.relations import from_parent, relation
from schema.rows import FromRow, Reader, row_type
from schema.types.attachment import Attachment
from schema.types.design import DesignVersion
from schema.types.equipment import Equipment, EquipmentUnit
from schema.types.user import User


@strawberry.enum(
    description="Where a reservation is in its lifecycle. Only CONFIRMED and CHECKED_OUT hold stock."
)
class ReservationStatus(Enum):
    REQUESTED = strawberry.enum_value(
        StatusValue.REQUESTED.value, description="Asked for by a customer; holds nothing yet."
    )
    CONFIRMED = strawberry.enum_value(StatusValue.CONFIRMED.value, description="Accepted; holds stock.")
    CHECKED_OUT = strawberry.enum_value(StatusValue.CHECKED_OUT.value, description="Handed out; holds stock.")
    RETURNED = strawberry.enum_value(StatusValue.RETURNED.value, description="Back in stock.")
    CANCELED = strawberry.enum_value(StatusValue.CANCELED.value, description="Called off; frees its stock.")
    DECLINED = strawberry.enum_value(StatusValue.DECLINED.value, description="A request staff turned down.")
    EXPIRED = strawberry.enum_value(
        StatusValue.EXPIRED.value,
        description="A request staff did not answer within the tenant's `requestExpiryHours`, or before its "
        "window began; holds nothing.",
    )


def _is_overdue(row: ReservationRow) -> bool:
    return row.status == StatusValue.CHECKED_OUT and row.ends_at < utcnow()


@row_type(
    ReservationRow,
    status=ReservationStatus,
    is_overdue=Reader(("status", "ends_at"), _is_overdue),
)
@strawberry.type(description="A booking of equipment for the half-open window [startsAt, endsAt).")
class Reservation(FromRow[ReservationRow], Node):
    number: int = strawberry.field(description="Per-tenant reservation number: 1, 2, 3, …")
    title: str = strawberry.field(description="Event or job title.")
    status: ReservationStatus = strawberry.field(description="Lifecycle state.")
    starts_at: datetime = strawberry.field(description="Start of the window (inclusive).")
    ends_at: datetime = strawberry.field(description="End of the window (exclusive).")
    is_overdue: bool = strawberry.field(
        description="Handed out (CHECKED_OUT) and not back although its window has ended."
    )
    notes: str = strawberry.field(description="Free-form notes.")
    version: int = strawberry.field(
        description="Increases with every change; pass it as `expectedVersion` to change only what you saw."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    row: strawberry.Private[ReservationRow]

    @strawberry.field(description="The items booked, in the order given.")
    @relation(key="id", fetch=LINES_OF_RESERVATIONS)
    async def lines(self, info: Info) -> list[ReservationLine]: ...

    @strawberry.field(description="Who the reservation is for; null for internal bookings.")
    @relation(key="customer_id", fetch=USERS)
    async def customer(self, info: Info) -> User | None: ...

    @strawberry.field(description="Who made the reservation.")
    @relation(key="created_by_id", fetch=USERS)
    async def created_by(self, info: Info) -> User | None: ...

    @strawberry.field(
        description="The design version it was reserved from (`reserveDesign`); null if none or not yours to see."
    )
    @relation(key="design_version_id", fetch=VERSIONS)
    async def design_version(self, info: Info) -> DesignVersion | None: ...

    @strawberry.field(
        description="Files of this reservation (a signed delivery note, photos at return), by position."
    )
    @relation(key="id", fetch=ATTACHMENTS_OF_RESERVATIONS)
    async def attachments(self, info: Info) -> list[Attachment]: ...


@row_type(LineRow)
@strawberry.type(description="A quantity of one equipment, or one specific unit, on a reservation.")
class ReservationLine(FromRow[LineRow]):
    quantity: int = strawberry.field(description="How many (1 when a unit is named).")
    row: strawberry.Private[LineRow]

    @strawberry.field(description="What is booked.")
    @relation(key="equipment_id", fetch=EQUIPMENT)
    async def equipment(self, info: Info) -> Equipment: ...

    @strawberry.field(description="The specific unit booked, if one was named.")
    @relation(key="unit_id", fetch=UNITS)
    async def unit(self, info: Info) -> EquipmentUnit | None: ...


@strawberry.type(description="Why a booking does not fit: what is missing, and what holds it.")
class Shortage:
    requested: int = strawberry.field(description="How many the change needs at its busiest instant.")
    available: int = strawberry.field(description="How many are free at that instant.")
    row: strawberry.Private[ShortageValue]

    @classmethod
    def from_value(cls, value: ShortageValue) -> Shortage:
        return cls(requested=value.requested, available=value.available, row=value)

    @strawberry.field(description="How many are missing: `requested - available`.")
    @from_parent
    def missing(self) -> int:
        return max(0, self.requested - self.available)

    @strawberry.field(description="The equipment that is short.")
    @relation(key="equipment_id", fetch=EQUIPMENT)
    async def equipment(self, info: Info) -> Equipment: ...

    @strawberry.field(description="The unit that is taken or out of service, when a unit was named.")
    @relation(key="unit_id", fetch=UNITS)
    async def unit(self, info: Info) -> EquipmentUnit | None: ...

    @strawberry.field(
        description=f"The reservations in the way, at most {MAX_HOLDERS_LISTED} (empty for customers)."
    )
    async def reservations(self, info: Info) -> list[Reservation]:
        if not visibility_of(info.context.principal).sees_holders:
            return []
        holders = self.row.reservation_ids[:MAX_HOLDERS_LISTED]
        rows = await info.context.loaders.reservation_by_id.load_many(holders)
        return [Reservation.from_row(row) for row in rows if row is not None]
