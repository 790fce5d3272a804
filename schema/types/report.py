"""Monthly reports as GraphQL: ``MonthlyReport`` and its sections, typed field by field.

A report is stored as one JSON document (``resolvers/reports/content.py``); each
section's field reads its part of it, and the derived ones (utilization, categories,
most booked items) are worked out there, as for the CSV.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from db.tables import MonthlyReport as ReportRow
from resolvers.reports.content import CategoryUse, ItemUse, OverdueReturn, ReportData
from resolvers.reports.csv_export import report_csv
from schema.node import Node, to_global_id
from schema.relations import from_parent
from schema.rows import FromRow, row_type
from schema.types.reservation import ReservationStatus

UTILIZATION = "Held hours ÷ available hours (0.25 = 25 %); null without stock."


@strawberry.type(description="How many reservations of one status overlapped the month.")
class ReportStatusCount:
    status: ReservationStatus = strawberry.field(description="The status they have (now).")
    count: int = strawberry.field(description="How many reservations have it.")


@strawberry.type(description="One item's month: its stock, the hours it was held, and its utilization.")
class ReportItem:
    equipment_id: strawberry.ID = strawberry.field(description="Global id of the equipment.")
    name: str = strawberry.field(description="Its name when the report was made.")
    code: str = strawberry.field(description="Its code (SKU) when the report was made.")
    category: str = strawberry.field(description="Its category; empty when it has none.")
    stock: int = strawberry.field(description="Bookable stock when the report was made.")
    held_hours: float = strawberry.field(
        description="Quantity × hours of CONFIRMED, CHECKED_OUT and RETURNED reservations within the month."
    )
    available_hours: float = strawberry.field(description="Stock × the month's hours.")
    utilization: float | None = strawberry.field(description=UTILIZATION)
    reservations: int = strawberry.field(description="Reservations that held it during the month.")

    @classmethod
    def of(cls, item: ItemUse) -> ReportItem:
        return cls(
            equipment_id=to_global_id("Equipment", item.equipment_id),
            name=item.name,
            code=item.code,
            category=item.category,
            stock=item.stock,
            held_hours=item.held_hours,
            available_hours=item.available_hours,
            utilization=item.utilization,
            reservations=item.reservations,
        )


@strawberry.type(description="The items of one category together.")
class ReportCategory:
    category: str = strawberry.field(description="The category; empty for items without one.")
    items: int = strawberry.field(description="How many of the report's items it has.")
    stock: int = strawberry.field(description="Their stock together.")
    held_hours: float = strawberry.field(description="Their held hours together.")
    available_hours: float = strawberry.field(description="Their available hours together.")
    utilization: float | None = strawberry.field(description=UTILIZATION)

    @classmethod
    def of(cls, use: CategoryUse) -> ReportCategory:
        return cls(
            category=use.category,
            items=use.items,
            stock=use.stock,
            held_hours=use.held_hours,
            available_hours=use.available_hours,
            utilization=use.utilization,
        )


@strawberry.type(
    description="A reservation returned after its end, or still out past it when the report was made."
)
class ReportOverdueReturn:
    reservation_id: strawberry.ID = strawberry.field(description="Global id of the reservation.")
    number: int = strawberry.field(description="Its per-tenant number.")
    title: str = strawberry.field(description="Its title when the report was made.")
    status: ReservationStatus = strawberry.field(
        description="CHECKED_OUT: still out when the report was made; RETURNED: came back late."
    )
    ends_at: datetime = strawberry.field(description="When it was due back.")
    returned_at: datetime | None = strawberry.field(description="When it came back; null if still out.")
    hours_late: float = strawberry.field(
        description="Hours between its end and its return (or the report, if still out)."
    )

    @classmethod
    def of(cls, entry: OverdueReturn) -> ReportOverdueReturn:
        return cls(
            reservation_id=to_global_id("Reservation", entry.reservation_id),
            number=entry.number,
            title=entry.title,
            status=ReservationStatus(entry.status.value),
            ends_at=entry.ends_at,
            returned_at=entry.returned_at,
            hours_late=entry.hours_late,
        )


def _content(report: MonthlyReport) -> ReportData:
    """The report's sections, read from its row once per object."""
    if report.content is None:
        report.content = ReportData.from_json(report.row.data)
    return report.content


@from_parent
def _timezone(self: MonthlyReport) -> str:
    return _content(self).timezone


@from_parent
def _period_start(self: MonthlyReport) -> datetime:
    return _content(self).period_start


@from_parent
def _period_end(self: MonthlyReport) -> datetime:
    return _content(self).period_end


@from_parent
def _hours(self: MonthlyReport) -> float:
    return _content(self).hours


@from_parent
def _generated_at(self: MonthlyReport) -> datetime:
    return _content(self).generated_at


@from_parent
def _by_status(self: MonthlyReport) -> list[ReportStatusCount]:
    return [
        ReportStatusCount(status=ReservationStatus(status.value), count=count)
        for status, count in _content(self).statuses.items()
    ]


@from_parent
def _categories(self: MonthlyReport) -> list[ReportCategory]:
    return [ReportCategory.of(use) for use in _content(self).categories]


@from_parent
def _items(self: MonthlyReport) -> list[ReportItem]:
    return [ReportItem.of(item) for item in _content(self).items]


@from_parent
def _top_items(self: MonthlyReport) -> list[ReportItem]:
    return [ReportItem.of(item) for item in _content(self).top_items]


@from_parent
def _overdue(self: MonthlyReport) -> list[ReportOverdueReturn]:
    return [ReportOverdueReturn.of(entry) for entry in _content(self).overdue]


@from_parent
def _overdue_count(self: MonthlyReport) -> int:
    return _content(self).overdue_total


@from_parent
def _csv(self: MonthlyReport) -> str:
    return report_csv(_content(self))


# The resolvers are given to annotated fields so the fields keep their place in the schema.
@row_type(ReportRow)
@strawberry.type(
    description="What one calendar month held for your tenant: reservations by status, utilization, "
    "the most booked items and overdue returns (ADMIN and MANAGER)."
)
class MonthlyReport(FromRow[ReportRow], Node):
    month: str = strawberry.field(description="The month, `YYYY-MM`.")
    timezone: str = strawberry.field(
        resolver=_timezone, description="The time zone the month's days were counted in (the tenant's)."
    )
    period_start: datetime = strawberry.field(resolver=_period_start, description="Start of the month.")
    period_end: datetime = strawberry.field(
        resolver=_period_end, description="End of the month (exclusive): the next month's start."
    )
    hours: float = strawberry.field(
        resolver=_hours, description="Hours in the month (one more or less with a daylight-saving change)."
    )
    generated_at: datetime = strawberry.field(
        resolver=_generated_at, description="When the figures were worked out."
    )
    reservations_by_status: list[ReportStatusCount] = strawberry.field(
        resolver=_by_status,
        description="Reservations whose window overlaps the month, by status (every status).",
    )
    categories: list[ReportCategory] = strawberry.field(
        resolver=_categories, description="Utilization per category, by name."
    )
    items: list[ReportItem] = strawberry.field(
        resolver=_items, description="Utilization per item with stock or held hours, by name."
    )
    top_items: list[ReportItem] = strawberry.field(
        resolver=_top_items,
        description="The 10 most booked items: most held hours first (then most reservations).",
    )
    overdue_returns: list[ReportOverdueReturn] = strawberry.field(
        resolver=_overdue,
        description="Returned after their end (due in the month), or still out past it (due by its end) when "
        "the report was made; the longest overdue first, at most 100.",
    )
    overdue_count: int = strawberry.field(
        resolver=_overdue_count, description="How many overdue returns there are in all."
    )
    csv: str = strawberry.field(
        resolver=_csv,
        description="The whole report as CSV: sections one after another, each a title row, a header row and "
        "its rows. Cells that would start a spreadsheet formula begin with `'`.",
    )
    created_at: datetime = strawberry.field(description="When the report was stored.")
    row: strawberry.Private[ReportRow]
    content: strawberry.Private[ReportData | None] = None
