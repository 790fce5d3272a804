"""Inputs, filters and results for reservations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from db.tables import ReservationStatus as StatusValue
from resolvers.booking import LineRequest
from resolvers.reservation_queries import ReservationFilter as ReservationFilterValue
from resolvers.reservation_queries import ReservationSort
from resolvers.reservations import ReservationChanges, ReservationDraft
from schema.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from schema.limits.lists import MaxItems
from schema.node import pk_of
from schema.types.common import SortDirection
from schema.types.reservation import Reservation, ReservationStatus

# The schema's cap on lines (and on a design version's items, which become lines);
# `RIGBOOK_MAX_RESERVATION_LINES` (100 by default) may allow fewer.
MAX_LINES = 1000


@strawberry.input(description="One item to book.")
class ReservationLineInput:
    equipment_id: strawberry.ID = strawberry.field(description="The equipment to book.")
    quantity: int = strawberry.field(default=1, description="How many (1 when `unitId` is given).")
    unit_id: strawberry.ID | None = strawberry.field(
        default=None, description="A specific unit of serialized equipment."
    )


def to_line_requests(lines: list[ReservationLineInput]) -> list[LineRequest]:
    return [
        LineRequest(
            field=f"lines.{index}",
            equipment_id=pk_of(line.equipment_id, "Equipment"),
            quantity=line.quantity,
            unit_id=pk_of(line.unit_id, "EquipmentUnit") if line.unit_id is not None else None,
            unit_given=line.unit_id is not None,
        )
        for index, line in enumerate(lines)
    ]


@strawberry.input(
    description="A new reservation. Staff create CONFIRMED ones; customers create REQUESTED ones for themselves."
)
class CreateReservationInput:
    title: str = strawberry.field(description="Event or job title.")
    starts_at: datetime = strawberry.field(description="Start (inclusive), ISO 8601 with an offset.")
    ends_at: datetime = strawberry.field(description="End (exclusive), ISO 8601 with an offset.")
    lines: list[ReservationLineInput] = strawberry.field(
        description=f"What to book. At most {MAX_LINES}, and no more than the server allows (100 by default).",
        directives=[MaxItems(count=MAX_LINES)],
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who it is for (staff only; customers always book for themselves)."
    )
    notes: str = strawberry.field(default="", description="Free-form notes.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Any unique string; retrying with the same key returns the first result."
    )

    def to_draft(self) -> ReservationDraft:
        return ReservationDraft(
            title=self.title,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            lines=to_line_requests(self.lines),
            customer_id=pk_of(self.customer_id, "User") if self.customer_id is not None else None,
            customer_given=self.customer_id is not None,
            notes=self.notes,
            idempotency_key=self.idempotency_key,
        )


@strawberry.input(description="Changes to a REQUESTED or CONFIRMED reservation; stock is re-checked.")
class UpdateReservationInput:
    id: strawberry.ID = strawberry.field(description="The reservation to change.")
    title: str | None = strawberry.field(default=None, description="New title.")
    starts_at: datetime | None = strawberry.field(default=None, description="New start.")
    ends_at: datetime | None = strawberry.field(default=None, description="New end.")
    lines: list[ReservationLineInput] | None = strawberry.field(
        default=None,
        description=f"New lines (replace the old ones). At most {MAX_LINES}, "
        "and no more than the server allows (100 by default).",
        directives=[MaxItems(count=MAX_LINES)],
    )
    notes: str | None = strawberry.field(default=None, description="New notes.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with a ConflictError unless the reservation is still at this version."
    )

    def to_changes(self) -> ReservationChanges:
        return ReservationChanges(
            title=self.title,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            notes=self.notes,
            lines=to_line_requests(self.lines) if self.lines is not None else None,
            expected_version=self.expected_version,
        )


@strawberry.input(description="A lifecycle step for one reservation.")
class ReservationTransitionInput:
    id: strawberry.ID = strawberry.field(description="The reservation.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with a ConflictError unless the reservation is still at this version."
    )


@strawberry.enum(description="What to sort reservations by.")
class ReservationOrderField(Enum):
    STARTS_AT = strawberry.enum_value(ReservationSort.STARTS_AT, description="Start of the window.")
    NUMBER = strawberry.enum_value(ReservationSort.NUMBER, description="Reservation number.")
    CREATED_AT = strawberry.enum_value(ReservationSort.CREATED_AT, description="Creation time.")


@strawberry.input(description="Order of a reservation list.")
class ReservationOrder:
    field: ReservationOrderField = strawberry.field(
        default=ReservationOrderField.STARTS_AT, description="What to sort by."
    )
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Which way.")


@strawberry.input(description="Narrow a reservation list; all given conditions must hold.")
class ReservationFilter:
    status: list[ReservationStatus] | None = strawberry.field(
        default=None,
        description=f"Any of these statuses. At most {len(ReservationStatus)}.",
        directives=[MaxItems(count=len(ReservationStatus))],
    )
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Windows ending after this instant."
    )
    to: datetime | None = strawberry.field(default=None, description="Windows starting before this instant.")
    customer_id: strawberry.ID | None = strawberry.field(default=None, description="Only this customer's.")
    equipment_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only those booking this equipment."
    )
    is_overdue: bool | None = strawberry.field(
        default=None,
        description="true: only those handed out and not back although their window has ended "
        "(`isOverdue`); false: only the others.",
    )

    def to_value(self) -> ReservationFilterValue:
        return ReservationFilterValue(
            statuses=[StatusValue[status.name] for status in self.status] if self.status else None,
            ends_after=self.from_,
            starts_before=self.to,
            customer_id=pk_of(self.customer_id, "User") if self.customer_id is not None else None,
            customer_given=self.customer_id is not None,
            equipment_id=pk_of(self.equipment_id, "Equipment") if self.equipment_id is not None else None,
            equipment_given=self.equipment_id is not None,
            overdue=self.is_overdue,
        )


@strawberry.type(description="The reservation was created (or, for a repeated idempotency key, found).")
class CreateReservationSuccess:
    reservation: Reservation = strawberry.field(description="The reservation.")


@strawberry.type(description="The reservation as it is now.")
class ReservationSuccess:
    reservation: Reservation = strawberry.field(description="The reservation after the change.")


CreateReservationResult = Annotated[
    CreateReservationSuccess | ConflictError | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("CreateReservationResult", description="The outcome of `createReservation`."),
]
ReservationResult = Annotated[
    ReservationSuccess | ConflictError | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("ReservationResult", description="The outcome of a reservation change."),
]
