"""Inputs and results for creating tenants and changing their settings."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.tenant_settings import (
    DEFAULT_REQUEST_EXPIRY_HOURS,
    MAX_REQUEST_EXPIRY_HOURS,
    MIN_REQUEST_EXPIRY_HOURS,
    SettingsChanges,
)
from resolvers.tenants import NewTenant
from schema.errors import ForbiddenError, ValidationError
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


@strawberry.input(description="Changes to your tenant's settings; a field left out keeps its value.")
class UpdateTenantSettingsInput:
    request_expiry_hours: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"Hours ({MIN_REQUEST_EXPIRY_HOURS}–{MAX_REQUEST_EXPIRY_HOURS}) a customer's request "
        f"waits for staff before it becomes EXPIRED; null goes back to the default "
        f"({DEFAULT_REQUEST_EXPIRY_HOURS}). Applies to requests already waiting too.",
    )

    def to_changes(self) -> SettingsChanges:
        given = self.request_expiry_hours is not strawberry.UNSET
        return SettingsChanges(
            request_expiry_hours=self.request_expiry_hours if given else None,
            request_expiry_given=given,
        )


@strawberry.input(description="Changes to your tenant; a field left out keeps its value.")
class UpdateTenantInput:
    name: str | None = strawberry.field(
        default=None, description="Display name of the company (1–200 characters)."
    )
    timezone: str | None = strawberry.field(
        default=None,
        description="IANA time zone, e.g. `Europe/Berlin`: where the company's days and months begin "
        "(monthly reports, times in mail).",
    )
    request_expiry_hours: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"Hours ({MIN_REQUEST_EXPIRY_HOURS}–{MAX_REQUEST_EXPIRY_HOURS}) a customer's request "
        f"waits for staff before it becomes EXPIRED; null goes back to the default "
        f"({DEFAULT_REQUEST_EXPIRY_HOURS}). Applies to requests already waiting too.",
    )
    allow_customer_sign_up: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Whether anyone may create a CUSTOMER account with `signUp`; null goes back to the "
        "default (off).",
    )

    def to_changes(self) -> SettingsChanges:
        hours_given = self.request_expiry_hours is not strawberry.UNSET
        sign_up_given = self.allow_customer_sign_up is not strawberry.UNSET
        return SettingsChanges(
            request_expiry_hours=self.request_expiry_hours if hours_given else None,
            request_expiry_given=hours_given,
            allow_customer_sign_up=self.allow_customer_sign_up if sign_up_given else None,
            allow_customer_sign_up_given=sign_up_given,
            name=self.name,
            timezone=self.timezone,
        )


@strawberry.type(description="The tenant's settings were changed.")
class TenantSettingsSuccess:
    tenant: Tenant = strawberry.field(description="The tenant, with its settings as they are now.")


UpdateTenantSettingsResult = Annotated[
    TenantSettingsSuccess | ValidationError | ForbiddenError,
    strawberry.union(
        "UpdateTenantSettingsResult", description="The outcome of `updateTenant` and `updateTenantSettings`."
    ),
]
