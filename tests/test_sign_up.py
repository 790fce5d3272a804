"""signUp and verifyEmail over the ASGI app, with the mail delivered to a real SMTP server on loopback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from auth.services import Services
from db.clock import utcnow
from db.tables import PasswordReset, Role, TokenPurpose, User
from schema.node import to_global_id
from tests import self_service
from tests.api import Api, TenantUsers, error_codes
from tests.booking import at, line, reserve
from tests.designs import RESERVE_DESIGN, create_design, item, mutate, save_version
from tests.mailbox import Mailbox
from tests.self_service import ANONYMOUS_BUDGET, ME, SIGN_UP, allow_sign_up, mailed, sign_up, token_in, verify

port = self_service.port
mailbox = self_service.mailbox
settings = self_service.settings

NEW = "new.customer@mail.example"


async def users_named(services: Services, users: TenantUsers, email: str) -> list[User]:
    async with services.database.session(users.tenant.id) as session:
        return list((await session.scalars(select(User).where(col(User.email) == email))).all())


async def test_sign_up_is_off_until_an_admin_turns_it_on(
    api: Api, services: Services, mailbox: Mailbox, esr: TenantUsers, admin_token: str
) -> None:
    tenant = (await api.data("query { tenant { allowCustomerSignUp } }", token=admin_token))["tenant"]
    assert tenant == {"allowCustomerSignUp": False}
    off = await sign_up(api, "esr", NEW, name="Nora New")
    assert off["__typename"] == "SignUpSuccess"
    assert await users_named(services, esr, NEW) == []
    assert await mailed(services, mailbox) == []

    await allow_sign_up(api, admin_token)
    on = await sign_up(api, "esr", NEW, name="Nora New", phone="+49 30 1234567")
    assert on == off  # the answer is the same either way
    [user] = await users_named(services, esr, NEW)
    assert (user.role, user.name, user.phone, user.email_verified_at) == (
        Role.CUSTOMER,
        "Nora New",
        "+49 30 1234567",
        None,
    )
    [(to, subject, text)] = await mailed(services, mailbox)
    assert (to, subject) == (NEW, "Confirm your email address for ESR")
    assert "Hello Nora New," in text and token_in(text)

    await allow_sign_up(api, admin_token, False)
    assert (await sign_up(api, "esr", "later@mail.example")) == off
    assert await users_named(services, esr, "later@mail.example") == []


async def test_the_answer_never_tells_which_tenants_or_accounts_exist(
    api: Api, services: Services, mailbox: Mailbox, esr: TenantUsers, admin_token: str
) -> None:
    await allow_sign_up(api, admin_token)
    fresh = await api.post(SIGN_UP, {"input": {"tenant": "esr", "email": NEW, "password": "Tent-Poles-2031"}})
    existing = await api.post(
        SIGN_UP,
        {"input": {"tenant": "esr", "email": esr.customer.email.upper(), "password": "Tent-Poles-2031"}},
    )
    no_tenant = await api.post(
        SIGN_UP, {"input": {"tenant": "no-such-co", "email": NEW, "password": "Tent-Poles-2031"}}
    )
    assert fresh == existing == no_tenant
    assert "errors" not in fresh
    messages = await mailed(services, mailbox)
    assert sorted(to for to, _, _ in messages) == sorted([NEW, esr.customer.email])
    [(_, subject, text)] = [m for m in messages if m[0] == esr.customer.email]
    assert subject == "Your ESR account"
    assert "already has an account" in text and "token" not in text
    # The existing account is unchanged: same password, still one row.
    assert len(await users_named(services, esr, esr.customer.email)) == 1
    assert (await api.login("esr", esr.customer.email))["__typename"] == "LoginSuccess"


async def test_sign_up_refuses_bad_input_by_field(
    api: Api, services: Services, esr: TenantUsers, admin_token: str
) -> None:
    await allow_sign_up(api, admin_token)
    weak = await sign_up(api, "esr", NEW, password="short", phone="call me", name="x" * 201)
    assert weak["__typename"] == "ValidationError"
    assert {f["field"] for f in weak["fields"]} == {"password", "phone", "name"}
    bad_mail = await sign_up(api, "esr", "not-an-address")
    assert [f["field"] for f in bad_mail["fields"]] == ["email"]
    same = await sign_up(api, "esr", NEW, password="new.customer")
    assert [f["field"] for f in same["fields"]] == ["password"]
    long_tenant = await sign_up(api, "e" * 41, NEW)
    assert [f["field"] for f in long_tenant["fields"]] == ["tenant"]
    assert await users_named(services, esr, NEW) == []


async def test_sign_up_is_throttled_per_address_and_per_client(
    api: Api, services: Services, mailbox: Mailbox, esr: TenantUsers, admin_token: str
) -> None:
    await allow_sign_up(api, admin_token)
    answers = [await sign_up(api, "esr", esr.customer.email) for _ in range(4)]
    assert [a["__typename"] for a in answers] == ["SignUpSuccess"] * 3 + ["RateLimitedError"]
    assert answers[3]["retryAfter"] > 0
    # The same for an address with no account (and for a tenant that does not exist).
    assert [(await sign_up(api, "nope", NEW))["__typename"] for _ in range(4)][-1] == "RateLimitedError"
    assert len(await mailed(services, mailbox)) == 3
    # One client signing up many addresses runs out of its own budget.
    results = [
        (await sign_up(api, "esr", f"someone{n}@mail.example"))["__typename"] for n in range(ANONYMOUS_BUDGET)
    ]
    assert "RateLimitedError" in results
    spent = results.index("RateLimitedError")
    assert spent == ANONYMOUS_BUDGET - 6  # ten per client: four and three were spent above


async def _signed_up(api: Api, services: Services, mailbox: Mailbox, admin_token: str) -> str:
    """A new customer's confirmation token."""
    await allow_sign_up(api, admin_token)
    await sign_up(api, "esr", NEW, name="Nora New", password="Tent-Poles-2031")
    [(_, _, text)] = await mailed(services, mailbox)
    return token_in(text)


async def test_an_unverified_customer_signs_in_but_cannot_reserve_until_verified(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    admin_token: str,
    manager_token: str,
    wall: dict[str, Any],
) -> None:
    token = await _signed_up(api, services, mailbox, admin_token)
    access = await api.token("esr", NEW, "Tent-Poles-2031")
    assert (await api.data(ME, token=access))["me"]["emailVerified"] is False
    refused = await reserve(api, access, [line(wall)])
    assert (refused["__typename"], refused["code"]) == ("ForbiddenError", "EMAIL_NOT_VERIFIED")
    assert "Confirm your email address" in refused["message"]
    design = await create_design(api, access)
    saved = await save_version(api, access, design["id"], [item(wall)], expected=None)
    assert saved["__typename"] == "SaveDesignVersionSuccess", saved
    by_design = await mutate(
        api, RESERVE_DESIGN, access, designId=design["id"], title="Party", startsAt=at(0), endsAt=at(4)
    )
    assert (by_design["__typename"], by_design["code"]) == ("ForbiddenError", "EMAIL_NOT_VERIFIED")
    # Staff may book for the customer meanwhile: they know who they are.
    [user] = await users_named(services, esr, NEW)
    for_them = await reserve(api, manager_token, [line(wall)], customerId=to_global_id("User", user.id))
    assert for_them["__typename"] == "CreateReservationSuccess", for_them

    assert await verify(api, token) == {"__typename": "VerifyEmailSuccess", "email": NEW}
    # The same access token works at once: the check reads the account, not the token.
    assert (await api.data(ME, token=access))["me"]["emailVerified"] is True
    booked = await reserve(api, access, [line(wall)], starts=10, ends=12)
    assert booked["__typename"] == "CreateReservationSuccess", booked
    assert (await verify(api, token))["code"] == "INVALID_TOKEN"  # single use


async def test_verification_tokens_expire_and_serve_one_purpose_only(
    api: Api, services: Services, mailbox: Mailbox, esr: TenantUsers, admin_token: str
) -> None:
    token = await _signed_up(api, services, mailbox, admin_token)
    reset = """
    mutation($token: String!) {
      resetPassword(input: {token: $token, newPassword: "Other-Poles-2031"}) { __typename ... on Error { code } }
    }"""
    assert (await api.data(reset, {"token": token}))["resetPassword"]["code"] == "INVALID_TOKEN"
    scope, token_id, _ = token.split(".")
    assert (await verify(api, f"{scope}.{token_id}.guess"))["code"] == "INVALID_TOKEN"
    assert (await verify(api, "garbage"))["code"] == "INVALID_TOKEN"
    async with services.database.transaction(esr.tenant.id) as session:
        [row] = (await session.scalars(select(PasswordReset))).all()
        assert row.purpose == TokenPurpose.VERIFY_EMAIL
        assert token.split(".")[2] not in row.token_hash  # stored as a hash only
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert (await verify(api, token))["code"] == "INVALID_TOKEN"
    [user] = await users_named(services, esr, NEW)
    assert user.email_verified_at is None
    # A password-reset token is no confirmation either.
    await api.data(
        'mutation { requestPasswordReset(input: {tenant: "esr", email: "new.customer@mail.example"}) { message } }'
    )
    [(_, _, text)] = await mailed(services, mailbox)
    reset_token = text.split("reset token: ")[1].split()[0]
    assert (await verify(api, reset_token))["code"] == "INVALID_TOKEN"


async def test_anonymous_and_signed_in_callers_alike_may_sign_up_but_the_answer_says_nothing(
    api: Api, services: Services, mailbox: Mailbox, esr: TenantUsers, admin_token: str, customer_token: str
) -> None:
    await allow_sign_up(api, admin_token)
    body = await api.post(
        SIGN_UP,
        {"input": {"tenant": "esr", "email": NEW, "password": "Tent-Poles-2031"}},
        token=customer_token,
    )
    assert error_codes(body) == []
    assert body["data"]["signUp"]["__typename"] == "SignUpSuccess"
    assert [to for to, _, _ in await mailed(services, mailbox)] == [NEW]
