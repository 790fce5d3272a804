"""Access ends with its grant: a deactivated account or an ended sign-in session is
refused at its very next request, on every worker, for queries and mutations alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from app import create_app
from auth.services import Services
from db.clock import utcnow
from db.tables import Operator, Reservation, User
from schema.node import to_global_id
from settings import Settings
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers, error_codes
from tests.booking import create_equipment, line, reserve
from tests.conftest import StatementCounter
from tests.test_password_reset import ASSUME, RESET, mailed_token

ENDED = "The session has ended."
ME = "query { me { email isActive } }"
USERS = "query { users { totalCount } }"
CATALOGUE = "query { equipment(first: 5) { totalCount } }"
OPERATOR_READ = "query { currentOperator { email } tenants(first: 5) { totalCount } }"
REFRESH = """
mutation($t: String!) {
  refreshToken(input: {refreshToken: $t}) { __typename ... on RefreshTokenSuccess { accessToken refreshToken } }
}
"""
LOGOUT = "mutation($t: String!) { logout(input: {refreshToken: $t}) { __typename } }"
LOGOUT_ALL = "mutation { logoutAll { revokedSessions } }"
CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) { __typename }
}
"""
UPDATE_USER = """
mutation($input: UpdateUserInput!) {
  updateUser(input: $input) { __typename ... on UserSuccess { user { isActive } } ... on Error { code } }
}
"""
DEACTIVATE_USER = """
mutation($id: ID!) {
  deactivateUser(input: {id: $id}) { __typename ... on UserSuccess { user { isActive } } ... on Error { code } }
}
"""


def assert_ended(body: dict[str, Any]) -> None:
    """Refused as a whole: a top-level UNAUTHENTICATED error saying why, not a masked one."""
    assert body.get("errors"), body
    assert error_codes(body) == ["UNAUTHENTICATED"] * len(body["errors"]), body
    assert {error["message"] for error in body["errors"]} == {ENDED}, body
    data = body["data"]
    assert data is None or all(value is None for value in data.values()), body


async def active(services: Services, tenant_users: TenantUsers, user: User) -> bool:
    async with services.database.session(tenant_users.tenant.id) as session:
        row = await session.get(User, (tenant_users.tenant.id, user.id))
    assert row is not None
    return row.is_active


async def reservations(services: Services, tenant_users: TenantUsers) -> int:
    async with services.database.session(tenant_users.tenant.id) as session:
        statement = select(func.count()).select_from(Reservation)
        return int((await session.execute(statement)).scalar_one())


async def test_a_deactivated_users_token_is_refused_at_the_next_query_and_mutation(
    api: Api, services: Services, admin_token: str, esr: TenantUsers
) -> None:
    wall = await create_equipment(api, admin_token, name="Wall", code="W", quantity=4)
    staff = await api.token("esr", esr.staff.email)
    assert (await api.data(ME, token=staff))["me"] == {"email": esr.staff.email, "isActive": True}
    assert (await reserve(api, staff, [line(wall)]))["__typename"] == "CreateReservationSuccess"

    deactivated = await api.data(
        DEACTIVATE_USER, {"id": to_global_id("User", esr.staff.id)}, token=admin_token
    )
    assert deactivated["deactivateUser"]["user"] == {"isActive": False}

    assert_ended(await api.post(ME, token=staff))
    assert_ended(await api.post(CATALOGUE, token=staff))
    values = {
        "title": "After",
        "startsAt": "2031-05-02T10:00:00+00:00",
        "endsAt": "2031-05-02T12:00:00+00:00",
    }
    body = await api.post(
        "mutation($input: CreateReservationInput!) { createReservation(input: $input) { __typename } }",
        {"input": {**values, "lines": [line(wall)]}},
        token=staff,
    )
    assert_ended(body)
    assert await reservations(services, esr) == 1
    # The admin who deactivated them carries on.
    assert (await api.data(USERS, token=admin_token))["users"]["totalCount"] == 4


async def test_a_deactivated_admin_cannot_reactivate_itself_nor_remove_the_admin_who_removed_it(
    api: Api, services: Services, admin_token: str, esr: TenantUsers
) -> None:
    promoted = await api.data(
        UPDATE_USER,
        {"input": {"id": to_global_id("User", esr.manager.id), "role": "ADMIN"}},
        token=admin_token,
    )
    assert promoted["updateUser"]["__typename"] == "UserSuccess"
    second_admin = await api.token("esr", esr.manager.email)
    removed = await api.data(DEACTIVATE_USER, {"id": to_global_id("User", esr.admin.id)}, token=second_admin)
    assert removed["deactivateUser"]["user"] == {"isActive": False}

    itself = to_global_id("User", esr.admin.id)
    assert_ended(await api.post(UPDATE_USER, {"input": {"id": itself, "isActive": True}}, token=admin_token))
    assert_ended(
        await api.post(DEACTIVATE_USER, {"id": to_global_id("User", esr.manager.id)}, token=admin_token)
    )
    assert not await active(services, esr, esr.admin)
    assert await active(services, esr, esr.manager)
    assert (await api.data(USERS, token=second_admin))["users"]["totalCount"] == 4


@dataclass(frozen=True)
class Scene:
    """A signed-in staff member, ``tokens`` from their ``login``, about to lose that session."""

    api: Api
    services: Services
    caplog: pytest.LogCaptureFixture
    esr: TenantUsers
    tokens: dict[str, Any]


NEW_PASSWORD = "Brand-New-Password-42"


async def _logout(scene: Scene) -> str:
    logout = await scene.api.data(LOGOUT, {"t": scene.tokens["refreshToken"]})
    assert logout["logout"]["__typename"] == "LogoutSuccess"
    return DEFAULT_PASSWORD


async def _logout_all_elsewhere(scene: Scene) -> str:
    other = await scene.api.token("esr", scene.esr.staff.email)
    assert (await scene.api.data(LOGOUT_ALL, token=other))["logoutAll"]["revokedSessions"] == 2
    return DEFAULT_PASSWORD


async def _change_password_elsewhere(scene: Scene) -> str:
    other = await scene.api.token("esr", scene.esr.staff.email)
    variables = {"current": DEFAULT_PASSWORD, "new": NEW_PASSWORD}
    changed = await scene.api.data(CHANGE_PASSWORD, variables, token=other)
    assert changed["changePassword"]["__typename"] == "ChangePasswordSuccess"
    # The session that changed the password is the one kept.
    assert (await scene.api.data(ME, token=other))["me"]["email"] == scene.esr.staff.email
    return NEW_PASSWORD


async def _reset_password(scene: Scene) -> str:
    token = await mailed_token(scene.api, scene.services, scene.caplog, "esr", scene.esr.staff.email)
    reset = await scene.api.data(RESET, {"token": token, "password": NEW_PASSWORD})
    assert reset["resetPassword"]["__typename"] == "ResetPasswordSuccess"
    return NEW_PASSWORD


async def _reuse_refresh_token(scene: Scene) -> str:
    api, spent = scene.api, scene.tokens["refreshToken"]
    rotated = (await api.data(REFRESH, {"t": spent}))["refreshToken"]
    assert rotated["__typename"] == "RefreshTokenSuccess"
    # The successor's access token works until the spent token is replayed.
    assert (await api.data(ME, token=rotated["accessToken"]))["me"] is not None
    assert (await api.data(REFRESH, {"t": spent}))["refreshToken"]["__typename"] == "InvalidTokenError"
    assert_ended(await api.post(ME, token=rotated["accessToken"]))
    return DEFAULT_PASSWORD


@pytest.mark.parametrize(
    "revoke",
    [
        pytest.param(_logout, id="logout"),
        pytest.param(_logout_all_elsewhere, id="logoutAll"),
        pytest.param(_change_password_elsewhere, id="changePassword"),
        pytest.param(_reset_password, id="resetPassword"),
        pytest.param(_reuse_refresh_token, id="refresh-token-reuse"),
    ],
)
async def test_an_ended_sessions_access_token_is_refused_at_once(
    api: Api,
    services: Services,
    admin_token: str,
    esr: TenantUsers,
    caplog: pytest.LogCaptureFixture,
    revoke: Callable[[Scene], Awaitable[str]],
) -> None:
    wall = await create_equipment(api, admin_token, name="Wall", code="W", quantity=4)
    tokens = await api.login("esr", esr.staff.email)
    access = tokens["accessToken"]
    assert (await api.data(ME, token=access))["me"]["isActive"] is True

    password = await revoke(Scene(api, services, caplog, esr, tokens))

    assert_ended(await api.post(ME, token=access))
    body = await api.post(
        "mutation($input: CreateReservationInput!) { createReservation(input: $input) { __typename } }",
        {
            "input": {
                "title": "Late",
                "startsAt": "2031-05-02T10:00:00+00:00",
                "endsAt": "2031-05-02T12:00:00+00:00",
                "lines": [line(wall)],
            }
        },
        token=access,
    )
    assert_ended(body)
    assert await reservations(services, esr) == 0
    # The account itself is fine: a new sign-in works.
    assert (await api.data(ME, token=await api.token("esr", esr.staff.email, password)))["me"] is not None


async def test_a_session_past_its_absolute_expiry_is_refused(
    api: Api, services: Services, esr: TenantUsers
) -> None:
    from db.tables import SignInSession

    access = await api.token("esr", esr.staff.email)
    assert (await api.data(ME, token=access))["me"] is not None
    async with services.database.transaction(esr.tenant.id) as session:
        await session.execute(
            update(SignInSession)
            .where(col(SignInSession.tenant_id) == esr.tenant.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert_ended(await api.post(ME, token=access))


@pytest.fixture
async def other_worker(settings: Settings) -> AsyncIterator[Api]:
    """A second worker: its own services, caches and pool over the same database."""
    services = Services.create(settings)
    transport = httpx.ASGITransport(app=create_app(services=services), client=("127.0.0.11", 40001))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
            yield Api(client)
    finally:
        await services.database.dispose()


async def test_a_revocation_on_one_worker_is_refused_on_the_other(
    api: Api, other_worker: Api, admin_token: str, esr: TenantUsers
) -> None:
    staff = await api.login("esr", esr.staff.email)
    manager = await api.token("esr", esr.manager.email)
    # Both workers have verified (and remembered) the tokens.
    for worker in (api, other_worker):
        assert (await worker.data(ME, token=staff["accessToken"]))["me"] is not None
        assert (await worker.data(ME, token=manager))["me"] is not None

    assert (await api.data(LOGOUT, {"t": staff["refreshToken"]}))["logout"]["__typename"] == "LogoutSuccess"
    removed = await other_worker.data(
        DEACTIVATE_USER, {"id": to_global_id("User", esr.manager.id)}, token=admin_token
    )
    assert removed["deactivateUser"]["user"] == {"isActive": False}

    for worker in (other_worker, api):
        assert_ended(await worker.post(ME, token=staff["accessToken"]))
        assert_ended(await worker.post(ME, token=manager))
        assert (await worker.data(USERS, token=admin_token))["users"]["totalCount"] == 4


async def test_refusals_in_parallel_leave_the_connections_fit_for_the_next_requests(
    api: Api, other_worker: Api, admin_token: str, esr: TenantUsers
) -> None:
    staff = await api.token("esr", esr.staff.email)
    customer = await api.token("esr", esr.customer.email)
    assert (await api.data(ME, token=staff))["me"] is not None
    await api.data(DEACTIVATE_USER, {"id": to_global_id("User", esr.staff.id)}, token=admin_token)

    workers = (api, other_worker) * 5
    refused = [worker.post(document, token=staff) for worker in workers for document in (ME, CATALOGUE)]
    served = [worker.post(ME, token=customer) for worker in workers]
    bodies = await asyncio.gather(*refused, *served)
    for body in bodies[: len(refused)]:
        assert_ended(body)
    for body in bodies[len(refused) :]:
        assert "errors" not in body, body
        assert body["data"] == {"me": {"email": esr.customer.email, "isActive": True}}
    # The connections that carried the refusals serve live sessions afterwards.
    answers = await asyncio.gather(
        *(worker.data(USERS, token=admin_token) for worker in (api, other_worker) * 6)
    )
    assert all(answer["users"]["totalCount"] == 4 for answer in answers)


@pytest.fixture
async def operator(services: Services) -> Operator:
    row = Operator(
        email="support@rigbook.example", password_hash=await services.passwords.hash(DEFAULT_PASSWORD)
    )
    async with services.database.transaction(None) as session:
        session.add(row)
    return row


async def _deactivate_operator(services: Services, operator: Operator) -> None:
    async with services.database.transaction(None) as session:
        await session.execute(update(Operator).where(col(Operator.id) == operator.id).values(is_active=False))


async def test_an_operator_is_refused_once_deactivated_or_signed_out(
    api: Api, services: Services, operator: Operator, esr: TenantUsers
) -> None:
    first = await api.login(None, operator.email)
    second = await api.login(None, operator.email)
    for tokens in (first, second):
        assert (await api.data(OPERATOR_READ, token=tokens["accessToken"]))["currentOperator"] is not None
    assert (await api.data(LOGOUT, {"t": first["refreshToken"]}))["logout"]["__typename"] == "LogoutSuccess"
    assert_ended(await api.post(OPERATOR_READ, token=first["accessToken"]))
    assert (await api.data(OPERATOR_READ, token=second["accessToken"]))["tenants"]["totalCount"] == 1

    await _deactivate_operator(services, operator)
    assert_ended(await api.post(OPERATOR_READ, token=second["accessToken"]))


async def test_a_tenant_token_assumed_by_an_operator_ends_with_the_operator(
    api: Api, services: Services, operator: Operator, esr: TenantUsers
) -> None:
    operator_token = await api.token(None, operator.email)
    variables = {"tenant": to_global_id("Tenant", esr.tenant.id), "reason": "Ticket 4711: stuck reservation"}
    assumed = (await api.data(ASSUME, variables, token=operator_token))["assumeTenant"]["accessToken"]
    assert (await api.data(USERS, token=assumed))["users"]["totalCount"] == 4

    await _deactivate_operator(services, operator)
    assert_ended(await api.post(USERS, token=assumed))
    body = await api.post(
        UPDATE_USER, {"input": {"id": to_global_id("User", esr.staff.id), "isActive": False}}, token=assumed
    )
    assert_ended(body)
    assert await active(services, esr, esr.staff)


async def test_me_sends_no_more_statements_and_carries_the_check(
    api: Api, services: Services, esr: TenantUsers, statements: StatementCounter
) -> None:
    tokens = await api.login("esr", esr.staff.email)
    with statements.counting():
        assert (await api.data(ME, token=tokens["accessToken"]))["me"] is not None
    live = statements.last
    if not services.database.is_sqlite:
        # The read transaction's opening statement and the SELECT, as before.
        assert live == 2
    await api.data(LOGOUT, {"t": tokens["refreshToken"]})
    with statements.counting():
        assert_ended(await api.post(ME, token=tokens["accessToken"]))
    assert statements.last <= live


async def test_a_replayed_idempotency_key_is_refused_too(
    api: Api, services: Services, admin_token: str, esr: TenantUsers
) -> None:
    """A retry answered from the first result reads in the caller's name like any other read."""
    wall = await create_equipment(api, admin_token, name="Wall", code="W", quantity=4)
    tokens = await api.login("esr", esr.staff.email)
    first = await reserve(api, tokens["accessToken"], [line(wall)], idempotencyKey="retry-1")
    assert first["__typename"] == "CreateReservationSuccess"
    await api.data(LOGOUT, {"t": tokens["refreshToken"]})
    values = {"title": "Gala", "startsAt": "2031-05-01T10:00:00+00:00", "endsAt": "2031-05-01T14:00:00+00:00"}
    body = await api.post(
        "mutation($input: CreateReservationInput!) {"
        " createReservation(input: $input) { __typename ... on CreateReservationSuccess { reservation { id } } } }",
        {"input": {**values, "lines": [line(wall)], "idempotencyKey": "retry-1"}},
        token=tokens["accessToken"],
    )
    assert_ended(body)


CREATE_TENANT = """
mutation($input: CreateTenantInput!) { createTenant(input: $input) { __typename } }
"""


async def test_an_ended_operator_session_cannot_write_in_another_scope(
    api: Api, services: Services, operator: Operator
) -> None:
    """``createTenant`` writes in the new tenant's scope, not the operator's: the grant is checked anyway."""
    token = await api.token(None, operator.email)
    assert (await api.data(LOGOUT_ALL, token=token))["logoutAll"]["revokedSessions"] == 1
    new_tenant = {
        "slug": "ghost",
        "name": "Ghost",
        "adminEmail": "ghost@ghost.example",
        "adminPassword": "Ghost-2025-Admin!",
    }
    assert_ended(await api.post(CREATE_TENANT, {"input": new_tenant}, token=token))
    assert (await api.login("ghost", "ghost@ghost.example", "Ghost-2025-Admin!"))["__typename"] == (
        "InvalidCredentialsError"
    )


async def test_a_new_role_ends_the_sessions_that_carry_the_old_one(
    api: Api, services: Services, admin_token: str, esr: TenantUsers
) -> None:
    """A demoted admin's token (its role is in the token) is refused at once, not after it expires."""
    promoted = await api.data(
        UPDATE_USER,
        {"input": {"id": to_global_id("User", esr.manager.id), "role": "ADMIN"}},
        token=admin_token,
    )
    assert promoted["updateUser"]["__typename"] == "UserSuccess"
    demoted_token = await api.token("esr", esr.manager.email)
    assert (await api.data(USERS, token=demoted_token))["users"]["totalCount"] == 4

    demoted = await api.data(
        UPDATE_USER,
        {"input": {"id": to_global_id("User", esr.manager.id), "role": "CUSTOMER"}},
        token=admin_token,
    )
    assert demoted["updateUser"]["__typename"] == "UserSuccess"
    assert_ended(await api.post(USERS, token=demoted_token))
    assert_ended(
        await api.post(
            UPDATE_USER,
            {"input": {"id": to_global_id("User", esr.staff.id), "role": "ADMIN"}},
            token=demoted_token,
        )
    )
    # Signed in again, the user holds the new role only.
    again = await api.token("esr", esr.manager.email)
    assert error_codes(await api.post(USERS, token=again)) == ["FORBIDDEN"]
    # Changes that keep the role keep the sessions.
    renamed = await api.data(
        UPDATE_USER, {"input": {"id": to_global_id("User", esr.manager.id), "name": "M"}}, token=admin_token
    )
    assert renamed["updateUser"]["__typename"] == "UserSuccess"
    assert (await api.data(ME, token=again))["me"]["email"] == esr.manager.email
