"""Self-service fields: sign-up into a company, confirming an address, your own profile, erasure."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.tables import Role as RoleValue
from resolvers import self_service as resolve
from resolvers.users import anonymize_user
from schema.context import Info
from schema.errors import errors_as_data
from schema.node import pk_of, to_global_id
from schema.permissions import role_at_least, signed_in_user
from schema.types.self_service import (
    AnonymizeUserInput,
    ChangeEmailInput,
    ChangeEmailResult,
    ChangeEmailSuccess,
    DeleteMeInput,
    DeleteMeResult,
    DeleteMeSuccess,
    SignUpInput,
    SignUpResult,
    SignUpSuccess,
    UpdateMeInput,
    UpdateMeResult,
    UpdateMeSuccess,
    VerifyEmailInput,
    VerifyEmailResult,
    VerifyEmailSuccess,
)
from schema.types.user import User
from schema.types.user_inputs import UserResult, UserSuccess


@strawberry.type
class SelfServiceMutation:
    @strawberry.mutation(
        description="Create a CUSTOMER account in a company that allows it (`allowCustomerSignUp`). "
        "Always answers the same, so it reveals nothing about which companies or accounts exist; "
        "the address gets a link to confirm it (or word that it already has an account). "
        "Throttled per address and per client."
    )
    @errors_as_data
    async def sign_up(
        self,
        info: Info,
        input: Annotated[SignUpInput, strawberry.argument(description="What to do; see the input type.")],
    ) -> SignUpResult:
        message = await resolve.sign_up(
            info.context,
            resolve.SignUp(
                tenant=input.tenant,
                email=input.email,
                password=input.password,
                name=input.name,
                phone=input.phone,
            ),
        )
        return SignUpSuccess(message=message)

    @strawberry.mutation(
        description="Confirm an address with the token mailed to it: after `signUp` the account may then "
        "reserve; after `changeEmail` the new address becomes the sign-in email. Each token works once."
    )
    @errors_as_data
    async def verify_email(
        self,
        info: Info,
        input: Annotated[
            VerifyEmailInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> VerifyEmailResult:
        return VerifyEmailSuccess(email=await resolve.verify_email(info.context, input.token))

    @strawberry.mutation(
        description="Change your own name or phone (any signed-in user).", extensions=signed_in_user()
    )
    @errors_as_data
    async def update_me(
        self,
        info: Info,
        input: Annotated[UpdateMeInput, strawberry.argument(description="What to do; see the input type.")],
    ) -> UpdateMeResult:
        context = info.context
        changes = resolve.ProfileChanges(name=input.name, phone=input.phone)
        return UpdateMeSuccess(
            user=User.from_row(await resolve.update_me(context, context.caller(), changes))
        )

    @strawberry.mutation(
        description="Move your account to another email address: a link is mailed there, and the old "
        "address is told. Nothing changes until the link is followed (`verifyEmail`).",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def change_email(
        self,
        info: Info,
        input: Annotated[
            ChangeEmailInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> ChangeEmailResult:
        message = await resolve.change_email(info.context, new_email=input.new_email, password=input.password)
        return ChangeEmailSuccess(message=message)

    @strawberry.mutation(
        description="Erase your account's personal data and sign out everywhere; your reservations and "
        "the audit trail keep pointing at the anonymised account. Not the tenant's last active admin.",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def delete_me(
        self,
        info: Info,
        input: Annotated[DeleteMeInput, strawberry.argument(description="What to do; see the input type.")],
    ) -> DeleteMeResult:
        row = await resolve.delete_me(info.context, password=input.password)
        return DeleteMeSuccess(user_id=to_global_id("User", row.id))

    @strawberry.mutation(
        description="Erase a user's personal data (ADMIN), as `deleteMe` does for oneself: name, email, "
        "phone and password go, sessions end, the audit trail's values of them are erased.",
        extensions=role_at_least(RoleValue.ADMIN),
    )
    @errors_as_data
    async def anonymize_user(
        self,
        info: Info,
        input: Annotated[
            AnonymizeUserInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> UserResult:
        context = info.context
        row = await anonymize_user(context, context.caller(), pk_of(input.id, "User"))
        return UserSuccess(user=User.from_row(row))
