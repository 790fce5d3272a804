"""Managing the users of a tenant."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from auth.services import Services
from db.tables import Role, Tenant
from schema.node import to_global_id
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers, error_codes, make_tenant, make_user
from tests.conftest import StatementCounter

USERS = """
query Users($first: Int, $after: String, $last: Int, $before: String, $filter: UserFilter, $orderBy: UserOrder) {
  users(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id email role isActive tenant { slug name } } }
  }
}
"""
CREATE_USER = """
mutation Create($input: CreateUserInput!) {
  createUser(input: $input) {
    __typename
    ... on UserSuccess { user { id email name role isActive } }
    ... on ValidationError { fields { field message } }
    ... on Error { code message }
  }
}
"""
UPDATE_USER = """
mutation Update($input: UpdateUserInput!) {
  updateUser(input: $input) {
    __typename
    ... on UserSuccess { user { id email name role isActive } }
    ... on ValidationError { fields { field message } }
    ... on NotFoundError { field }
    ... on Error { code message }
  }
}
"""
DEACTIVATE_USER = """
mutation Deactivate($id: ID!) {
  deactivateUser(input: {id: $id}) {
    __typename
    ... on UserSuccess { user { id isActive } }
    ... on Error { code message }
  }
}
"""


def emails(data: dict[str, Any]) -> list[str]:
    return [edge["node"]["email"] for edge in data["users"]["edges"]]


async def test_admin_lists_users_sorted_by_email(
    api: Api, admin_token: str, esr: TenantUsers, cmh: TenantUsers
) -> None:
    data = await api.data(USERS, token=admin_token)
    assert data["users"]["totalCount"] == 4
    assert emails(data) == sorted(emails(data))
    assert {edge["node"]["tenant"]["slug"] for edge in data["users"]["edges"]} == {"esr"}


async def test_manager_may_list_users_but_staff_and_customers_may_not(
    api: Api, manager_token: str, staff_token: str, customer_token: str
) -> None:
    assert (await api.data(USERS, token=manager_token))["users"]["totalCount"] == 4
    for token in (staff_token, customer_token):
        body = await api.post(USERS, token=token)
        assert error_codes(body) == ["FORBIDDEN"]
        assert body["data"] is None


async def test_paging_forwards_and_backwards_visits_every_user_once(
    api: Api, services: Services, admin_token: str, esr: TenantUsers
) -> None:
    for index in range(7):
        await make_user(services, esr.tenant, Role.CUSTOMER, f"c{index:02}@esr.example")
    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(USERS, {"first": 3, "after": after}, token=admin_token))["users"]
        seen += [edge["node"]["email"] for edge in page["edges"]]
        assert page["totalCount"] == 11
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 11
    assert seen == sorted(seen)

    backwards: list[str] = []
    before = None
    while True:
        page = (await api.data(USERS, {"last": 4, "before": before}, token=admin_token))["users"]
        backwards = [edge["node"]["email"] for edge in page["edges"]] + backwards
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backwards == seen


async def test_ordering_descending_by_creation(api: Api, admin_token: str, esr: TenantUsers) -> None:
    data = await api.data(USERS, {"orderBy": {"field": "CREATED_AT", "direction": "DESC"}}, token=admin_token)
    assert emails(data) == [esr.customer.email, esr.staff.email, esr.manager.email, esr.admin.email]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"role": "STAFF"}, ["staff@esr.example"]),
        ({"search": "MANAG"}, ["manager@esr.example"]),
        ({"search": "%"}, []),
        ({"isActive": False}, []),
    ],
)
async def test_filters(api: Api, admin_token: str, filter: dict[str, Any], expected: list[str]) -> None:
    assert emails(await api.data(USERS, {"filter": filter}, token=admin_token)) == expected


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 101}, "`first` must be between 0 and 100."),
        ({"first": -1}, "`first` must be between 0 and 100."),
        ({"first": 1, "last": 1}, "Pass either `first` or `last`, not both."),
        ({"after": "bm90LWEtY3Vyc29y"}, "The cursor is not valid for this list and order."),
    ],
)
async def test_bad_page_requests_are_refused(
    api: Api, admin_token: str, variables: dict[str, Any], message: str
) -> None:
    body = await api.post(USERS, variables, token=admin_token)
    assert body["errors"][0]["message"] == message
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_listing_users_with_their_tenant_costs_the_same_for_5_and_100_users(
    api: Api, services: Services, statements: StatementCounter
) -> None:
    async def statements_for(tenant: Tenant, users: int) -> int:
        admin = await make_user(services, tenant, Role.ADMIN, f"admin@{tenant.slug}.example")
        hashed = await services.passwords.hash(DEFAULT_PASSWORD)
        for index in range(users - 1):
            await make_user(
                services, tenant, Role.CUSTOMER, f"u{index:03}@{tenant.slug}.example", password_hash=hashed
            )
        token = await api.token(tenant.slug, admin.email)
        with statements.counting():
            data = await api.data(USERS, {"first": 100}, token=token)
        assert len(data["users"]["edges"]) == users
        return statements.last

    small = await statements_for(await make_tenant(services, "small"), 5)
    large = await statements_for(await make_tenant(services, "large"), 100)
    assert small == large
    # SQLite checks the caller's sign-in session in a statement of its own (db/session_check.py).
    assert large <= (5 if services.database.is_sqlite else 4)


async def test_admin_creates_a_user_who_can_sign_in(api: Api, admin_token: str) -> None:
    result = (
        await api.data(
            CREATE_USER,
            {
                "input": {
                    "email": " New.Person@ESR.example ",
                    "password": "Good-Password-1",
                    "role": "STAFF",
                    "name": "New",
                }
            },
            token=admin_token,
        )
    )["createUser"]
    assert result["__typename"] == "UserSuccess"
    assert result["user"]["email"] == "new.person@esr.example"
    assert result["user"]["role"] == "STAFF"
    assert (await api.login("esr", "new.person@esr.example", "Good-Password-1"))[
        "__typename"
    ] == "LoginSuccess"


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"email": "not-an-email", "password": "Good-Password-1"}, "email"),
        ({"email": "x" * 250 + "@esr.example", "password": "Good-Password-1"}, "email"),
        ({"email": "ok@esr.example", "password": "short"}, "password"),
        ({"email": "ok@esr.example", "password": "P" + "a1-" * 400}, "password"),
        ({"email": "ok@esr.example", "password": "1234567890"}, "password"),
        ({"email": "STAFF@esr.example", "password": "Good-Password-1"}, "email"),
        ({"email": "ok@esr.example", "password": "Good-Password-1", "name": "n" * 201}, "name"),
    ],
)
async def test_create_user_validation(api: Api, admin_token: str, input: dict[str, Any], field: str) -> None:
    result = (await api.data(CREATE_USER, {"input": {"role": "STAFF", **input}}, token=admin_token))[
        "createUser"
    ]
    assert result["__typename"] == "ValidationError"
    assert [problem["field"] for problem in result["fields"]] == [field]


async def test_only_admins_create_users(api: Api, manager_token: str) -> None:
    body = await api.post(
        CREATE_USER,
        {"input": {"email": "x@esr.example", "password": "Good-Password-1", "role": "ADMIN"}},
        token=manager_token,
    )
    assert error_codes(body) == ["FORBIDDEN"]


async def test_update_user_changes_role_and_name(api: Api, admin_token: str, esr: TenantUsers) -> None:
    user_id = to_global_id("User", esr.staff.id)
    result = (
        await api.data(
            UPDATE_USER, {"input": {"id": user_id, "role": "MANAGER", "name": "Promoted"}}, token=admin_token
        )
    )["updateUser"]
    assert result["user"] == {
        "id": user_id,
        "email": esr.staff.email,
        "name": "Promoted",
        "role": "MANAGER",
        "isActive": True,
    }


async def test_update_user_rejects_an_email_in_use(api: Api, admin_token: str, esr: TenantUsers) -> None:
    result = (
        await api.data(
            UPDATE_USER,
            {"input": {"id": to_global_id("User", esr.staff.id), "email": "Admin@esr.example"}},
            token=admin_token,
        )
    )["updateUser"]
    assert result["__typename"] == "ValidationError"
    assert result["fields"][0]["field"] == "email"


async def test_the_last_admin_can_be_neither_demoted_nor_deactivated(
    api: Api, admin_token: str, esr: TenantUsers
) -> None:
    admin_id = to_global_id("User", esr.admin.id)
    demote = (await api.data(UPDATE_USER, {"input": {"id": admin_id, "role": "STAFF"}}, token=admin_token))[
        "updateUser"
    ]
    assert demote["__typename"] == "ConflictError"
    deactivate = (await api.data(DEACTIVATE_USER, {"id": admin_id}, token=admin_token))["deactivateUser"]
    assert deactivate["__typename"] == "ConflictError"
    # With a second admin, the first may step down.
    await api.data(
        UPDATE_USER,
        {"input": {"id": to_global_id("User", esr.manager.id), "role": "ADMIN"}},
        token=admin_token,
    )
    demote = (await api.data(UPDATE_USER, {"input": {"id": admin_id, "role": "STAFF"}}, token=admin_token))[
        "updateUser"
    ]
    assert demote["user"]["role"] == "STAFF"


async def test_deactivated_users_lose_their_sessions(api: Api, admin_token: str, esr: TenantUsers) -> None:
    staff_session = await api.login("esr", esr.staff.email)
    result = (await api.data(DEACTIVATE_USER, {"id": to_global_id("User", esr.staff.id)}, token=admin_token))[
        "deactivateUser"
    ]
    assert result["user"]["isActive"] is False
    refresh = await api.data(
        "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { __typename } }",
        {"t": staff_session["refreshToken"]},
    )
    assert refresh["refreshToken"]["__typename"] == "InvalidTokenError"
    assert (await api.login("esr", esr.staff.email))["code"] == "INVALID_CREDENTIALS"


@pytest.mark.parametrize("bad_id", ["garbage", to_global_id("Tenant", uuid.uuid4())])
async def test_update_user_with_a_bad_id_is_not_found(api: Api, admin_token: str, bad_id: str) -> None:
    result = (await api.data(UPDATE_USER, {"input": {"id": bad_id, "name": "x"}}, token=admin_token))[
        "updateUser"
    ]
    assert result == {
        "__typename": "NotFoundError",
        "field": "id",
        "code": "NOT_FOUND",
        "message": "No such user.",
    }


async def test_deactivating_a_user_while_they_refresh_never_deadlocks(
    api: Api, admin_token: str, esr: TenantUsers
) -> None:
    refresh = "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { __typename } }"
    staff_id = to_global_id("User", esr.staff.id)
    for _ in range(10):
        session = await api.login("esr", esr.staff.email)
        refreshed, deactivated = await asyncio.gather(
            api.post(refresh, {"t": session["refreshToken"]}),
            api.post(UPDATE_USER, {"input": {"id": staff_id, "isActive": False}}, token=admin_token),
        )
        assert "errors" not in refreshed, refreshed
        assert "errors" not in deactivated, deactivated
        assert deactivated["data"]["updateUser"]["user"]["isActive"] is False
        await api.data(UPDATE_USER, {"input": {"id": staff_id, "isActive": True}}, token=admin_token)
