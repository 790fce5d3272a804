"""Monthly reports over GraphQL and HTTP: for managers and admins of the tenant only.

Typed sections and the CSV field, month validation, every role, another tenant's
admin by month and by id, and the ``GET /reports/{month}.csv`` download.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from auth.services import Services
from resolvers.reports.months import Month
from resolvers.reports.on_demand import month_report
from schema.node import to_global_id
from tests.api import Api, TenantUsers, error_codes
from tests.reports import REPORT_TIME, build_november

NOV_2026 = Month(2026, 11)
REPORT = """
query Report($month: String!) {
  monthlyReport(month: $month) {
    id month timezone periodStart periodEnd hours generatedAt createdAt overdueCount
    reservationsByStatus { status count }
    categories { category items stock heldHours availableHours utilization }
    items { equipmentId name code category stock heldHours availableHours utilization reservations }
    topItems { name heldHours reservations }
    overdueReturns { reservationId number title status endsAt returnedAt hoursLate }
    csv
  }
}
"""
REPORTS = "{ monthlyReports(first: 10) { totalCount edges { node { id month } } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename ... on MonthlyReport { month } } }"


@pytest.fixture
async def november(services: Services, esr: TenantUsers) -> dict[str, Any]:
    built = await build_november(services, esr.tenant, names={"wall": "=cmd|'/c calc'!A1"})
    await month_report(services.database, "esr", NOV_2026, REPORT_TIME)
    return {"built": built}


async def test_managers_and_admins_read_the_typed_report(
    api: Api, november: dict[str, Any], admin_token: str, manager_token: str
) -> None:
    for token in (admin_token, manager_token):
        report = (await api.data(REPORT, {"month": "2026-11"}, token=token))["monthlyReport"]
        assert (report["month"], report["timezone"], report["hours"]) == ("2026-11", "UTC", 720.0)
        assert (report["periodStart"], report["periodEnd"]) == (
            "2026-11-01T00:00:00+00:00",
            "2026-12-01T00:00:00+00:00",
        )
        assert report["overdueCount"] == 3
        assert {row["status"]: row["count"] for row in report["reservationsByStatus"]} == {
            "REQUESTED": 1, "CONFIRMED": 1, "CHECKED_OUT": 2, "RETURNED": 4, "CANCELED": 1, "DECLINED": 1, "EXPIRED": 0,
        }  # fmt: skip
        led = next(row for row in report["categories"] if row["category"] == "LED")
        assert led == {"category": "LED", "items": 2, "stock": 4, "heldHours": 190.0, "availableHours": 2880.0,
                       "utilization": 0.066}  # fmt: skip
        wall = next(row for row in report["items"] if row["code"] == "WALL")
        equipment = november["built"].equipment["wall"]
        assert wall["equipmentId"] == to_global_id("Equipment", equipment.id)
        assert (wall["heldHours"], wall["utilization"], wall["reservations"]) == (118.0, 0.041, 3)
        old = next(row for row in report["items"] if row["code"] == "OLD")
        assert (old["stock"], old["utilization"]) == (0, None)
        assert [row["name"] for row in report["topItems"]] == [
            "=cmd|'/c calc'!A1",
            "Old wall",
            "Stage deck",
            "Camera",
        ]
        late = [row for row in report["overdueReturns"] if row["status"] == "RETURNED"]
        assert [(row["hoursLate"], row["returnedAt"]) for row in late] == [(3.0, "2026-11-21T03:00:00+00:00")]
        rows = list(csv.reader(io.StringIO(report["csv"])))
        assert ["WALL", "'=cmd|'/c calc'!A1", "LED", "4", "118", "2880", "4.1", "3"] in rows
        listed = (await api.data(REPORTS, token=token))["monthlyReports"]
        assert listed["totalCount"] == 1
        assert listed["edges"][0]["node"] == {"id": report["id"], "month": "2026-11"}
        assert (await api.data(NODE, {"id": report["id"]}, token=token))["node"] == {
            "__typename": "MonthlyReport",
            "month": "2026-11",
        }


async def test_a_month_without_a_report_is_null(api: Api, november: dict[str, Any], admin_token: str) -> None:
    assert (await api.data(REPORT, {"month": "2026-10"}, token=admin_token)) == {"monthlyReport": None}


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "between 01 and 12"),
        ("2026-1", "YYYY-MM"),
        ("November", "YYYY-MM"),
        ("0099-01", "between 1970 and 8999"),
        ("9" * 5000, "YYYY-MM"),
    ],
)
async def test_a_malformed_month_is_refused_clearly(
    api: Api, november: dict[str, Any], admin_token: str, month: str, message: str
) -> None:
    body = await api.post(REPORT, {"month": month}, token=admin_token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"].startswith("`month`: ") and message in body["errors"][0]["message"]


async def test_other_roles_are_refused(
    api: Api, november: dict[str, Any], staff_token: str, customer_token: str, operator_token: str
) -> None:
    for token in (staff_token, customer_token, operator_token):
        for query, variables in ((REPORT, {"month": "2026-11"}), (REPORTS, None)):
            body = await api.post(query, variables, token=token)
            assert error_codes(body) == ["FORBIDDEN"], body
    for query, variables in ((REPORT, {"month": "2026-11"}), (REPORTS, None)):
        assert error_codes(await api.post(query, variables)) == ["UNAUTHENTICATED"]


async def test_staff_and_customers_do_not_find_a_report_by_id(
    api: Api, november: dict[str, Any], admin_token: str, staff_token: str, customer_token: str
) -> None:
    report_id = (await api.data(REPORT, {"month": "2026-11"}, token=admin_token))["monthlyReport"]["id"]
    for token in (staff_token, customer_token):
        assert await api.data(NODE, {"id": report_id}, token=token) == {"node": None}


async def test_another_tenants_admin_reads_nothing_of_it(
    api: Api,
    services: Services,
    cmh: TenantUsers,
    november: dict[str, Any],
    admin_token: str,
    other_tenant_admin_token: str,
) -> None:
    report_id = (await api.data(REPORT, {"month": "2026-11"}, token=admin_token))["monthlyReport"]["id"]
    assert await api.data(REPORT, {"month": "2026-11"}, token=other_tenant_admin_token) == {
        "monthlyReport": None
    }
    assert await api.data(NODE, {"id": report_id}, token=other_tenant_admin_token) == {"node": None}
    listed = await api.data(REPORTS, token=other_tenant_admin_token)
    assert listed == {"monthlyReports": {"totalCount": 0, "edges": []}}
    # Its own report of the month says nothing of esr's.
    await month_report(services.database, "cmh", NOV_2026, REPORT_TIME)
    own = (await api.data(REPORT, {"month": "2026-11"}, token=other_tenant_admin_token))["monthlyReport"]
    assert own["id"] != report_id
    assert own["items"] == [] and sum(row["count"] for row in own["reservationsByStatus"]) == 0
    assert "WALL" not in own["csv"]


async def test_the_csv_download(
    client: httpx.AsyncClient,
    api: Api,
    november: dict[str, Any],
    manager_token: str,
    staff_token: str,
    other_tenant_admin_token: str,
) -> None:
    expected = (await api.data(REPORT, {"month": "2026-11"}, token=manager_token))["monthlyReport"]["csv"]

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    response = await client.get("/reports/2026-11.csv", headers=bearer(manager_token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="report-2026-11.csv"'
    assert response.text == expected
    assert (await client.get("/reports/2026-11.csv")).status_code == 401
    assert (await client.get("/reports/2026-11.csv", headers=bearer("not-a-token"))).status_code == 401
    assert (await client.get("/reports/2026-11.csv", headers=bearer(staff_token))).status_code == 403
    assert (
        await client.get("/reports/2026-11.csv", headers=bearer(other_tenant_admin_token))
    ).status_code == 404
    assert (await client.get("/reports/2026-10.csv", headers=bearer(manager_token))).status_code == 404
    refused = await client.get("/reports/2026-13.csv", headers=bearer(manager_token))
    assert (refused.status_code, refused.text) == (400, "month: The month must be between 01 and 12.")


async def test_the_audit_trail_names_the_report_as_the_object_made(
    api: Api, november: dict[str, Any], admin_token: str
) -> None:
    report_id = (await api.data(REPORT, {"month": "2026-11"}, token=admin_token))["monthlyReport"]["id"]
    trail = await api.data(
        '{ auditEvents(first: 5, filter: {action: "monthly_report.created"}) '
        "{ edges { node { targetType targetId changes actorKind actor { id } } } } }",
        token=admin_token,
    )
    assert [edge["node"] for edge in trail["auditEvents"]["edges"]] == [
        {
            "targetType": "MonthlyReport",
            "targetId": report_id,
            "changes": {"month": [None, "2026-11"]},
            "actorKind": "system",
            "actor": None,
        }
    ]
