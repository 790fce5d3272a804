"""Sign-in and anonymous mutations are throttled: slots are taken before the work, atomically.

Every backend the limiter can use is tried: the database (SQLite or PostgreSQL,
whichever the test runs on) and Redis when ``RIGBOOK_TEST_REDIS_URL`` is set.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import func, select

from auth.services import Services
from db.tables import OutboxEmail, Role
from tests.api import DEFAULT_PASSWORD, Api, make_tenant_with_users, make_user
from tests.clients import Calls, api_at, services_for

REDIS_ENV = "RIGBOOK_TEST_REDIS_URL"
ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"

REQUEST_RESET = (
    "mutation($t: String!, $e: String!) { requestPasswordReset(input: {tenant: $t, email: $e}) { message } }"
)
REFRESH = """
mutation($t: String!) {
  refreshToken(input: {refreshToken: $t}) { __typename ... on Error { code } ... on RateLimitedError { retryAfter } }
}
"""
LOGOUT = """
mutation($t: String!) {
  logout(input: {refreshToken: $t}) { __typename ... on Error { code } ... on RateLimitedError { retryAfter } }
}
"""
RESET = """
mutation($t: String!) {
  resetPassword(input: {token: $t, newPassword: "Fresh-Start-2031"}) {
    __typename ... on Error { code } ... on RateLimitedError { retryAfter }
  }
}
"""
REGISTER = """
mutation($input: RegisterTenantInput!) {
  registerTenant(input: $input) { __typename ... on Error { code } ... on RateLimitedError { retryAfter } }
}
"""
# Well-formed (tenant.id.secret) but matching nothing.
FORGED = "01a230d25fe57c4dbd221d2161181fcf.01a230d2605278439085f091f382b1ae.bm90LWEtcmVhbC1zZWNyZXQ"


@pytest.fixture(params=["database", "redis"])
async def limited(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Services]:
    """Services whose limiter keeps its counts in the database, or in Redis."""
    overrides: dict[str, Any] = {}
    if request.param == "redis":
        url = os.environ.get(REDIS_ENV)
        if not url:
            pytest.skip(f"set {REDIS_ENV} to test the Redis limiter")
        overrides["redis_url"] = url
    async with services_for(database_url, **overrides) as services:
        yield services


async def outbox_size(services: Services) -> int:
    async with services.database.session(None) as session:
        return int((await session.scalars(select(func.count()).select_from(OutboxEmail))).one())


async def test_parallel_guesses_at_one_account_verify_at_most_the_limit(
    limited: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    esr = await make_tenant_with_users(limited, "esr")
    verified = Calls(monkeypatch, limited.passwords, "verify")
    guesses = [f"wrong-guess-{number}" for number in range(19)] + [DEFAULT_PASSWORD]
    async with api_at(limited, ATTACKER) as api:
        results = await asyncio.gather(*(api.login("esr", esr.staff.email, guess) for guess in guesses))
    limit = limited.settings.login_max_failures_per_email
    wrong = [verdict for verdict in verified.results if not verdict.ok]
    # Only a success gives its slot back; the wrong guesses verified stay within the limit.
    assert len(wrong) <= limit
    assert verified.count <= limit + 1
    outcomes = Counter(result["__typename"] for result in results)
    assert outcomes["RateLimitedError"] >= len(guesses) - limit - 1, outcomes


async def test_parallel_guesses_from_one_address_verify_at_most_its_limit(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with services_for(database_url, login_max_failures_per_address=4) as services:
        await make_tenant_with_users(services, "esr")
        verified = Calls(monkeypatch, services.passwords, "verify")
        async with api_at(services, ATTACKER) as api:
            results = await asyncio.gather(
                *(api.login("esr", f"guess-{number}@esr.example", "wrong-password") for number in range(16))
            )
    assert verified.count <= 4
    assert Counter(result["__typename"] for result in results)["RateLimitedError"] >= 12


async def test_parallel_reset_requests_queue_at_most_the_limit(limited: Services) -> None:
    esr = await make_tenant_with_users(limited, "esr")
    async with api_at(limited, ATTACKER) as api:
        await asyncio.gather(
            *(api.data(REQUEST_RESET, {"t": "esr", "e": esr.staff.email}) for _ in range(18))
        )
    assert await outbox_size(limited) <= 3


async def test_guessing_from_one_address_does_not_lock_the_owner_out_of_another(
    limited: Services,
) -> None:
    esr = await make_tenant_with_users(limited, "esr")
    async with api_at(limited, ATTACKER) as attacker, api_at(limited, OWNER) as owner:
        guesses = [await attacker.login("esr", esr.staff.email, f"guess-{n}") for n in range(7)]
        assert [guess["__typename"] for guess in guesses] == ["InvalidCredentialsError"] * 5 + [
            "RateLimitedError"
        ] * 2
        # The attacker stays blocked even with the right password ...
        assert (await attacker.login("esr", esr.staff.email))["__typename"] == "RateLimitedError"
        # ... while the owner, elsewhere, signs in, and a typo of theirs is only theirs.
        assert (await owner.login("esr", esr.staff.email, "owner-typo"))[
            "__typename"
        ] == "InvalidCredentialsError"
        assert (await owner.login("esr", esr.staff.email))["__typename"] == "LoginSuccess"


async def test_guessing_one_account_from_many_addresses_is_bounded(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with services_for(database_url, login_max_failures_per_account=12) as services:
        esr = await make_tenant_with_users(services, "esr")
        verified = Calls(monkeypatch, services.passwords, "verify")

        async def from_address(number: int) -> list[str]:
            async with api_at(services, f"203.0.113.{number}") as api:
                results = await asyncio.gather(
                    *(api.login("esr", esr.staff.email, f"guess-{number}-{n}") for n in range(5))
                )
            return [result["__typename"] for result in results]

        outcomes = Counter(
            name for batch in await asyncio.gather(*map(from_address, range(1, 7))) for name in batch
        )
        assert verified.count <= 12
        assert outcomes == {
            "InvalidCredentialsError": verified.count,
            "RateLimitedError": 30 - verified.count,
        }


async def test_workers_on_one_database_share_the_limit(database_url: str) -> None:
    async with services_for(database_url) as first, services_for(database_url) as second:
        esr = await make_tenant_with_users(first, "esr")
        async with api_at(first, ATTACKER) as one, api_at(second, ATTACKER) as other:
            outcomes = []
            for number in range(8):
                api = one if number % 2 else other
                outcomes.append((await api.login("esr", esr.staff.email, f"guess-{number}"))["__typename"])
    assert outcomes == ["InvalidCredentialsError"] * 5 + ["RateLimitedError"] * 3


async def anonymous_budget_outcomes(
    services: Services, query: str, variables: list[dict[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    async with api_at(services, ATTACKER) as api:
        results = await asyncio.gather(*(api.data(query, value) for value in variables))
    payloads = [next(iter(result.values())) for result in results]
    return sorted(payload["__typename"] for payload in payloads), payloads


@pytest.mark.parametrize(
    ("query", "refused_as"),
    [(REFRESH, "InvalidTokenError"), (LOGOUT, "InvalidTokenError"), (RESET, "InvalidTokenError")],
    ids=["refreshToken", "logout", "resetPassword"],
)
async def test_anonymous_token_mutations_have_a_budget_per_address(
    limited: Services, database_url: str, query: str, refused_as: str
) -> None:
    async with services_for(
        database_url, anonymous_max_attempts_per_address=3, redis_url=limited.settings.redis_url
    ) as services:
        outcomes, payloads = await anonymous_budget_outcomes(services, query, [{"t": FORGED}] * 7)
        assert outcomes == [refused_as] * 3 + ["RateLimitedError"] * 4
        waits = [payload["retryAfter"] for payload in payloads if "retryAfter" in payload]
        assert len(waits) == 4 and min(waits) > 0 and max(waits) <= 900, payloads
        async with api_at(services, OWNER) as elsewhere:
            assert (
                next(iter((await elsewhere.data(query, {"t": FORGED})).values()))["__typename"] == refused_as
            )


async def test_tenant_sign_up_has_a_budget_per_address(limited: Services, database_url: str) -> None:
    async with services_for(
        database_url, anonymous_max_attempts_per_address=3, redis_url=limited.settings.redis_url
    ) as services:
        sign_ups = [
            {
                "input": {
                    "slug": f"newco-{number}",
                    "name": f"New Co {number}",
                    "adminEmail": f"founder@newco-{number}.example",
                    "adminPassword": "Founder-Pass-1",
                }
            }
            for number in range(6)
        ]
        outcomes, _ = await anonymous_budget_outcomes(services, REGISTER, sign_ups)
    assert outcomes == ["LoginSuccess"] * 3 + ["RateLimitedError"] * 3


async def test_reset_mails_have_a_budget_per_address(limited: Services, database_url: str) -> None:
    async with services_for(
        database_url, anonymous_max_attempts_per_address=3, redis_url=limited.settings.redis_url
    ) as services:
        esr = await make_tenant_with_users(services, "esr")
        users = [await make_user(services, esr.tenant, Role.STAFF, f"crew-{n}@esr.example") for n in range(6)]
        async with api_at(services, ATTACKER) as api:
            answers = await asyncio.gather(
                *(api.data(REQUEST_RESET, {"t": "esr", "e": user.email}) for user in users)
            )
        # The answer never changes (it would tell which accounts exist); the mails stop.
        assert len({str(answer) for answer in answers}) == 1
        assert await outbox_size(services) == 3


async def test_successful_sign_ins_do_not_use_up_the_budget(api: Api, services: Services) -> None:
    esr = await make_tenant_with_users(services, "esr")
    limit = services.settings.login_max_failures_per_email
    for _ in range(limit + 2):
        assert (await api.login("esr", esr.staff.email))["__typename"] == "LoginSuccess"
    for _ in range(limit - 1):
        assert (await api.login("esr", esr.staff.email, "typo"))["__typename"] == "InvalidCredentialsError"
    assert (await api.login("esr", esr.staff.email))["__typename"] == "LoginSuccess"
    # Failures count until they leave the window, successes in between or not.
    assert (await api.login("esr", esr.staff.email, "typo"))["__typename"] == "InvalidCredentialsError"
    assert (await api.login("esr", esr.staff.email))["__typename"] == "RateLimitedError"
