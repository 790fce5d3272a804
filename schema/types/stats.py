"""The dashboard as GraphQL: ``Stats`` and its sections, built from ``resolvers/reports/stats.py``'s figures."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from resolvers.reports import stats as figures
from resolvers.reports.content import CategoryUse
from schema.node import to_global_id
from schema.types.reservation import ReservationStatus

UTILIZATION = "Held hours ÷ available hours (0.25 = 25 %); null without stock."
HELD_HOURS = (
    "Quantity × hours held within the window by CONFIRMED, CHECKED_OUT and RETURNED reservations, "
    "prep and return buffers included (as availability counts them)."
)


@strawberry.type(description="How many reservations of one status overlap the window.")
class StatsStatusCount:
    status: ReservationStatus = strawberry.field(description="The status they have now.")
    count: int = strawberry.field(description="How many reservations overlapping the window have it.")


@strawberry.type(description="The items of one category together over the window.")
class StatsCategory:
    category: str = strawberry.field(description="The category; empty for items without one.")
    items: int = strawberry.field(description="How many items it has with stock or held in the window.")
    stock: int = strawberry.field(description="Their bookable stock together, as availability counts it.")
    held_hours: float = strawberry.field(description=HELD_HOURS)
    available_hours: float = strawberry.field(description="Their stock × the window's hours.")
    utilization: float | None = strawberry.field(description=UTILIZATION)

    @classmethod
    def of(cls, use: CategoryUse) -> StatsCategory:
        return cls(
            category=use.category,
            items=use.items,
            stock=use.stock,
            held_hours=use.held_hours,
            available_hours=use.available_hours,
            utilization=use.utilization,
        )


@strawberry.type(description="One of the most booked items of the window.")
class StatsItem:
    equipment_id: strawberry.ID = strawberry.field(description="Global id of the equipment.")
    name: str = strawberry.field(description="Its name.")
    code: str = strawberry.field(description="Its code (SKU).")
    category: str = strawberry.field(description="Its category; empty when it has none.")
    stock: int = strawberry.field(
        description="Its bookable stock now (0 when retired; serialized: units AVAILABLE, not in maintenance)."
    )
    held_hours: float = strawberry.field(description=HELD_HOURS)
    available_hours: float = strawberry.field(description="Its stock × the window's hours.")
    utilization: float | None = strawberry.field(description=UTILIZATION)
    reservations: int = strawberry.field(description="Reservations whose hold on it overlaps the window.")

    @classmethod
    def of(cls, item: figures.StatsItem) -> StatsItem:
        return cls(
            equipment_id=strawberry.ID(to_global_id("Equipment", item.equipment_id)),
            name=item.name,
            code=item.code,
            category=item.category,
            stock=item.stock,
            held_hours=item.held_hours,
            available_hours=item.available_hours,
            utilization=item.utilization,
            reservations=item.reservations,
        )


@strawberry.type(
    description="Hand-outs and returns to act on: due today (in your tenant's time zone) and already late. "
    "One due earlier today and not yet handled counts in both."
)
class StatsDue:
    check_outs_today: int = strawberry.field(
        description="CONFIRMED reservations starting today, not yet checked out."
    )
    check_outs_late: int = strawberry.field(
        description="CONFIRMED reservations whose window has started but that are not checked out."
    )
    returns_today: int = strawberry.field(
        description="CHECKED_OUT reservations ending today, not yet returned."
    )
    returns_overdue: int = strawberry.field(
        description="CHECKED_OUT reservations past their end (those `isOverdue` names)."
    )


@strawberry.type(description="Your tenant's dashboard over a window, worked out when asked.")
class Stats:
    period_start: datetime = strawberry.field(description="The window's start (`from`), in UTC.")
    period_end: datetime = strawberry.field(description="The window's end (`to`, exclusive), in UTC.")
    hours: float = strawberry.field(description="The window's length in hours.")
    timezone: str = strawberry.field(
        description="The time zone `today` is a day of (your tenant's; UTC if none)."
    )
    today: date = strawberry.field(description="The day `due` speaks of, in `timezone`.")
    reservations_by_status: list[StatsStatusCount] = strawberry.field(
        description="Reservations whose window overlaps `[from, to)`, by status (every status, zeros included)."
    )
    categories: list[StatsCategory] = strawberry.field(
        description="Utilization per category (no category first, then by name) of the items with stock "
        "or held in the window."
    )
    top_items: list[StatsItem] = strawberry.field(
        description="The most booked items: most held hours first, then most reservations, then by name; "
        "items not held in the window are left out."
    )
    due: StatsDue = strawberry.field(description="Check-outs and returns due today and late, now.")
    new_customers: int = strawberry.field(description="CUSTOMER accounts created within `[from, to)`.")

    @classmethod
    def of(cls, found: figures.Stats) -> Stats:
        due = found.due
        return cls(
            period_start=found.start,
            period_end=found.end,
            hours=found.hours,
            timezone=found.timezone,
            today=found.today,
            reservations_by_status=[
                StatsStatusCount(status=ReservationStatus(status.value), count=count)
                for status, count in found.statuses.items()
            ],
            categories=[StatsCategory.of(use) for use in found.categories],
            top_items=[StatsItem.of(item) for item in found.top_items],
            due=StatsDue(
                check_outs_today=due.check_outs_today,
                check_outs_late=due.check_outs_late,
                returns_today=due.returns_today,
                returns_overdue=due.returns_overdue,
            ),
            new_customers=found.new_customers,
        )
