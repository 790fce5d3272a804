"""Operations and helpers for the self-service tests: sign-up, confirmation mail, one's own account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from auth.services import Services
from settings import Settings
from tests.api import Api
from tests.conftest import settings_for
from tests.mailbox import Mailbox, free_port, part, smtp_server
from tests.notify import deliver

ANONYMOUS_BUDGET = 10

SIGN_UP = """
mutation($input: SignUpInput!) {
  signUp(input: $input) {
    __typename
    ... on SignUpSuccess { message }
    ... on ValidationError { fields { field message } }
    ... on RateLimitedError { retryAfter }
    ... on Error { code }
  }
}
"""
VERIFY = """
mutation($token: String!) {
  verifyEmail(input: {token: $token}) {
    __typename ... on VerifyEmailSuccess { email } ... on Error { code message }
  }
}
"""
UPDATE_ME = """
mutation($input: UpdateMeInput!) {
  updateMe(input: $input) {
    __typename
    ... on UpdateMeSuccess { user { email name phone role emailVerified } }
    ... on ValidationError { fields { field message } }
    ... on Error { code }
  }
}
"""
CHANGE_EMAIL = """
mutation($input: ChangeEmailInput!) {
  changeEmail(input: $input) {
    __typename ... on ChangeEmailSuccess { message } ... on ValidationError { fields { field } } ... on Error { code }
  }
}
"""
DELETE_ME = """
mutation($password: String!) {
  deleteMe(input: {password: $password}) { __typename ... on DeleteMeSuccess { userId } ... on Error { code message } }
}
"""
ANONYMIZE = """
mutation($id: ID!) {
  anonymizeUser(input: {id: $id}) {
    __typename
    ... on UserSuccess { user { id email name phone isActive emailVerified anonymizedAt } }
    ... on NotFoundError { field }
    ... on Error { code message }
  }
}
"""
UPDATE_TENANT = """
mutation($input: UpdateTenantInput!) {
  updateTenant(input: $input) {
    __typename
    ... on TenantSettingsSuccess { tenant { name timezone allowCustomerSignUp requestExpiryHours } }
    ... on ValidationError { fields { field message } }
    ... on Error { code }
  }
}
"""
ME = "query { me { id email name phone emailVerified } }"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mailbox(port: int) -> Iterator[Mailbox]:
    box = Mailbox()
    with smtp_server(box, port):
        yield box


@pytest.fixture
def settings(database_url: str, port: int) -> Settings:
    return settings_for(
        database_url,
        smtp_url=f"smtp://127.0.0.1:{port}",
        anonymous_max_attempts_per_address=ANONYMOUS_BUDGET,
    )


async def sign_up(api: Api, tenant: str, email: str, **fields: Any) -> dict[str, Any]:
    values = {"tenant": tenant, "email": email, "password": "Tent-Poles-2031", **fields}
    result: dict[str, Any] = (await api.data(SIGN_UP, {"input": values}))["signUp"]
    return result


async def allow_sign_up(api: Api, admin_token: str, allowed: bool = True) -> None:
    result = (await api.data(UPDATE_TENANT, {"input": {"allowCustomerSignUp": allowed}}, token=admin_token))[
        "updateTenant"
    ]
    assert result["__typename"] == "TenantSettingsSuccess", result


async def mailed(services: Services, mailbox: Mailbox) -> list[tuple[str, str, str]]:
    """Deliver what is queued; every message so far as (to, subject, text), then forget them."""
    await deliver(services)
    found = [(str(m["To"]), str(m["Subject"]), part(m, "plain")) for m in mailbox.messages]
    mailbox.messages.clear()
    return found


def token_in(text: str) -> str:
    found = re.search(r"confirmation token: (\S+)", text)
    assert found is not None, text
    return found.group(1)


async def verify(api: Api, token: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(VERIFY, {"token": token}))["verifyEmail"]
    return result
