"""Sign-in inputs and payloads."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.sessions import SignedIn
from schema.errors import (
    ForbiddenError,
    InvalidCredentialsError,
    InvalidTokenError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from schema.types.tenant import Tenant
from schema.types.user import Operator, User


@strawberry.input(description="Credentials for `login`.")
class LoginInput:
    tenant: str | None = strawberry.field(description="Tenant slug; null signs in a platform operator.")
    email: str = strawberry.field(description="The account's email (case does not matter).")
    password: str = strawberry.field(description="The account's password.")


@strawberry.type(description="Signed in: tokens for the API, and who you are.")
class LoginSuccess:
    access_token: str = strawberry.field(
        description="Short-lived JWT; send as `Authorization: Bearer <token>`."
    )
    refresh_token: str = strawberry.field(
        description="Opaque, single-use token for `refreshToken`; keep it secret."
    )
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User | None = strawberry.field(description="The signed-in user; null when an operator signed in.")
    operator: Operator | None = strawberry.field(description="The signed-in operator; null for tenant users.")

    @classmethod
    def from_signed_in(cls, signed_in: SignedIn) -> LoginSuccess:
        return cls(
            access_token=signed_in.access_token,
            refresh_token=signed_in.refresh_token,
            expires_in=signed_in.expires_in,
            user=User.from_row(signed_in.user) if signed_in.user is not None else None,
            operator=Operator.from_row(signed_in.operator) if signed_in.operator is not None else None,
        )


@strawberry.input(description="A refresh token to exchange.")
class RefreshTokenInput:
    refresh_token: str = strawberry.field(
        description="The refresh token from `login` or the last `refreshToken`."
    )


@strawberry.type(description="A fresh access token and the refresh token that replaces the one you sent.")
class RefreshTokenSuccess:
    access_token: str = strawberry.field(description="New short-lived JWT.")
    refresh_token: str = strawberry.field(description="New refresh token; the old one is now spent.")
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")


@strawberry.input(description="The session to end.")
class LogoutInput:
    refresh_token: str = strawberry.field(description="A refresh token of the session to end.")


@strawberry.type(description="Sessions were ended.")
class LogoutSuccess:
    revoked_sessions: int = strawberry.field(
        description="How many sessions were still live and are now ended."
    )


@strawberry.input(description="Your current and new password.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password you signed in with.")
    new_password: str = strawberry.field(description="At least 10 characters, not a common password.")


@strawberry.type(description="The password was changed; your other sessions were ended.")
class ChangePasswordSuccess:
    revoked_sessions: int = strawberry.field(description="How many other sessions were ended.")


LoginResult = Annotated[
    LoginSuccess | InvalidCredentialsError | RateLimitedError | ValidationError,
    strawberry.union("LoginResult", description="The outcome of `login`."),
]
RegisterTenantResult = Annotated[
    LoginSuccess | ValidationError | ForbiddenError | RateLimitedError,
    strawberry.union("RegisterTenantResult", description="The outcome of `registerTenant`."),
]
RefreshTokenResult = Annotated[
    RefreshTokenSuccess | InvalidTokenError | RateLimitedError,
    strawberry.union("RefreshTokenResult", description="The outcome of `refreshToken`."),
]
LogoutResult = Annotated[
    LogoutSuccess | InvalidTokenError | RateLimitedError,
    strawberry.union("LogoutResult", description="The outcome of `logout`."),
]
ChangePasswordResult = Annotated[
    ChangePasswordSuccess | InvalidCredentialsError | RateLimitedError | ValidationError,
    strawberry.union("ChangePasswordResult", description="The outcome of `changePassword`."),
]


@strawberry.input(description="Whose password to reset.")
class RequestPasswordResetInput:
    tenant: str = strawberry.field(description="Tenant slug.")
    email: str = strawberry.field(description="The account's email.")


@strawberry.type(description="Always the same answer, whether or not the account exists.")
class RequestPasswordResetSuccess:
    message: str = strawberry.field(description="What happens next.")


@strawberry.input(description="A reset token from the mail, and the new password.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The token from the reset mail; it works once.")
    new_password: str = strawberry.field(description="At least 10 characters, not a common password.")


@strawberry.type(description="The password was changed and every session of the account was ended.")
class ResetPasswordSuccess:
    revoked_sessions: int = strawberry.field(description="How many sessions were ended.")


@strawberry.input(description="The tenant an operator needs to act in, and why.")
class AssumeTenantInput:
    tenant_id: strawberry.ID = strawberry.field(description="Global id of the tenant.")
    reason: str = strawberry.field(
        description="Why (support ticket, incident); written to the tenant's audit trail."
    )


@strawberry.type(description="A short-lived ADMIN access token inside the tenant; there is no refresh token.")
class AssumeTenantSuccess:
    access_token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_in: int = strawberry.field(description="Seconds until it expires.")
    tenant: Tenant = strawberry.field(description="The tenant it is scoped to.")


ResetPasswordResult = Annotated[
    ResetPasswordSuccess | InvalidTokenError | RateLimitedError | ValidationError,
    strawberry.union("ResetPasswordResult", description="The outcome of `resetPassword`."),
]
AssumeTenantResult = Annotated[
    AssumeTenantSuccess | NotFoundError | ValidationError,
    strawberry.union("AssumeTenantResult", description="The outcome of `assumeTenant`."),
]
