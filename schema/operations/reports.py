"""``monthlyReports``, ``monthlyReport(month:)`` and the dashboard ``stats(from:, to:)``: a tenant's
business figures, for its managers and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from db.clock import utcnow
from db.tables import Role
from resolvers.pagination import PageArgs
from resolvers.reports.stats import DEFAULT_TOP_ITEMS, MAX_TOP_ITEMS, stats, stats_request
from resolvers.reports.store import list_reports, month_argument, report_of_month
from schema.context import Info
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least
from schema.types.report import MonthlyReport
from schema.types.stats import Stats

MonthArg = Annotated[
    str, strawberry.argument(description="The month, written `YYYY-MM` (e.g. `2026-11`), years 1970–8999.")
]


@strawberry.type
class ReportQuery:
    @strawberry.field(
        description="Your tenant's monthly reports, newest month first (ADMIN and MANAGER). A report is "
        "made once the month has ended in your tenant's time zone.",
        extensions=role_at_least(Role.MANAGER),
    )
    @paginated
    async def monthly_reports(self, info: Info, paging: PageArgs) -> Connection[MonthlyReport]:
        context = info.context
        page = await list_reports(context, context.caller(), paging)
        return to_connection(page, MonthlyReport.from_row)

    @strawberry.field(
        description="Your tenant's report on one month; null until it is made (ADMIN and MANAGER).",
        extensions=role_at_least(Role.MANAGER),
    )
    async def monthly_report(self, info: Info, month: MonthArg) -> MonthlyReport | None:
        context = info.context
        row = await report_of_month(context, context.caller(), month_argument(month))
        return MonthlyReport.from_row(row) if row is not None else None

    @strawberry.field(
        description="Your tenant's dashboard over a window, worked out now (ADMIN and MANAGER): reservations "
        "by status, utilization per category, the most booked items, what is due today and late, new "
        "customers. The window is at most `RIGBOOK_STATS_MAX_DAYS` days (366 unless configured).",
        extensions=role_at_least(Role.MANAGER),
    )
    async def stats(
        self,
        info: Info,
        from_: Annotated[
            datetime, strawberry.argument(name="from", description="Window start (inclusive, with offset).")
        ],
        to: Annotated[datetime, strawberry.argument(description="Window end (exclusive, with offset).")],
        top: Annotated[
            int,
            strawberry.argument(description=f"How many of the most booked items to list, 1–{MAX_TOP_ITEMS}."),
        ] = DEFAULT_TOP_ITEMS,
    ) -> Stats:
        context = info.context
        caller = context.caller()
        request = stats_request(from_, to, top, max_days=context.services.settings.stats_max_days)
        return Stats.of(await stats(context, caller, request, utcnow()))
