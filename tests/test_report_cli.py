"""``rigbook report --tenant SLUG --month YYYY-MM``: prints the month's report as CSV, made once."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from auth.services import Services
from cli import main
from db.tables import AuditEvent, MonthlyReport, ReservationStatus
from tests.conftest import TEST_SECRET
from tests.reports import add_reservation, build_november, make_dated_tenant


async def rigbook(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_report_prints_the_stored_report_and_recomputes_when_asked(
    database_url: str, services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RIGBOOK_DATABASE_URL", database_url)
    monkeypatch.setenv("RIGBOOK_JWT_SECRET", TEST_SECRET)
    tenant = await make_dated_tenant(services, "esr")
    built = await build_november(services, tenant)

    assert await rigbook("report", "--tenant", "esr", "--month", "2026-11") == 0
    first = capsys.readouterr().out
    rows = rows_of(first)
    assert rows[0] == ["Monthly report"] and ["month", "2026-11"] in rows
    assert ["WALL", "LED wall", "LED", "4", "118", "2880", "4.1", "3"] in rows
    assert ["IDLE", "Idle truss", "", "5", "0", "3600", "0", "0"] in rows

    # The month's report is kept: a booking added later changes it only with --replace.
    await add_reservation(services, built, "extra", ReservationStatus.CONFIRMED, datetime(2026, 11, 7, tzinfo=UTC),
                          datetime(2026, 11, 8, tzinfo=UTC), [("idle", 5)])  # fmt: skip
    assert await rigbook("report", "--tenant", "esr", "--month", "2026-11") == 0
    assert capsys.readouterr().out == first
    assert await rigbook("report", "--tenant", "ESR", "--month", "2026-11", "--replace") == 0
    assert ["IDLE", "Idle truss", "", "5", "120", "3600", "3.33", "1"] in rows_of(capsys.readouterr().out)

    async with services.database.session(tenant.id) as session:
        stored = (await session.scalars(select(MonthlyReport))).all()
        events = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.target_type) == "monthly_report"))
        ).all()
    assert [report.month for report in stored] == ["2026-11"]
    assert sorted((event.action, event.event, event.request_id) for event in events) == [
        ("monthly_report.created", "report.created", "rigbook report"),
        ("monthly_report.updated", None, "rigbook report"),
    ]


async def test_report_refuses_what_it_cannot_make(
    database_url: str, services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RIGBOOK_DATABASE_URL", database_url)
    monkeypatch.setenv("RIGBOOK_JWT_SECRET", TEST_SECRET)
    tenant = await make_dated_tenant(services, "esr")
    assert await rigbook("report", "--tenant", "nobody", "--month", "2026-11") == 1
    assert "no tenant has the slug 'nobody'" in capsys.readouterr().err
    assert await rigbook("report", "--tenant", "esr", "--month", "2999-01") == 1
    assert "2999-01 has not ended yet in UTC" in capsys.readouterr().err
    assert await rigbook("report", "--tenant", "esr", "--month", "2026-13") == 2
    assert "--month: The month must be between 01 and 12." in capsys.readouterr().err
    async with services.database.session(tenant.id) as session:
        assert (await session.scalars(select(MonthlyReport))).all() == []
