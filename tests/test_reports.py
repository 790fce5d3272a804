"""Monthly reports: the figures of a hand-built month, the schedule that makes them once, and isolation.

The month is written straight to the database (``tests/reports.py``) with every
figure worked out by hand; the worker runs on a controlled clock
(``Worker(...).run_due()``), never on sleeps.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

import resolvers.jobs  # noqa: F401  (registers every job kind)
from auth.services import Services
from db.tables import AuditEvent, Job, MonthlyReport, ReservationStatus
from resolvers.jobs import reports as report_jobs
from resolvers.jobs.worker import Worker
from resolvers.reports.compute import compute_report
from resolvers.reports.content import ReportData
from resolvers.reports.csv_export import report_csv, safe_cell
from resolvers.reports.months import BadMonth, Month
from resolvers.reports.on_demand import month_report
from tests.reports import (
    NOVEMBER,
    REPORT_TIME,
    Built,
    add_equipment,
    add_reservation,
    build_november,
    make_dated_tenant,
)

NOV_2026 = Month(2026, 11)


def at_clock(instant: datetime) -> Any:
    return lambda: instant


async def reports_of(services: Services, tenant_id: uuid.UUID) -> list[MonthlyReport]:
    async with services.database.session(tenant_id) as session:
        statement = select(MonthlyReport).where(col(MonthlyReport.tenant_id) == tenant_id)
        return list((await session.scalars(statement)).all())


async def report_events(services: Services, tenant_id: uuid.UUID) -> list[AuditEvent]:
    async with services.database.session(tenant_id) as session:
        statement = select(AuditEvent).where(
            col(AuditEvent.tenant_id) == tenant_id, col(AuditEvent.target_type) == "monthly_report"
        )
        return list((await session.scalars(statement)).all())


def test_months_parse_and_refuse() -> None:
    assert Month.parse("2026-11") == NOV_2026
    assert str(Month.parse(" 1999-01 ")) == "1999-01"
    assert (Month(2026, 1).previous(), Month(2026, 12).following()) == (Month(2025, 12), Month(2027, 1))
    for text, message in (
        ("2026-13", "between 01 and 12"),
        ("2026-00", "between 01 and 12"),
        ("1969-12", "between 1970 and 8999"),
        ("26-11", "YYYY-MM"),
        ("2026-1", "YYYY-MM"),
        ("2026/11", "YYYY-MM"),
        ("x" * 10_000, "YYYY-MM"),
    ):
        with pytest.raises(BadMonth, match=message):
            Month.parse(text)


def test_a_month_is_counted_in_the_tenants_time_zone() -> None:
    from zoneinfo import ZoneInfo

    start, end = Month(2024, 3).bounds(ZoneInfo("Europe/Vienna"))
    assert (start, end) == (datetime(2024, 2, 29, 23, tzinfo=UTC), datetime(2024, 3, 31, 22, tzinfo=UTC))
    assert (end - start) == timedelta(hours=743)  # summer time began on March 31


async def test_the_report_of_a_hand_built_month(services: Services) -> None:
    tenant = await make_dated_tenant(services, "esr")
    built = await build_november(services, tenant)
    report = await compute_report(services.database, tenant.id, "UTC", NOV_2026, REPORT_TIME, page_size=2)
    assert (report.month, report.timezone, report.hours) == ("2026-11", "UTC", NOVEMBER["hours"])
    assert (report.period_start, report.period_end) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert {status.value: count for status, count in report.statuses.items()} == NOVEMBER["statuses"]
    assert list(report.statuses) == list(ReservationStatus)
    assert {
        item.name: (item.stock, item.held_hours, item.available_hours, item.utilization, item.reservations)
        for item in report.items
    } == NOVEMBER["items"]
    assert [item.name for item in report.items] == sorted(NOVEMBER["items"])
    assert {
        use.category: (use.items, use.stock, use.held_hours, use.available_hours, use.utilization)
        for use in report.categories
    } == NOVEMBER["categories"]
    assert [item.name for item in report.top_items] == NOVEMBER["top"]
    assert [(entry.reservation_id, entry.status.value, entry.hours_late) for entry in report.overdue] == [
        (built.reservations[key], status, late) for key, status, late in NOVEMBER["overdue"]
    ]
    assert report.overdue_total == 3
    returned = [entry for entry in report.overdue if entry.status is ReservationStatus.RETURNED]
    assert [entry.returned_at for entry in returned] == [datetime(2026, 11, 21, 3, tzinfo=UTC)]
    assert all(entry.returned_at is None for entry in report.overdue if entry not in returned)
    # Stored and read back, it says the same; the page size changes nothing.
    assert ReportData.from_json(report.to_json()) == report
    whole = await compute_report(services.database, tenant.id, "UTC", NOV_2026, REPORT_TIME)
    assert whole == report


async def test_a_report_counts_the_month_in_the_tenants_zone(services: Services) -> None:
    tenant = await make_dated_tenant(services, "vie", timezone="Europe/Vienna")
    built = Built(tenant)
    await add_equipment(services, built, "wall", name="Wall", quantity=2)
    # 23:30 UTC on Feb 29 is March 1 in Vienna; 22:30 UTC on March 31 is April there.
    await add_reservation(
        services, built, "edge", ReservationStatus.CONFIRMED,
        datetime(2024, 2, 29, 22, 30, tzinfo=UTC), datetime(2024, 2, 29, 23, 30, tzinfo=UTC), [("wall", 2)],
    )  # fmt: skip
    await add_reservation(
        services, built, "late", ReservationStatus.CONFIRMED,
        datetime(2024, 3, 31, 21, 30, tzinfo=UTC), datetime(2024, 3, 31, 22, 30, tzinfo=UTC), [("wall", 1)],
    )  # fmt: skip
    report = await compute_report(services.database, tenant.id, "Europe/Vienna", Month(2024, 3), REPORT_TIME)
    assert (report.timezone, report.hours) == ("Europe/Vienna", 743.0)
    (item,) = report.items
    assert (item.held_hours, item.available_hours, item.reservations) == (1.5, 1486.0, 2)


async def test_another_tenants_rows_are_not_in_the_report(services: Services) -> None:
    esr = await make_dated_tenant(services, "esr")
    cmh = await make_dated_tenant(services, "cmh")
    await build_november(services, esr)
    other = Built(cmh)
    await add_equipment(services, other, "tent", name="Marquee", quantity=7, category="Tents")
    await add_reservation(services, other, "big", ReservationStatus.CHECKED_OUT, datetime(2026, 11, 3, tzinfo=UTC),
                          datetime(2026, 11, 4, tzinfo=UTC), [("tent", 7)])  # fmt: skip
    esr_report = await compute_report(services.database, esr.id, "UTC", NOV_2026, REPORT_TIME)
    cmh_report = await compute_report(services.database, cmh.id, "UTC", NOV_2026, REPORT_TIME)
    assert "Marquee" not in report_csv(esr_report) and "Tents" not in report_csv(esr_report)
    assert {status.value: count for status, count in esr_report.statuses.items()} == NOVEMBER["statuses"]
    assert [(item.name, item.held_hours) for item in cmh_report.items] == [("Marquee", 168.0)]
    assert sum(cmh_report.statuses.values()) == 1 and cmh_report.overdue_total == 1


async def test_the_schedule_makes_one_report_per_tenant_once(services: Services) -> None:
    esr = await make_dated_tenant(services, "esr")
    cmh = await make_dated_tenant(services, "cmh")
    west = await make_dated_tenant(services, "lax", timezone="America/Los_Angeles")
    await build_november(services, esr)
    schedules = [report_jobs.SCHEDULE]
    first_of_month = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    await Worker(services, clock=at_clock(first_of_month), schedules=schedules).run_due()
    for tenant in (esr, cmh):
        (stored,) = await reports_of(services, tenant.id)
        assert (stored.month, stored.created_at) == ("2026-11", first_of_month)
        (event,) = await report_events(services, tenant.id)
        assert (event.event, event.actor_kind, event.changes) == (
            "report.created",
            "system",
            {"month": [None, "2026-11"]},
        )
        assert event.target_id == stored.id
    # November still runs in Los Angeles (UTC-8): its report is due at 08:00 UTC.
    assert await reports_of(services, west.id) == []
    esr_report = ReportData.from_json((await reports_of(services, esr.id))[0].data)
    assert [item.name for item in esr_report.top_items] == NOVEMBER["top"]

    # Later in the month, however many workers: no second report, no second event.
    later = datetime(2026, 12, 1, 9, tzinfo=UTC)
    for _ in range(3):
        await Worker(services, clock=at_clock(later), schedules=schedules).run_due()
    (west_report,) = await reports_of(services, west.id)
    assert west_report.data["timezone"] == "America/Los_Angeles"
    assert west_report.data["period_end"] == "2026-12-01T08:00:00+00:00"
    for tenant in (esr, cmh, west):
        assert len(await reports_of(services, tenant.id)) == 1
        assert len(await report_events(services, tenant.id)) == 1
    async with services.database.session(None) as session:
        jobs = (await session.scalars(select(Job).where(col(Job.kind) == report_jobs.GENERATE_KIND))).all()
    assert sorted(job.unique_key or "" for job in jobs) == sorted(
        report_jobs.generate_key(tenant.id, NOV_2026) for tenant in (esr, cmh, west)
    )


async def test_generating_a_month_twice_changes_nothing(services: Services) -> None:
    tenant = await make_dated_tenant(services, "esr")
    await build_november(services, tenant)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    for attempt in range(2):
        # A second job for the same month (under another key) finds the report and leaves it.
        async with services.database.transaction(None) as session:
            job = report_jobs.report_job(tenant.id, "UTC", NOV_2026, now)
            job.unique_key = f"again:{attempt}"
            session.add(job)
        await Worker(services, clock=at_clock(now), schedules=[]).run_due()
    (stored,) = await reports_of(services, tenant.id)
    assert len(await report_events(services, tenant.id)) == 1
    assert stored.data == (await compute_report(services.database, tenant.id, "UTC", NOV_2026, now)).to_json()


async def test_a_tenant_made_after_the_month_gets_no_report_of_it(services: Services) -> None:
    from tests.api import make_tenant

    newcomer = await make_tenant(services, "new")  # created now
    # The run at the start of the month it was made in reports the month before.
    start, _ = Month.of(newcomer.created_at, UTC).bounds(UTC)
    await Worker(
        services, clock=at_clock(start + timedelta(minutes=1)), schedules=[report_jobs.SCHEDULE]
    ).run_due()
    assert await reports_of(services, newcomer.id) == []


async def test_a_report_made_on_demand_is_kept_and_replaced_only_when_asked(services: Services) -> None:
    tenant = await make_dated_tenant(services, "esr")
    built = await build_november(services, tenant)
    first = await month_report(services.database, "esr", NOV_2026, REPORT_TIME)
    await add_reservation(services, built, "extra", ReservationStatus.CONFIRMED, datetime(2026, 11, 7, tzinfo=UTC),
                          datetime(2026, 11, 8, tzinfo=UTC), [("idle", 5)])  # fmt: skip
    again = await month_report(services.database, "esr", NOV_2026, REPORT_TIME + timedelta(days=1))
    assert again == first
    replaced = await month_report(
        services.database, "esr", NOV_2026, REPORT_TIME + timedelta(days=1), recompute=True
    )
    idle = next(item for item in replaced.items if item.name == "Idle truss")
    assert (idle.held_hours, idle.reservations) == (120.0, 1)
    (stored,) = await reports_of(services, tenant.id)
    assert ReportData.from_json(stored.data) == replaced
    events = await report_events(services, tenant.id)
    assert sorted((entry.action, entry.event) for entry in events) == [
        ("monthly_report.created", "report.created"),
        ("monthly_report.updated", None),
    ]


def test_csv_cells_that_start_a_formula_are_quoted() -> None:
    assert [safe_cell(value) for value in ("=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\r=y", "LED", "a=b")] == [
        "'=1+1", "'+cmd", "'-2", "'@SUM(A1)", "'\tx", "'\r=y", "LED", "a=b",
    ]  # fmt: skip
    assert [safe_cell(value) for value in (None, 3, 0.5, 12.0, 0.04097)] == ["", "3", "0.5", "12", "0.041"]


async def test_the_csv_has_every_section_and_guards_names(services: Services) -> None:
    tenant = await make_dated_tenant(services, "esr")
    await build_november(services, tenant, names={"wall": '=HYPERLINK("http://evil.example","x")'})
    report = await compute_report(services.database, tenant.id, "UTC", NOV_2026, REPORT_TIME)
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    titles = [row[0] for index, row in enumerate(rows) if index == 0 or (rows[index - 1] == [] and row)]
    assert titles == [
        "Monthly report",
        "Reservations by status",
        "Utilization by category",
        "Utilization by item",
        "Most booked items (by held hours)",
        "Overdue returns (3)",
    ]
    assert ["month", "2026-11"] in rows and ["hours", "720"] in rows
    assert ["RETURNED", "4"] in rows
    assert ["LED", "2", "4", "190", "2880", "6.6"] in rows
    wall = "'" + '=HYPERLINK("http://evil.example","x")'
    assert ["WALL", wall, "LED", "4", "118", "2880", "4.1", "3"] in rows
    assert ["1", "WALL", wall, "118", "3"] in rows
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
