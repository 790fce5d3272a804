from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any, cast

import strawberry

from db.tables import EquipmentUnit as UnitRow
from db.tables import Reservation as ReservationRow
from db.tables import ReservationLine as LineRow
from db.tables import ReservationStatus as StatusValue
from resolvers.context import Context
from resolvers.errors import Shortage as ShortageValue
from resolvers.list_caps import MAX_HOLDERS_LISTED
from schema.context import Info
from schema.node import Node, to_global_id
from schema.projection import batched, distinct, group, pick, row_source
from schema.types.design import DesignVersion
from schema.types.equipment import Equipment, EquipmentUnit
from schema.types.user import User

# "Not prefetched" for fields where None is a real answer (no customer).
NOT_FETCHED = object()


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


@strawberry.type(description="A booking of equipment for the half-open window [startsAt, endsAt).")
class Reservation(Node):
    number: int = strawberry.field(description="Per-tenant reservation number: 1, 2, 3, …")
    title: str = strawberry.field(description="Event or job title.")
    status: ReservationStatus = strawberry.field(description="Lifecycle state.")
    starts_at: datetime = strawberry.field(description="Start of the window (inclusive).")
    ends_at: datetime = strawberry.field(description="End of the window (exclusive).")
    notes: str = strawberry.field(description="Free-form notes.")
    version: int = strawberry.field(
        description="Increases with every change; pass it as `expectedVersion` to change only what you saw."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    row: strawberry.Private[ReservationRow]
    prefetched_lines: strawberry.Private[list[ReservationLine] | None] = None
    prefetched_customer: strawberry.Private[object] = NOT_FETCHED

    @classmethod
    def from_row(cls, row: ReservationRow) -> Reservation:
        return cls(
            id=to_global_id("Reservation", row.id),
            row=row,
            number=row.number,
            title=row.title,
            status=ReservationStatus(row.status),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            notes=row.notes,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The items booked, in the order given.")
    def lines(self, info: Info) -> list[ReservationLine]:
        # Prefetched for a whole list at once (see ``prefetch``): no per-row await.
        if self.prefetched_lines is not None:
            return self.prefetched_lines
        return cast(list[ReservationLine], self._load_lines(info))

    async def _load_lines(self, info: Info) -> list[ReservationLine]:
        rows = await info.context.loaders.lines_by_reservation.load(self.row.id)
        return [ReservationLine.from_row(row) for row in rows]

    @strawberry.field(description="Who the reservation is for; null for internal bookings.")
    def customer(self, info: Info) -> User | None:
        if self.prefetched_customer is not NOT_FETCHED:
            return cast(User | None, self.prefetched_customer)
        return cast(User | None, _user(info, self.row.customer_id))

    @strawberry.field(description="Who made the reservation.")
    async def created_by(self, info: Info) -> User | None:
        return await _user(info, self.row.created_by_id)

    @strawberry.field(
        description="The design version it was reserved from (`reserveDesign`); null if none or not yours to see."
    )
    async def design_version(self, info: Info) -> DesignVersion | None:
        if self.row.design_version_id is None:
            return None
        row = await info.context.loaders.version_by_id.load(self.row.design_version_id)
        return DesignVersion.from_row(row) if row is not None else None


async def _user(info: Info, user_id: uuid.UUID | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user_by_id.load(user_id)
    return User.from_row(row) if row is not None else None


@strawberry.type(description="A quantity of one equipment, or one specific unit, on a reservation.")
class ReservationLine:
    quantity: int = strawberry.field(description="How many (1 when a unit is named).")
    row: strawberry.Private[LineRow]
    prefetched_equipment: strawberry.Private[Equipment | None] = None

    @classmethod
    def from_row(cls, row: LineRow) -> ReservationLine:
        return cls(quantity=row.quantity, row=row)

    @strawberry.field(description="What is booked.")
    def equipment(self, info: Info) -> Equipment:
        if self.prefetched_equipment is not None:
            return self.prefetched_equipment
        return cast(Equipment, self._load_equipment(info))

    async def _load_equipment(self, info: Info) -> Equipment:
        row = await info.context.loaders.equipment_by_id.load(self.row.equipment_id)
        assert row is not None
        return Equipment.from_row(row)

    @strawberry.field(description="The specific unit booked, if one was named.")
    async def unit(self, info: Info) -> EquipmentUnit | None:
        if self.row.unit_id is None:
            return None
        row = await info.context.loaders.unit_by_id.load(self.row.unit_id)
        return EquipmentUnit.from_row(row) if row is not None else None


row_source(
    Reservation,
    ReservationRow,
    id=(("id",), lambda row: to_global_id("Reservation", row.id)),
    status=(("status",), lambda row: ReservationStatus(row.status)),
)
row_source(ReservationLine, LineRow)


@batched(Reservation, "lines", key=lambda parent: parent.row.id, key_column="id")
async def _lines_of_list(
    context: Context, keys: list[uuid.UUID], arguments: dict[str, Any], columns: frozenset[str]
) -> list[list[Any]]:
    wanted = distinct(keys)
    rows = await context.loaders.lines_of_reservations(wanted, columns)
    groups = dict(zip(wanted, group(rows, wanted, "reservation_id"), strict=True))
    return [groups[key] for key in keys]


@batched(Reservation, "customer", key=lambda parent: parent.row.customer_id, key_column="customer_id")
async def _customers_of_list(
    context: Context, keys: list[uuid.UUID | None], arguments: dict[str, Any], columns: frozenset[str]
) -> list[Any]:
    return pick(await context.loaders.users_by_id(distinct(keys), columns), keys)


@batched(Reservation, "created_by", key=lambda parent: parent.row.created_by_id, key_column="created_by_id")
async def _creators_of_list(
    context: Context, keys: list[uuid.UUID | None], arguments: dict[str, Any], columns: frozenset[str]
) -> list[Any]:
    return pick(await context.loaders.users_by_id(distinct(keys), columns), keys)


@batched(ReservationLine, "equipment", key=lambda parent: parent.row.equipment_id, key_column="equipment_id")
async def _equipment_of_lines(
    context: Context, keys: list[uuid.UUID], arguments: dict[str, Any], columns: frozenset[str]
) -> list[Any]:
    return pick(await context.loaders.equipment_rows(distinct(keys), columns), keys)


@batched(ReservationLine, "unit", key=lambda parent: parent.row.unit_id, key_column="unit_id")
async def _units_of_lines(
    context: Context, keys: list[uuid.UUID | None], arguments: dict[str, Any], columns: frozenset[str]
) -> list[Any]:
    return pick(await context.loaders.rows_by_id(UnitRow, distinct(keys), columns), keys)


@strawberry.type(description="Why a booking does not fit: what is missing, and what holds it.")
class Shortage:
    requested: int = strawberry.field(description="How many the change needs at its busiest instant.")
    available: int = strawberry.field(description="How many are free at that instant.")
    value: strawberry.Private[ShortageValue]

    @classmethod
    def from_value(cls, value: ShortageValue) -> Shortage:
        return cls(requested=value.requested, available=value.available, value=value)

    @strawberry.field(description="How many are missing: `requested - available`.")
    def missing(self) -> int:
        return max(0, self.requested - self.available)

    @strawberry.field(description="The equipment that is short.")
    async def equipment(self, info: Info) -> Equipment:
        row = await info.context.loaders.equipment_by_id.load(self.value.equipment_id)
        assert row is not None
        return Equipment.from_row(row)

    @strawberry.field(description="The unit that is taken or out of service, when a unit was named.")
    async def unit(self, info: Info) -> EquipmentUnit | None:
        if self.value.unit_id is None:
            return None
        row = await info.context.loaders.unit_by_id.load(self.value.unit_id)
        return EquipmentUnit.from_row(row) if row is not None else None

    @strawberry.field(
        description=f"The reservations in the way, at most {MAX_HOLDERS_LISTED} (empty for customers)."
    )
    async def reservations(self, info: Info) -> list[Reservation]:
        holders = self.value.reservation_ids[:MAX_HOLDERS_LISTED]
        rows = await info.context.loaders.reservation_by_id.load_many(holders)
        return [Reservation.from_row(row) for row in rows if row is not None]


def _selected(info: Info) -> set[str]:
    """Names of the fields selected directly under the current field (fragments included)."""
    names: set[str] = set()
    pending = list(info.selected_fields[0].selections) if info.selected_fields else []
    while pending:
        selection = pending.pop()
        name = getattr(selection, "name", None)
        if name is not None:
            names.add(name)
        pending.extend(
            item for item in getattr(selection, "selections", []) if getattr(selection, "name", None) is None
        )
    return names


async def prefetch(info: Info, rows: Sequence[ReservationRow]) -> list[Reservation]:
    """Reservations with the children the query selects already attached.

    One batched load per child kind for the whole list, instead of an awaited
    resolver per row: on large nested lists the per-row async machinery, not
    SQL, is what costs.
    """
    reservations = [Reservation.from_row(row) for row in rows]
    if not reservations:
        return reservations
    selected = _selected(info)
    loaders = info.context.loaders
    if "lines" in selected:
        line_groups = await loaders.lines_by_reservation.load_many([row.id for row in rows])
        equipment_ids = list(dict.fromkeys(line.equipment_id for group in line_groups for line in group))
        equipment = {
            row.id: Equipment.from_row(row)
            for row in await loaders.equipment_by_id.load_many(equipment_ids)
            if row is not None
        }
        for reservation, group in zip(reservations, line_groups, strict=True):
            reservation.prefetched_lines = [
                ReservationLine(
                    quantity=line.quantity, row=line, prefetched_equipment=equipment.get(line.equipment_id)
                )
                for line in group
            ]
    if "customer" in selected:
        customer_ids = list(dict.fromkeys(row.customer_id for row in rows if row.customer_id is not None))
        users = {
            user.id: User.from_row(user)
            for user in await loaders.user_by_id.load_many(customer_ids)
            if user is not None
        }
        for reservation in reservations:
            customer_id = reservation.row.customer_id
            reservation.prefetched_customer = users.get(customer_id) if customer_id is not None else None
    return reservations
