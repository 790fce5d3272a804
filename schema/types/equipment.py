"""Equipment, its units, and its availability over a window, as GraphQL types."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from db.tables import Equipment as EquipmentRow
from db.tables import EquipmentStatus as EquipmentStatusValue
from db.tables import EquipmentUnit as UnitRow
from db.tables import Tracking as TrackingValue
from db.tables import UnitStatus as UnitStatusValue
from resolvers.availability import Usage
from resolvers.list_caps import MAX_EQUIPMENT_RESERVATIONS, MAX_HOLDERS_LISTED
from resolvers.loaders import AvailabilityKey
from resolvers.pagination import BadPageRequest
from resolvers.reservation_queries import require_aware, window_or_error
from resolvers.visibility import visibility_of
from schema.context import Info
from schema.fetches import (
    ATTACHMENTS_OF_EQUIPMENT,
    ATTACHMENTS_OF_UNITS,
    EQUIPMENT,
    UNITS_OF_EQUIPMENT,
    reservations_of_equipment,
)
from schema.node import Node
from schema.relations import from_parent, relation
from schema.rows import FromRow, row_type
from schema.types.attachment import Attachment

if TYPE_CHECKING:
    from schema.types.reservation import Reservation

ReservationRef = Annotated["Reservation", strawberry.lazy("schema.types.reservation")]


@strawberry.enum(description="How stock of an equipment is counted.")
class Tracking(Enum):
    BULK = strawberry.enum_value(
        TrackingValue.BULK.value, description="Interchangeable items counted by quantity."
    )
    SERIALIZED = strawberry.enum_value(
        TrackingValue.SERIALIZED.value, description="Individual units, each with a serial number."
    )


@strawberry.enum(description="Whether an equipment can still be booked.")
class EquipmentStatus(Enum):
    ACTIVE = strawberry.enum_value(
        EquipmentStatusValue.ACTIVE.value, description="In the catalogue and bookable."
    )
    RETIRED = strawberry.enum_value(EquipmentStatusValue.RETIRED.value, description="No longer bookable.")


@strawberry.enum(description="Condition of a serialized unit.")
class UnitStatus(Enum):
    AVAILABLE = strawberry.enum_value(UnitStatusValue.AVAILABLE.value, description="Can be booked.")
    MAINTENANCE = strawberry.enum_value(
        UnitStatusValue.MAINTENANCE.value, description="Being repaired; not bookable."
    )
    RETIRED = strawberry.enum_value(UnitStatusValue.RETIRED.value, description="Gone for good; not bookable.")


FromArg = Annotated[
    datetime, strawberry.argument(name="from", description="Start of the window (inclusive, with offset).")
]
ToArg = Annotated[datetime, strawberry.argument(description="End of the window (exclusive, with offset).")]
OptionalFrom = Annotated[
    datetime | None,
    strawberry.argument(name="from", description="Only reservations ending after this instant."),
]
OptionalTo = Annotated[
    datetime | None, strawberry.argument(description="Only reservations starting before this instant.")
]
ReservationsFirst = Annotated[
    int,
    strawberry.argument(
        description=f"At most this many, the earliest (0–{MAX_EQUIPMENT_RESERVATIONS}); for more, page "
        "through `reservations(filter: {equipmentId})`."
    ),
]


def _reservations_arguments(arguments: Mapping[str, Any]) -> None:
    require_aware("from", arguments["from_"])
    require_aware("to", arguments["to"])
    if not 0 <= arguments["first"] <= MAX_EQUIPMENT_RESERVATIONS:
        raise BadPageRequest(f"`first` must be between 0 and {MAX_EQUIPMENT_RESERVATIONS}.")


@row_type(EquipmentRow, tracking=Tracking, status=EquipmentStatus)
@strawberry.type(description="A rentable item: an LED wall, a camera, a tent, a space.")
class Equipment(FromRow[EquipmentRow], Node):
    name: str = strawberry.field(description="Display name.")
    code: str = strawberry.field(description="Code or SKU, unique within the tenant.")
    category: str = strawberry.field(description="Free-form category, e.g. `LED walls`.")
    description: str = strawberry.field(description="Longer description.")
    tags: list[str] = strawberry.field(description="Lower-case tags for filtering.")
    tracking: Tracking = strawberry.field(
        description="Counted by quantity (BULK) or by unit (SERIALIZED); fixed."
    )
    quantity: int = strawberry.field(
        description="Bookable stock: the quantity, or the number of AVAILABLE units."
    )
    buffer_before: int = strawberry.field(
        description="Minutes of preparation before each booking that also block stock."
    )
    buffer_after: int = strawberry.field(
        description="Minutes of return handling after each booking that also block stock."
    )
    status: EquipmentStatus = strawberry.field(description="ACTIVE or RETIRED.")
    created_at: datetime = strawberry.field(description="When it was added.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    row: strawberry.Private[EquipmentRow]

    @strawberry.field(description="The serialized units, by serial number (empty for BULK).")
    @relation(key="id", fetch=UNITS_OF_EQUIPMENT)
    async def units(self, info: Info) -> list[EquipmentUnit]: ...

    @strawberry.field(description="Photos and documents of this equipment, by position.")
    @relation(key="id", fetch=ATTACHMENTS_OF_EQUIPMENT)
    async def attachments(self, info: Info) -> list[Attachment]: ...

    @strawberry.field(
        description="Reservations with this equipment (any status), by start; customers see only their own."
    )
    @relation(key="id", fetch=reservations_of_equipment, validate=_reservations_arguments)
    async def reservations(
        self,
        info: Info,
        from_: OptionalFrom = None,
        to: OptionalTo = None,
        first: ReservationsFirst = MAX_EQUIPMENT_RESERVATIONS,
    ) -> list[ReservationRef]: ...

    @strawberry.field(description="How much of it is free over a window.")
    async def availability(self, info: Info, from_: FromArg, to: ToArg) -> EquipmentAvailability:
        starts, ends = window_or_error(from_, to)
        found = await info.context.loaders.availability.load(AvailabilityKey(self.row, starts, ends))
        return EquipmentAvailability.from_usage(found)


@row_type(UnitRow, status=UnitStatus)
@strawberry.type(description="One serialized unit of an equipment.")
class EquipmentUnit(FromRow[UnitRow], Node):
    serial_number: str = strawberry.field(description="Serial number, unique within its equipment.")
    status: UnitStatus = strawberry.field(description="Only AVAILABLE units can be booked.")
    notes: str = strawberry.field(description="Free-form notes, e.g. the last repair.")
    created_at: datetime = strawberry.field(description="When the unit was added.")
    updated_at: datetime = strawberry.field(description="When the unit was last changed.")
    row: strawberry.Private[UnitRow]

    @strawberry.field(description="The equipment this unit belongs to.")
    @relation(key="equipment_id", fetch=EQUIPMENT)
    async def equipment(self, info: Info) -> Equipment: ...

    @strawberry.field(description="Photos and documents of this unit (damage, repairs), by position.")
    @relation(key="id", fetch=ATTACHMENTS_OF_UNITS)
    async def attachments(self, info: Info) -> list[Attachment]: ...


# The fields of EquipmentAvailability that read nothing of the equipment's row but its stock
# (``resolvers/availability.py``'s ``STOCK_COLUMNS``). A field missing here reads whole rows.
FROM_STOCK = frozenset({"__typename", "total", "held", "available", "reservations"})


@dataclass(frozen=True)
class AvailabilityReads:
    """What a selection of EquipmentAvailability needs read, beyond the counts."""

    whole_rows: bool
    """Anything but ``FROM_STOCK``: the equipment's whole rows."""
    holders: bool
    """``reservations``: which reservation each hold belongs to."""


def availability_reads(info: Info) -> AvailabilityReads:
    """What the selection below this field (a list of EquipmentAvailability) needs read.

    Fragments count by the fields inside them, whatever their directives say: a
    field that might be skipped is read for.
    """
    names: set[str] = set()
    for field in info.selected_fields:
        _collect_names(field.selections, names)
    return AvailabilityReads(whole_rows=not names <= FROM_STOCK, holders="reservations" in names)


def _collect_names(selections: Iterable[Selection], names: set[str]) -> None:
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:
            _collect_names(selection.selections, names)


@strawberry.type(description="Stock of one equipment over a window; holds are widened by its buffers.")
class EquipmentAvailability:
    total: int = strawberry.field(description="Bookable stock (0 when retired).")
    held: int = strawberry.field(
        description="Peak quantity held at any one instant of the window by CONFIRMED and CHECKED_OUT reservations."
    )
    available: int = strawberry.field(description="`total - held`, never below 0.")
    row: strawberry.Private[Usage]

    @classmethod
    def from_usage(cls, found: Usage) -> EquipmentAvailability:
        return cls(total=found.total, held=found.held, available=found.available, row=found)

    @strawberry.field(description="The equipment.")
    @from_parent
    def equipment(self) -> Equipment:
        return Equipment.from_row(self.row.equipment)

    @strawberry.field(
        description=f"The reservations holding it in the window, at most {MAX_HOLDERS_LISTED} "
        "(staff only; null for customers)."
    )
    async def reservations(self, info: Info) -> list[ReservationRef] | None:
        from schema.types.reservation import Reservation

        if not visibility_of(info.context.principal).sees_holders:
            return None
        holders = self.row.reservation_ids[:MAX_HOLDERS_LISTED]
        rows = await info.context.loaders.reservation_by_id.load_many(holders)
        return [Reservation.from_row(row) for row in rows if row is not None]
