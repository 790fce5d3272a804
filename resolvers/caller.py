"""The caller as business code sees them: one accessor, refusing with a typed error.

Field permissions (``schema/permissions.py``) refuse a request before a resolver runs;
this accessor is the resolver's own check, so that no code path depends on a
permission having run (or on an ``assert``, which ``python -O`` removes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from graphql import GraphQLError

from auth.principal import Principal
from db.tables.user import Role
from resolvers.visibility import Visibility, sees_whole_tenant


class CallerRefused(GraphQLError):
    """A top-level refusal: nobody signed in (UNAUTHENTICATED) or not a tenant user (FORBIDDEN)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})
        self.code = code


SIGN_IN_FIRST = "Sign in first: send `Authorization: Bearer <accessToken>`."
TENANT_USERS_ONLY = "Only users of a tenant may do this."
OPERATORS_ONLY = "Only platform operators may do this."


@dataclass(frozen=True, slots=True)
class TenantCaller:
    """A caller inside a tenant: a user, or an operator acting in it (``assumeTenant``)."""

    principal: Principal
    tenant_id: uuid.UUID

    @property
    def subject_id(self) -> uuid.UUID:
        """Who the token names: the user, or the operator acting in the tenant."""
        return self.principal.subject_id

    @property
    def user_id(self) -> uuid.UUID | None:
        """The tenant user behind the call; ``None`` for an operator acting in the tenant."""
        return self.principal.user_id

    @property
    def role(self) -> Role | None:
        return self.principal.role

    @property
    def is_staff(self) -> bool:
        """Staff, managers and admins: they work on the whole tenant."""
        return sees_whole_tenant(self.principal)

    @property
    def visibility(self) -> Visibility:
        """Which rows the caller may see (``resolvers/visibility.py``)."""
        return Visibility.of(self.principal)


def tenant_caller(principal: Principal | None, token_error: str | None = None) -> TenantCaller:
    """The caller and their tenant, or a ``CallerRefused`` saying why there is none."""
    user = signed_in(principal, token_error)
    if user.tenant_id is None:
        raise CallerRefused(TENANT_USERS_ONLY, "FORBIDDEN")
    return TenantCaller(user, user.tenant_id)


def signed_in(principal: Principal | None, token_error: str | None = None) -> Principal:
    """Whoever the token names, user or operator; ``CallerRefused`` when nobody signed in."""
    if principal is None:
        raise CallerRefused(token_error or SIGN_IN_FIRST, "UNAUTHENTICATED")
    return principal


def platform_operator(principal: Principal | None, token_error: str | None = None) -> Principal:
    """A platform operator outside any tenant; ``CallerRefused`` for anyone else."""
    operator = signed_in(principal, token_error)
    if operator.tenant_id is not None:
        raise CallerRefused(OPERATORS_ONLY, "FORBIDDEN")
    return operator
