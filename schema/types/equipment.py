from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db.tables import Equipment as EquipmentRow
from db.tables import EquipmentStatus as EquipmentStatusValue
from db.tables import EquipmentUnit as UnitRow
from db.tables import Tracking as TrackingValue
from db.tables import UnitStatus as UnitStatusValue
from resolvers.availability import Usage
from resolvers.context import Context
from resolvers.list_caps import MAX_EQUIPMENT_RESERVATIONS, MAX_HOLDERS_LISTED
from resolvers.loaders import AvailabilityKey, group_by_equipment
from resolvers.pagination import BadPageRequest
from resolvers.reservation_queries import require_aware, window_or_error
from schema.context import Info
from schema.node import Node, to_global_id
from schema.projection import batched, distinct, group, pick, row_source

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


@strawberry.type(description="A rentable item: an LED wall, a camera, a tent, a space.")
class Equipment(Node):
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

    @classmethod
    def from_row(cls, row: EquipmentRow) -> Equipment:
        return cls(
            id=to_global_id("Equipment", row.id),
            row=row,
            name=row.name,
            code=row.code,
            category=row.category,
            description=row.description,
            tags=list(row.tags),
            tracking=Tracking(row.tracking),
            quantity=row.quantity,
            buffer_before=row.buffer_before,
            buffer_after=row.buffer_after,
            status=EquipmentStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The serialized units, by serial number (empty for BULK).")
    async def units(self, info: Info) -> list[EquipmentUnit]:
        rows = await info.context.loaders.units_by_equipment.load(self.row.id)
        return [EquipmentUnit.from_row(row) for row in rows]

    @strawberry.field(
        description="Reservations with this equipment (any status), by start; customers see only their own."
    )
    async def reservations(
        self,
        info: Info,
        from_: OptionalFrom = None,
        to: OptionalTo = None,
        first: ReservationsFirst = MAX_EQUIPMENT_RESERVATIONS,
    ) -> list[ReservationRef]:
        from schema.types.reservation import prefetch

        _reservations_arguments({"from": from_, "to": to, "first": first})
        rows = await info.context.loaders.reservations_by_equipment.load((self.row.id, from_, to))
        return await prefetch(info, rows[:first])

    @strawberry.field(description="How much of it is free over a window.")
    async def availability(self, info: Info, from_: FromArg, to: ToArg) -> EquipmentAvailability:
        starts, ends = window_or_error(from_, to)
        found = await info.context.loaders.availability.load(AvailabilityKey(self.row, starts, ends))
        return EquipmentAvailability.from_usage(found)


def _reservations_arguments(arguments: dict[str, Any]) -> None:
    require_aware("from", arguments.get("from"))
    require_aware("to", arguments.get("to"))
    first = arguments.get("first", MAX_EQUIPMENT_RESERVATIONS)
    if not 0 <= first <= MAX_EQUIPMENT_RESERVATIONS:
        raise BadPageRequest(f"`first` must be between 0 and {MAX_EQUIPMENT_RESERVATIONS}.")


row_source(
    Equipment,
    EquipmentRow,
    id=(("id",), lambda row: to_global_id("Equipment", row.id)),
    tracking=(("tracking",), lambda row: Tracking(row.tracking)),
    status=(("status",), lambda row: EquipmentStatus(row.status)),
)


@batched(
    Equipment,
    "reservations",
    key=lambda parent: parent.row.id,
    key_column="id",
    validate=_reservations_arguments,
)
async def _reservations_of_list(
    context: Context, keys: list[uuid.UUID], arguments: dict[str, Any], columns: frozenset[str]
) -> list[list[Any]]:
    wanted = distinct(keys)
    rows = await context.loaders.reservations_of_equipment(
        wanted, arguments.get("from"), arguments.get("to"), columns
    )
    first = arguments.get("first", MAX_EQUIPMENT_RESERVATIONS)
    groups = dict(zip(wanted, group_by_equipment(rows, wanted), strict=True))
    return [groups[key][:first] for key in keys]


@batched(Equipment, "units", key=lambda parent: parent.row.id, key_column="id")
async def _units_of_list(
    context: Context, keys: list[uuid.UUID], arguments: dict[str, Any], columns: frozenset[str]
) -> list[list[Any]]:
    wanted = distinct(keys)
    rows = await context.loaders.units_of_equipment(wanted, columns)
    groups = dict(zip(wanted, group(rows, wanted, "equipment_id"), strict=True))
    return [groups[key] for key in keys]


@strawberry.type(description="One serialized unit of an equipment.")
class EquipmentUnit(Node):
    serial_number: str = strawberry.field(description="Serial number, unique within its equipment.")
    status: UnitStatus = strawberry.field(description="Only AVAILABLE units can be booked.")
    notes: str = strawberry.field(description="Free-form notes, e.g. the last repair.")
    created_at: datetime = strawberry.field(description="When the unit was added.")
    updated_at: datetime = strawberry.field(description="When the unit was last changed.")
    equipment_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: UnitRow) -> EquipmentUnit:
        return cls(
            id=to_global_id("EquipmentUnit", row.id),
            equipment_pk=row.equipment_id,
            serial_number=row.serial_number,
            status=UnitStatus(row.status),
            notes=row.notes,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The equipment this unit belongs to.")
    async def equipment(self, info: Info) -> Equipment:
        row = await info.context.loaders.equipment_by_id.load(self.equipment_pk)
        assert row is not None
        return Equipment.from_row(row)


row_source(
    EquipmentUnit,
    UnitRow,
    id=(("id",), lambda row: to_global_id("EquipmentUnit", row.id)),
    status=(("status",), lambda row: UnitStatus(row.status)),
)


@batched(EquipmentUnit, "equipment", key=lambda parent: parent.equipment_pk, key_column="equipment_id")
async def _equipment_of_units(
    context: Context, keys: list[uuid.UUID], arguments: dict[str, Any], columns: frozenset[str]
) -> list[Any]:
    return pick(await context.loaders.equipment_rows(distinct(keys), columns), keys)


@strawberry.type(description="Stock of one equipment over a window; holds are widened by its buffers.")
class EquipmentAvailability:
    total: int = strawberry.field(description="Bookable stock (0 when retired).")
    held: int = strawberry.field(
        description="Peak quantity held at any one instant of the window by CONFIRMED and CHECKED_OUT reservations."
    )
    available: int = strawberry.field(description="`total - held`, never below 0.")
    usage: strawberry.Private[Usage]

    @classmethod
    def from_usage(cls, found: Usage) -> EquipmentAvailability:
        return cls(total=found.total, held=found.held, available=found.available, usage=found)

    @strawberry.field(description="The equipment.")
    def equipment(self) -> Equipment:
        return Equipment.from_row(self.usage.equipment)

    @strawberry.field(
        description=f"The reservations holding it in the window, at most {MAX_HOLDERS_LISTED} "
        "(staff only; null for customers)."
    )
    async def reservations(self, info: Info) -> list[ReservationRef] | None:
        from db.tables import Role
        from schema.types.reservation import Reservation

        principal = info.context.principal
        if principal is None or not principal.has_role_at_least(Role.STAFF):
            return None
        holders = self.usage.reservation_ids[:MAX_HOLDERS_LISTED]
        rows = await info.context.loaders.reservation_by_id.load_many(holders)
        return [Reservation.from_row(row) for row in rows if row is not None]
