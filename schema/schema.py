"""The one GraphQL schema: root types assembled from the domain modules."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import DisableIntrospection, ValidationCache
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
from schema.limits import HideSuggestions, QueryLimits, limit_extensions
from schema.masking import MaskUnexpectedErrors
from schema.operations.audit import AuditQuery
from schema.operations.auth import AuthMutation, AuthQuery
from schema.operations.designs import DesignMutation, DesignQuery
from schema.operations.equipment import EquipmentMutation, EquipmentQuery
from schema.operations.node import NodeQuery
from schema.operations.reservations import ReservationMutation, ReservationQuery
from schema.operations.tenants import TenantMutation, TenantQuery
from schema.operations.users import UserMutation, UserQuery
from schema.projection import ProjectingExecutor
from schema.text_input import RejectUnstorableText
from schema.types.design import Design, DesignShare, DesignVersion
from schema.types.equipment import Equipment, EquipmentUnit
from schema.types.reservation import Reservation
from schema.types.tenant import Tenant
from schema.types.user import Operator, User


@strawberry.type(description="Everything you can read.")
class Query(
    AuthQuery, TenantQuery, UserQuery, EquipmentQuery, ReservationQuery, DesignQuery, AuditQuery, NodeQuery
):
    pass


@strawberry.type(description="Everything you can change. Expected failures come back as `Error` members.")
class Mutation(
    AuthMutation, TenantMutation, UserMutation, EquipmentMutation, ReservationMutation, DesignMutation
):
    pass


_TYPES = [
    User,
    Equipment,
    EquipmentUnit,
    Reservation,
    Design,
    DesignVersion,
    DesignShare,
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


def build_schema(
    *,
    introspection: bool = True,
    limits: QueryLimits | None = None,
    suggestions: bool = True,
    projection: bool = True,
) -> strawberry.Schema:
    """``limits`` defaults to ``QueryLimits()``; ``suggestions=False`` drops "Did you mean ...?" hints.

    ``projection=False`` leaves every field to graphql-core's field-by-field completion
    (see ``schema/projection.py``); the tests compare both.
    """
    # Classes or factories, never shared instances: extensions hold per-request state.
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        MaskUnexpectedErrors,
        # Parses (with a cache) under the token limit, adds the validation rules, checks the cost.
        *limit_extensions(limits or QueryLimits()),
        lambda: ValidationCache(maxsize=512),
        RejectUnstorableText,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    if not suggestions:
        extensions.append(HideSuggestions)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=_TYPES,
        extensions=extensions,
        execution_context_class=ProjectingExecutor if projection else None,
    )


schema = build_schema()
