"""``GET /reports/{month}.csv``: a monthly report as a CSV download, for managers and admins.

The same report as the ``csv`` field of ``monthlyReport(month:)``, for a browser or
``curl -H 'Authorization: Bearer …'``. The caller comes from the bearer token, as
for GraphQL, and the read runs under the same session check: 401 without a live
sign-in, 403 for a role that may not read reports, 400 for a malformed month, 404
for a month without a report.
"""

from __future__ import annotations

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from auth.services import Services
from resolvers.caller import CallerRefused
from resolvers.reports.content import ReportData
from resolvers.reports.csv_export import report_csv
from resolvers.reports.months import BadMonth, Month
from resolvers.reports.store import report_of_month
from web.context import build_context

STATUS_OF_CODE = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}


class ReportDownload:
    """The endpoint; one per app."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def endpoint(self, request: Request) -> Response:
        try:
            month = Month.parse(request.path_params["month"])
        except BadMonth as error:
            return PlainTextResponse(f"month: {error}", 400)
        context = build_context(self.services, request)
        try:
            row = await report_of_month(context, context.caller(), month)
        except (CallerRefused, GraphQLError) as error:
            code = (error.extensions or {}).get("code")
            status = STATUS_OF_CODE.get(code if isinstance(code, str) else "", 403)
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return PlainTextResponse(error.message, status, headers=headers)
        finally:
            await context.close()
        if row is None:
            return PlainTextResponse(f"No report for {month} yet.", 404)
        return Response(
            report_csv(ReportData.from_json(row.data)),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="report-{month}.csv"',
                "Cache-Control": "no-store",
            },
        )
