"""Booking under locks: the one path every change that takes or changes stock goes through.

PostgreSQL: the equipment rows are locked ``FOR UPDATE`` in id order (so two
transactions never wait on each other in a cycle), then holds are re-read and
checked, then the caller writes — all in one transaction. SQLite: the write
transaction began with ``BEGIN IMMEDIATE``, which already serialises writers.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.tables import Equipment, EquipmentStatus, EquipmentUnit, Tracking, UnitStatus
from resolvers.availability import Buffers, Hold, Interval, load_holds, overlaps, peak, total_stock
from resolvers.errors import InvalidInput, NotFound, Shortage


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


async def lock_equipment(
    session: AsyncSession, tenant_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Equipment]:
    """Lock the tenant's equipment rows among ``ids``, always in id order."""
    if not ids:
        return {}
    statement = (
        select(Equipment)
        .where(col(Equipment.tenant_id) == tenant_id, col(Equipment.id).in_(sorted(ids)))
        .order_by(col(Equipment.id))
        .with_for_update()
    )
    return {row.id: row for row in (await session.scalars(statement)).all()}


async def lock_lines(
    session: AsyncSession, tenant_id: uuid.UUID, lines: Sequence[LineRequest]
) -> LockedLines:
    """Lock and load what ``lines`` name; anything not in the tenant is NOT_FOUND."""
    for line in lines:
        if line.equipment_id is None:
            raise NotFound("equipment", field=f"{line.field}.equipmentId")
        if line.unit_given and line.unit_id is None:
            raise NotFound("unit", field=f"{line.field}.unitId")
    equipment = await lock_equipment(
        session, tenant_id, {line.equipment_id for line in lines if line.equipment_id}
    )
    unit_ids = {line.unit_id for line in lines if line.unit_id is not None}
    units: dict[uuid.UUID, EquipmentUnit] = {}
    if unit_ids:
        statement = select(EquipmentUnit).where(
            col(EquipmentUnit.tenant_id) == tenant_id, col(EquipmentUnit.id).in_(unit_ids)
        )
        units = {row.id: row for row in (await session.scalars(statement)).all()}
    problems: dict[str, str] = {}
    for line in lines:
        assert line.equipment_id is not None
        item = equipment.get(line.equipment_id)
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
    demand: dict[uuid.UUID, int] = defaultdict(int)
    for line in lines:
        assert line.equipment_id is not None
        demand[line.equipment_id] += line.quantity

    shortages: list[Shortage] = []
    for equipment_id, requested in demand.items():
        item = locked.equipment[equipment_id]
        buffers = Buffers.of(item)
        wanted = buffers.widen(*window)
        touching = [
            hold
            for hold in holds
            if hold.equipment_id == equipment_id
            and overlaps(buffers.widen(hold.starts_at, hold.ends_at), wanted)
        ]
        held = peak(
            ((buffers.widen(hold.starts_at, hold.ends_at), hold.quantity) for hold in touching), wanted
        )
        available = max(0, total_stock(item) - held)
        if requested > available:
            shortages.append(
                Shortage(
                    equipment_id,
                    requested=requested,
                    available=available,
                    reservation_ids=_ids(touching) if reveal_reservations else [],
                )
            )

    for line in lines:
        if line.unit_id is None:
            continue
        unit = locked.units[line.unit_id]
        item = locked.equipment[unit.equipment_id]
        buffers = Buffers.of(item)
        wanted = buffers.widen(*window)
        taken = [
            hold
            for hold in holds
            if hold.unit_id == unit.id and overlaps(buffers.widen(hold.starts_at, hold.ends_at), wanted)
        ]
        if unit.status != UnitStatus.AVAILABLE or taken:
            shortages.append(
                Shortage(
                    item.id,
                    unit_id=unit.id,
                    requested=1,
                    available=0,
                    reservation_ids=_ids(taken) if reveal_reservations else [],
                )
            )
    return shortages


def _ids(holds: Sequence[Hold]) -> list[uuid.UUID]:
    return list(dict.fromkeys(hold.reservation_id for hold in holds))
