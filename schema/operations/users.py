"""User fields: a tenant's users, and adding, changing and deactivating them."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.tables import Role as RoleValue
from resolvers import notification_prefs
from resolvers import users as resolve
from resolvers.pagination import PageArgs
from resolvers.users import UserChanges, UserSort
from resolvers.users import UserFilter as UserFilterValue
from schema.context import Info
from schema.errors import errors_as_data
from schema.node import pk_of
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least, signed_in_user
from schema.types.common import SortDirection
from schema.types.user import Role, User
from schema.types.user_inputs import (
    CreateUserInput,
    DeactivateUserInput,
    NotificationPreferencesSuccess,
    UpdateNotificationPreferencesInput,
    UpdateNotificationPreferencesResult,
    UpdateUserInput,
    UserFilter,
    UserOrder,
    UserResult,
    UserSuccess,
)


def _role(role: Role | None) -> RoleValue | None:
    return RoleValue[role.name] if role is not None else None


@strawberry.type
class UserQuery:
    @strawberry.field(
        description="Users of your tenant (ADMIN and MANAGER).", extensions=role_at_least(RoleValue.MANAGER)
    )
    @paginated
    async def users(
        self,
        info: Info,
        paging: PageArgs,
        filter: Annotated[
            UserFilter | None, strawberry.argument(description="Conditions the users must meet.")
        ] = None,
        order_by: Annotated[
            UserOrder | None, strawberry.argument(description="Sort order; default by email.")
        ] = None,
    ) -> Connection[User]:
        order = order_by or UserOrder()
        context = info.context
        page = await resolve.list_users(
            context,
            context.caller(),
            filter=filter.to_value() if filter is not None else UserFilterValue(),
            sort=UserSort[order.field.name],
            descending=order.direction is SortDirection.DESC,
            args=paging,
        )
        return to_connection(page, User.from_row)


@strawberry.type
class UserMutation:
    @strawberry.mutation(
        description="Add a user to your tenant (ADMIN).", extensions=role_at_least(RoleValue.ADMIN)
    )
    @errors_as_data
    async def create_user(
        self,
        info: Info,
        input: Annotated[CreateUserInput, strawberry.argument(description="What to do; see the input type.")],
    ) -> UserResult:
        context = info.context
        row = await resolve.create_user(
            context,
            context.caller(),
            context.services.passwords,
            email=input.email,
            name=input.name,
            role=RoleValue[input.role.name],
            password=input.password,
        )
        return UserSuccess(user=User.from_row(row))

    @strawberry.mutation(
        description="Change a user's email, name, role or active flag (ADMIN). "
        "The tenant's last active admin cannot be demoted or deactivated.",
        extensions=role_at_least(RoleValue.ADMIN),
    )
    @errors_as_data
    async def update_user(
        self,
        info: Info,
        input: Annotated[UpdateUserInput, strawberry.argument(description="What to do; see the input type.")],
    ) -> UserResult:
        changes = UserChanges(
            email=input.email, name=input.name, role=_role(input.role), is_active=input.is_active
        )
        context = info.context
        row = await resolve.update_user(context, context.caller(), pk_of(input.id, "User"), changes)
        return UserSuccess(user=User.from_row(row))

    @strawberry.mutation(
        description="Deactivate a user and end their sessions (ADMIN). Not the last active admin.",
        extensions=role_at_least(RoleValue.ADMIN),
    )
    @errors_as_data
    async def deactivate_user(
        self,
        info: Info,
        input: Annotated[
            DeactivateUserInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> UserResult:
        context = info.context
        row = await resolve.deactivate_user(context, context.caller(), pk_of(input.id, "User"))
        return UserSuccess(user=User.from_row(row))

    @strawberry.mutation(
        description="Turn kinds of notification mail on or off for yourself (any signed-in user).",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def update_notification_preferences(
        self,
        info: Info,
        input: Annotated[
            UpdateNotificationPreferencesInput,
            strawberry.argument(description="What to do; see the input type."),
        ],
    ) -> UpdateNotificationPreferencesResult:
        context = info.context
        changes = [preference.to_value() for preference in input.preferences]
        row = await notification_prefs.update_notification_preferences(context, context.caller(), changes)
        return NotificationPreferencesSuccess(user=User.from_row(row))
