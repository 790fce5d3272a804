"""Tenant fields: the caller's tenant, every tenant for operators, creating one, self-service sign-up,
and a tenant's own settings."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.tables import Role
from resolvers import tenants as resolve
from resolvers.pagination import PageArgs
from resolvers.tenant_settings import update_tenant
from schema.context import Info
from schema.errors import errors_as_data
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import operator_only, role_at_least, signed_in_user
from schema.types.auth import LoginSuccess, RegisterTenantResult
from schema.types.tenant import Tenant
from schema.types.tenant_inputs import (
    CreateTenantInput,
    CreateTenantResult,
    CreateTenantSuccess,
    RegisterTenantInput,
    TenantSettingsSuccess,
    UpdateTenantInput,
    UpdateTenantSettingsInput,
    UpdateTenantSettingsResult,
    to_new_tenant,
)
from schema.types.user import User


@strawberry.type
class TenantQuery:
    @strawberry.field(description="The signed-in user's tenant.", extensions=signed_in_user())
    async def tenant(self, info: Info) -> Tenant:
        tenant_id = info.context.caller().tenant_id
        row = await info.context.loaders.tenant_by_id.load(tenant_id)
        if row is None:  # the session check read the caller's user, of this tenant, just now
            raise RuntimeError("the caller's tenant is gone")
        return Tenant.from_row(row)

    @strawberry.field(description="Every tenant, by slug (operators only).", extensions=operator_only())
    @paginated
    async def tenants(self, info: Info, paging: PageArgs) -> Connection[Tenant]:
        page = await resolve.list_tenants(info.context, paging)
        return to_connection(page, Tenant.from_row)


@strawberry.type
class TenantMutation:
    @strawberry.mutation(
        description="Create a tenant, optionally with its first admin (operators only).",
        extensions=operator_only(),
    )
    @errors_as_data
    async def create_tenant(
        self,
        info: Info,
        input: Annotated[
            CreateTenantInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> CreateTenantResult:
        context = info.context
        tenant, admin = await resolve.create_tenant(context, context.services.passwords, to_new_tenant(input))
        return CreateTenantSuccess(
            tenant=Tenant.from_row(tenant), admin=User.from_row(admin) if admin is not None else None
        )

    @strawberry.mutation(
        description="Sign up a new company: creates the tenant and its first ADMIN, and signs them in. "
        "Available when the server allows self-service sign-up."
    )
    @errors_as_data
    async def register_tenant(
        self,
        info: Info,
        input: Annotated[
            RegisterTenantInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> RegisterTenantResult:
        signed_in = await resolve.register_tenant(info.context, to_new_tenant(input))
        return LoginSuccess.from_signed_in(signed_in)

    @strawberry.mutation(
        description="Change your tenant's name, time zone or settings (`requestExpiryHours`, "
        "`allowCustomerSignUp`) (ADMIN).",
        extensions=role_at_least(Role.ADMIN),
    )
    @errors_as_data
    async def update_tenant(
        self,
        info: Info,
        input: Annotated[
            UpdateTenantInput, strawberry.argument(description="What to change; see the input type.")
        ],
    ) -> UpdateTenantSettingsResult:
        context = info.context
        tenant = await update_tenant(context, context.caller(), input.to_changes())
        return TenantSettingsSuccess(tenant=Tenant.from_row(tenant))

    @strawberry.mutation(
        description="Change your tenant's settings, such as `requestExpiryHours` (ADMIN).",
        extensions=role_at_least(Role.ADMIN),
        deprecation_reason="Use `updateTenant`, which changes the same settings and the name and time zone.",
    )
    @errors_as_data
    async def update_tenant_settings(
        self,
        info: Info,
        input: Annotated[
            UpdateTenantSettingsInput,
            strawberry.argument(description="What to change; see the input type."),
        ],
    ) -> UpdateTenantSettingsResult:
        context = info.context
        tenant = await update_tenant(context, context.caller(), input.to_changes())
        return TenantSettingsSuccess(tenant=Tenant.from_row(tenant))
