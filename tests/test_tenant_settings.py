"""A tenant's own settings: ``requestExpiryHours``, read by its users, changed by its admins."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import Api, TenantUsers, error_codes

READ = "{ tenant { slug requestExpiryHours } }"
UPDATE = """
mutation($input: UpdateTenantSettingsInput!) {
  updateTenantSettings(input: $input) {
    __typename
    ... on TenantSettingsSuccess { tenant { slug requestExpiryHours } }
    ... on ValidationError { fields { field message } }
    ... on Error { code message }
  }
}
"""
TRAIL = """
{ auditEvents(first: 10, filter: {action: "tenant.settings_changed"}) {
    edges { node { actorKind actor { email } changes targetType } } } }
"""


async def _update(api: Api, token: str, values: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(UPDATE, {"input": values}, token=token))["updateTenantSettings"]
    return result


async def test_an_admin_sets_and_resets_the_request_expiry(
    api: Api, admin_token: str, customer_token: str, other_tenant_admin_token: str, esr: TenantUsers
) -> None:
    assert await api.data(READ, token=admin_token) == {"tenant": {"slug": "esr", "requestExpiryHours": 72}}
    changed = await _update(api, admin_token, {"requestExpiryHours": 24})
    assert changed == {
        "__typename": "TenantSettingsSuccess",
        "tenant": {"slug": "esr", "requestExpiryHours": 24},
    }
    # Customers may read how long their requests wait; the other tenant keeps its own.
    assert (await api.data(READ, token=customer_token))["tenant"]["requestExpiryHours"] == 24
    assert (await api.data(READ, token=other_tenant_admin_token))["tenant"] == {
        "slug": "cmh",
        "requestExpiryHours": 72,
    }
    unchanged = await _update(api, admin_token, {})
    assert unchanged["tenant"]["requestExpiryHours"] == 24
    reset = await _update(api, admin_token, {"requestExpiryHours": None})
    assert reset["tenant"]["requestExpiryHours"] == 72

    trail = [edge["node"] for edge in (await api.data(TRAIL, token=admin_token))["auditEvents"]["edges"]]
    assert trail == [
        {
            "actorKind": "user",
            "actor": {"email": esr.admin.email},
            "changes": {"requestExpiryHours": [24, None]},
            "targetType": "Tenant",
        },
        {
            "actorKind": "user",
            "actor": {"email": esr.admin.email},
            "changes": {"requestExpiryHours": [None, 24]},
            "targetType": "Tenant",
        },
    ]


@pytest.mark.parametrize("hours", [0, -5, 2161, 10**9])
async def test_hours_out_of_bounds_are_refused(api: Api, admin_token: str, hours: int) -> None:
    refused = await _update(api, admin_token, {"requestExpiryHours": hours})
    assert refused["__typename"] == "ValidationError"
    assert refused["fields"] == [
        {"field": "requestExpiryHours", "message": "Must be between 1 and 2160 hours."}
    ]
    assert (await api.data(READ, token=admin_token))["tenant"]["requestExpiryHours"] == 72


@pytest.mark.parametrize("role", ["manager", "staff", "customer"])
async def test_only_admins_change_settings(
    api: Api, role: str, manager_token: str, staff_token: str, customer_token: str, admin_token: str
) -> None:
    token = {"manager": manager_token, "staff": staff_token, "customer": customer_token}[role]
    body = await api.post(UPDATE, {"input": {"requestExpiryHours": 1}}, token=token)
    assert error_codes(body) == ["FORBIDDEN"]
    assert (await api.data(READ, token=admin_token))["tenant"]["requestExpiryHours"] == 72
