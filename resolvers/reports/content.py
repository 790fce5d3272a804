"""What a monthly report says, and how it is stored (the ``data`` JSON of ``monthly_report``).

Stored are the facts: the month's bounds and hours, reservations by status, each
item's stock, held and available hours and number of reservations, and the overdue
returns. Everything derived — utilization, the categories, the most booked items —
is worked out from them here, so it has one definition for GraphQL and CSV alike.

* **Utilization** of an item: held hours ÷ available hours. Held hours are each
  CONFIRMED, CHECKED_OUT or RETURNED reservation line's quantity times the hours of
  its reservation's window inside the month (buffers are prep time, not use, and are
  not counted); available hours are the item's stock times the month's hours. The
  stock is the stock when the report was made (no history of stock is kept), so an
  item whose stock shrank since can show more than 1. Without stock (retired, or
  no available unit) it has none (``None``).
* **A category's utilization**: its items' held hours ÷ their available hours.
* **Most booked items**: the ``TOP_ITEMS`` items with the most held hours (then the
  most reservations, then by name); items never held are not among them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from db.tables import ReservationStatus

REPORT_VERSION = 1
TOP_ITEMS = 10
MAX_OVERDUE_LISTED = 100
"""Overdue returns listed, the longest overdue first; ``overdue_total`` counts them all."""
PRECISION = 4


def ratio(held: float, available: float) -> float | None:
    return round(held / available, PRECISION) if available > 0 else None


@dataclass(frozen=True, slots=True)
class ItemUse:
    """One equipment's month."""

    equipment_id: uuid.UUID
    name: str
    code: str
    category: str
    stock: int
    held_hours: float
    available_hours: float
    reservations: int
    """Reservations (CONFIRMED, CHECKED_OUT, RETURNED) holding it during the month."""

    @property
    def utilization(self) -> float | None:
        return ratio(self.held_hours, self.available_hours)

    def to_json(self) -> dict[str, Any]:
        return {
            "equipment_id": str(self.equipment_id),
            "name": self.name,
            "code": self.code,
            "category": self.category,
            "stock": self.stock,
            "held_hours": self.held_hours,
            "available_hours": self.available_hours,
            "reservations": self.reservations,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ItemUse:
        return cls(
            equipment_id=uuid.UUID(value["equipment_id"]),
            name=value["name"],
            code=value["code"],
            category=value["category"],
            stock=value["stock"],
            held_hours=value["held_hours"],
            available_hours=value["available_hours"],
            reservations=value["reservations"],
        )


@dataclass(frozen=True, slots=True)
class CategoryUse:
    """The items of one category together (``""``: items without a category)."""

    category: str
    items: int
    stock: int
    held_hours: float
    available_hours: float

    @property
    def utilization(self) -> float | None:
        return ratio(self.held_hours, self.available_hours)


@dataclass(frozen=True, slots=True)
class OverdueReturn:
    """A reservation that came back after its end, or is still out past it when the report was made."""

    reservation_id: uuid.UUID
    number: int
    title: str
    status: ReservationStatus
    """CHECKED_OUT: still out; RETURNED: came back late."""
    ends_at: datetime
    returned_at: datetime | None
    hours_late: float
    """Until its return, or until the report was made if it is still out."""

    def to_json(self) -> dict[str, Any]:
        return {
            "reservation_id": str(self.reservation_id),
            "number": self.number,
            "title": self.title,
            "status": self.status.value,
            "ends_at": self.ends_at.isoformat(),
            "returned_at": self.returned_at.isoformat() if self.returned_at is not None else None,
            "hours_late": self.hours_late,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> OverdueReturn:
        returned = value["returned_at"]
        return cls(
            reservation_id=uuid.UUID(value["reservation_id"]),
            number=value["number"],
            title=value["title"],
            status=ReservationStatus(value["status"]),
            ends_at=datetime.fromisoformat(value["ends_at"]),
            returned_at=datetime.fromisoformat(returned) if returned is not None else None,
            hours_late=value["hours_late"],
        )


@dataclass(frozen=True)
class ReportData:
    """One tenant's month."""

    month: str
    timezone: str
    period_start: datetime
    period_end: datetime
    hours: float
    generated_at: datetime
    statuses: dict[ReservationStatus, int]
    """Reservations whose window overlaps the month, by status (every status, zeros included)."""
    items: list[ItemUse] = field(default_factory=list)
    """Every item with stock or held during the month, by name."""
    overdue: list[OverdueReturn] = field(default_factory=list)
    overdue_total: int = 0

    @property
    def categories(self) -> list[CategoryUse]:
        """Each category of ``items``, by name (no category first)."""
        totals: dict[str, list[float]] = {}
        for item in self.items:
            found = totals.setdefault(item.category, [0, 0, 0.0, 0.0])
            found[0] += 1
            found[1] += item.stock
            found[2] += item.held_hours
            found[3] += item.available_hours
        return [
            CategoryUse(name, int(count), int(stock), round(held, PRECISION), round(available, PRECISION))
            for name, (count, stock, held, available) in sorted(totals.items())
        ]

    @property
    def top_items(self) -> list[ItemUse]:
        held = [item for item in self.items if item.held_hours > 0]
        held.sort(key=lambda item: (-item.held_hours, -item.reservations, item.name, str(item.equipment_id)))
        return held[:TOP_ITEMS]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "month": self.month,
            "timezone": self.timezone,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "hours": self.hours,
            "generated_at": self.generated_at.isoformat(),
            "statuses": {status.value: count for status, count in self.statuses.items()},
            "items": [item.to_json() for item in self.items],
            "overdue": [entry.to_json() for entry in self.overdue],
            "overdue_total": self.overdue_total,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ReportData:
        return cls(
            month=value["month"],
            timezone=value["timezone"],
            period_start=datetime.fromisoformat(value["period_start"]),
            period_end=datetime.fromisoformat(value["period_end"]),
            hours=value["hours"],
            generated_at=datetime.fromisoformat(value["generated_at"]),
            statuses=all_statuses(
                (ReservationStatus(name), count) for name, count in value["statuses"].items()
            ),
            items=[ItemUse.from_json(item) for item in value["items"]],
            overdue=[OverdueReturn.from_json(entry) for entry in value["overdue"]],
            overdue_total=value["overdue_total"],
        )


def all_statuses(counts: Iterable[tuple[ReservationStatus, int]]) -> dict[ReservationStatus, int]:
    """Every status in lifecycle order, with its count (0 when absent)."""
    found = dict(counts)
    return {status: int(found.get(status, 0)) for status in ReservationStatus}
