"""``monthlyReports`` and ``monthlyReport(month:)``: a tenant's monthly reports, for its managers and admins."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.tables import Role
from resolvers.pagination import PageArgs
from resolvers.reports.store import list_reports, month_argument, report_of_month
from schema.context import Info
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least
from schema.types.report import MonthlyReport

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
