"""Field permissions. A failure is a top-level error with ``extensions.code``."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from auth.principal import Principal
from db.tables.user import Role
from resolvers.context import Context


def unauthenticated(context: Context) -> GraphQLError:
    message = context.token_error or "Sign in first: send `Authorization: Bearer <accessToken>`."
    return GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})


def forbidden(message: str = "Your role may not do this.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


def require_principal(context: Context) -> Principal:
    if context.principal is None:
        raise unauthenticated(context)
    return context.principal


class _Requires(BasePermission):
    """Signed in as a tenant user with at least ``minimum`` role, or as an operator."""

    def __init__(self, *, minimum: Role | None = None, operator: bool = False) -> None:
        self.minimum = minimum
        self.operator = operator

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        principal = require_principal(info.context)
        if self.operator:
            if not principal.is_operator:
                raise forbidden("Only platform operators may do this.")
            return True
        if principal.is_operator:
            raise forbidden("Operators act inside a tenant only through a tenant-scoped token.")
        if self.minimum is not None and not principal.has_role_at_least(self.minimum):
            raise forbidden(f"This needs the {self.minimum.value} role or higher.")
        return True


def _extensions(permission: _Requires) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[permission], use_directives=False)]


def signed_in_user() -> list[FieldExtension]:
    """Any user of a tenant (operators excluded)."""
    return _extensions(_Requires())


def role_at_least(role: Role) -> list[FieldExtension]:
    return _extensions(_Requires(minimum=role))


def signed_in_anyone() -> list[FieldExtension]:
    """Any signed-in principal, user or operator."""

    class _Anyone(BasePermission):
        def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
            require_principal(info.context)
            return True

    return [PermissionExtension(permissions=[_Anyone()], use_directives=False)]


def operator_only() -> list[FieldExtension]:
    return _extensions(_Requires(operator=True))
