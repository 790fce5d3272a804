"""A report made when asked (``rigbook report``): the stored one, or one computed now.

Only a month that has ended in the tenant's time zone can be reported on: a report
of a month still running would be kept as the month's report for good. A month with
a report gets that report back, unless ``replace`` asks for it to be computed again
(an update: the ``report.created`` event, and so the admins' mail, comes only once).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from db.audit import ACTOR_INFO_KEY, Actor
from db.database import Database
from db.tables import Tenant
from resolvers.reports.compute import compute_report
from resolvers.reports.content import ReportData
from resolvers.reports.months import Month, zone_of
from resolvers.reports.store import find, insert_once, replace

COMMAND_ACTOR = Actor(None, "system", "rigbook report")


class ReportRefused(Exception):
    """The report cannot be made: no such tenant, or a month that has not ended."""


async def month_report(
    database: Database, slug: str, month: Month, now: datetime, *, recompute: bool = False
) -> ReportData:
    """The tenant's report on ``month``: stored, or computed and stored now."""
    async with database.session(None) as session:
        tenant = (
            await session.scalars(select(Tenant).where(col(Tenant.slug) == slug.strip().lower()))
        ).first()
    if tenant is None:
        raise ReportRefused(f"no tenant has the slug {slug!r}")
    _, end = month.bounds(zone_of(tenant.timezone))
    if now < end:
        raise ReportRefused(
            f"{month} has not ended yet in {zone_of(tenant.timezone).key} (it ends {end.isoformat()})"
        )
    async with database.session(tenant.id) as session:
        stored = await find(session, tenant.id, month)
    if stored is not None and not recompute:
        return ReportData.from_json(stored.data)
    data = await compute_report(database, tenant.id, tenant.timezone, month, now)
    async with database.transaction(tenant.id) as session:
        session.info[ACTOR_INFO_KEY] = COMMAND_ACTOR
        stored = await find(session, tenant.id, month)
        if stored is None:
            await insert_once(session, tenant.id, data, now)
        elif recompute:
            await replace(session, stored, data)
        else:  # made by the job meanwhile
            return ReportData.from_json(stored.data)
    return data
