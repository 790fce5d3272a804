"""Tenants: operators create and list them; companies may sign themselves up."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app import create_app
from auth.services import Services
from tests.api import Api, TenantUsers, error_codes
from tests.conftest import settings_for

CREATE_TENANT = """
mutation Create($input: CreateTenantInput!) {
  createTenant(input: $input) {
    __typename
    ... on CreateTenantSuccess { tenant { id slug name timezone } admin { email role } }
    ... on ValidationError { fields { field message } }
  }
}
"""
REGISTER = """
mutation Register($input: RegisterTenantInput!) {
  registerTenant(input: $input) {
    __typename
    ... on LoginSuccess { accessToken user { email role tenant { slug name } } }
    ... on ValidationError { fields { field message } }
    ... on Error { code message }
  }
}
"""
TENANTS = "query($first: Int, $after: String) { tenants(first: $first, after: $after) { totalCount edges { node { slug } } pageInfo { hasNextPage endCursor } } }"


async def test_operator_creates_a_tenant_with_an_admin(api: Api, operator_token: str) -> None:
    result = (
        await api.data(
            CREATE_TENANT,
            {
                "input": {
                    "slug": "Stage-Co",
                    "name": "Stage Co",
                    "timezone": "Europe/Vienna",
                    "adminEmail": "Boss@stage.example",
                    "adminPassword": "Stage-Co-Admin-1",
                }
            },
            token=operator_token,
        )
    )["createTenant"]
    assert result["__typename"] == "CreateTenantSuccess"
    assert result["tenant"]["slug"] == "stage-co"
    assert result["tenant"]["timezone"] == "Europe/Vienna"
    assert result["admin"] == {"email": "boss@stage.example", "role": "ADMIN"}
    assert (await api.login("stage-co", "boss@stage.example", "Stage-Co-Admin-1"))[
        "__typename"
    ] == "LoginSuccess"


@pytest.mark.parametrize(
    ("input", "fields"),
    [
        ({"slug": "a", "name": "A"}, ["slug"]),
        ({"slug": "Bad Slug!", "name": "A"}, ["slug"]),
        ({"slug": "api", "name": "A"}, ["slug"]),
        ({"slug": "esr", "name": "Taken"}, ["slug"]),
        ({"slug": "fine", "name": " "}, ["name"]),
        ({"slug": "fine", "name": "Fine", "timezone": "Mars/Olympus"}, ["timezone"]),
        (
            {"slug": "fine", "name": "Fine", "adminEmail": "nope", "adminPassword": "short"},
            ["adminEmail", "adminPassword"],
        ),
    ],
)
async def test_create_tenant_validation(
    api: Api, operator_token: str, esr: TenantUsers, input: dict[str, Any], fields: list[str]
) -> None:
    result = (await api.data(CREATE_TENANT, {"input": input}, token=operator_token))["createTenant"]
    assert result["__typename"] == "ValidationError"
    assert [problem["field"] for problem in result["fields"]] == fields


async def test_tenant_users_cannot_create_or_list_tenants(api: Api, admin_token: str) -> None:
    body = await api.post(CREATE_TENANT, {"input": {"slug": "sneaky", "name": "S"}}, token=admin_token)
    assert error_codes(body) == ["FORBIDDEN"]
    assert error_codes(await api.post(TENANTS, token=admin_token)) == ["FORBIDDEN"]
    assert error_codes(await api.post(TENANTS)) == ["UNAUTHENTICATED"]


async def test_operators_list_tenants_by_slug(
    api: Api, operator_token: str, esr: TenantUsers, cmh: TenantUsers
) -> None:
    first = (await api.data(TENANTS, {"first": 1}, token=operator_token))["tenants"]
    assert first["totalCount"] == 2
    assert [edge["node"]["slug"] for edge in first["edges"]] == ["cmh"]
    second = (
        await api.data(TENANTS, {"first": 1, "after": first["pageInfo"]["endCursor"]}, token=operator_token)
    )["tenants"]
    assert [edge["node"]["slug"] for edge in second["edges"]] == ["esr"]
    assert second["pageInfo"]["hasNextPage"] is False


async def test_operators_are_not_tenant_users(api: Api, operator_token: str) -> None:
    assert error_codes(await api.post("query { tenant { slug } }", token=operator_token)) == ["FORBIDDEN"]


async def test_tenant_query_returns_the_callers_tenant(api: Api, customer_token: str) -> None:
    assert (await api.data("query { tenant { slug name } }", token=customer_token)) == {
        "tenant": {"slug": "esr", "name": "ESR"}
    }


async def test_register_tenant_signs_in_the_first_admin(api: Api) -> None:
    result = (
        await api.data(
            REGISTER,
            {
                "input": {
                    "slug": "newco",
                    "name": "New Co",
                    "adminEmail": "founder@newco.example",
                    "adminPassword": "Founder-Pass-1",
                }
            },
        )
    )["registerTenant"]
    assert result["__typename"] == "LoginSuccess"
    assert result["user"] == {
        "email": "founder@newco.example",
        "role": "ADMIN",
        "tenant": {"slug": "newco", "name": "New Co"},
    }
    me = await api.data("query { me { email } }", token=result["accessToken"])
    assert me == {"me": {"email": "founder@newco.example"}}


async def test_register_tenant_is_refused_when_sign_up_is_off(database_url: str) -> None:
    services = Services.create(settings_for(database_url, allow_tenant_signup=False))
    try:
        app = create_app(services=services)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://rigbook.test"
        ) as client:
            result = (
                await Api(client).data(
                    REGISTER,
                    {
                        "input": {
                            "slug": "newco",
                            "name": "New Co",
                            "adminEmail": "f@newco.example",
                            "adminPassword": "Founder-Pass-1",
                        }
                    },
                )
            )["registerTenant"]
    finally:
        await services.database.dispose()
    assert result["__typename"] == "ForbiddenError"
    assert result["code"] == "FORBIDDEN"
