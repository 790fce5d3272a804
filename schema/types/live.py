"""The events subscriptions send: what happened, to which row, as the subscriber sees it now."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from schema.types.design import Design
from schema.types.equipment import Equipment
from schema.types.reservation import Reservation

REFETCH_DESCRIPTION = (
    "Changes may have been missed (the server lost its feed for a moment): read what you show again."
)


@strawberry.enum(description="What happened to a reservation.")
class ReservationEventType(Enum):
    CREATED = strawberry.enum_value("reservation.created", description="It was made.")
    CHANGED = strawberry.enum_value(
        "reservation.changed", description="Its window, lines, title or notes changed."
    )
    CONFIRMED = strawberry.enum_value(
        "reservation.confirmed", description="It was confirmed: it holds stock."
    )
    DECLINED = strawberry.enum_value("reservation.declined", description="The request was declined.")
    CANCELED = strawberry.enum_value("reservation.canceled", description="It was called off.")
    CHECKED_OUT = strawberry.enum_value("reservation.checked_out", description="Its items were handed out.")
    RETURNED = strawberry.enum_value("reservation.returned", description="Its items came back.")
    EXPIRED = strawberry.enum_value(
        "reservation.expired", description="The request was not answered in time, or its window began first."
    )
    PICKUP_REMINDER = strawberry.enum_value(
        "reservation.pickup_reminder", description="Its pickup reminder went out."
    )
    OVERDUE = strawberry.enum_value(
        "reservation.overdue", description="It was found overdue: handed out and not back in time."
    )
    REFETCH = strawberry.enum_value("refetch", description=REFETCH_DESCRIPTION)


@strawberry.type(description="A change to a reservation the subscriber may see, or a call to read again.")
class ReservationEvent:
    type: ReservationEventType = strawberry.field(description="What happened.")
    reservation: Reservation | None = strawberry.field(
        description="The reservation as you may see it now (null for REFETCH)."
    )
    occurred_at: datetime = strawberry.field(
        description="When the change was committed (REFETCH: when sent)."
    )


@strawberry.enum(description="What happened to an item of the catalogue.")
class EquipmentEventType(Enum):
    CREATED = strawberry.enum_value("equipment.created", description="It was added to the catalogue.")
    CHANGED = strawberry.enum_value(
        "equipment.changed", description="Its details, stock, buffers or status changed."
    )
    UNIT_CREATED = strawberry.enum_value("unit.created", description="A unit of it was added.")
    UNIT_CHANGED = strawberry.enum_value(
        "unit.changed", description="A unit of it changed (its status, say)."
    )
    UNIT_DELETED = strawberry.enum_value("unit.deleted", description="A unit of it was removed.")
    REFETCH = strawberry.enum_value("refetch", description=REFETCH_DESCRIPTION)


@strawberry.type(description="A change to an item of the catalogue, or a call to read again.")
class EquipmentEvent:
    type: EquipmentEventType = strawberry.field(description="What happened.")
    equipment: Equipment | None = strawberry.field(
        description="The equipment as you may see it now (null for REFETCH)."
    )
    occurred_at: datetime = strawberry.field(
        description="When the change was committed (REFETCH: when sent)."
    )


@strawberry.enum(description="What happened to a design.")
class DesignEventType(Enum):
    CHANGED = strawberry.enum_value("design.changed", description="Its name, description or status changed.")
    ARCHIVED = strawberry.enum_value("design.archived", description="It was archived.")
    VERSION_CREATED = strawberry.enum_value("design.version_created", description="A new version was saved.")
    SHARED = strawberry.enum_value("design.shared", description="A share link was made.")
    SHARE_REVOKED = strawberry.enum_value("design.share_revoked", description="A share link was revoked.")
    REFETCH = strawberry.enum_value("refetch", description=REFETCH_DESCRIPTION)


@strawberry.type(description="A change to a design, or a call to read again.")
class DesignEvent:
    type: DesignEventType = strawberry.field(description="What happened.")
    design: Design | None = strawberry.field(
        description="The design as you may see it now (null for REFETCH)."
    )
    occurred_at: datetime = strawberry.field(
        description="When the change was committed (REFETCH: when sent)."
    )
