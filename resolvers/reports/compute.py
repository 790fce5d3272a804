"""Working out one tenant's month, read in pages so a busy month never sits in memory as rows.

Three reads, each bounded: the count of reservations by status (one grouped
statement), the lines of the reservations that used stock (CONFIRMED, CHECKED_OUT,
RETURNED) whose windows overlap the month, keyset-paged by (reservation, line) and
folded into per-item totals page by page, and the tenant's equipment, paged by id.
Overdue returns are a capped list and a count. Stock is counted as everywhere else
(``resolvers/availability.py``'s ``total_stock``: an active item's quantity, which
for serialized equipment is its number of available units).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Uuid, and_, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.database import Database
from db.scoped import in_tenant, same_tenant, scoped_records
from db.tables import HOLDING_STATUSES, Equipment, Reservation, ReservationLine, ReservationStatus
from resolvers.availability import total_stock
from resolvers.reports.content import (
    MAX_OVERDUE_LISTED,
    PRECISION,
    ItemUse,
    OverdueReturn,
    ReportData,
    all_statuses,
)
from resolvers.reports.months import Month, zone_of

USED_STATUSES = (*HOLDING_STATUSES, ReservationStatus.RETURNED)
"""Reservations whose windows count as held: they hold stock, or held it."""
PAGE_SIZE = 1000
SECONDS_PER_HOUR = 3600.0
EQUIPMENT_COLUMNS = ("id", "name", "code", "category", "quantity", "status")
OVERDUE_COLUMNS = ("id", "number", "title", "status", "ends_at", "updated_at")


@dataclass
class Held:
    """What the month's lines held of one equipment so far."""

    hours: float = 0.0
    reservations: int = 0
    last_reservation: uuid.UUID | None = None


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / SECONDS_PER_HOUR


async def compute_report(
    database: Database,
    tenant_id: uuid.UUID,
    timezone: str,
    month: Month,
    now: datetime,
    *,
    page_size: int = PAGE_SIZE,
) -> ReportData:
    """The report on ``month`` of the tenant, as of ``now`` (in a read transaction of its own)."""
    zone = zone_of(timezone)
    start, end = month.bounds(zone)
    hours = hours_between(start, end)
    async with database.session(tenant_id) as session:
        statuses = await _statuses(session, tenant_id, start, end)
        held = await _held(session, tenant_id, start, end, page_size)
        items = await _items(session, tenant_id, held, hours, page_size)
        overdue, overdue_total = await _overdue(session, tenant_id, start, end, now)
    return ReportData(
        month=str(month),
        timezone=zone.key,
        period_start=start,
        period_end=end,
        hours=hours,
        generated_at=now,
        statuses=statuses,
        items=items,
        overdue=overdue,
        overdue_total=overdue_total,
    )


def _overlapping(start: datetime, end: datetime) -> list[Any]:
    return [col(Reservation.starts_at) < end, col(Reservation.ends_at) > start]


def statuses_statement(tenant_id: uuid.UUID, start: datetime, end: datetime) -> Select[str, int]:
    """How many of the tenant's reservations overlapping ``[start, end)`` have each status."""
    return (
        select(col(Reservation.status), func.count())
        .where(in_tenant(Reservation, tenant_id), *_overlapping(start, end))
        .group_by(col(Reservation.status))
    )


def status_counts(rows: Iterable[Any]) -> dict[ReservationStatus, int]:
    """Rows of ``statuses_statement`` as every status with its count."""
    return all_statuses((ReservationStatus(row[0]), int(row[1])) for row in rows)


async def _statuses(
    session: AsyncSession, tenant_id: uuid.UUID, start: datetime, end: datetime
) -> dict[ReservationStatus, int]:
    return status_counts((await session.execute(statuses_statement(tenant_id, start, end))).all())


async def _held(
    session: AsyncSession, tenant_id: uuid.UUID, start: datetime, end: datetime, page_size: int
) -> dict[uuid.UUID, Held]:
    """Held hours and reservations per equipment, folded in page by page."""
    reservation_id, line_id = col(ReservationLine.reservation_id), col(ReservationLine.id)
    base = (
        select(
            reservation_id,
            line_id,
            col(ReservationLine.equipment_id),
            col(ReservationLine.quantity),
            col(Reservation.starts_at),
            col(Reservation.ends_at),
        )
        .join(
            Reservation,
            and_(same_tenant(Reservation, ReservationLine), col(Reservation.id) == reservation_id),
        )
        .where(
            in_tenant(ReservationLine, tenant_id),
            col(Reservation.status).in_(USED_STATUSES),
            *_overlapping(start, end),
        )
        .order_by(reservation_id, line_id)
        .limit(page_size)
    )
    held: dict[uuid.UUID, Held] = {}
    after: tuple[uuid.UUID, uuid.UUID] | None = None
    while True:
        statement = base
        if after is not None:
            statement = statement.where(
                tuple_(reservation_id, line_id) > tuple_(literal(after[0], Uuid()), literal(after[1], Uuid()))
            )
        rows: Sequence[Any] = (await session.execute(statement)).all()
        for row in rows:
            found = held.setdefault(row.equipment_id, Held())
            found.hours += row.quantity * hours_between(max(row.starts_at, start), min(row.ends_at, end))
            # Lines come in reservation order: a reservation's lines are next to each other.
            if found.last_reservation != row.reservation_id:
                found.reservations += 1
                found.last_reservation = row.reservation_id
        if len(rows) < page_size:
            return held
        after = (rows[-1].reservation_id, rows[-1].id)


async def _items(
    session: AsyncSession, tenant_id: uuid.UUID, held: dict[uuid.UUID, Held], hours: float, page_size: int
) -> list[ItemUse]:
    """Every item with stock or held hours, by name."""
    items: list[ItemUse] = []
    after: uuid.UUID | None = None
    while True:
        statement = scoped_records(Equipment, tenant_id, EQUIPMENT_COLUMNS).order_by(col(Equipment.id))
        if after is not None:
            statement = statement.where(col(Equipment.id) > after)
        rows: Sequence[Any] = (await session.execute(statement.limit(page_size))).all()
        for row in rows:
            stock = total_stock(row)
            used = held.get(row.id)
            if stock == 0 and used is None:
                continue
            items.append(
                ItemUse(
                    equipment_id=row.id,
                    name=row.name,
                    code=row.code,
                    category=row.category,
                    stock=stock,
                    held_hours=round(used.hours, PRECISION) if used is not None else 0.0,
                    available_hours=round(stock * hours, PRECISION),
                    reservations=used.reservations if used is not None else 0,
                )
            )
        if len(rows) < page_size:
            break
        after = rows[-1].id
    items.sort(key=lambda item: (item.name, item.code, str(item.equipment_id)))
    return items


async def _overdue(
    session: AsyncSession, tenant_id: uuid.UUID, start: datetime, end: datetime, now: datetime
) -> tuple[list[OverdueReturn], int]:
    """Still out past their end (due before the month ended), or returned after it (due in the month).

    A returned reservation changes no more after its return, so its last change
    (``updated_at``) is when it came back.
    """
    status, ends_at, updated_at = (
        col(Reservation.status),
        col(Reservation.ends_at),
        col(Reservation.updated_at),
    )
    still_out = and_(status == ReservationStatus.CHECKED_OUT, ends_at < min(now, end))
    late = and_(status == ReservationStatus.RETURNED, ends_at >= start, ends_at < end, updated_at > ends_at)
    found: list[OverdueReturn] = []
    total = 0
    for condition in (still_out, late):
        scope = scoped_records(Reservation, tenant_id, OVERDUE_COLUMNS).where(condition)
        total += int((await session.execute(select(func.count()).select_from(scope.subquery()))).scalar_one())
        listed = scope.order_by(ends_at, col(Reservation.number)).limit(MAX_OVERDUE_LISTED)
        for row in (await session.execute(listed)).all():
            returned = row.updated_at if row.status == ReservationStatus.RETURNED else None
            found.append(
                OverdueReturn(
                    reservation_id=row.id,
                    number=row.number,
                    title=row.title,
                    status=ReservationStatus(row.status),
                    ends_at=row.ends_at,
                    returned_at=returned,
                    hours_late=round(hours_between(row.ends_at, returned or now), 2),
                )
            )
    found.sort(key=lambda entry: (-entry.hours_late, entry.number))
    return found[:MAX_OVERDUE_LISTED], total
