"""updateMe, changeEmail, deleteMe, anonymizeUser and updateTenant, for every role and anonymous.

Over the ASGI app on both databases; mail goes to a real SMTP server on loopback.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select

from auth.services import Services
from db.tables import AuditEvent, PasswordReset, Reservation, User
from schema.node import to_global_id
from tests import self_service
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers, error_codes
from tests.booking import line, reserve
from tests.mailbox import Mailbox
from tests.self_service import (
    ANONYMIZE,
    CHANGE_EMAIL,
    DELETE_ME,
    ME,
    UPDATE_ME,
    UPDATE_TENANT,
    mailed,
    token_in,
    verify,
)

port = self_service.port
mailbox = self_service.mailbox
settings = self_service.settings

ROLES = ("admin", "manager", "staff", "customer")
REFRESH = "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { __typename } }"


def user_of(users: TenantUsers, role: str) -> User:
    found: User = getattr(users, role)
    return found


@pytest.mark.parametrize("role", ROLES)
async def test_every_user_edits_their_own_profile_only(
    api: Api, services: Services, esr: TenantUsers, role: str
) -> None:
    me = user_of(esr, role)
    token = await api.token("esr", me.email)
    changes = {"name": "  Renamed Person ", "phone": "+44 20 7946 0958"}
    result = (await api.data(UPDATE_ME, {"input": changes}, token=token))["updateMe"]
    assert result == {
        "__typename": "UpdateMeSuccess",
        "user": {
            "email": me.email,
            "name": "Renamed Person",
            "phone": "+44 20 7946 0958",
            "role": role.upper(),
            "emailVerified": True,
        },
    }
    # Only the name: the phone stays.
    again = (await api.data(UPDATE_ME, {"input": {"name": "Short"}}, token=token))["updateMe"]
    assert again["user"]["phone"] == "+44 20 7946 0958"
    bad = (await api.data(UPDATE_ME, {"input": {"name": "n" * 201, "phone": "x" * 41}}, token=token))[
        "updateMe"
    ]
    assert bad["__typename"] == "ValidationError"
    assert {f["field"] for f in bad["fields"]} == {"name", "phone"}
    # Nobody else was touched.
    async with services.database.session(esr.tenant.id) as session:
        others = (await session.scalars(select(User).where(col(User.id) != me.id))).all()
    assert all(other.name.endswith("of esr") and other.phone == "" for other in others)


async def test_anonymous_callers_have_no_profile(api: Api) -> None:
    for query, variables in (
        (UPDATE_ME, {"input": {"name": "x"}}),
        (CHANGE_EMAIL, {"input": {"newEmail": "a@b.example", "password": DEFAULT_PASSWORD}}),
        (DELETE_ME, {"password": DEFAULT_PASSWORD}),
        (ANONYMIZE, {"id": to_global_id("User", uuid.uuid4())}),
        (UPDATE_TENANT, {"input": {"name": "x"}}),
    ):
        assert error_codes(await api.post(query, variables)) == ["UNAUTHENTICATED"]


async def test_a_change_of_address_takes_effect_only_once_the_new_address_confirms_it(
    api: Api, services: Services, mailbox: Mailbox, esr: TenantUsers, customer_token: str
) -> None:
    old, new = esr.customer.email, "moved@mail.example"
    wrong = await api.data(
        CHANGE_EMAIL, {"input": {"newEmail": new, "password": "Not-My-Pass-1"}}, token=customer_token
    )
    assert wrong["changeEmail"]["code"] == "INVALID_CREDENTIALS"
    same = await api.data(
        CHANGE_EMAIL, {"input": {"newEmail": old.upper(), "password": DEFAULT_PASSWORD}}, token=customer_token
    )
    assert same["changeEmail"] == {
        "__typename": "ValidationError",
        "fields": [{"field": "newEmail"}],
        "code": "VALIDATION_FAILED",
    }
    assert await mailed(services, mailbox) == []

    asked = await api.data(
        CHANGE_EMAIL, {"input": {"newEmail": new, "password": DEFAULT_PASSWORD}}, token=customer_token
    )
    assert asked["changeEmail"]["__typename"] == "ChangeEmailSuccess"
    messages = {to: (subject, body) for to, subject, body in await mailed(services, mailbox)}
    assert set(messages) == {old, new}
    assert messages[old][0] == "Your ESR sign-in address is about to change"
    assert new in messages[old][1] and "token" not in messages[old][1]
    token = token_in(messages[new][1])
    # Nothing changed yet.
    assert (await api.login("esr", new))["code"] == "INVALID_CREDENTIALS"
    assert (await api.data(ME, token=customer_token))["me"]["email"] == old

    assert await verify(api, token) == {"__typename": "VerifyEmailSuccess", "email": new}
    assert (await api.data(ME, token=customer_token))["me"] == {
        "id": to_global_id("User", esr.customer.id),
        "email": new,
        "name": "Customer of esr",
        "phone": "",
        "emailVerified": True,
    }
    assert (await api.login("esr", old))["code"] == "INVALID_CREDENTIALS"
    assert (await api.login("esr", new))["__typename"] == "LoginSuccess"
    assert (await verify(api, token))["code"] == "INVALID_TOKEN"
    # The audit trail has the change; the pending address was never copied into it.
    async with services.database.session(esr.tenant.id) as session:
        entries = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.target_type) == "password_reset"))
        ).all()
        changed = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.target_id) == esr.customer.id))
        ).all()
    assert entries and all("new_email" not in entry.changes for entry in entries)
    assert [old, new] in [entry.changes.get("email") for entry in changed]


async def test_a_change_to_an_address_in_use_reveals_nothing_and_changes_nothing(
    api: Api, services: Services, mailbox: Mailbox, esr: TenantUsers, customer_token: str
) -> None:
    taken = esr.staff.email
    fresh = await api.data(
        CHANGE_EMAIL,
        {"input": {"newEmail": "free@mail.example", "password": DEFAULT_PASSWORD}},
        token=customer_token,
    )
    await mailed(services, mailbox)
    clash = await api.data(
        CHANGE_EMAIL, {"input": {"newEmail": taken, "password": DEFAULT_PASSWORD}}, token=customer_token
    )
    assert clash == fresh
    messages = {to: body for to, _, body in await mailed(services, mailbox)}
    assert set(messages) == {esr.customer.email, taken}
    assert "already has an account" in messages[taken] and "token" not in messages[taken]
    async with services.database.session(esr.tenant.id) as session:
        pending = (await session.scalars(select(PasswordReset))).all()
    assert [row.new_email for row in pending] == ["free@mail.example"]


async def test_an_operator_acting_in_a_tenant_has_no_profile_there(
    api: Api, operator_token: str, esr: TenantUsers
) -> None:
    assumed = await api.data(
        'mutation($t: ID!) { assumeTenant(input: {tenantId: $t, reason: "Ticket 1"}) { ... on AssumeTenantSuccess { accessToken } } }',
        {"t": to_global_id("Tenant", esr.tenant.id)},
        token=operator_token,
    )
    token = assumed["assumeTenant"]["accessToken"]
    result = (await api.data(UPDATE_ME, {"input": {"name": "Op"}}, token=token))["updateMe"]
    assert result["code"] == "FORBIDDEN"
    assert error_codes(await api.post(UPDATE_ME, {"input": {"name": "Op"}}, token=operator_token)) == [
        "FORBIDDEN"
    ]


async def _personal_values_left(
    services: Services, users: TenantUsers, user_id: Any, values: list[str]
) -> list[str]:
    """Which of ``values`` the user's row or the audit trail's entries about it still hold."""
    async with services.database.session(users.tenant.id) as session:
        row = await session.get(User, (users.tenant.id, user_id))
        entries = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.target_id) == user_id))
        ).all()
    assert row is not None and entries
    stored = json.dumps(row.model_dump(mode="json")) + "".join(json.dumps(e.changes) for e in entries)
    return [value for value in values if value.lower() in stored.lower()]


async def test_delete_me_erases_the_personal_data_and_keeps_the_reservations(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    admin_token: str,
    customer_token: str,
    wall: dict[str, Any],
) -> None:
    customer = esr.customer
    await api.data(
        UPDATE_ME, {"input": {"name": "Carla Customer", "phone": "+1 555 0100"}}, token=customer_token
    )
    session = await api.login("esr", customer.email)
    booked = await reserve(api, customer_token, [line(wall)])
    assert booked["__typename"] == "CreateReservationSuccess"
    personal = [customer.email, "Carla Customer", "Customer of esr", "+1 555 0100"]
    assert await _personal_values_left(services, esr, customer.id, personal) == personal

    wrong = (await api.data(DELETE_ME, {"password": "Not-My-Pass-1"}, token=customer_token))["deleteMe"]
    assert wrong["code"] == "INVALID_CREDENTIALS"
    done = (await api.data(DELETE_ME, {"password": DEFAULT_PASSWORD}, token=customer_token))["deleteMe"]
    assert done == {"__typename": "DeleteMeSuccess", "userId": to_global_id("User", customer.id)}

    assert await _personal_values_left(services, esr, customer.id, personal) == []
    async with services.database.session(esr.tenant.id) as db:
        row = await db.get(User, (esr.tenant.id, customer.id))
        reservation = (await db.scalars(select(Reservation))).one()
    assert row is not None
    assert (row.email, row.name, row.phone, row.is_active) == (
        f"anonymized-{customer.id.hex}@invalid",
        "",
        "",
        False,
    )
    assert row.anonymized_at is not None and row.password_hash == "!anonymized"
    assert reservation.customer_id == customer.id  # kept, pointing at the anonymised user
    # Signed out everywhere, and no way back in.
    assert error_codes(await api.post(ME, token=customer_token)) == ["UNAUTHENTICATED"]
    assert (await api.data(REFRESH, {"t": session["refreshToken"]}))["refreshToken"][
        "__typename"
    ] == "InvalidTokenError"
    assert (await api.login("esr", customer.email))["code"] == "INVALID_CREDENTIALS"
    assert (await api.login("esr", row.email, "!anonymized"))["code"] == "INVALID_CREDENTIALS"
    # Staff still see the reservation, its customer now without a name.
    seen = await api.data(
        "query { reservations { edges { node { customer { email name } } } } }", token=admin_token
    )
    assert seen["reservations"]["edges"] == [{"node": {"customer": {"email": row.email, "name": ""}}}]


@pytest.mark.parametrize("role", ["manager", "staff", "customer"])
async def test_only_admins_anonymise_others(api: Api, esr: TenantUsers, role: str) -> None:
    token = await api.token("esr", user_of(esr, role).email)
    body = await api.post(ANONYMIZE, {"id": to_global_id("User", esr.staff.id)}, token=token)
    assert error_codes(body) == ["FORBIDDEN"]
    assert (await api.login("esr", esr.staff.email))["__typename"] == "LoginSuccess"


async def test_an_admin_anonymises_a_user_of_their_tenant_only(
    api: Api, services: Services, esr: TenantUsers, cmh: TenantUsers, admin_token: str
) -> None:
    foreign = await api.data(ANONYMIZE, {"id": to_global_id("User", cmh.staff.id)}, token=admin_token)
    assert foreign["anonymizeUser"] == {
        "__typename": "NotFoundError",
        "field": "id",
        "code": "NOT_FOUND",
        "message": "No such user.",
    }
    assert (await api.login("cmh", cmh.staff.email))["__typename"] == "LoginSuccess"
    not_a_user = await api.data(ANONYMIZE, {"id": to_global_id("Tenant", esr.tenant.id)}, token=admin_token)
    assert not_a_user["anonymizeUser"]["__typename"] == "NotFoundError"

    staff = esr.staff
    done = (await api.data(ANONYMIZE, {"id": to_global_id("User", staff.id)}, token=admin_token))[
        "anonymizeUser"
    ]
    assert done["__typename"] == "UserSuccess"
    assert done["user"]["email"] == f"anonymized-{staff.id.hex}@invalid"
    assert (done["user"]["name"], done["user"]["phone"], done["user"]["isActive"]) == ("", "", False)
    assert done["user"]["anonymizedAt"] is not None
    assert await _personal_values_left(services, esr, staff.id, [staff.email, staff.name]) == []
    assert (await api.login("esr", staff.email))["code"] == "INVALID_CREDENTIALS"
    again = (await api.data(ANONYMIZE, {"id": to_global_id("User", staff.id)}, token=admin_token))[
        "anonymizeUser"
    ]
    assert again == done  # already anonymised: nothing more to do
    # The last active admin stays.
    last = await api.data(ANONYMIZE, {"id": to_global_id("User", esr.admin.id)}, token=admin_token)
    assert last["anonymizeUser"]["code"] == "CONFLICT"
    own = (await api.data(DELETE_ME, {"password": DEFAULT_PASSWORD}, token=admin_token))["deleteMe"]
    assert own["code"] == "CONFLICT"
    assert (await api.login("esr", esr.admin.email))["__typename"] == "LoginSuccess"


async def test_the_audit_trail_can_be_rewritten_only_for_an_anonymised_user(
    services: Services, esr: TenantUsers, api: Api, admin_token: str
) -> None:
    """The database refuses every other change of the trail, on both engines."""

    async def rewrite(statement: str) -> None:
        async with services.database.transaction(esr.tenant.id) as session:
            await session.execute(text(statement), {"t": esr.tenant.id, "u": esr.staff.id})

    about_staff = "WHERE tenant_id = :t AND target_id = :u"
    with pytest.raises((DBAPIError, IntegrityError)):
        await rewrite(f"UPDATE audit_event SET changes = '{{}}' {about_staff}")
    await api.data(ANONYMIZE, {"id": to_global_id("User", esr.staff.id)}, token=admin_token)
    with pytest.raises((DBAPIError, IntegrityError)):
        await rewrite(f"UPDATE audit_event SET action = 'forged' {about_staff}")
    with pytest.raises((DBAPIError, IntegrityError)):
        await rewrite(f"DELETE FROM audit_event {about_staff}")
    if not services.database.is_sqlite:
        with pytest.raises(DBAPIError):
            async with services.database.transaction(esr.tenant.id) as session:
                await session.execute(
                    text("SELECT rigbook_erase_user_audit(:t, :u)"), {"t": esr.tenant.id, "u": esr.manager.id}
                )


@pytest.mark.parametrize("role", ["manager", "staff", "customer"])
async def test_only_admins_change_the_tenant(api: Api, esr: TenantUsers, role: str) -> None:
    token = await api.token("esr", user_of(esr, role).email)
    assert error_codes(await api.post(UPDATE_TENANT, {"input": {"name": "Mine"}}, token=token)) == [
        "FORBIDDEN"
    ]


async def test_an_admin_changes_name_time_zone_and_sign_up(
    api: Api, esr: TenantUsers, admin_token: str, other_tenant_admin_token: str
) -> None:
    changes = {"name": " ESR Events ", "timezone": "Europe/Berlin", "allowCustomerSignUp": True}
    result = (await api.data(UPDATE_TENANT, {"input": changes}, token=admin_token))["updateTenant"]
    assert result == {
        "__typename": "TenantSettingsSuccess",
        "tenant": {
            "name": "ESR Events",
            "timezone": "Europe/Berlin",
            "allowCustomerSignUp": True,
            "requestExpiryHours": 72,
        },
    }
    bad = (
        await api.data(UPDATE_TENANT, {"input": {"timezone": "Mars/Olympus", "name": " "}}, token=admin_token)
    )["updateTenant"]
    assert bad["__typename"] == "ValidationError"
    assert {f["field"] for f in bad["fields"]} == {"timezone", "name"}
    too_long = (await api.data(UPDATE_TENANT, {"input": {"timezone": "A" * 65}}, token=admin_token))[
        "updateTenant"
    ]
    assert [f["field"] for f in too_long["fields"]] == ["timezone"]
    off = (await api.data(UPDATE_TENANT, {"input": {"allowCustomerSignUp": None}}, token=admin_token))[
        "updateTenant"
    ]
    assert off["tenant"]["allowCustomerSignUp"] is False and off["tenant"]["timezone"] == "Europe/Berlin"
    # The other tenant is untouched.
    other = await api.data(
        "query { tenant { name timezone allowCustomerSignUp } }", token=other_tenant_admin_token
    )
    assert other["tenant"] == {"name": "CMH", "timezone": "UTC", "allowCustomerSignUp": False}
    trail = await api.data(
        'query { auditEvents(first: 10, filter: {action: "tenant.settings_changed"}) { edges { node { changes } } } }',
        token=admin_token,
    )
    changed = [edge["node"]["changes"] for edge in trail["auditEvents"]["edges"]]
    assert {
        "name": ["ESR", "ESR Events"],
        "timezone": ["UTC", "Europe/Berlin"],
        "allowCustomerSignUp": [None, True],
    } in changed
