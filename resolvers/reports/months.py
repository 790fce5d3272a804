"""Calendar months as reports name them (``2026-11``), and their bounds in a tenant's time zone.

A month runs from midnight on its first day to midnight on the next month's first
day, in the tenant's time zone (``tenant.timezone``; UTC when it names no zone this
machine knows). Its hours are real elapsed hours: a month with a daylight-saving
change has one hour more or less than its days times 24.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from resolvers.instants import EARLIEST_YEAR, LATEST_YEAR

MONTH_FORMAT = re.compile(r"(\d{4})-(\d{2})")
MAX_MONTH_TEXT = 16


class BadMonth(ValueError):
    """Text that names no month a report can be about."""


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYY-MM`` with a month 01–12 and a year in the range instants may take."""
        found = MONTH_FORMAT.fullmatch(text.strip()) if len(text) <= MAX_MONTH_TEXT else None
        if found is None:
            raise BadMonth("Must be a month written YYYY-MM, e.g. 2026-11.")
        year, month = int(found.group(1)), int(found.group(2))
        if not 1 <= month <= 12:
            raise BadMonth("The month must be between 01 and 12.")
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            raise BadMonth(f"The year must be between {EARLIEST_YEAR} and {LATEST_YEAR}.")
        return cls(year, month)

    @classmethod
    def of(cls, instant: datetime, zone: tzinfo) -> Month:
        """The month ``instant`` falls in, in ``zone``."""
        local = instant.astimezone(zone)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def following(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """``[start, end)`` of the month in ``zone``, as UTC instants."""
        after = self.following()
        start = datetime(self.year, self.month, 1, tzinfo=zone)
        end = datetime(after.year, after.month, 1, tzinfo=zone)
        # In UTC: subtracting two instants of one ZoneInfo ignores a daylight-saving change.
        return start.astimezone(UTC), end.astimezone(UTC)


def zone_of(name: str | None) -> ZoneInfo:
    """The time zone ``name`` names, or UTC when it names none."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
