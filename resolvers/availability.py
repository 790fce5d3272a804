"""Availability: what holding reservations use of each equipment over a window.

Holds are widened by the equipment's buffers (prep before, return after) and
compared as half-open intervals, so back-to-back windows never collide unless a
buffer says so. ``held`` is the peak concurrent quantity found by a sweep.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.scoped import in_tenant, same_tenant
from db.tables import HOLDING_STATUSES, Equipment, EquipmentStatus, Reservation, ReservationLine

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Hold:
    """One holding reservation line, with its reservation's window."""

    reservation_id: uuid.UUID
    equipment_id: uuid.UUID
    unit_id: uuid.UUID | None
    quantity: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Buffers:
    before: timedelta
    after: timedelta

    @staticmethod
    def of(equipment: Equipment) -> Buffers:
        return Buffers(timedelta(minutes=equipment.buffer_before), timedelta(minutes=equipment.buffer_after))

    def widen(self, starts_at: datetime, ends_at: datetime) -> Interval:
        return starts_at - self.before, ends_at + self.after


def overlaps(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def peak(intervals: Iterable[tuple[Interval, int]], window: Interval) -> int:
    """Largest total quantity in use at any instant of ``window`` (half-open intervals)."""
    events: list[tuple[datetime, int]] = []
    for (start, end), quantity in intervals:
        start, end = max(start, window[0]), min(end, window[1])
        if start < end:
            events.append((start, quantity))
            events.append((end, -quantity))
    # At the same instant, releases come before acquisitions: [10,11) and [11,12) never overlap.
    events.sort(key=lambda event: (event[0], event[1]))
    running = best = 0
    for _, delta in events:
        running += delta
        best = max(best, running)
    return best


def total_stock(equipment: Equipment) -> int:
    return equipment.quantity if equipment.status == EquipmentStatus.ACTIVE else 0


@dataclass(frozen=True, slots=True)
class Stock:
    """One equipment and the holds on it, each widened by the equipment's buffers.

    Every count of stock reads it: availability here, and every check of stock
    against bookings in ``resolvers/booking.py``.
    """

    equipment: Equipment
    holds: tuple[tuple[Interval, Hold], ...]
    """Each hold on the equipment with its buffered window."""

    @classmethod
    def of(cls, equipment: Equipment, holds: Iterable[Hold]) -> Stock:
        buffers = Buffers.of(equipment)
        widened = tuple(
            (buffers.widen(hold.starts_at, hold.ends_at), hold)
            for hold in holds
            if hold.equipment_id == equipment.id
        )
        return cls(equipment, widened)

    @property
    def total(self) -> int:
        return total_stock(self.equipment)

    def widen(self, window: Interval) -> Interval:
        """``window`` as a booking of this equipment blocks it: with its buffers."""
        return Buffers.of(self.equipment).widen(*window)

    def touching(self, interval: Interval) -> list[tuple[Interval, Hold]]:
        """The holds whose buffered windows overlap ``interval``."""
        return [(span, hold) for span, hold in self.holds if overlaps(span, interval)]

    def held(self, interval: Interval) -> int:
        """The peak quantity held at any one instant of ``interval``."""
        return peak(((span, hold.quantity) for span, hold in self.touching(interval)), interval)


def reservation_ids(holds: Iterable[Hold]) -> list[uuid.UUID]:
    """The reservations behind ``holds``, each once, in order."""
    return list(dict.fromkeys(hold.reservation_id for hold in holds))


def holds_statement(
    tenant_id: uuid.UUID,
    equipment: Sequence[Equipment],
    window: Interval,
    *,
    exclude_reservation: uuid.UUID | None = None,
) -> Select[*tuple[Any, ...]]:
    """Holding lines of ``equipment`` whose buffered windows may touch ``window``."""
    reach = max(
        (timedelta(minutes=item.buffer_before + item.buffer_after) for item in equipment), default=timedelta()
    )
    conditions = [
        in_tenant(ReservationLine, tenant_id),
        col(ReservationLine.equipment_id).in_([item.id for item in equipment]),
        col(Reservation.status).in_(HOLDING_STATUSES),
        col(Reservation.starts_at) < window[1] + reach,
        col(Reservation.ends_at) > window[0] - reach,
    ]
    if exclude_reservation is not None:
        conditions.append(col(Reservation.id) != exclude_reservation)
    return (
        select(
            col(ReservationLine.reservation_id),
            col(ReservationLine.equipment_id),
            col(ReservationLine.unit_id),
            col(ReservationLine.quantity),
            col(Reservation.starts_at),
            col(Reservation.ends_at),
        )
        .join(
            Reservation,
            and_(
                same_tenant(Reservation, ReservationLine),
                col(Reservation.id) == col(ReservationLine.reservation_id),
            ),
        )
        .where(*conditions)
    )


async def load_holds(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    equipment: Sequence[Equipment],
    window: Interval,
    *,
    exclude_reservation: uuid.UUID | None = None,
) -> list[Hold]:
    if not equipment:
        return []
    statement = holds_statement(tenant_id, equipment, window, exclude_reservation=exclude_reservation)
    # Plain rows: on the session's connection, past the ORM's statement handling.
    connection = await session.connection()
    return holds_from((await connection.execute(statement)).all())


def holds_from(rows: Iterable[Row[*tuple[Any, ...]]]) -> list[Hold]:
    """Rows of ``holds_statement`` as ``Hold`` values."""
    return [Hold(row[0], row[1], row[2], row[3], row[4], row[5]) for row in rows]


@dataclass
class Usage:
    """How much of one equipment is held during a window, and by which reservations."""

    equipment: Equipment
    total: int
    held: int
    reservation_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def available(self) -> int:
        return max(0, self.total - self.held)


def usage(equipment: Sequence[Equipment], holds: Sequence[Hold], window: Interval) -> dict[uuid.UUID, Usage]:
    """Peak held quantity of each equipment within ``window``."""
    by_equipment: dict[uuid.UUID, list[Hold]] = defaultdict(list)
    for hold in holds:
        by_equipment[hold.equipment_id].append(hold)
    result: dict[uuid.UUID, Usage] = {}
    for item in equipment:
        stock = Stock.of(item, by_equipment.get(item.id, []))
        result[item.id] = Usage(
            equipment=item,
            total=stock.total,
            held=stock.held(window),
            reservation_ids=reservation_ids(hold for _, hold in stock.touching(window)),
        )
    return result
