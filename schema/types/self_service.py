"""Inputs and results of the self-service mutations: sign-up, address verification, your own profile."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import (
    ConflictError,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidTokenError,
    RateLimitedError,
    ValidationError,
)
from schema.types.user import User


@strawberry.input(description="A new CUSTOMER account in a company that takes sign-ups.")
class SignUpInput:
    tenant: str = strawberry.field(description="Slug of the company to sign up with, e.g. `esr`.")
    email: str = strawberry.field(description="Your email; a link to confirm it is mailed there.")
    password: str = strawberry.field(description="At least 10 characters, not a common password.")
    name: str = strawberry.field(default="", description="Your display name (at most 200 characters).")
    phone: str = strawberry.field(
        default="", description="Your phone number (at most 40 characters: digits, spaces, + ( ) . / -)."
    )


@strawberry.type(
    description="Always the same answer, whether or not the company exists, takes sign-ups, or already "
    "has an account with the address: the mail says what happened."
)
class SignUpSuccess:
    message: str = strawberry.field(description="What happens next.")


SignUpResult = Annotated[
    SignUpSuccess | ValidationError | RateLimitedError,
    strawberry.union("SignUpResult", description="The outcome of `signUp`."),
]


@strawberry.input(description="A token from a confirmation mail.")
class VerifyEmailInput:
    token: str = strawberry.field(
        description="The token from the mail (after sign-up, or for a new address)."
    )


@strawberry.type(
    description="The address is confirmed (and, for a change of address, now the sign-in email)."
)
class VerifyEmailSuccess:
    email: str = strawberry.field(description="The account's email address, confirmed.")


VerifyEmailResult = Annotated[
    VerifyEmailSuccess | InvalidTokenError | ConflictError | RateLimitedError,
    strawberry.union("VerifyEmailResult", description="The outcome of `verifyEmail`."),
]


@strawberry.input(description="Changes to your own profile; omitted fields stay as they are.")
class UpdateMeInput:
    name: str | None = strawberry.field(default=None, description="Display name (at most 200 characters).")
    phone: str | None = strawberry.field(
        default=None, description="Phone number (at most 40 characters; empty removes it)."
    )


@strawberry.type(description="Your profile as saved.")
class UpdateMeSuccess:
    user: User = strawberry.field(description="You, after the change.")


UpdateMeResult = Annotated[
    UpdateMeSuccess | ValidationError | ForbiddenError,
    strawberry.union("UpdateMeResult", description="The outcome of `updateMe`."),
]


@strawberry.input(description="Move your account to another email address.")
class ChangeEmailInput:
    new_email: str = strawberry.field(description="The new address; a link to confirm it is mailed there.")
    password: str = strawberry.field(description="Your current password.")


@strawberry.type(description="The confirmation mail is on its way; nothing changes until it is followed.")
class ChangeEmailSuccess:
    message: str = strawberry.field(description="What happens next.")


ChangeEmailResult = Annotated[
    ChangeEmailSuccess | ValidationError | InvalidCredentialsError | RateLimitedError | ForbiddenError,
    strawberry.union("ChangeEmailResult", description="The outcome of `changeEmail`."),
]


@strawberry.input(description="Confirm that you want your account's personal data erased.")
class DeleteMeInput:
    password: str = strawberry.field(description="Your current password.")


@strawberry.type(description="Your personal data is erased and you are signed out everywhere.")
class DeleteMeSuccess:
    user_id: strawberry.ID = strawberry.field(
        description="Global id of the anonymised account; your reservations still point at it."
    )


DeleteMeResult = Annotated[
    DeleteMeSuccess
    | ValidationError
    | InvalidCredentialsError
    | RateLimitedError
    | ConflictError
    | ForbiddenError,
    strawberry.union("DeleteMeResult", description="The outcome of `deleteMe`."),
]


@strawberry.input(description="The user whose personal data to erase.")
class AnonymizeUserInput:
    id: strawberry.ID = strawberry.field(description="Global id of a user of your tenant.")
