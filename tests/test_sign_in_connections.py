"""Sign-in work never holds a pooled connection while it hashes a password or waits for another.

A burst of anonymous sign-ins used to take two connections each (the request's
read, then a second one to look the account up) and keep them through argon2:
three times the pool's worth of logins starved every other request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

import resolvers.jobs  # noqa: F401  (registers the mail job)
from auth.services import Services
from db.database import POOL_OVERFLOW, POOL_SIZE
from db.tables import Operator
from resolvers.jobs.worker import Worker
from tests.api import DEFAULT_PASSWORD, LOGIN, Api, TenantUsers
from tests.clients import Calls

ME = "query { me { email } }"
# Three times what the PostgreSQL pool hands out at once (its size plus overflow).
PARALLEL_LOGINS = 3 * (POOL_SIZE + POOL_OVERFLOW)


async def test_a_burst_of_logins_leaves_the_pool_to_everyone_else(
    api: Api, client: httpx.AsyncClient, esr: TenantUsers, admin_token: str
) -> None:
    async def guess(number: int) -> str:
        variables = {
            "input": {"tenant": "esr", "email": f"guest-{number % 7}@esr.example", "password": f"x-{number}"}
        }
        body = await api.post(LOGIN, variables)
        assert "errors" not in body, body
        typename: str = body["data"]["login"]["__typename"]
        return typename

    async def signed_in_read() -> Any:
        return await api.data(ME, token=admin_token)

    async def readiness() -> int:
        return (await client.get("/health/ready")).status_code

    results = await asyncio.gather(
        *(guess(number) for number in range(PARALLEL_LOGINS)), signed_in_read(), readiness()
    )
    *logins, me, ready = results
    assert set(logins) <= {"InvalidCredentialsError", "RateLimitedError"}, logins
    assert len(logins) == PARALLEL_LOGINS
    assert me == {"me": {"email": esr.admin.email}}
    assert ready == 200


class HeldConnections:
    """Pooled connections the app holds, seen at each checkout and at each password hash.

    Held means checked out of SQLAlchemy's pool and not idle among the kept read
    connections (``db/reads.py``).
    """

    def __init__(self, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
        self._database = services.database
        self._pool = services.database.engine.sync_engine.pool
        self.while_opening: list[int] = []
        self.while_hashing: list[int] = []
        for name in ("hash", "verify"):
            Calls(
                monkeypatch, services.passwords, name, before=lambda: self.while_hashing.append(self.held())
            )

    def held(self) -> int:
        checked_out: int = self._pool.checkedout()  # type: ignore[attr-defined]
        return checked_out - len(self._database.kept_reads)

    def _on_checkout(self, *_args: Any) -> None:
        # The connection being checked out is counted already; the others are what matters.
        self.while_opening.append(self.held() - 1)

    @contextmanager
    def watching(self) -> Iterator[None]:
        self.while_opening.clear()
        self.while_hashing.clear()
        event.listen(self._pool, "checkout", self._on_checkout)
        try:
            yield
        finally:
            event.remove(self._pool, "checkout", self._on_checkout)


CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) { __typename }
}
"""
REQUEST_RESET = (
    "mutation($t: String!, $e: String!) { requestPasswordReset(input: {tenant: $t, email: $e}) { message } }"
)
RESET = "mutation($token: String!, $p: String!) { resetPassword(input: {token: $token, newPassword: $p}) { __typename } }"
REFRESH = "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { __typename } }"
LOGOUT = "mutation($t: String!) { logout(input: {refreshToken: $t}) { __typename } }"
REGISTER = """
mutation($input: RegisterTenantInput!) { registerTenant(input: $input) { __typename } }
"""


async def test_password_work_holds_no_connection_and_no_request_holds_two(
    api: Api,
    services: Services,
    esr: TenantUsers,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with services.database.transaction(None) as session:
        session.add(
            Operator(
                email="op@rigbook.example", password_hash=await services.passwords.hash(DEFAULT_PASSWORD)
            )
        )
    signed_in = await api.login("esr", esr.staff.email)
    with caplog.at_level(logging.INFO, logger="rigbook.mail"):
        await api.data(REQUEST_RESET, {"t": "esr", "e": esr.customer.email})
        await Worker(services, schedules=[]).run_due()  # the mail job logs the mail (development)
    found = re.search(r"reset token: (\S+)", caplog.text)
    assert found is not None, caplog.text
    reset_token = found.group(1)

    def login(
        tenant: str | None, email: str, password: str = DEFAULT_PASSWORD
    ) -> Callable[[], Awaitable[Any]]:
        return lambda: api.login(tenant, email, password)

    operations: dict[str, tuple[Callable[[], Awaitable[Any]], str]] = {
        "login": (login("esr", esr.admin.email), "LoginSuccess"),
        "login, wrong password": (
            login("esr", esr.manager.email, "not-the-password"),
            "InvalidCredentialsError",
        ),
        "login, unknown tenant": (login("nope", esr.admin.email), "InvalidCredentialsError"),
        "operator login": (login(None, "op@rigbook.example"), "LoginSuccess"),
        "changePassword": (
            lambda: api.data(
                CHANGE_PASSWORD,
                {"current": DEFAULT_PASSWORD, "new": "Changed-Pass-2031"},
                token=signed_in["accessToken"],
            ),
            "ChangePasswordSuccess",
        ),
        "resetPassword": (
            lambda: api.data(RESET, {"token": reset_token, "p": "Reset-Pass-2031"}),
            "ResetPasswordSuccess",
        ),
        "refreshToken": (lambda: api.data(REFRESH, {"t": signed_in["refreshToken"]}), "RefreshTokenSuccess"),
        "logout": (lambda: api.data(LOGOUT, {"t": signed_in["refreshToken"]}), "LogoutSuccess"),
        "registerTenant": (
            lambda: api.data(
                REGISTER,
                {
                    "input": {
                        "slug": "newco",
                        "name": "New Co",
                        "adminEmail": "f@newco.example",
                        "adminPassword": "Founder-Pass-1",
                    }
                },
            ),
            "LoginSuccess",
        ),
    }
    held = HeldConnections(services, monkeypatch)
    seen: dict[str, tuple[str, int, int, int]] = {}
    for name, (operation, _) in operations.items():
        with held.watching():
            result = await operation()
        typename = (
            result["__typename"] if "__typename" in result else next(iter(result.values()))["__typename"]
        )
        seen[name] = (
            typename,
            max(held.while_opening, default=0),
            max(held.while_hashing, default=0),
            len(held.while_hashing),
        )
    # (outcome, most other connections held while opening one, most held while hashing, hashes)
    assert {name: (typename, opening, hashing) for name, (typename, opening, hashing, _) in seen.items()} == {
        name: (expected, 0, 0) for name, (_, expected) in operations.items()
    }
    assert all(
        seen[name][3]
        for name in ("login", "operator login", "changePassword", "resetPassword", "registerTenant")
    )
