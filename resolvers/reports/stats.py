"""The dashboard: a tenant's figures over a window, worked out when asked, for its managers and admins.

Read in the request's snapshot, in six statements whatever the data (five for a
tenant without equipment, which has no holds to read): the tenant's time zone,
reservations by status, the equipment, the holds, what is due today and overdue,
and the new customers. Each figure means what it means elsewhere:

* **Reservations by status**: those whose window ``[starts_at, ends_at)`` overlaps
  ``[from, to)`` (not only those starting in it), as the monthly report counts them
  (``compute.statuses_statement``).
* **Utilization**: held hours ÷ available hours. Held hours come from the
  availability sweep (``resolvers/availability.py``'s ``held_time``, ``usage``
  over time): each CONFIRMED, CHECKED_OUT or RETURNED line widened by
  its equipment's buffers (prep and return time block stock), clipped to the
  window, the running total integrated over time. Available hours are the stock as
  availability counts it (``total_stock``: an active item's quantity, for
  serialized equipment its AVAILABLE units, so units in maintenance or retired and
  retired equipment count none) times the window's hours. The monthly report
  counts use without buffers, so the two differ for buffered items.
* **Most booked items**: the ``top`` items with the most held hours (as above),
  then the most reservations, then by name; items never held are left out.
* **Due today and overdue**: "today" is the calendar day of now in the tenant's
  time zone (``tenant.timezone``; UTC when it names none), whatever the window.
  Check-outs due today are CONFIRMED reservations starting today; returns due
  today are CHECKED_OUT ones ending today. Overdue returns are
  ``overdue_condition`` (CHECKED_OUT past their end, as ``isOverdue``); late
  check-outs are CONFIRMED reservations whose window has started. A reservation
  due earlier today and not yet handled counts both as due today and as overdue.
* **New customers**: CUSTOMER users created within ``[from, to)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from graphql import GraphQLError
from sqlalchemy import Integer, and_, case, func, or_, select
from sqlmodel import col

from db.scoped import in_tenant, scoped_records
from db.tables import Equipment, Reservation, ReservationStatus, Role, Tenant, User
from resolvers.availability import STOCK_COLUMNS, HeldTime, held_time, holds_statement
from resolvers.caller import TenantCaller
from resolvers.errors import Validator
from resolvers.instants import instant_problem
from resolvers.reports.compute import (
    SECONDS_PER_HOUR,
    USED_STATUSES,
    hours_between,
    status_counts,
    statuses_statement,
)
from resolvers.reports.content import PRECISION, CategoryUse, ratio
from resolvers.reports.months import zone_of
from resolvers.reports.store import reader
from resolvers.reservation_queries import overdue_condition
from resolvers.transactions import Snapshot

DEFAULT_TOP_ITEMS = 10
MAX_TOP_ITEMS = 50
EQUIPMENT_COLUMNS = (*STOCK_COLUMNS, "name", "code", "category")


@dataclass(frozen=True, slots=True)
class StatsItem:
    """One equipment over the window."""

    equipment_id: uuid.UUID
    name: str
    code: str
    category: str
    stock: int
    held_hours: float
    available_hours: float
    reservations: int

    @property
    def utilization(self) -> float | None:
        return ratio(self.held_hours, self.available_hours)


@dataclass(frozen=True, slots=True)
class Due:
    """What staff must hand out and take back: today, and already late."""

    check_outs_today: int
    check_outs_late: int
    returns_today: int
    returns_overdue: int


@dataclass(frozen=True)
class Stats:
    """The dashboard's figures."""

    start: datetime
    end: datetime
    hours: float
    timezone: str
    today: date
    statuses: dict[ReservationStatus, int]
    categories: list[CategoryUse]
    top_items: list[StatsItem]
    due: Due
    new_customers: int


@dataclass(frozen=True, slots=True)
class StatsRequest:
    window: tuple[datetime, datetime]
    top: int


def stats_request(
    start: datetime, end: datetime, top: int = DEFAULT_TOP_ITEMS, *, max_days: int
) -> StatsRequest:
    """The arguments checked: BAD_USER_INPUT naming each wrong one (``fields``: argument → message)."""
    problems = Validator()
    problems.add("from", instant_problem(start))
    problems.add("to", instant_problem(end))
    if not problems.problems:
        if end <= start:
            problems.add("to", "Must be after `from`.")
        elif end - start > timedelta(days=max_days):
            problems.add("to", f"The window may be at most {max_days} days long.")
    if not 1 <= top <= MAX_TOP_ITEMS:
        problems.add("top", f"Must be between 1 and {MAX_TOP_ITEMS}.")
    if problems.problems:
        message = " ".join(f"`{name}`: {text}" for name, text in problems.problems.items())
        raise GraphQLError(message, extensions={"code": "BAD_USER_INPUT", "fields": problems.problems})
    return StatsRequest((start.astimezone(UTC), end.astimezone(UTC)), top)


def day_bounds(now: datetime, zone: tzinfo) -> tuple[date, datetime, datetime]:
    """The calendar day of ``now`` in ``zone``, and its ``[start, end)`` as UTC instants."""
    today = now.astimezone(zone).date()
    following = today + timedelta(days=1)
    start = datetime(today.year, today.month, today.day, tzinfo=zone)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return today, start.astimezone(UTC), end.astimezone(UTC)


async def stats(snapshot: Snapshot, caller: TenantCaller, request: StatsRequest, now: datetime) -> Stats:
    """The tenant's figures over ``request.window``, as of ``now``."""
    tenant_id = reader(caller).tenant_id
    start, end = request.window
    timezone = await snapshot.scalar(select(col(Tenant.timezone)).where(col(Tenant.id) == tenant_id))
    zone = zone_of(timezone)
    today, day_start, day_end = day_bounds(now, zone)
    statuses = status_counts(await snapshot.rows(statuses_statement(tenant_id, start, end)))
    equipment: Sequence[Any] = await snapshot.rows(
        scoped_records(Equipment, tenant_id, EQUIPMENT_COLUMNS).order_by(col(Equipment.id))
    )
    holds: Sequence[Any] = ()
    if equipment:
        holds = await snapshot.rows(
            holds_statement(tenant_id, equipment, (start, end), statuses=USED_STATUSES, every_item=True)
        )
    used = held_time(equipment, holds, (start, end))
    hours = hours_between(start, end)
    items = [_item(found, hours) for found in used.values()]
    items = [item for item in items if item.stock or item.held_hours]
    due = await _due(snapshot, tenant_id, now, day_start, day_end)
    new_customers = await snapshot.scalar(
        select(func.count())
        .select_from(User)
        .where(
            in_tenant(User, tenant_id),
            col(User.role) == Role.CUSTOMER,
            col(User.created_at) >= start,
            col(User.created_at) < end,
        )
    )
    return Stats(
        start=start,
        end=end,
        hours=round(hours, PRECISION),
        timezone=zone.key,
        today=today,
        statuses=statuses,
        categories=categories_of(items),
        top_items=most_booked(items, request.top),
        due=due,
        new_customers=int(new_customers or 0),
    )


def _item(found: HeldTime, hours: float) -> StatsItem:
    row = found.equipment
    return StatsItem(
        equipment_id=row.id,
        name=row.name,
        code=row.code,
        category=row.category,
        stock=found.total,
        held_hours=round(found.seconds / SECONDS_PER_HOUR, PRECISION),
        available_hours=round(found.total * hours, PRECISION),
        reservations=found.reservations,
    )


def categories_of(items: Sequence[StatsItem]) -> list[CategoryUse]:
    """Each category of ``items``, by name (no category first)."""
    totals: dict[str, list[float]] = {}
    for item in items:
        found = totals.setdefault(item.category, [0, 0, 0.0, 0.0])
        found[0] += 1
        found[1] += item.stock
        found[2] += item.held_hours
        found[3] += item.available_hours
    return [
        CategoryUse(name, int(count), int(stock), round(held, PRECISION), round(available, PRECISION))
        for name, (count, stock, held, available) in sorted(totals.items())
    ]


def most_booked(items: Sequence[StatsItem], top: int) -> list[StatsItem]:
    held = [item for item in items if item.held_hours > 0]
    held.sort(key=lambda item: (-item.held_hours, -item.reservations, item.name, str(item.equipment_id)))
    return held[:top]


def _counted(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


async def _due(
    snapshot: Snapshot, tenant_id: uuid.UUID, now: datetime, day_start: datetime, day_end: datetime
) -> Due:
    status, starts_at, ends_at = col(Reservation.status), col(Reservation.starts_at), col(Reservation.ends_at)
    confirmed = status == ReservationStatus.CONFIRMED
    out = status == ReservationStatus.CHECKED_OUT
    statement = select(
        _counted(and_(confirmed, starts_at >= day_start, starts_at < day_end)).label("check_outs_today"),
        _counted(and_(confirmed, starts_at < now)).label("check_outs_late"),
        _counted(and_(out, ends_at >= day_start, ends_at < day_end)).label("returns_today"),
        _counted(overdue_condition(now)).label("returns_overdue"),
    ).where(
        in_tenant(Reservation, tenant_id),
        # Every count is of a reservation starting (CONFIRMED) or ending (CHECKED_OUT) before
        # the day ends, as now is before that: later bookings are never read.
        or_(and_(confirmed, starts_at < day_end), and_(out, ends_at < day_end)),
    )
    row = (await snapshot.rows(statement))[0]
    return Due(
        check_outs_today=int(row.check_outs_today),
        check_outs_late=int(row.check_outs_late),
        returns_today=int(row.returns_today),
        returns_overdue=int(row.returns_overdue),
    )
