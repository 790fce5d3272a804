"""Stock arithmetic for the baseline, as ``resolvers/availability.py`` defines it.

Holds are widened by the equipment's buffers and compared as half-open intervals;
``held`` is the peak quantity in use at any instant of the window. Rows are asyncpg
records (``equipment``: quantity, status, buffer_before, buffer_after; holds:
equipment_id, quantity, starts_at, ends_at). ``held_seconds`` integrates the sweep
over time (the dashboard's held hours).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

HOLDING = ("CONFIRMED", "CHECKED_OUT")
Interval = tuple[datetime, datetime]


def peak(intervals: list[tuple[Interval, int]], window: Interval) -> int:
    events: list[tuple[datetime, int]] = []
    for (start, end), quantity in intervals:
        start, end = max(start, window[0]), min(end, window[1])
        if start < end:
            events.append((start, quantity))
            events.append((end, -quantity))
    events.sort()  # releases (negative) before acquisitions at the same instant
    running = best = 0
    for _, delta in events:
        running += delta
        best = max(best, running)
    return best


def held(item: Any, holds: list[Any], window: Interval) -> int:
    before = timedelta(minutes=item["buffer_before"])
    after = timedelta(minutes=item["buffer_after"])
    touching: list[tuple[Interval, int]] = []
    for hold in holds:
        widened = (hold["starts_at"] - before, hold["ends_at"] + after)
        if widened[0] < window[1] and window[0] < widened[1]:
            touching.append((widened, hold["quantity"]))
    return peak(touching, window)


def held_seconds(item: Any, holds: list[Any], window: Interval) -> float:
    """Quantity × seconds held within ``window``: the running total of the same sweep, integrated."""
    before = timedelta(minutes=item["buffer_before"])
    after = timedelta(minutes=item["buffer_after"])
    events: list[tuple[datetime, int]] = []
    for hold in holds:
        start = max(hold["starts_at"] - before, window[0])
        end = min(hold["ends_at"] + after, window[1])
        if start < end:
            events.append((start, hold["quantity"]))
            events.append((end, -hold["quantity"]))
    events.sort()
    running = 0
    total = 0.0
    previous = events[0][0] if events else window[0]
    for instant, delta in events:
        if running:
            total += running * (instant - previous).total_seconds()
        previous = instant
        running += delta
    return total


def total_stock(item: Any) -> int:
    return int(item["quantity"]) if item["status"] == "ACTIVE" else 0


HOLDS_SQL = """
SELECT l.equipment_id, l.quantity, r.starts_at, r.ends_at
FROM reservation_line l
JOIN reservation r ON r.tenant_id = l.tenant_id AND r.id = l.reservation_id
WHERE l.tenant_id = $1 AND l.equipment_id = ANY($2::uuid[])
  AND r.status = ANY($3::text[]) AND r.starts_at < $5 AND r.ends_at > $4
"""


def widest_buffers(items: list[Any]) -> timedelta:
    return max(
        (timedelta(minutes=i["buffer_before"] + i["buffer_after"]) for i in items), default=timedelta()
    )


def group(holds: list[Any]) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = {}
    for hold in holds:
        grouped.setdefault(hold["equipment_id"], []).append(hold)
    return grouped
