from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from db.tables import Operator as OperatorRow
from db.tables import Role as RoleValue
from db.tables import User as UserRow
from resolvers.context import Context
from schema.context import Info
from schema.node import Node, to_global_id
from schema.projection import batched, distinct, pick, row_source
from schema.types.tenant import Tenant


@strawberry.enum(description="What a user may do inside their tenant.")
class Role(Enum):
    ADMIN = strawberry.enum_value(
        RoleValue.ADMIN.value, description="Everything, including users and settings."
    )
    MANAGER = strawberry.enum_value(
        RoleValue.MANAGER.value, description="Inventory, reservations and designs; can list users."
    )
    STAFF = strawberry.enum_value(
        RoleValue.STAFF.value, description="Day-to-day reservations and check-out/return."
    )
    CUSTOMER = strawberry.enum_value(
        RoleValue.CUSTOMER.value, description="Requests reservations and builds designs for themselves."
    )


@strawberry.type(description="A person who signs in to one tenant.")
class User(Node):
    email: str = strawberry.field(description="Sign-in email, unique within the tenant (stored lower-case).")
    name: str = strawberry.field(description="Display name; may be empty.")
    role: Role = strawberry.field(description="What the user may do.")
    is_active: bool = strawberry.field(description="Inactive users cannot sign in or refresh tokens.")
    created_at: datetime = strawberry.field(description="When the user was created.")
    updated_at: datetime = strawberry.field(description="When the user was last changed.")
    pk: strawberry.Private[uuid.UUID]
    tenant_pk: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The tenant the user belongs to.")
    async def tenant(self, info: Info) -> Tenant:
        row = await info.context.loaders.tenant_by_id.load(self.tenant_pk)
        assert row is not None
        return Tenant.from_row(row)

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=to_global_id("User", row.id),
            pk=row.id,
            tenant_pk=row.tenant_id,
            email=row.email,
            name=row.name,
            role=Role(row.role),
            is_active=row.is_active,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


row_source(
    User,
    UserRow,
    id=(("id",), lambda row: to_global_id("User", row.id)),
    role=(("role",), lambda row: Role(row.role)),
)


@batched(User, "tenant", key=lambda parent: parent.tenant_pk, key_column="tenant_id")
async def _tenants_of_list(
    context: Context, keys: list[uuid.UUID], arguments: dict[str, Any], columns: frozenset[str]
) -> list[Any]:
    return pick(await context.loaders.tenants_by_id(distinct(keys), columns), keys)


@strawberry.type(description="A platform operator: creates and lists tenants, belongs to none.")
class Operator(Node):
    email: str = strawberry.field(description="Sign-in email of the operator.")
    name: str = strawberry.field(description="Display name; may be empty.")

    @classmethod
    def from_row(cls, row: OperatorRow) -> Operator:
        return cls(id=to_global_id("Operator", row.id), email=row.email, name=row.name)
