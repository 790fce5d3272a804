"""Inputs, filters and results for managing users."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from db.tables import Role as RoleValue
from resolvers.notification_prefs import Category
from resolvers.users import UserFilter as UserFilterValue
from resolvers.users import UserSort
from schema.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from schema.limits.lists import MaxItems
from schema.types.common import SortDirection
from schema.types.notification import NotificationPreferenceInput
from schema.types.user import Role, User


@strawberry.enum(description="What to sort users by.")
class UserOrderField(Enum):
    EMAIL = strawberry.enum_value(UserSort.EMAIL, description="Email address.")
    NAME = strawberry.enum_value(UserSort.NAME, description="Display name.")
    CREATED_AT = strawberry.enum_value(UserSort.CREATED_AT, description="Creation time.")


@strawberry.input(description="Order of a user list.")
class UserOrder:
    field: UserOrderField = strawberry.field(default=UserOrderField.EMAIL, description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Which way.")


@strawberry.input(description="Narrow a user list; all given conditions must hold.")
class UserFilter:
    search: str | None = strawberry.field(default=None, description="Text contained in the email or name.")
    role: Role | None = strawberry.field(default=None, description="Only users with this role.")
    is_active: bool | None = strawberry.field(
        default=None, description="Only active (true) or inactive (false) users."
    )

    def to_value(self) -> UserFilterValue:
        return UserFilterValue(
            search=self.search,
            role=RoleValue[self.role.name] if self.role is not None else None,
            is_active=self.is_active,
        )


@strawberry.input(description="A new user of your tenant.")
class CreateUserInput:
    email: str = strawberry.field(description="Sign-in email, unique within the tenant.")
    password: str = strawberry.field(description="Initial password (at least 10 characters).")
    role: Role = strawberry.field(description="What the user may do.")
    name: str = strawberry.field(default="", description="Display name.")


@strawberry.input(description="Changes to a user; omitted fields stay as they are.")
class UpdateUserInput:
    id: strawberry.ID = strawberry.field(description="The user to change.")
    email: str | None = strawberry.field(default=None, description="New sign-in email.")
    name: str | None = strawberry.field(default=None, description="New display name.")
    role: Role | None = strawberry.field(default=None, description="New role.")
    is_active: bool | None = strawberry.field(default=None, description="Activate or deactivate the user.")


@strawberry.input(description="The user to deactivate.")
class DeactivateUserInput:
    id: strawberry.ID = strawberry.field(description="The user to deactivate; their sessions end at once.")


@strawberry.type(description="The user as saved.")
class UserSuccess:
    user: User = strawberry.field(description="The user after the change.")


UserResult = Annotated[
    UserSuccess | ValidationError | NotFoundError | ConflictError,
    strawberry.union("UserResult", description="The outcome of a user mutation."),
]


@strawberry.input(description="Your notification mail choices; categories not named stay as they are.")
class UpdateNotificationPreferencesInput:
    preferences: list[NotificationPreferenceInput] = strawberry.field(
        description=f"One entry per category to change, each at most once. At most {len(Category)}.",
        directives=[MaxItems(count=len(Category))],
    )


@strawberry.type(description="The preferences as saved.")
class NotificationPreferencesSuccess:
    user: User = strawberry.field(description="You, with your `notificationPreferences` after the change.")


UpdateNotificationPreferencesResult = Annotated[
    NotificationPreferencesSuccess | ValidationError | ForbiddenError,
    strawberry.union(
        "UpdateNotificationPreferencesResult", description="The outcome of `updateNotificationPreferences`."
    ),
]
