"""Sign-in mutations and `me`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import auth as resolve
from resolvers import password_reset
from schema.context import Info
from schema.errors import errors_as_data
from schema.node import pk_of
from schema.permissions import operator_only, signed_in_anyone, unauthenticated
from schema.types.auth import (
    AssumeTenantInput,
    AssumeTenantResult,
    AssumeTenantSuccess,
    ChangePasswordInput,
    ChangePasswordResult,
    ChangePasswordSuccess,
    LoginInput,
    LoginResult,
    LoginSuccess,
    LogoutInput,
    LogoutResult,
    LogoutSuccess,
    RefreshTokenInput,
    RefreshTokenResult,
    RefreshTokenSuccess,
    RequestPasswordResetInput,
    RequestPasswordResetSuccess,
    ResetPasswordInput,
    ResetPasswordResult,
    ResetPasswordSuccess,
)
from schema.types.tenant import Tenant
from schema.types.user import Operator, User


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in user; null when anonymous or signed in as an operator.")
    async def me(self, info: Info) -> User | None:
        context = info.context
        if context.token_error is not None:
            raise unauthenticated(context)
        principal = context.principal
        if principal is None or principal.user_id is None:
            return None
        row = await context.loaders.user_by_id.load_alone(principal.user_id)
        return User.from_row(row) if row is not None else None

    @strawberry.field(description="The signed-in platform operator; null otherwise.")
    async def current_operator(self, info: Info) -> Operator | None:
        context = info.context
        if context.token_error is not None:
            raise unauthenticated(context)
        principal = context.principal
        if principal is None or not principal.acting_operator:
            return None
        row = await context.loaders.operator_by_id.load_alone(principal.operator_id or principal.subject_id)
        return Operator.from_row(row) if row is not None else None


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Sign in to a tenant (or as an operator with `tenant: null`).")
    @errors_as_data
    async def login(
        self,
        info: Info,
        input: Annotated[LoginInput, strawberry.argument(description="What to do; see the input type.")],
    ) -> LoginResult:
        signed_in = await resolve.login(
            info.context, tenant=input.tenant, email=input.email, password=input.password
        )
        return LoginSuccess.from_signed_in(signed_in)

    @strawberry.mutation(
        description="Exchange a refresh token for new tokens. Each token works once; "
        "reusing a spent one ends its whole session."
    )
    @errors_as_data
    async def refresh_token(
        self,
        info: Info,
        input: Annotated[
            RefreshTokenInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> RefreshTokenResult:
        signed_in = await resolve.refresh(info.context, input.refresh_token)
        return RefreshTokenSuccess(
            access_token=signed_in.access_token,
            refresh_token=signed_in.refresh_token,
            expires_in=signed_in.expires_in,
        )

    @strawberry.mutation(description="End the session a refresh token belongs to.")
    @errors_as_data
    async def logout(
        self,
        info: Info,
        input: Annotated[LogoutInput, strawberry.argument(description="What to do; see the input type.")],
    ) -> LogoutResult:
        return LogoutSuccess(revoked_sessions=await resolve.logout(info.context, input.refresh_token))

    @strawberry.mutation(
        description="End every session of the signed-in account (access tokens lapse within their lifetime).",
        extensions=signed_in_anyone(),
    )
    async def logout_all(self, info: Info) -> LogoutSuccess:
        return LogoutSuccess(revoked_sessions=await resolve.logout_all(info.context))

    @strawberry.mutation(
        description="Mail a single-use, expiring reset link to the account, if it exists. "
        "Always answers the same, so it reveals nothing about which accounts exist."
    )
    async def request_password_reset(
        self,
        info: Info,
        input: Annotated[
            RequestPasswordResetInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> RequestPasswordResetSuccess:
        await password_reset.request_password_reset(info.context, tenant=input.tenant, email=input.email)
        return RequestPasswordResetSuccess(message="If the account exists, a reset link is on its way.")

    @strawberry.mutation(
        description="Set a new password with a reset token; ends every session of the account."
    )
    @errors_as_data
    async def reset_password(
        self,
        info: Info,
        input: Annotated[
            ResetPasswordInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> ResetPasswordResult:
        revoked = await password_reset.reset_password(
            info.context, token=input.token, new_password=input.new_password
        )
        return ResetPasswordSuccess(revoked_sessions=revoked)

    @strawberry.mutation(
        description="Operators only: get a short-lived ADMIN token inside one tenant, for support. "
        "Recorded in that tenant's audit trail with the reason.",
        extensions=operator_only(),
    )
    @errors_as_data
    async def assume_tenant(
        self,
        info: Info,
        input: Annotated[
            AssumeTenantInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> AssumeTenantResult:
        token, expires_in, tenant = await resolve.assume_tenant(
            info.context, pk_of(input.tenant_id, "Tenant"), input.reason
        )
        return AssumeTenantSuccess(access_token=token, expires_in=expires_in, tenant=Tenant.from_row(tenant))

    @strawberry.mutation(
        description="Change your password; ends your other sessions.", extensions=signed_in_anyone()
    )
    @errors_as_data
    async def change_password(
        self,
        info: Info,
        input: Annotated[
            ChangePasswordInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> ChangePasswordResult:
        revoked = await resolve.change_password(
            info.context, current_password=input.current_password, new_password=input.new_password
        )
        return ChangePasswordSuccess(revoked_sessions=revoked)
