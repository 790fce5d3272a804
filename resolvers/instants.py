"""Instants clients may send: with a UTC offset, and within a sane range.

The range keeps buffer and offset arithmetic far from datetime's limits
(year 1 and 9999), where it would overflow.
"""

from __future__ import annotations

from datetime import datetime

EARLIEST_YEAR = 1970
LATEST_YEAR = 8999


def instant_problem(value: datetime) -> str | None:
    if value.tzinfo is None or value.utcoffset() is None:
        return "Must include a UTC offset, e.g. 2026-05-01T10:00:00+02:00."
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return f"Must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
    return None
