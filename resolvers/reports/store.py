"""Writing a month's report once, and reading reports for the tenant's managers and admins.

A report is inserted past the unit of work and its audit entry written with
``db/audit.record``: the entry (``changes`` = the month) announces ``report.created``
(``db/events.py``) without copying the report itself into the append-only trail.
Inserting checks for the month's report first in the same write transaction, and
``(tenant_id, month)`` is unique behind it: a second run for a month changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from graphql import GraphQLError
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.audit import record
from db.events import event_name
from db.ids import new_id
from db.scoped import in_tenant, scoped
from db.tables import MonthlyReport
from resolvers.caller import CallerRefused, TenantCaller
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.reports.content import ReportData
from resolvers.reports.months import BadMonth, Month
from resolvers.transactions import Snapshot
from resolvers.visibility import sees_reports

TABLE = "monthly_report"
MANAGERS_ONLY = "Only managers and admins may read reports."


async def find(session: AsyncSession, tenant_id: uuid.UUID, month: Month) -> MonthlyReport | None:
    statement = scoped(MonthlyReport, tenant_id).where(col(MonthlyReport.month) == str(month))
    found: MonthlyReport | None = (await session.scalars(statement)).first()
    return found


async def insert_once(
    session: AsyncSession, tenant_id: uuid.UUID, data: ReportData, now: datetime
) -> uuid.UUID | None:
    """Insert the report unless the month has one; its id, or None when it had one already."""
    if await find(session, tenant_id, Month.parse(data.month)) is not None:
        return None
    report_id = new_id()
    await session.execute(
        insert(MonthlyReport).values(
            tenant_id=tenant_id, id=report_id, month=data.month, data=data.to_json(), created_at=now
        )
    )
    changes = {"month": [None, data.month]}
    record(
        session.sync_session,
        tenant_id=tenant_id,
        action=f"{TABLE}.created",
        target_type=TABLE,
        target_id=report_id,
        changes=changes,
        event=event_name(TABLE, "created", changes),
    )
    return report_id


async def replace(session: AsyncSession, report: MonthlyReport, data: ReportData) -> None:
    """Put a recomputed report in place of ``report`` (an update: it announces nothing)."""
    await session.execute(
        update(MonthlyReport)
        .where(in_tenant(MonthlyReport, report.tenant_id), col(MonthlyReport.id) == report.id)
        .values(data=data.to_json())
    )
    changes = {"generated_at": [report.data.get("generated_at"), data.generated_at.isoformat()]}
    record(
        session.sync_session,
        tenant_id=report.tenant_id,
        action=f"{TABLE}.updated",
        target_type=TABLE,
        target_id=report.id,
        changes=changes,
        event=event_name(TABLE, "updated", changes),
    )


def reader(caller: TenantCaller) -> TenantCaller:
    """``caller``, if they may read the tenant's reports; FORBIDDEN otherwise."""
    if not sees_reports(caller.principal):
        raise CallerRefused(MANAGERS_ONLY, "FORBIDDEN")
    return caller


def month_argument(text: str) -> Month:
    """The ``month`` argument as a month, or BAD_USER_INPUT saying what is wrong with it."""
    try:
        return Month.parse(text)
    except BadMonth as error:
        raise GraphQLError(f"`month`: {error}", extensions={"code": "BAD_USER_INPUT"}) from None


async def list_reports(snapshot: Snapshot, caller: TenantCaller, args: PageArgs) -> Page[MonthlyReport]:
    """The tenant's reports, newest month first."""
    statement = scoped(MonthlyReport, reader(caller).tenant_id)
    sort = [col(MonthlyReport.month), col(MonthlyReport.id)]
    return await paginate(snapshot, statement, sort=sort, descending=True, args=args)


async def report_of_month(snapshot: Snapshot, caller: TenantCaller, month: Month) -> MonthlyReport | None:
    statement = scoped(MonthlyReport, reader(caller).tenant_id).where(col(MonthlyReport.month) == str(month))
    rows = await snapshot.rows(statement.limit(1))
    return rows[0] if rows else None


async def report_by_id(
    snapshot: Snapshot, caller: TenantCaller, report_id: uuid.UUID
) -> MonthlyReport | None:
    statement = scoped(MonthlyReport, reader(caller).tenant_id).where(col(MonthlyReport.id) == report_id)
    rows = await snapshot.rows(statement)
    return rows[0] if rows else None
