"""Sign-in, tokens, sessions and passwords."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
import pytest
from sqlmodel import select

from auth.passwords import Passwords
from auth.principal import Principal
from auth.services import Services
from auth.tokens import AccessTokens, InvalidAccessToken
from db.tables import Operator, RefreshToken, Role, User
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers, error_codes, make_user
from tests.conftest import TEST_SECRET

ME = "query { me { id email role isActive tenant { slug name } } }"
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(input: {refreshToken: $token}) {
    __typename
    ... on RefreshTokenSuccess { accessToken refreshToken expiresIn }
    ... on Error { code message }
  }
}
"""
LOGOUT = """
mutation Logout($token: String!) {
  logout(input: {refreshToken: $token}) { __typename ... on LogoutSuccess { revokedSessions } ... on Error { code } }
}
"""
LOGOUT_ALL = "mutation { logoutAll { revokedSessions } }"
CHANGE_PASSWORD = """
mutation Change($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) {
    __typename
    ... on ChangePasswordSuccess { revokedSessions }
    ... on ValidationError { fields { field message } }
    ... on Error { code message }
  }
}
"""


async def test_login_returns_tokens_and_the_user(api: Api, esr: TenantUsers) -> None:
    result = await api.login("esr", "ADMIN@ESR.example")
    assert result["__typename"] == "LoginSuccess"
    assert result["user"]["email"] == "admin@esr.example"
    assert result["user"]["role"] == "ADMIN"
    assert result["user"]["tenant"] == {"slug": "esr"}
    assert result["expiresIn"] == 900
    me = await api.data(ME, token=result["accessToken"])
    assert me["me"]["email"] == "admin@esr.example"
    assert me["me"]["tenant"]["slug"] == "esr"


async def test_wrong_password_unknown_email_and_unknown_tenant_look_the_same(
    api: Api, esr: TenantUsers
) -> None:
    wrong_password = await api.login("esr", esr.admin.email, "not-the-password")
    unknown_email = await api.login("esr", "nobody@esr.example", DEFAULT_PASSWORD)
    unknown_tenant = await api.login("nope", esr.admin.email, DEFAULT_PASSWORD)
    for result in (wrong_password, unknown_email, unknown_tenant):
        assert result == {
            "__typename": "InvalidCredentialsError",
            "code": "INVALID_CREDENTIALS",
            "message": "The tenant, email or password is wrong.",
        }


async def test_unknown_email_costs_a_password_verification(services: Services, esr: TenantUsers) -> None:
    slow = Passwords(time_cost=3, memory_kib=32768, parallelism=1)
    known_hash = await slow.hash(DEFAULT_PASSWORD)

    async def timed(stored: str | None) -> float:
        start = time.perf_counter()
        assert not (await slow.verify(stored, "wrong-password-123")).ok
        return time.perf_counter() - start

    known = min([await timed(known_hash) for _ in range(3)])
    unknown = min([await timed(None) for _ in range(3)])
    assert unknown > known * 0.5, (known, unknown)


async def test_a_user_of_one_tenant_cannot_sign_in_to_another(
    api: Api, esr: TenantUsers, cmh: TenantUsers
) -> None:
    result = await api.login("cmh", esr.admin.email)
    assert result["code"] == "INVALID_CREDENTIALS"


async def test_inactive_users_cannot_sign_in(api: Api, services: Services, esr: TenantUsers) -> None:
    user = await make_user(services, esr.tenant, Role.STAFF, "gone@esr.example", is_active=False)
    assert (await api.login("esr", user.email))["code"] == "INVALID_CREDENTIALS"


async def test_operator_signs_in_without_a_tenant(api: Api, services: Services) -> None:
    async with services.database.transaction(None) as session:
        session.add(
            Operator(
                email="op@rigbook.example", password_hash=await services.passwords.hash(DEFAULT_PASSWORD)
            )
        )
    result = await api.login(None, "op@rigbook.example")
    assert result["__typename"] == "LoginSuccess"
    assert result["user"] is None
    assert result["operator"] == {"email": "op@rigbook.example"}
    data = await api.data("query { me { id } currentOperator { email } }", token=result["accessToken"])
    assert data == {"me": None, "currentOperator": {"email": "op@rigbook.example"}}


async def test_repeated_failures_are_rate_limited(api: Api, esr: TenantUsers) -> None:
    for _ in range(5):
        assert (await api.login("esr", esr.staff.email, "wrong-password!"))["code"] == "INVALID_CREDENTIALS"
    limited = await api.login("esr", esr.staff.email, DEFAULT_PASSWORD)
    assert limited["__typename"] == "RateLimitedError"
    assert limited["code"] == "RATE_LIMITED"
    assert 0 < limited["retryAfter"] <= 900
    # Other accounts are not locked by someone guessing this one.
    assert (await api.login("esr", esr.admin.email))["__typename"] == "LoginSuccess"


async def test_password_is_stored_as_argon2id_and_rehashed_when_parameters_change(
    api: Api, services: Services, esr: TenantUsers
) -> None:
    weaker = Passwords(time_cost=1, memory_kib=1024, parallelism=1)
    stronger_services = services
    stronger_services.passwords = Passwords(time_cost=2, memory_kib=2048, parallelism=1)
    user = await make_user(
        services, esr.tenant, Role.STAFF, "old@esr.example", password_hash=await weaker.hash(DEFAULT_PASSWORD)
    )
    assert (await api.login("esr", user.email))["__typename"] == "LoginSuccess"
    async with services.database.session(esr.tenant.id) as session:
        stored = await session.get(User, (esr.tenant.id, user.id))
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert "m=2048,t=2,p=1" in stored.password_hash


async def test_refresh_rotates_and_reuse_revokes_the_family(api: Api, esr: TenantUsers) -> None:
    first = await api.login("esr", esr.staff.email)
    rotated = (await api.data(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    assert rotated["__typename"] == "RefreshTokenSuccess"
    assert rotated["refreshToken"] != first["refreshToken"]
    assert (await api.data(ME, token=rotated["accessToken"]))["me"]["email"] == esr.staff.email

    replay = (await api.data(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    assert replay["code"] == "INVALID_TOKEN"
    # The replay ended the session: the token issued after it is dead too.
    descendant = (await api.data(REFRESH, {"token": rotated["refreshToken"]}))["refreshToken"]
    assert descendant["code"] == "INVALID_TOKEN"


async def test_refresh_rejects_garbage_and_forged_tokens(api: Api, esr: TenantUsers) -> None:
    real = (await api.login("esr", esr.staff.email))["refreshToken"]
    scope, token_id, _secret = real.split(".")
    for token in ["", "garbage", f"{scope}.{token_id}.forged-secret", f"{uuid.uuid4().hex}.{token_id}.x"]:
        result = (await api.data(REFRESH, {"token": token}))["refreshToken"]
        assert result["code"] == "INVALID_TOKEN", token
    # The forged attempts did not burn the real token.
    assert (await api.data(REFRESH, {"token": real}))["refreshToken"]["__typename"] == "RefreshTokenSuccess"


async def test_refresh_picks_up_role_changes_and_refuses_deactivated_users(
    api: Api, services: Services, esr: TenantUsers
) -> None:
    session_tokens = await api.login("esr", esr.staff.email)
    async with services.database.transaction(esr.tenant.id) as session:
        user = await session.get(User, (esr.tenant.id, esr.staff.id))
        assert user is not None
        user.role = Role.CUSTOMER
    refreshed = (await api.data(REFRESH, {"token": session_tokens["refreshToken"]}))["refreshToken"]
    assert (await api.data(ME, token=refreshed["accessToken"]))["me"]["role"] == "CUSTOMER"

    async with services.database.transaction(esr.tenant.id) as session:
        user = await session.get(User, (esr.tenant.id, esr.staff.id))
        assert user is not None
        user.is_active = False
    dead = (await api.data(REFRESH, {"token": refreshed["refreshToken"]}))["refreshToken"]
    assert dead["code"] == "INVALID_TOKEN"


async def test_refresh_tokens_are_stored_hashed(api: Api, services: Services, esr: TenantUsers) -> None:
    refresh = (await api.login("esr", esr.staff.email))["refreshToken"]
    secret = refresh.split(".")[2]
    async with services.database.session(esr.tenant.id) as session:
        hashes = (await session.scalars(select(RefreshToken.token_hash))).all()
    assert hashes
    assert all(secret not in stored for stored in hashes)


async def test_logout_ends_the_session(api: Api, esr: TenantUsers) -> None:
    tokens = await api.login("esr", esr.staff.email)
    assert (await api.data(LOGOUT, {"token": tokens["refreshToken"]}))["logout"] == {
        "__typename": "LogoutSuccess",
        "revokedSessions": 1,
    }
    assert (await api.data(REFRESH, {"token": tokens["refreshToken"]}))["refreshToken"][
        "code"
    ] == "INVALID_TOKEN"
    assert (await api.data(LOGOUT, {"token": "junk"}))["logout"]["code"] == "INVALID_TOKEN"


async def test_logout_all_ends_every_session(api: Api, esr: TenantUsers) -> None:
    one = await api.login("esr", esr.staff.email)
    two = await api.login("esr", esr.staff.email)
    assert (await api.data(LOGOUT_ALL, token=one["accessToken"]))["logoutAll"]["revokedSessions"] == 2
    for tokens in (one, two):
        assert (await api.data(REFRESH, {"token": tokens["refreshToken"]}))["refreshToken"][
            "code"
        ] == "INVALID_TOKEN"


async def test_change_password_keeps_this_session_and_ends_the_others(api: Api, esr: TenantUsers) -> None:
    this = await api.login("esr", esr.staff.email)
    other = await api.login("esr", esr.staff.email)
    new_password = "Brand-New-Password-42"
    result = await api.data(
        CHANGE_PASSWORD, {"current": DEFAULT_PASSWORD, "new": new_password}, token=this["accessToken"]
    )
    assert result["changePassword"] == {"__typename": "ChangePasswordSuccess", "revokedSessions": 1}
    assert (await api.data(REFRESH, {"token": other["refreshToken"]}))["refreshToken"][
        "code"
    ] == "INVALID_TOKEN"
    assert (await api.data(REFRESH, {"token": this["refreshToken"]}))["refreshToken"][
        "__typename"
    ] == "RefreshTokenSuccess"
    assert (await api.login("esr", esr.staff.email, DEFAULT_PASSWORD))["code"] == "INVALID_CREDENTIALS"
    assert (await api.login("esr", esr.staff.email, new_password))["__typename"] == "LoginSuccess"


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        ("wrong-current-pass", "Another-Good-One-7", "InvalidCredentialsError"),
        (DEFAULT_PASSWORD, "short", "ValidationError"),
        (DEFAULT_PASSWORD, "x" * 1025, "ValidationError"),
        (DEFAULT_PASSWORD, "password123", "ValidationError"),
        (DEFAULT_PASSWORD, DEFAULT_PASSWORD, "ValidationError"),
    ],
)
async def test_change_password_validates(
    api: Api, staff_token: str, current: str, new: str, expected: str
) -> None:
    result = (await api.data(CHANGE_PASSWORD, {"current": current, "new": new}, token=staff_token))[
        "changePassword"
    ]
    assert result["__typename"] == expected
    if expected == "ValidationError":
        assert result["fields"][0]["field"] == "newPassword"


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "rigbook",
        "aud": "rigbook-api",
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "typ": "access",
        "iat": now,
        "exp": now + 600,
        "tid": str(uuid.uuid4()),
        "role": "ADMIN",
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(jwt.encode(_claims(), "", algorithm="none"), id="alg-none"),
        pytest.param(jwt.encode(_claims(), TEST_SECRET, algorithm="HS512"), id="other-algorithm"),
        pytest.param(jwt.encode(_claims(), "another-secret-that-is-also-long-enough!!"), id="wrong-key"),
        pytest.param(jwt.encode(_claims(exp=None), TEST_SECRET), id="no-exp"),
        pytest.param(jwt.encode(_claims(aud="someone-else"), TEST_SECRET), id="wrong-aud"),
        pytest.param(jwt.encode(_claims(iss="someone-else"), TEST_SECRET), id="wrong-iss"),
        pytest.param(jwt.encode(_claims(typ="refresh"), TEST_SECRET), id="not-access"),
        pytest.param(jwt.encode(_claims(exp=int(time.time()) - 10), TEST_SECRET), id="expired"),
        pytest.param("not-a-jwt", id="garbage"),
    ],
)
async def test_bad_access_tokens_are_unauthenticated(api: Api, token: str) -> None:
    body = await api.post("query { users { totalCount } }", token=token)
    assert body["data"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert error_codes(await api.post(ME, token=token)) == ["UNAUTHENTICATED"]


async def test_a_refresh_token_is_not_an_access_token(api: Api, esr: TenantUsers) -> None:
    refresh = (await api.login("esr", esr.admin.email))["refreshToken"]
    assert error_codes(await api.post("query { users { totalCount } }", token=refresh)) == ["UNAUTHENTICATED"]


async def test_anonymous_me_is_null_and_protected_fields_say_unauthenticated(api: Api) -> None:
    assert await api.data(ME) == {"me": None}
    body = await api.post("query { tenant { slug } }")
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_tokens_issued_for_a_tenant_carry_it(esr: TenantUsers) -> None:
    tokens = AccessTokens(
        secret=TEST_SECRET, issuer="rigbook", audience="rigbook-api", ttl=timedelta(minutes=15)
    )
    from db.clock import utcnow

    principal = Principal(esr.admin.id, uuid.uuid4(), esr.tenant.id, Role.ADMIN)
    assert tokens.verify(tokens.issue(principal, now=utcnow())) == principal


def _token_service(clock: list[float]) -> AccessTokens:
    return AccessTokens(
        secret=TEST_SECRET,
        issuer="rigbook",
        audience="rigbook-api",
        ttl=timedelta(minutes=15),
        clock=lambda: clock[0],
    )


def test_a_remembered_token_is_still_refused_once_it_expires() -> None:
    from db.clock import utcnow

    clock = [time.time()]
    tokens = _token_service(clock)
    principal = Principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), Role.STAFF)
    token = tokens.issue(principal, now=utcnow(), ttl=timedelta(seconds=60))
    assert tokens.verify(token) == principal
    assert tokens.verify(token) == principal  # remembered
    clock[0] += 61
    with pytest.raises(InvalidAccessToken, match="expired"):
        tokens.verify(token)
    with pytest.raises(InvalidAccessToken):
        tokens.verify(token)


def test_only_verified_tokens_are_remembered_and_only_so_many() -> None:
    from auth.tokens import VERIFIED_TOKENS_KEPT
    from db.clock import utcnow

    tokens = _token_service([time.time()])
    principal = Principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), Role.ADMIN)
    good = tokens.issue(principal, now=utcnow())
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(InvalidAccessToken):
            tokens.verify(forged)
    assert tokens.verify(good) == principal
    for index in range(VERIFIED_TOKENS_KEPT + 10):
        other = Principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), Role.STAFF)
        assert tokens.verify(tokens.issue(other, now=utcnow())) == other
        if index == 0:
            assert len(tokens._verified) == 2
    assert len(tokens._verified) == VERIFIED_TOKENS_KEPT
    assert forged not in tokens._verified
    assert good not in tokens._verified  # the oldest went first
    assert tokens.verify(good) == principal  # and is verified again in full
