"""Password reset by mail, and operators acting inside a tenant."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from auth.services import Services
from db.clock import utcnow
from db.tables import OutboxEmail, PasswordReset
from resolvers.jobs.worker import Worker
from schema.node import to_global_id
from tests.api import DEFAULT_PASSWORD, OPERATOR_EMAIL, Api, TenantUsers, error_codes

REQUEST = (
    "mutation($t: String!, $e: String!) { requestPasswordReset(input: {tenant: $t, email: $e}) { message } }"
)
RESET = """
mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, newPassword: $password}) {
    __typename ... on ResetPasswordSuccess { revokedSessions } ... on ValidationError { fields { field } } ... on Error { code }
  }
}
"""
REFRESH = "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { __typename } }"
NEW_PASSWORD = "Fresh-Start-2031"


async def mailed_token(
    api: Api, services: Services, caplog: pytest.LogCaptureFixture, tenant: str, email: str
) -> str:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rigbook.mail"):
        await api.data(REQUEST, {"t": tenant, "e": email})
        await Worker(services).run_due()
    found = re.search(r"reset token: (\S+)", caplog.text)
    assert found is not None, caplog.text
    return found.group(1)


async def test_a_reset_mail_sets_a_new_password_and_ends_every_session(
    api: Api, services: Services, esr: TenantUsers, caplog: pytest.LogCaptureFixture
) -> None:
    session = await api.login("esr", esr.staff.email)
    token = await mailed_token(api, services, caplog, "esr", esr.staff.email.upper())
    result = (await api.data(RESET, {"token": token, "password": NEW_PASSWORD}))["resetPassword"]
    assert result == {"__typename": "ResetPasswordSuccess", "revokedSessions": 1}
    assert (await api.data(REFRESH, {"t": session["refreshToken"]}))["refreshToken"][
        "__typename"
    ] == "InvalidTokenError"
    assert (await api.login("esr", esr.staff.email, DEFAULT_PASSWORD))["code"] == "INVALID_CREDENTIALS"
    assert (await api.login("esr", esr.staff.email, NEW_PASSWORD))["__typename"] == "LoginSuccess"
    again = (await api.data(RESET, {"token": token, "password": "Another-One-2031"}))["resetPassword"]
    assert again == {"__typename": "InvalidTokenError", "code": "INVALID_TOKEN"}


async def test_unknown_accounts_get_the_same_answer_and_no_mail(
    api: Api, services: Services, esr: TenantUsers
) -> None:
    known = await api.data(REQUEST, {"t": "esr", "e": esr.staff.email})
    unknown = await api.data(REQUEST, {"t": "esr", "e": "nobody@esr.example"})
    no_tenant = await api.data(REQUEST, {"t": "nope", "e": esr.staff.email})
    assert known == unknown == no_tenant
    await Worker(services).run_due()
    async with services.database.session(None) as session:
        mails = (await session.scalars(select(OutboxEmail))).all()
    assert [mail.to_address for mail in mails] == [esr.staff.email]
    assert mails[0].sent_at is not None
    assert mails[0].body == ""  # the one-time token does not stay at rest


async def test_expired_forged_and_weak_resets_are_refused(
    api: Api, services: Services, esr: TenantUsers, caplog: pytest.LogCaptureFixture
) -> None:
    token = await mailed_token(api, services, caplog, "esr", esr.staff.email)
    scope, token_id, _ = token.split(".")
    forged = (await api.data(RESET, {"token": f"{scope}.{token_id}.guess", "password": NEW_PASSWORD}))[
        "resetPassword"
    ]
    assert forged["code"] == "INVALID_TOKEN"
    weak = (await api.data(RESET, {"token": token, "password": "short"}))["resetPassword"]
    assert (weak["__typename"], weak["fields"]) == ("ValidationError", [{"field": "newPassword"}])
    async with services.database.transaction(esr.tenant.id) as session:
        for reset in (await session.scalars(select(PasswordReset))).all():
            reset.expires_at = utcnow() - timedelta(seconds=1)
    expired = (await api.data(RESET, {"token": token, "password": NEW_PASSWORD}))["resetPassword"]
    assert expired["code"] == "INVALID_TOKEN"


async def test_reset_requests_are_capped_per_account(api: Api, services: Services, esr: TenantUsers) -> None:
    for _ in range(6):
        await api.data(REQUEST, {"t": "esr", "e": esr.staff.email})
    await Worker(services).run_due()
    async with services.database.session(None) as session:
        assert len((await session.scalars(select(OutboxEmail))).all()) == 3


ASSUME = """
mutation($tenant: ID!, $reason: String!) {
  assumeTenant(input: {tenantId: $tenant, reason: $reason}) {
    __typename
    ... on AssumeTenantSuccess { accessToken expiresIn tenant { slug } }
    ... on ValidationError { fields { field } }
    ... on Error { code }
  }
}
"""


async def test_operators_act_in_a_tenant_only_through_an_audited_short_lived_token(
    api: Api, operator_token: str, esr: TenantUsers, cmh: TenantUsers
) -> None:
    assert error_codes(await api.post("query { users { totalCount } }", token=operator_token)) == [
        "FORBIDDEN"
    ]
    variables = {"tenant": to_global_id("Tenant", esr.tenant.id), "reason": "Ticket 4711: stuck reservation"}
    assumed = (await api.data(ASSUME, variables, token=operator_token))["assumeTenant"]
    assert assumed["__typename"] == "AssumeTenantSuccess"
    assert assumed["tenant"] == {"slug": "esr"}
    assert 0 < assumed["expiresIn"] <= 900
    token = assumed["accessToken"]
    users = await api.data("query { users(first: 100) { edges { node { tenant { slug } } } } }", token=token)
    assert {edge["node"]["tenant"]["slug"] for edge in users["users"]["edges"]} == {"esr"}
    who = await api.data("query { me { email } currentOperator { email } }", token=token)
    assert who == {"me": None, "currentOperator": {"email": OPERATOR_EMAIL}}
    admin = await api.token("esr", esr.admin.email)
    trail = await api.data(
        'query { auditEvents(first: 10, filter: {action: "operator.assumed_tenant"}) { edges { node { actorKind changes } } } }',
        token=admin,
    )
    [event] = [edge["node"] for edge in trail["auditEvents"]["edges"]]
    assert event["actorKind"] == "operator"
    assert event["changes"]["reason"] == [None, "Ticket 4711: stuck reservation"]
    # The assumed token stays inside its tenant.
    other = await api.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("User", cmh.admin.id)}, token=token
    )
    assert other == {"node": None}


async def test_assume_tenant_needs_an_operator_a_reason_and_a_real_tenant(
    api: Api, operator_token: str, admin_token: str, esr: TenantUsers
) -> None:
    tenant = to_global_id("Tenant", esr.tenant.id)
    assert error_codes(
        await api.post(ASSUME, {"tenant": tenant, "reason": "because"}, token=admin_token)
    ) == ["FORBIDDEN"]
    no_reason = (await api.data(ASSUME, {"tenant": tenant, "reason": " "}, token=operator_token))[
        "assumeTenant"
    ]
    assert (no_reason["__typename"], no_reason["fields"]) == ("ValidationError", [{"field": "reason"}])
    missing = await api.data(
        ASSUME, {"tenant": to_global_id("Tenant", esr.admin.id), "reason": "check"}, token=operator_token
    )
    assert missing["assumeTenant"]["code"] == "NOT_FOUND"


async def test_an_operator_acting_in_a_tenant_can_book(
    api: Api, operator_token: str, services: Services, esr: TenantUsers
) -> None:
    from tests.booking import create_equipment, line, reserve

    variables = {
        "tenant": to_global_id("Tenant", esr.tenant.id),
        "reason": "Booking on the phone for a customer",
    }
    token = (await api.data(ASSUME, variables, token=operator_token))["assumeTenant"]["accessToken"]
    wall = await create_equipment(api, token, name="Wall", code="W", quantity=1)
    booked = await reserve(api, token, [line(wall)], customerId=to_global_id("User", esr.customer.id))
    assert booked["reservation"]["createdBy"] is None
    assert booked["reservation"]["status"] == "CONFIRMED"
