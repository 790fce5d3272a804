"""Availability's one-pass count agrees with ``Stock`` (the booking path) and with brute force.

Every instant is on a minute grid, so checking each minute of the window is an
exhaustive reference for the peak of half-open intervals. Holds are given both as
``Hold`` values (as bookings read them) and as plain rows with attributes (as the
request's reads return them).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from db.tables import Equipment, EquipmentStatus, Tracking
from resolvers.availability import Hold, Interval, Stock, held_in, peak, reservation_ids, usage

BASE = datetime(2030, 6, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RESERVATIONS = [uuid.UUID(int=number) for number in range(1, 7)]
EQUIPMENT_IDS = [uuid.UUID(int=1000 + number) for number in range(3)]


class HoldRecord(NamedTuple):
    """A row of ``holds_statement`` as a read returns it: columns as attributes."""

    reservation_id: uuid.UUID
    equipment_id: uuid.UUID
    unit_id: uuid.UUID | None
    quantity: int
    starts_at: datetime
    ends_at: datetime


def at(minutes: int, zone: timezone = UTC) -> datetime:
    return (BASE + minutes * MINUTE).astimezone(zone)


def item(equipment_id: uuid.UUID, before: int, after: int, quantity: int, active: bool) -> Equipment:
    return Equipment(
        tenant_id=uuid.UUID(int=1),
        id=equipment_id,
        name=str(equipment_id),
        code=str(equipment_id),
        tracking=Tracking.BULK,
        quantity=quantity,
        buffer_before=before,
        buffer_after=after,
        status=EquipmentStatus.ACTIVE if active else EquipmentStatus.RETIRED,
    )


def instants(low: int, high: int) -> st.SearchStrategy[int]:
    """Minutes from ``low`` to ``high``, mostly on a quarter-hour grid so that ends meet starts."""
    grid = st.integers(-(-low // 15), high // 15).map(lambda step: step * 15)
    return st.one_of(grid, grid, st.integers(low, high))


equipment_strategy = st.builds(
    item,
    st.sampled_from(EQUIPMENT_IDS),
    instants(0, 90),
    instants(0, 90),
    st.integers(0, 8),
    st.booleans(),
)
zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])


@st.composite
def holds_strategy(draw: st.DrawFn, *, min_length: int = 1) -> list[HoldRecord]:
    """Holds of the equipment ids, with windows of at least ``min_length`` minutes."""
    found: list[HoldRecord] = []
    ends = BASE
    for _ in range(draw(st.integers(0, 12))):
        # Often where the last one ended, give or take a buffer's length: the ties a sweep must order.
        starts = draw(instants(-300, 1500))
        chained: bool = draw(st.booleans())
        if found and chained:
            starts = (ends - BASE) // MINUTE + draw(instants(0, 180))
        length = draw(instants(min_length, 600))
        found.append(
            HoldRecord(
                draw(st.sampled_from(RESERVATIONS)),
                draw(st.sampled_from(EQUIPMENT_IDS)),
                None,
                draw(st.integers(1, 4)),
                at(starts, draw(zones)),
                at(starts + length, draw(zones)),
            )
        )
        ends = found[-1].ends_at
    return found


@st.composite
def windows(draw: st.DrawFn) -> Interval:
    starts = draw(instants(-120, 1200))
    return at(starts, draw(zones)), at(starts + draw(instants(1, 720)), draw(zones))


def as_hold(row: HoldRecord) -> Hold:
    return Hold(row.reservation_id, row.equipment_id, row.unit_id, row.quantity, row.starts_at, row.ends_at)


def brute_force(
    equipment: Equipment, holds: list[HoldRecord], window: Interval
) -> tuple[int, list[uuid.UUID]]:
    """Peak over every minute of ``window``, and the reservations holding any minute of it."""
    before, after = equipment.buffer_before * MINUTE, equipment.buffer_after * MINUTE
    mine = [
        (row.starts_at - before, row.ends_at + after, row)
        for row in holds
        if row.equipment_id == equipment.id
    ]
    best, touching = 0, set()
    instant = window[0]
    while instant < window[1]:
        present = [index for index, (starts, ends, _) in enumerate(mine) if starts <= instant < ends]
        best = max(best, sum(mine[index][2].quantity for index in present))
        touching.update(present)
        instant += MINUTE
    in_order = list(dict.fromkeys(mine[index][2].reservation_id for index in sorted(touching)))
    return best, in_order


@settings(max_examples=400, deadline=None)
@given(
    st.lists(equipment_strategy, max_size=3, unique_by=lambda found: found.id), holds_strategy(), windows()
)
def test_usage_matches_brute_force_and_stock(
    equipment: list[Equipment], holds: list[HoldRecord], window: Interval
) -> None:
    found = usage(equipment, holds, window)
    assert set(found) == {each.id for each in equipment}
    for each in equipment:
        counted = found[each.id]
        held, holders = brute_force(each, holds, window)
        stock = Stock.of(each, [as_hold(row) for row in holds])
        assert counted.held == held == stock.held(window)
        assert counted.reservation_ids == holders
        assert counted.reservation_ids == reservation_ids(hold for _, hold in stock.touching(window))
        assert counted.total == stock.total == (each.quantity if each.status == EquipmentStatus.ACTIVE else 0)
        assert counted.available == max(0, stock.total - held)
        assert counted.equipment is each


@settings(max_examples=300, deadline=None)
@given(equipment_strategy, holds_strategy(min_length=-60), windows())
def test_one_pass_count_matches_stock_on_any_intervals(
    equipment: Equipment, holds: list[HoldRecord], window: Interval
) -> None:
    """Even empty or reversed hold windows (which the database refuses) count as ``Stock`` counts them."""
    mine = [row for row in holds if row.equipment_id == equipment.id]
    stock = Stock.of(equipment, [as_hold(row) for row in holds])
    assert held_in(equipment, mine, window) == stock.held(window)
    assert usage([equipment], holds, window)[equipment.id].reservation_ids == reservation_ids(
        hold for _, hold in stock.touching(window)
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-100, 400), st.integers(0, 200), st.integers(1, 5)), max_size=10),
    st.integers(-50, 300),
    st.integers(1, 300),
)
def test_peak_is_the_largest_sum_at_any_instant(
    spans: list[tuple[int, int, int]], starts: int, length: int
) -> None:
    intervals = [((at(begin), at(begin + size)), quantity) for begin, size, quantity in spans]
    window = (at(starts), at(starts + length))
    expected = max(
        sum(quantity for (begin, end), quantity in intervals if begin <= at(minute) < end)
        for minute in range(starts, starts + length)
    )
    assert peak(intervals, window) == expected


def test_back_to_back_holds_do_not_add_up_and_buffers_make_them() -> None:
    """[10,11) and [11,12) never overlap; a buffer that reaches across makes them."""
    window = (at(0), at(24 * 60))
    holds = [
        HoldRecord(RESERVATIONS[0], EQUIPMENT_IDS[0], None, 2, at(600), at(660)),
        HoldRecord(RESERVATIONS[1], EQUIPMENT_IDS[0], None, 3, at(660), at(720)),
    ]
    plain = item(EQUIPMENT_IDS[0], 0, 0, 5, True)
    buffered = item(EQUIPMENT_IDS[0], 0, 1, 5, True)
    assert usage([plain], holds, window)[plain.id].held == 3
    assert usage([buffered], holds, window)[buffered.id].held == 5
    outside = (at(720), at(800))
    assert usage([plain], holds, outside)[plain.id].reservation_ids == []
    assert usage([buffered], holds, outside)[buffered.id].reservation_ids == [RESERVATIONS[1]]
