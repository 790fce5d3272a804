"""Users and their roles, and platform operators, as GraphQL types."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from db.tables import Operator as OperatorRow
from db.tables import Role as RoleValue
from db.tables import User as UserRow
from resolvers.notification_prefs import preferences_of
from resolvers.visibility import visibility_of
from schema.context import Info
from schema.fetches import TENANTS
from schema.node import Node
from schema.relations import relation
from schema.rows import FromRow, Reader, row_type
from schema.types.notification import NotificationPreference
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


# Whether the address was confirmed: the row keeps when, the API says whether.
EMAIL_VERIFIED = Reader(("email_verified_at",), lambda row: row.email_verified_at is not None)


@row_type(UserRow, role=Role, email_verified=EMAIL_VERIFIED)
@strawberry.type(description="A person who signs in to one tenant.")
class User(FromRow[UserRow], Node):
    email: str = strawberry.field(description="Sign-in email, unique within the tenant (stored lower-case).")
    name: str = strawberry.field(description="Display name; may be empty.")
    phone: str = strawberry.field(description="Phone number as the user gave it; may be empty.")
    role: Role = strawberry.field(description="What the user may do.")
    email_verified: bool = strawberry.field(
        description="Whether the email address is confirmed. A user who signed up (`signUp`) is not until "
        "they follow the mailed link, and cannot reserve until then; users an admin creates are."
    )
    anonymized_at: datetime | None = strawberry.field(
        description="When the user's personal data was erased (`deleteMe`, `anonymizeUser`); null if never."
    )
    is_active: bool = strawberry.field(description="Inactive users cannot sign in or refresh tokens.")
    created_at: datetime = strawberry.field(description="When the user was created.")
    updated_at: datetime = strawberry.field(description="When the user was last changed.")
    row: strawberry.Private[UserRow]

    @strawberry.field(description="The tenant the user belongs to.")
    @relation(key="tenant_id", fetch=TENANTS)
    async def tenant(self, info: Info) -> Tenant: ...

    @strawberry.field(
        description="Which notification mail the user gets, one entry per category; "
        "null unless you are this user or an ADMIN of the tenant."
    )
    def notification_preferences(self, info: Info) -> list[NotificationPreference] | None:
        if not visibility_of(info.context.principal).sees_settings_of(self.row):
            return None
        return [NotificationPreference.from_value(value) for value in preferences_of(self.row)]


@row_type(OperatorRow)
@strawberry.type(description="A platform operator: creates and lists tenants, belongs to none.")
class Operator(FromRow[OperatorRow], Node):
    email: str = strawberry.field(description="Sign-in email of the operator.")
    name: str = strawberry.field(description="Display name; may be empty.")
    row: strawberry.Private[OperatorRow]
