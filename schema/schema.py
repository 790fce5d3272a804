"""The one GraphQL schema: root types assembled from the domain modules."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import DisableIntrospection, ParserCache, ValidationCache
from strawberry.extensions.base_extension import SchemaExtension

from schema.errors import (
    ConflictError,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidTokenError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from schema.masking import MaskUnexpectedErrors
from schema.operations.auth import AuthMutation, AuthQuery
from schema.operations.equipment import EquipmentMutation, EquipmentQuery
from schema.operations.node import NodeQuery
from schema.operations.reservations import ReservationMutation, ReservationQuery
from schema.operations.tenants import TenantMutation, TenantQuery
from schema.operations.users import UserMutation, UserQuery
from schema.types.equipment import Equipment, EquipmentUnit
from schema.types.reservation import Reservation
from schema.types.tenant import Tenant
from schema.types.user import Operator, User


@strawberry.type(description="Everything you can read.")
class Query(AuthQuery, TenantQuery, UserQuery, EquipmentQuery, ReservationQuery, NodeQuery):
    pass


@strawberry.type(description="Everything you can change. Expected failures come back as `Error` members.")
class Mutation(AuthMutation, TenantMutation, UserMutation, EquipmentMutation, ReservationMutation):
    pass


_TYPES = [
    User,
    Equipment,
    EquipmentUnit,
    Reservation,
    Tenant,
    Operator,
    ValidationError,
    NotFoundError,
    ConflictError,
    InvalidCredentialsError,
    InvalidTokenError,
    ForbiddenError,
    RateLimitedError,
]


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    # Classes or factories, never shared instances: extensions hold per-request state.
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        MaskUnexpectedErrors,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, types=_TYPES, extensions=extensions)


schema = build_schema()
