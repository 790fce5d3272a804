"""The dashboard (``stats``) over the real app, on a hand-built world whose figures are worked out by hand.

The window is ten days of March 2026 (240 hours); what is due today is built
around now, in a tenant time zone where it is about noon, so no test run falls
near the tenant's midnight. Each reservation's comment shows the arithmetic.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from auth.services import Services
from db.tables import (
    Equipment,
    EquipmentStatus,
    EquipmentUnit,
    ReservationStatus,
    Role,
    Tenant,
    Tracking,
    UnitStatus,
    User,
)
from resolvers.availability import Hold, Stock, held_time
from schema.node import to_global_id
from tests.api import Api, TenantUsers, error_codes, make_user
from tests.conftest import StatementCounter
from tests.reports import Built, add_equipment, add_reservation

S = ReservationStatus
FROM = datetime(2026, 3, 1, tzinfo=UTC)
TO = datetime(2026, 3, 11, tzinfo=UTC)
WINDOW = {"from": FROM.isoformat(), "to": TO.isoformat()}

STATS = """
query Stats($from: DateTime!, $to: DateTime!, $top: Int) {
  stats(from: $from, to: $to, top: $top) {
    periodStart periodEnd hours timezone today
    reservationsByStatus { status count }
    categories { category items stock heldHours availableHours utilization }
    topItems { equipmentId name code category stock heldHours availableHours utilization reservations }
    due { checkOutsToday checkOutsLate returnsToday returnsOverdue }
    newCustomers
  }
}
"""


def mar(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def noon_zone(now: datetime) -> str:
    """A fixed-offset zone where ``now`` is between 10:00 and 14:00 (``Etc/GMT-3`` is UTC+3)."""
    for offset in range(-12, 15):
        name = "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"
        if 10 <= now.astimezone(ZoneInfo(name)).hour < 14:
            return name
    raise AssertionError("every hour of the day is noon somewhere")


async def set_timezone(services: Services, tenant: Tenant, timezone: str) -> None:
    async with services.database.transaction(tenant.id) as session:
        row = await session.get(Tenant, tenant.id)
        assert row is not None
        row.timezone = timezone


async def add_customer(
    services: Services, tenant: Tenant, email: str, created_at: datetime, role: Role
) -> None:
    user = await make_user(services, tenant, role, email)
    async with services.database.transaction(tenant.id) as session:
        row = await session.get(User, (tenant.id, user.id))
        assert row is not None
        row.created_at = created_at


async def add_camera(services: Services, built: Built) -> None:
    """Three units, one in maintenance: stock 2, as the app keeps it (AVAILABLE units only)."""
    item = Equipment(
        tenant_id=built.tenant.id,
        name="Camera",
        code="CAM",
        category="Broadcast",
        tracking=Tracking.SERIALIZED,
        quantity=2,
    )
    async with services.database.transaction(built.tenant.id) as session:
        session.add(item)
        await session.flush()
        units = [
            EquipmentUnit(
                tenant_id=built.tenant.id,
                equipment_id=item.id,
                serial_number=f"CAM-{number}",
                status=UnitStatus.MAINTENANCE if number == 2 else UnitStatus.AVAILABLE,
            )
            for number in range(3)
        ]
        session.add_all(units)
    built.equipment["cam"] = item
    built.units["cam"] = [unit.id for unit in units]


async def build_march(services: Services, tenant: Tenant) -> Built:
    built = Built(tenant)
    await add_equipment(services, built, "wall", name="LED wall", quantity=4, category="LED")
    panel = await add_equipment(services, built, "panel", name="LED panel", quantity=2, category="LED")
    async with services.database.transaction(tenant.id) as session:
        row = await session.get(Equipment, (tenant.id, panel.id))
        assert row is not None
        row.buffer_before, row.buffer_after = 60, 120  # minutes
    await add_camera(services, built)
    await add_equipment(services, built, "old", name="Old deck", quantity=3, category="Staging")
    async with services.database.transaction(tenant.id) as session:
        row = await session.get(Equipment, (tenant.id, built.equipment["old"].id))
        assert row is not None
        row.status = EquipmentStatus.RETIRED
    await add_equipment(services, built, "deck", name="Stage deck", quantity=10, category="Staging")
    await add_equipment(services, built, "idle", name="Idle truss", quantity=5)

    # wall: 2 × 48 h = 96
    await add_reservation(services, built, "r1", S.CONFIRMED, mar(2), mar(4), [("wall", 2)])
    # wall: 1 × 12 h inside the window (from Feb 28 12:00)
    await add_reservation(
        services, built, "r2", S.RETURNED, mar(1) - timedelta(hours=12), mar(1, 12), [("wall", 1)]
    )
    await add_reservation(services, built, "r3", S.REQUESTED, mar(5), mar(6), [("wall", 4)])
    await add_reservation(services, built, "r4", S.CANCELED, mar(6), mar(7), [("wall", 1)])
    # wall: 1 × 48 h, alongside r1 (the sweep adds both: 3 at once from Mar 3 to Mar 4)
    await add_reservation(services, built, "r5", S.CHECKED_OUT, mar(3), mar(5), [("wall", 1)])
    # panel, buffered 1 h before and 2 h after: 09:00–14:00 = 5 h
    await add_reservation(services, built, "r6", S.CONFIRMED, mar(8, 10), mar(8, 12), [("panel", 1)])
    # panel: 22:00 to the window's end = 2 h, × 2
    await add_reservation(services, built, "r7", S.CONFIRMED, mar(10, 23), mar(11, 5), [("panel", 2)])
    # panel: ends before the window, but its return buffer reaches 01:30 into it: 1.5 h
    await add_reservation(
        services,
        built,
        "r8",
        S.CONFIRMED,
        mar(1) - timedelta(hours=4),
        mar(1) - timedelta(minutes=30),
        [("panel", 1)],
    )
    # cam: two units × 24 h = 48, one reservation
    await add_reservation(services, built, "r9", S.RETURNED, mar(1), mar(2), [("cam", 2)], units=True)
    # old (retired, no stock): 3 × 24 h = 72
    await add_reservation(services, built, "r10", S.RETURNED, mar(9), mar(10), [("old", 3)])
    await add_reservation(services, built, "r11", S.CONFIRMED, mar(20), mar(21), [("deck", 1)])
    await add_reservation(services, built, "r12", S.DECLINED, mar(4), mar(5), [("deck", 1)])
    await add_reservation(services, built, "r13", S.EXPIRED, mar(5), mar(6), [("deck", 1)])
    # Ends exactly where the window starts: half-open, so neither counted nor held.
    await add_reservation(
        services, built, "r14", S.CONFIRMED, mar(1) - timedelta(days=2), mar(1), [("wall", 1)]
    )
    return built


@dataclass
class World:
    built: Built
    timezone: str
    now: datetime


async def build_today(services: Services, built: Built, now: datetime) -> None:
    """Hand-outs and returns around ``now`` (local noon ± 2 h), all of the deck."""
    hour = timedelta(hours=1)
    zone = ZoneInfo(noon_zone(now))
    local = now.astimezone(zone)
    day_start = datetime(local.year, local.month, local.day, tzinfo=zone).astimezone(UTC)
    day_end = day_start + timedelta(days=1)
    plan = [
        ("t1", S.CONFIRMED, now + hour, now + 3 * hour),  # due out today
        ("t2", S.CONFIRMED, now - hour, now + 3 * hour),  # due out today, and late
        ("t3", S.CONFIRMED, now - timedelta(days=1), now + timedelta(days=1)),  # late
        ("t4", S.CONFIRMED, day_end + timedelta(minutes=30), day_end + 2 * hour),  # tomorrow, locally
        ("t5", S.CHECKED_OUT, now - 3 * hour, now + hour),  # due back today
        ("t6", S.CHECKED_OUT, now - timedelta(days=3), now - timedelta(days=2)),  # overdue
        ("t7", S.CHECKED_OUT, now - 3 * hour, now - hour),  # due back today, and overdue
        ("t8", S.CHECKED_OUT, now - 3 * hour, now + timedelta(days=1)),  # not due yet
        ("t9", S.RETURNED, now - 3 * hour, now - hour),  # back
        ("t10", S.CHECKED_OUT, day_start - 2 * hour, day_start - timedelta(minutes=30)),  # overdue, yesterday
    ]
    for key, status, starts, ends in plan:
        await add_reservation(services, built, key, status, starts, ends, [("deck", 1)])


@pytest.fixture
async def world(services: Services, esr: TenantUsers) -> World:
    now = datetime.now(UTC)
    timezone = noon_zone(now)
    await set_timezone(services, esr.tenant, timezone)
    built = await build_march(services, esr.tenant)
    await build_today(services, built, now)
    tenant = esr.tenant
    await add_customer(services, tenant, "in1@esr.example", mar(3), Role.CUSTOMER)
    await add_customer(services, tenant, "in2@esr.example", mar(10, 23, 59), Role.CUSTOMER)
    await add_customer(services, tenant, "early@esr.example", mar(1) - timedelta(seconds=1), Role.CUSTOMER)
    await add_customer(services, tenant, "end@esr.example", TO, Role.CUSTOMER)
    await add_customer(services, tenant, "crew@esr.example", mar(4), Role.STAFF)
    return World(built, timezone, now)


def statuses(data: dict[str, Any]) -> dict[str, int]:
    return {row["status"]: row["count"] for row in data["reservationsByStatus"]}


EXPECTED_STATUSES = {
    "REQUESTED": 1,
    "CONFIRMED": 3,  # r1, r6, r7 (r8, r14 end before the window; r11 is after it)
    "CHECKED_OUT": 1,  # r5
    "RETURNED": 3,  # r2, r9, r10
    "CANCELED": 1,
    "DECLINED": 1,
    "EXPIRED": 1,
}
EXPECTED_CATEGORIES = [
    # idle: stock 5, never held
    {"category": "", "items": 1, "stock": 5, "heldHours": 0.0, "availableHours": 1200.0, "utilization": 0.0},
    # cam: 48 of 2 × 240
    {"category": "Broadcast", "items": 1, "stock": 2, "heldHours": 48.0, "availableHours": 480.0,
     "utilization": 0.1},
    # wall 96 + 12 + 48 = 156 of 960; panel 5 + 4 + 1.5 = 10.5 of 480: 166.5 / 1440
    {"category": "LED", "items": 2, "stock": 6, "heldHours": 166.5, "availableHours": 1440.0,
     "utilization": 0.1156},
    # old: 72 held without stock; deck: 10 × 240 available, not held in March: 72 / 2400
    {"category": "Staging", "items": 2, "stock": 10, "heldHours": 72.0, "availableHours": 2400.0,
     "utilization": 0.03},
]  # fmt: skip


async def test_managers_and_admins_read_every_figure(
    api: Api, world: World, admin_token: str, manager_token: str
) -> None:
    built = world.built
    for token in (admin_token, manager_token):
        data = (await api.data(STATS, WINDOW, token=token))["stats"]
        assert (data["periodStart"], data["periodEnd"], data["hours"]) == (
            "2026-03-01T00:00:00+00:00",
            "2026-03-11T00:00:00+00:00",
            240.0,
        )
        assert data["timezone"] == world.timezone
        assert data["today"] == world.now.astimezone(ZoneInfo(world.timezone)).date().isoformat()
        assert statuses(data) == EXPECTED_STATUSES
        assert list(statuses(data)) == [status.value for status in ReservationStatus]
        assert data["categories"] == EXPECTED_CATEGORIES
        assert [(row["code"], row["heldHours"], row["reservations"]) for row in data["topItems"]] == [
            ("WALL", 156.0, 3),
            ("OLD", 72.0, 1),
            ("CAM", 48.0, 1),
            ("PANEL", 10.5, 3),
        ]
        wall, old, cam, panel = data["topItems"]
        assert wall == {
            "equipmentId": to_global_id("Equipment", built.equipment["wall"].id),
            "name": "LED wall",
            "code": "WALL",
            "category": "LED",
            "stock": 4,
            "heldHours": 156.0,
            "availableHours": 960.0,
            "utilization": 0.1625,
            "reservations": 3,
        }
        assert (old["stock"], old["availableHours"], old["utilization"]) == (0, 0.0, None)
        assert (cam["stock"], cam["utilization"]) == (2, 0.1)
        assert panel["utilization"] == 0.0219  # 10.5 / 480
        assert data["due"] == {
            "checkOutsToday": 2,  # t1, t2
            # t2, t3, and March's CONFIRMED ones never handed out: r1, r6, r7, r8, r11, r14
            "checkOutsLate": 8,
            "returnsToday": 2,  # t5, t7
            "returnsOverdue": 4,  # t6, t7, t10, and March's r5
        }
        assert data["newCustomers"] == 2


async def test_top_bounds_the_most_booked_items(api: Api, world: World, admin_token: str) -> None:
    data = (await api.data(STATS, {**WINDOW, "top": 2}, token=admin_token))["stats"]
    assert [row["code"] for row in data["topItems"]] == ["WALL", "OLD"]
    one = (await api.data(STATS, {**WINDOW, "top": 1}, token=admin_token))["stats"]
    assert [row["code"] for row in one["topItems"]] == ["WALL"]


async def test_a_window_with_an_offset_means_the_same_instants(
    api: Api, world: World, admin_token: str
) -> None:
    shifted = {
        "from": FROM.astimezone(ZoneInfo("Europe/Berlin")).isoformat(),
        "to": TO.astimezone(ZoneInfo("America/New_York")).isoformat(),
    }
    data = (await api.data(STATS, shifted, token=admin_token))["stats"]
    assert data["periodStart"] == "2026-03-01T00:00:00+00:00"
    assert data["categories"] == EXPECTED_CATEGORIES


async def test_another_tenants_rows_are_never_counted(
    api: Api,
    services: Services,
    world: World,
    cmh: TenantUsers,
    admin_token: str,
    other_tenant_admin_token: str,
) -> None:
    before = (await api.data(STATS, WINDOW, token=admin_token))["stats"]
    other = await build_march(services, cmh.tenant)
    await build_today(services, other, datetime.now(UTC))
    await add_customer(services, cmh.tenant, "in@cmh.example", mar(5), Role.CUSTOMER)
    after = (await api.data(STATS, WINDOW, token=admin_token))["stats"]
    for key in ("reservationsByStatus", "categories", "topItems", "due", "newCustomers"):
        assert after[key] == before[key], key
    # cmh's own dashboard: its world and its one customer, nothing of esr's.
    own = (await api.data(STATS, WINDOW, token=other_tenant_admin_token))["stats"]
    assert own["timezone"] == "UTC"
    assert statuses(own) == EXPECTED_STATUSES
    assert own["newCustomers"] == 1
    ids = {row["equipmentId"] for row in own["topItems"]}
    assert ids == {
        to_global_id("Equipment", item.id)
        for key, item in other.equipment.items()
        if key != "idle" and key != "deck"
    }


async def test_a_tenant_without_equipment_or_bookings_has_zeros(
    api: Api, esr: TenantUsers, admin_token: str
) -> None:
    data = (await api.data(STATS, WINDOW, token=admin_token))["stats"]
    assert set(statuses(data).values()) == {0}
    assert (data["categories"], data["topItems"], data["newCustomers"]) == ([], [], 0)
    assert data["due"] == {"checkOutsToday": 0, "checkOutsLate": 0, "returnsToday": 0, "returnsOverdue": 0}
    assert data["timezone"] == "UTC"


async def test_other_roles_and_strangers_are_refused(
    api: Api, esr: TenantUsers, staff_token: str, customer_token: str, operator_token: str
) -> None:
    for token in (staff_token, customer_token, operator_token):
        body = await api.post(STATS, WINDOW, token=token)
        assert error_codes(body) == ["FORBIDDEN"], body
        assert body["data"] is None
    assert error_codes(await api.post(STATS, WINDOW)) == ["UNAUTHENTICATED"]
    assert error_codes(await api.post(STATS, WINDOW, token="not-a-token")) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("variables", "fields"),
    [
        ({"from": "2026-03-01T00:00:00", "to": TO.isoformat()}, {"from": "Must include a UTC offset"}),
        ({"from": FROM.isoformat(), "to": "2026-03-11T00:00:00"}, {"to": "Must include a UTC offset"}),
        ({"from": "1969-12-31T00:00:00+00:00", "to": TO.isoformat()}, {"from": "between the years 1970"}),
        ({"from": TO.isoformat(), "to": FROM.isoformat()}, {"to": "Must be after `from`"}),
        ({"from": FROM.isoformat(), "to": FROM.isoformat()}, {"to": "Must be after `from`"}),
        (
            {"from": FROM.isoformat(), "to": (FROM + timedelta(days=366, seconds=1)).isoformat()},
            {"to": "at most 366 days"},
        ),
        ({**WINDOW, "top": 0}, {"top": "between 1 and 50"}),
        ({**WINDOW, "top": 51}, {"top": "between 1 and 50"}),
        (
            {"from": "2026-03-01T00:00:00", "to": "2026-03-11T00:00:00", "top": -1},
            {"from": "UTC offset", "to": "UTC offset", "top": "between 1 and 50"},
        ),
    ],
)
async def test_bad_arguments_are_refused_with_their_names(
    api: Api,
    esr: TenantUsers,
    admin_token: str,
    statements: StatementCounter,
    variables: dict[str, Any],
    fields: dict[str, str],
) -> None:
    with statements.counting():
        body = await api.post(STATS, variables, token=admin_token)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    error = body["errors"][0]
    assert set(error["extensions"]["fields"]) == set(fields)
    for name, text in fields.items():
        assert text in error["extensions"]["fields"][name]
        assert f"`{name}`: " in error["message"]
    # Refused before any read of the tenant's rows (the sign-in check aside).
    assert statements.last <= 1


async def test_a_full_year_is_accepted(api: Api, world: World, admin_token: str) -> None:
    year = {"from": FROM.isoformat(), "to": (FROM + timedelta(days=366)).isoformat()}
    data = (await api.data(STATS, year, token=admin_token))["stats"]
    assert data["hours"] == 366 * 24


async def fill(services: Services, built: Built, reservations: int) -> None:
    """``reservations`` one-line bookings of March, over a few items."""
    for index in range(3):
        await add_equipment(
            services, built, f"item{index}", name=f"Item {index}", quantity=100, category=f"C{index}"
        )
    for number in range(reservations):
        status = (S.CONFIRMED, S.CHECKED_OUT, S.RETURNED, S.REQUESTED)[number % 4]
        starts = mar(1 + number % 9, number % 24)
        await add_reservation(
            services,
            built,
            f"f{number}",
            status,
            starts,
            starts + timedelta(hours=5),
            [(f"item{number % 3}", 1)],
        )


async def test_one_request_costs_the_same_statements_for_1_and_50_reservations(
    api: Api, services: Services, esr: TenantUsers, cmh: TenantUsers, statements: StatementCounter,
    admin_token: str, other_tenant_admin_token: str,
) -> None:  # fmt: skip
    await fill(services, Built(esr.tenant), 1)
    await fill(services, Built(cmh.tenant), 50)
    counts = []
    for token, held in ((admin_token, 1), (other_tenant_admin_token, 50)):
        with statements.counting():
            data = (await api.data(STATS, WINDOW, token=token))["stats"]
        assert sum(row["reservations"] for row in data["topItems"]) == held - held // 4  # without REQUESTED
        counts.append(statements.last)
    assert counts[0] == counts[1]
    # The six reads (time zone, statuses, equipment, holds, due, customers) and the sign-in check:
    # in the read transaction's opening statement on PostgreSQL; on SQLite a statement of its
    # own, after the BEGIN that SQLAlchemy sends (and counts) there.
    assert counts[1] == (8 if services.database.is_sqlite else 7)


def test_held_time_integrates_what_stock_counts_hour_by_hour() -> None:
    """On an hour grid the held quantity is constant within each hour: the integral is the sum of
    ``Stock.held`` over the hours, buffers and the window's edges included."""
    rng = random.Random(14)
    for _ in range(50):
        item = Equipment(
            name="Item",
            code="I",
            tracking=Tracking.BULK,
            quantity=20,
            buffer_before=60 * rng.randint(0, 2),
            buffer_after=60 * rng.randint(0, 3),
        )
        holds = []
        for _ in range(rng.randint(0, 8)):
            starts = mar(1) + timedelta(hours=rng.randint(-10, 60))
            ends = starts + timedelta(hours=rng.randint(1, 20))
            holds.append(Hold(uuid.uuid4(), item.id, None, rng.randint(1, 3), starts, ends))
        window = (mar(1), mar(3))
        found = held_time([item], holds, window)[item.id]
        stock = Stock.of(item, holds)
        hours = [(mar(1) + timedelta(hours=h), mar(1) + timedelta(hours=h + 1)) for h in range(48)]
        assert found.seconds == sum(stock.held(hour) for hour in hours) * 3600
        assert found.reservations == len({hold.reservation_id for _, hold in stock.touching(window)})
        assert found.total == 20
