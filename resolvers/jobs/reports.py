"""Monthly reports as jobs: a schedule that asks for last month's report of every tenant, and the job that makes one.

``reports.monthly`` runs once per calendar month (UTC), as early in it as a worker
runs. It queues one ``report.generate`` job per tenant for the month before, keyed
by tenant and month (``db/queue.add_once``), so however often it runs, each report
is asked for once. A tenant's month ends at midnight in its own time zone, so the
job is due then: west of UTC that is some hours into the UTC month.

``report.generate`` computes the month in a read transaction, then inserts it in
``run.transaction(tenant_id)`` (audited as the system; the insert announces
``report.created``). A month that already has its report is left as it is.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col

from db.queue import Backoff, add_once
from db.tables import Job, Tenant
from db.tenant_pages import tenant_pages
from resolvers.jobs.registry import JobRun, handler
from resolvers.jobs.schedules import monthly
from resolvers.reports.compute import compute_report
from resolvers.reports.months import Month, zone_of
from resolvers.reports.store import find, insert_once

PLAN_KIND = "reports.monthly"
GENERATE_KIND = "report.generate"

SCHEDULE = monthly(PLAN_KIND)


class MonthNotOver(Exception):
    """The month has not ended in the tenant's time zone yet: try again later."""


def generate_key(tenant_id: uuid.UUID, month: Month) -> str:
    return f"{GENERATE_KIND}:{tenant_id}:{month}"


def report_job(tenant_id: uuid.UUID, timezone: str, month: Month, now: datetime) -> Job:
    """The job making ``month``'s report of the tenant, due when the month ends there."""
    _, end = month.bounds(zone_of(timezone))
    return Job(
        tenant_id=tenant_id,
        kind=GENERATE_KIND,
        unique_key=generate_key(tenant_id, month),
        run_at=max(now, end),
        payload={"month": str(month)},
    )


@handler(PLAN_KIND)
async def plan_reports(run: JobRun) -> None:
    slot = datetime.fromisoformat(run.job.payload["slot"]).astimezone(UTC)
    month = Month(slot.year, slot.month).previous()
    columns = (col(Tenant.timezone), col(Tenant.created_at))
    async for tenants in tenant_pages(run.services.database, *columns):
        # A page of tenants per transaction; ``add_once`` makes a rerun of a page harmless.
        async with run.transaction(None, completes=False) as session:
            for tenant in tenants:
                _, end = month.bounds(zone_of(tenant.timezone))
                if tenant.created_at < end:  # a tenant that did not exist in the month has nothing to report
                    await add_once(session, report_job(tenant.id, tenant.timezone, month, run.now))
    async with run.transaction(None):
        pass  # every page is planned: the job is done


# A month ends at most 14 hours after UTC midnight (UTC-12 at the latest): the
# retries cover that for a job that came due early (its tenant moved west).
@handler(GENERATE_KIND, max_attempts=20, backoff=Backoff(base=timedelta(minutes=1), cap=timedelta(hours=1)))
async def generate_report(run: JobRun) -> None:
    tenant_id = run.job.tenant_id
    if tenant_id is None:
        return
    month = Month.parse(run.job.payload["month"])
    database = run.services.database
    async with database.session(tenant_id) as session:
        tenant = await session.get(Tenant, tenant_id)
        stored = await find(session, tenant_id, month)
    if tenant is None or stored is not None:
        return
    _, end = month.bounds(zone_of(tenant.timezone))
    if run.now < end:
        raise MonthNotOver(f"{month} ends at {end.isoformat()} in {tenant.timezone}")
    data = await compute_report(database, tenant_id, tenant.timezone, month, run.now)
    async with run.transaction(tenant_id) as session:
        await insert_once(session, tenant_id, data, run.now)
