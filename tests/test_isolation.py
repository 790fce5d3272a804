"""One tenant never sees or touches another tenant's rows."""

from __future__ import annotations

import uuid

import pytest

from schema.node import to_global_id
from tests.api import Api, TenantUsers
from tests.test_users import DEACTIVATE_USER, UPDATE_USER

NODE = "query($id: ID!) { node(id: $id) { id ... on User { email } ... on Tenant { slug } } }"


@pytest.fixture
async def cmh_admin_token(api: Api, cmh: TenantUsers) -> str:
    return await api.token("cmh", cmh.admin.email)


async def test_node_returns_null_for_another_tenants_objects(
    api: Api, cmh_admin_token: str, esr: TenantUsers, cmh: TenantUsers
) -> None:
    for global_id in (to_global_id("User", esr.admin.id), to_global_id("Tenant", esr.tenant.id)):
        assert await api.data(NODE, {"id": global_id}, token=cmh_admin_token) == {"node": None}
    own = await api.data(NODE, {"id": to_global_id("User", cmh.staff.id)}, token=cmh_admin_token)
    assert own == {"node": {"id": to_global_id("User", cmh.staff.id), "email": cmh.staff.email}}
    own_tenant = await api.data(NODE, {"id": to_global_id("Tenant", cmh.tenant.id)}, token=cmh_admin_token)
    assert own_tenant == {"node": {"id": to_global_id("Tenant", cmh.tenant.id), "slug": "cmh"}}


async def test_mutations_naming_another_tenants_user_are_not_found_and_change_nothing(
    api: Api, cmh_admin_token: str, admin_token: str, esr: TenantUsers
) -> None:
    esr_staff = to_global_id("User", esr.staff.id)
    update = await api.data(
        UPDATE_USER, {"input": {"id": esr_staff, "role": "ADMIN", "name": "pwned"}}, token=cmh_admin_token
    )
    assert update["updateUser"]["__typename"] == "NotFoundError"
    deactivate = await api.data(DEACTIVATE_USER, {"id": esr_staff}, token=cmh_admin_token)
    assert deactivate["deactivateUser"]["__typename"] == "NotFoundError"
    seen_by_owner = await api.data(
        "query($id: ID!) { node(id: $id) { ... on User { name role isActive } } }",
        {"id": esr_staff},
        token=admin_token,
    )
    assert seen_by_owner["node"] == {"name": esr.staff.name, "role": "STAFF", "isActive": True}


async def test_lists_never_include_another_tenants_rows(
    api: Api, cmh_admin_token: str, esr: TenantUsers, cmh: TenantUsers
) -> None:
    data = await api.data(
        "query { users(first: 100) { totalCount edges { node { email tenant { slug } } } } }",
        token=cmh_admin_token,
    )
    assert data["users"]["totalCount"] == 4
    assert {edge["node"]["tenant"]["slug"] for edge in data["users"]["edges"]} == {"cmh"}


async def test_customers_see_only_themselves_through_node(
    api: Api, customer_token: str, esr: TenantUsers
) -> None:
    assert (await api.data(NODE, {"id": to_global_id("User", esr.admin.id)}, token=customer_token)) == {
        "node": None
    }
    me = await api.data(NODE, {"id": to_global_id("User", esr.customer.id)}, token=customer_token)
    assert me["node"]["email"] == esr.customer.email


async def test_malformed_and_unknown_ids_are_null(api: Api, admin_token: str) -> None:
    for global_id in ["garbage", to_global_id("Nope", uuid.uuid4()), "VXNlcjpub3QtYS11dWlk"]:
        assert await api.data(NODE, {"id": global_id}, token=admin_token) == {"node": None}
