"""Inputs and results for creating tenants."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.tenants import NewTenant
from schema.errors import ValidationError
from schema.types.tenant import Tenant
from schema.types.user import User


@strawberry.input(description="A new tenant, optionally with its first admin.")
class CreateTenantInput:
    slug: str = strawberry.field(description="3–40 lowercase letters, digits and hyphens; used at sign-in.")
    name: str = strawberry.field(description="Display name of the company.")
    timezone: str = strawberry.field(default="UTC", description="IANA time zone, e.g. `Europe/Berlin`.")
    admin_email: str | None = strawberry.field(default=None, description="Email of the first ADMIN user.")
    admin_password: str | None = strawberry.field(
        default=None, description="Password of the first ADMIN user."
    )
    admin_name: str = strawberry.field(default="", description="Display name of the first ADMIN user.")


@strawberry.input(description="Self-service sign-up: a new tenant and its first ADMIN.")
class RegisterTenantInput:
    slug: str = strawberry.field(description="3–40 lowercase letters, digits and hyphens; used at sign-in.")
    name: str = strawberry.field(description="Display name of the company.")
    admin_email: str = strawberry.field(description="Your email; you become the tenant's first ADMIN.")
    admin_password: str = strawberry.field(description="Your password (at least 10 characters).")
    admin_name: str = strawberry.field(default="", description="Your display name.")
    timezone: str = strawberry.field(default="UTC", description="IANA time zone, e.g. `Europe/Berlin`.")


def to_new_tenant(input: CreateTenantInput | RegisterTenantInput) -> NewTenant:
    return NewTenant(
        slug=input.slug,
        name=input.name,
        timezone=input.timezone,
        admin_email=input.admin_email,
        admin_password=input.admin_password,
        admin_name=input.admin_name,
    )


@strawberry.type(description="The tenant was created.")
class CreateTenantSuccess:
    tenant: Tenant = strawberry.field(description="The new tenant.")
    admin: User | None = strawberry.field(description="Its first admin, when one was requested.")


CreateTenantResult = Annotated[
    CreateTenantSuccess | ValidationError,
    strawberry.union("CreateTenantResult", description="The outcome of `createTenant`."),
]
