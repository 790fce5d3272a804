"""A small GraphQL client over the ASGI app, and factories for rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from auth.services import Services
from db.tables import Role, Tenant, User

DEFAULT_PASSWORD = "Correct-Horse-9"
OPERATOR_EMAIL = "support@rigbook.example"

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on LoginSuccess { accessToken refreshToken expiresIn user { id email role tenant { slug } } operator { email } }
    ... on Error { code message }
    ... on RateLimitedError { retryAfter }
  }
}
"""


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name is not None:
            payload["operationName"] = operation_name
        response = await self.client.post("/graphql", json=payload, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The ``data`` of a response that must have no errors."""
        body = await self.post(query, variables, token)
        assert "errors" not in body, body["errors"]
        result: dict[str, Any] = body["data"]
        return result

    async def login(self, tenant: str | None, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
        result: dict[str, Any] = (
            await self.data(LOGIN, {"input": {"tenant": tenant, "email": email, "password": password}})
        )["login"]
        return result

    async def token(self, tenant: str | None, email: str, password: str = DEFAULT_PASSWORD) -> str:
        result = await self.login(tenant, email, password)
        assert result["__typename"] == "LoginSuccess", result
        token: str = result["accessToken"]
        return token


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


async def make_tenant(services: Services, slug: str, name: str | None = None) -> Tenant:
    tenant = Tenant(slug=slug, name=name or slug.upper())
    async with services.database.transaction(tenant.id) as session:
        session.add(tenant)
    return tenant


async def make_user(
    services: Services,
    tenant: Tenant,
    role: Role = Role.STAFF,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    *,
    is_active: bool = True,
    password_hash: str | None = None,
) -> User:
    user = User(
        tenant_id=tenant.id,
        email=email or f"{role.value.lower()}-{uuid.uuid4().hex[:6]}@{tenant.slug}.example",
        name=f"{role.value.title()} of {tenant.slug}",
        role=role,
        password_hash=password_hash or await services.passwords.hash(password),
        is_active=is_active,
    )
    async with services.database.transaction(tenant.id) as session:
        session.add(user)
    return user


@dataclass
class TenantUsers:
    tenant: Tenant
    admin: User
    manager: User
    staff: User
    customer: User


async def make_tenant_with_users(services: Services, slug: str) -> TenantUsers:
    tenant = await make_tenant(services, slug)
    users = {
        role: await make_user(services, tenant, role, f"{role.value.lower()}@{slug}.example") for role in Role
    }
    return TenantUsers(
        tenant, users[Role.ADMIN], users[Role.MANAGER], users[Role.STAFF], users[Role.CUSTOMER]
    )
