"""Booking under locks: the one path every change that takes or changes stock goes through.

PostgreSQL: the equipment rows are locked ``FOR UPDATE`` in id order (so two
transactions never wait on each other in a cycle), then holds are re-read and
checked, then the caller writes — all in one transaction. SQLite: the write
transaction began with ``BEGIN IMMEDIATE``, which already serialises writers.

Two checks read the same ``Stock`` (``resolvers/availability.py``): a booking
(``find_shortages``: do these lines fit beside every other hold?) and a change
to the stock itself (``ensure_bookings_fit``: do the holds still fit in what
would remain?).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db import writes
from db.clock import utcnow
from db.scoped import scoped, scoped_records
from db.tables import Equipment, EquipmentStatus, EquipmentUnit, Tracking, UnitStatus
from resolvers.availability import (
    STOCK_COLUMNS,
    Hold,
    Interval,
    Stock,
    load_holds,
    overlaps,
    reservation_ids,
)
from resolvers.errors import InvalidInput, NotFound, Shortage, Unavailable
from resolvers.instants import LATEST_YEAR

# No booking can end later than this (see resolvers/instants.py).
END_OF_TIME = datetime(LATEST_YEAR + 1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LineRequest:
    """A requested line; ids are ``None`` when the client sent a malformed id."""

    field: str
    equipment_id: uuid.UUID | None
    quantity: int
    unit_id: uuid.UUID | None = None
    unit_given: bool = False


@dataclass
class LockedLines:
    equipment: dict[uuid.UUID, Equipment]
    units: dict[uuid.UUID, EquipmentUnit]


# What a booking reads of each equipment: its stock, and whether it takes units.
BOOKING_COLUMNS = (*STOCK_COLUMNS, "tracking")

E = TypeVar("E", bound=Select[Any])


def _locking(statement: E, ids: set[uuid.UUID]) -> E:
    """``statement`` narrowed to ``ids``, locking them in id order (so lockers never wait in a cycle)."""
    return statement.where(col(Equipment.id).in_(sorted(ids))).order_by(col(Equipment.id)).with_for_update()


async def lock_equipment(
    session: AsyncSession, tenant_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Equipment]:
    """Lock the tenant's equipment rows among ``ids``, as objects to change."""
    if not ids:
        return {}
    statement = _locking(scoped(Equipment, tenant_id), ids)
    return {row.id: row for row in (await session.scalars(statement)).all()}


async def lock_stock(
    session: AsyncSession, tenant_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """Lock the tenant's equipment rows among ``ids``, read as rows of their ``BOOKING_COLUMNS``.

    A booking only reads the equipment: plain rows of the transaction's own
    statements (``db/writes.py``) skip the ORM's identity map and instance state.
    """
    if not ids:
        return {}
    statement = _locking(scoped_records(Equipment, tenant_id, BOOKING_COLUMNS), ids)
    return {row.id: row for row in await writes.rows(session, statement)}


async def lock_lines(
    session: AsyncSession, tenant_id: uuid.UUID, lines: Sequence[LineRequest]
) -> LockedLines:
    """Lock and load what ``lines`` name; anything not in the tenant is NOT_FOUND."""
    for line in lines:
        if line.equipment_id is None:
            raise NotFound("equipment", field=f"{line.field}.equipmentId")
        if line.unit_given and line.unit_id is None:
            raise NotFound("unit", field=f"{line.field}.unitId")
    equipment = await lock_stock(
        session, tenant_id, {line.equipment_id for line in lines if line.equipment_id}
    )
    unit_ids = {line.unit_id for line in lines if line.unit_id is not None}
    units: dict[uuid.UUID, EquipmentUnit] = {}
    if unit_ids:
        statement = scoped(EquipmentUnit, tenant_id).where(col(EquipmentUnit.id).in_(unit_ids))
        units = {row.id: row for row in (await session.scalars(statement)).all()}
    problems: dict[str, str] = {}
    for line in lines:
        item = equipment.get(line.equipment_id) if line.equipment_id is not None else None
        if item is None:
            raise NotFound("equipment", field=f"{line.field}.equipmentId")
        if item.status == EquipmentStatus.RETIRED:
            problems.setdefault(f"{line.field}.equipmentId", "Is retired and cannot be booked.")
        if line.unit_id is not None:
            unit = units.get(line.unit_id)
            if unit is None:
                raise NotFound("unit", field=f"{line.field}.unitId")
            if unit.equipment_id != item.id:
                problems.setdefault(f"{line.field}.unitId", "Is not a unit of this equipment.")
            elif item.tracking != Tracking.SERIALIZED:
                problems.setdefault(f"{line.field}.unitId", "Only serialized equipment has units.")
    if problems:
        raise InvalidInput(problems)
    return LockedLines(equipment=equipment, units=units)


async def find_shortages(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    locked: LockedLines,
    lines: Sequence[LineRequest],
    window: Interval,
    *,
    exclude_reservation: uuid.UUID | None = None,
    reveal_reservations: bool = True,
) -> list[Shortage]:
    """What ``lines`` over ``window`` would overbook, given everything else that holds stock."""
    holds = await load_holds(
        session, tenant_id, list(locked.equipment.values()), window, exclude_reservation=exclude_reservation
    )
    stock = {equipment_id: Stock.of(item, holds) for equipment_id, item in locked.equipment.items()}
    demand: dict[uuid.UUID, int] = defaultdict(int)
    for line in lines:
        if line.equipment_id is None:  # ``lock_lines`` refused it already
            raise NotFound("equipment", field=f"{line.field}.equipmentId")
        demand[line.equipment_id] += line.quantity

    def named(found: list[tuple[Interval, Hold]]) -> list[uuid.UUID]:
        return reservation_ids(hold for _, hold in found) if reveal_reservations else []

    shortages: list[Shortage] = []
    for equipment_id, requested in demand.items():
        pool = stock[equipment_id]
        wanted = pool.widen(window)
        available = max(0, pool.total - pool.held(wanted))
        if requested > available:
            shortages.append(
                Shortage(
                    equipment_id,
                    requested=requested,
                    available=available,
                    reservation_ids=named(pool.touching(wanted)),
                )
            )

    for line in lines:
        if line.unit_id is None:
            continue
        unit = locked.units[line.unit_id]
        pool = stock[unit.equipment_id]
        taken = _holds_of_unit(pool.touching(pool.widen(window)), unit.id)
        if unit.status != UnitStatus.AVAILABLE or taken:
            shortages.append(
                Shortage(
                    unit.equipment_id, unit_id=unit.id, requested=1, available=0, reservation_ids=named(taken)
                )
            )
    return shortages


def _holds_of_unit(holds: Sequence[tuple[Interval, Hold]], unit_id: uuid.UUID) -> list[tuple[Interval, Hold]]:
    return [(span, hold) for span, hold in holds if hold.unit_id == unit_id]


async def ensure_bookings_fit(
    session: AsyncSession, equipment: Equipment, *, units_taken_out: Collection[uuid.UUID] = ()
) -> None:
    """Fail with the reservations in the way if current and future holds no longer fit.

    Called with the equipment row locked and the change applied (not yet committed):
    the pool must cover its peak, a unit taken out of service must hold nothing,
    and no unit may end up in two overlapping holds (wider buffers can do that).
    """
    now = utcnow()
    holds = await load_holds(session, equipment.tenant_id, [equipment], (now, END_OF_TIME))
    everything = Stock.of(equipment, holds)
    # Holds whose buffered windows are over by now need nothing any more.
    pool = Stock(equipment, tuple((span, hold) for span, hold in everything.holds if span[1] > now))
    shortages: list[Shortage] = []

    over: list[Hold] = []
    worst = 0
    for span, hold in pool.holds:
        at_peak = pool.held(span)
        worst = max(worst, at_peak)
        if at_peak > pool.total:
            over.append(hold)
    if over:
        shortages.append(
            Shortage(
                equipment.id, requested=worst, available=pool.total, reservation_ids=reservation_ids(over)
            )
        )

    units = dict.fromkeys(hold.unit_id for _, hold in pool.holds if hold.unit_id is not None)
    for unit_id in units:
        unit_holds = _holds_of_unit(pool.holds, unit_id)
        if unit_id in units_taken_out:
            held = reservation_ids(hold for _, hold in unit_holds)
            shortages.append(
                Shortage(equipment.id, unit_id=unit_id, requested=1, available=0, reservation_ids=held)
            )
            continue
        clashing = [
            hold
            for span, hold in unit_holds
            if any(other is not hold and overlaps(span, other_span) for other_span, other in unit_holds)
        ]
        if clashing:
            shortages.append(
                Shortage(
                    equipment.id,
                    unit_id=unit_id,
                    requested=2,
                    available=1,
                    reservation_ids=reservation_ids(clashing),
                )
            )
    if shortages:
        raise Unavailable(shortages, "Reservations need more than would remain; change or cancel them first.")
