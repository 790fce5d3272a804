"""Availability: what holding reservations use of each equipment over a window.

Holds are widened by the equipment's buffers (prep before, return after) and
compared as half-open intervals, so back-to-back windows never collide unless a
buffer says so. ``held`` is the peak concurrent quantity found by a sweep;
``held_seconds_in`` and ``held_time`` integrate the same sweep over time (the
dashboard's utilization, ``resolvers/reports/stats.py``).

Bookings count through ``Stock``. Availability asks the same question of many
items at once and answers it with ``held_in``: the same widening, overlap and
sweep in one pass per item, over the rows as the read returned them, and with the
reservations behind the holds named only when a field asks for them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Row, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db import writes
from db.scoped import in_tenant, same_tenant
from db.tables import (
    HOLDING_STATUSES,
    Equipment,
    EquipmentStatus,
    Reservation,
    ReservationLine,
    ReservationStatus,
)

Interval = tuple[datetime, datetime]


class HoldRow(Protocol):
    """What the counts read of a hold: a ``Hold``, or a row of ``holds_statement`` as read."""

    @property
    def reservation_id(self) -> uuid.UUID: ...
    @property
    def equipment_id(self) -> uuid.UUID: ...
    @property
    def quantity(self) -> int: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...


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
    return _sweep(events)


def _sweep(events: list[tuple[datetime, int]]) -> int:
    """The highest running total of ``(instant, delta)`` events taken in time order."""
    # Plain tuple order: at the same instant a release (negative) comes before an
    # acquisition, so [10,11) and [11,12) never overlap.
    events.sort()
    running = best = 0
    for _, delta in events:
        running += delta
        if running > best:
            best = running
    return best


def held_in(equipment: Equipment, holds: Iterable[HoldRow], window: Interval) -> int:
    """``Stock.of(equipment, holds).held(window)`` in one pass, without an object per hold.

    Each hold is widened by the equipment's buffers and clipped to ``window``, as
    ``Stock.of`` and ``peak`` do; a hold that ``Stock.touching`` would leave out is
    empty once clipped, so the clipping alone decides.
    """
    events = _clipped_events(equipment, holds, window)
    return _sweep(events) if events else 0


def held_seconds_in(
    equipment: Equipment,
    holds: Iterable[HoldRow],
    window: Interval,
    touching: set[uuid.UUID] | None = None,
) -> float:
    """Quantity × seconds held within ``window``: the sweep's running total, integrated over time.

    The same widening, clipping and ordering as ``held_in``; where ``held_in`` keeps
    the highest total, this adds up each total times how long it lasted. ``touching``,
    if given, collects the reservations of the holds that overlap the window.
    """
    events = _clipped_events(equipment, holds, window, touching)
    if not events:
        return 0.0
    events.sort()
    running = 0
    total = 0.0
    previous = events[0][0]
    for instant, delta in events:
        if running:
            total += running * (instant - previous).total_seconds()
        previous = instant
        running += delta
    return total


def _clipped_events(
    equipment: Equipment,
    holds: Iterable[HoldRow],
    window: Interval,
    touching: set[uuid.UUID] | None = None,
) -> list[tuple[datetime, int]]:
    """Each hold widened by the buffers and clipped to ``window``, as (start, +q) and (end, -q) events.

    A hold is left out when nothing of it is left once clipped: exactly when its
    buffered window does not overlap ``window`` (``overlaps``, as ``Stock.touching``
    asks it). The reservations of the others go into ``touching`` when it is given.
    """
    before = timedelta(minutes=equipment.buffer_before)
    after = timedelta(minutes=equipment.buffer_after)
    first, last = window
    events: list[tuple[datetime, int]] = []
    for hold in holds:
        start = hold.starts_at - before if before else hold.starts_at
        end = hold.ends_at + after if after else hold.ends_at
        # Clipped to the window, a hold that does not overlap it is empty and left out.
        if start < first:
            start = first
        if end > last:
            end = last
        if start < end:
            quantity = hold.quantity
            events.append((start, quantity))
            events.append((end, -quantity))
            if touching is not None:
                touching.add(hold.reservation_id)
    return events


STOCK_COLUMNS = ("id", "quantity", "status", "buffer_before", "buffer_after")
"""What counting stock reads of an equipment row: ``total_stock``, the buffers, the holds' key."""


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


def reservation_ids(holds: Iterable[HoldRow]) -> list[uuid.UUID]:
    """The reservations behind ``holds``, each once, in order."""
    return list(dict.fromkeys(hold.reservation_id for hold in holds))


def holds_statement(
    tenant_id: uuid.UUID,
    equipment: Sequence[Equipment],
    window: Interval,
    *,
    exclude_reservation: uuid.UUID | None = None,
    holders: bool = True,
    statuses: Sequence[ReservationStatus] = HOLDING_STATUSES,
    every_item: bool = False,
) -> Select[*tuple[Any, ...]]:
    """Holding lines of ``equipment`` whose buffered windows may touch ``window``.

    Without ``holders``, only what counting reads (equipment, quantity, window): the
    reservation and unit ids are two UUIDs per row to decode that a count never uses.
    ``statuses`` are those that hold stock now; a look back (``resolvers/reports/``)
    also counts the reservations that held it and came back. With ``every_item``,
    ``equipment`` is all of the tenant's and the lines are not filtered by it: a list
    of thousands of ids costs more to send and plan than it filters.
    """
    reach = max(
        (timedelta(minutes=item.buffer_before + item.buffer_after) for item in equipment), default=timedelta()
    )
    conditions = [
        in_tenant(ReservationLine, tenant_id),
        col(Reservation.status).in_(statuses),
        col(Reservation.starts_at) < window[1] + reach,
        col(Reservation.ends_at) > window[0] - reach,
    ]
    if not every_item:
        conditions.insert(1, col(ReservationLine.equipment_id).in_([item.id for item in equipment]))
    if exclude_reservation is not None:
        conditions.append(col(Reservation.id) != exclude_reservation)
    held = (col(ReservationLine.quantity), col(Reservation.starts_at), col(Reservation.ends_at))
    columns: tuple[Any, ...]
    if holders:
        columns = (
            col(ReservationLine.reservation_id),
            col(ReservationLine.equipment_id),
            col(ReservationLine.unit_id),
            *held,
        )
    else:
        columns = (col(ReservationLine.equipment_id), *held)
    return (
        select(*columns)
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
    # Plain rows: the transaction's own statements, past the ORM (``db/writes.py``).
    return holds_from(await writes.rows(session, statement))


def holds_from(rows: Iterable[Row[*tuple[Any, ...]]]) -> list[Hold]:
    """Rows of ``holds_statement`` as ``Hold`` values."""
    return [Hold(row[0], row[1], row[2], row[3], row[4], row[5]) for row in rows]


@dataclass(slots=True)
class Usage:
    """How much of one equipment is held during a window, and by which reservations."""

    equipment: Equipment
    total: int
    held: int
    window: Interval
    holds: Sequence[HoldRow] = ()
    """The holds on this equipment that the read found (some may not touch ``window``)."""

    @property
    def available(self) -> int:
        return max(0, self.total - self.held)

    @property
    def reservation_ids(self) -> list[uuid.UUID]:
        """The reservations whose buffered holds overlap the window, each once, in order.

        Worked out when asked: most selections want only the numbers.
        """
        before = timedelta(minutes=self.equipment.buffer_before)
        after = timedelta(minutes=self.equipment.buffer_after)
        first, last = self.window
        # ``overlaps`` of each hold's buffered window with the window, as ``Stock.touching`` asks it.
        return reservation_ids(
            hold for hold in self.holds if hold.starts_at - before < last and first < hold.ends_at + after
        )


def usage(
    equipment: Sequence[Equipment], holds: Iterable[HoldRow], window: Interval
) -> dict[uuid.UUID, Usage]:
    """Peak held quantity of each equipment within ``window``.

    ``holds`` may be the rows of ``holds_statement`` as read: they are grouped and
    counted as they are, not copied into ``Hold`` values.
    """
    by_equipment = _by_equipment(holds)
    result: dict[uuid.UUID, Usage] = {}
    for item in equipment:
        found = by_equipment.get(item.id)
        if found is None:
            result[item.id] = Usage(item, total_stock(item), 0, window)
        else:
            result[item.id] = Usage(item, total_stock(item), held_in(item, found, window), window, found)
    return result


def _by_equipment(holds: Iterable[HoldRow]) -> dict[uuid.UUID, list[HoldRow]]:
    by_equipment: dict[uuid.UUID, list[HoldRow]] = {}
    for hold in holds:
        same = by_equipment.get(hold.equipment_id)
        if same is None:
            by_equipment[hold.equipment_id] = [hold]
        else:
            same.append(hold)
    return by_equipment


@dataclass(frozen=True, slots=True)
class HeldTime:
    """How long one equipment was held during a window, and by how many reservations."""

    equipment: Equipment
    total: int
    """Its stock, as ``usage`` counts it (``total_stock``)."""
    seconds: float
    """Quantity × seconds held within the window, buffers included (``held_seconds_in``)."""
    reservations: int
    """The reservations whose buffered holds overlap the window (``Usage.reservation_ids``)."""


def held_time(
    equipment: Sequence[Equipment], holds: Iterable[HoldRow], window: Interval
) -> dict[uuid.UUID, HeldTime]:
    """``usage``'s question asked over time: how much of each equipment was held, for how long.

    The holds are grouped, widened and clipped as ``usage`` does; the sweep's running
    total is integrated instead of its peak kept. ``holds`` must name their
    reservations (``holds_statement`` with ``holders``).
    """
    by_equipment = _by_equipment(holds)
    result: dict[uuid.UUID, HeldTime] = {}
    for item in equipment:
        found = by_equipment.get(item.id)
        if found is None:
            result[item.id] = HeldTime(item, total_stock(item), 0.0, 0)
        else:
            touching: set[uuid.UUID] = set()
            seconds = held_seconds_in(item, found, window, touching)
            result[item.id] = HeldTime(item, total_stock(item), seconds, len(touching))
    return result
