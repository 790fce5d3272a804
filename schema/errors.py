"""Errors as data: the ``Error`` interface, its members, and the mapping from domain errors."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import strawberry

from resolvers import errors as domain
from resolvers.equipment_import import MAX_REPORTED_PROBLEMS, ImportRejected
from schema.limits.list_lengths import refused_input

if TYPE_CHECKING:
    from schema.types.reservation import Shortage


@strawberry.enum(description="Machine-readable kind of an error returned as data.")
class ErrorCode(Enum):
    VALIDATION_FAILED = strawberry.enum_value(
        "VALIDATION_FAILED", description="Some input fields are invalid; see `fields`."
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND", description="The named object does not exist or is not visible to you."
    )
    CONFLICT = strawberry.enum_value("CONFLICT", description="The change clashes with the current state.")
    INVALID_CREDENTIALS = strawberry.enum_value(
        "INVALID_CREDENTIALS", description="Tenant, email or password is wrong."
    )
    INVALID_TOKEN = strawberry.enum_value(
        "INVALID_TOKEN", description="A token is invalid, expired, revoked or already used."
    )
    FORBIDDEN = strawberry.enum_value("FORBIDDEN", description="You may not perform this operation.")
    EMAIL_NOT_VERIFIED = strawberry.enum_value(
        "EMAIL_NOT_VERIFIED",
        description="You signed up and have not confirmed your email address yet (`verifyEmail`); "
        "returned as a `ForbiddenError`.",
    )
    RATE_LIMITED = strawberry.enum_value(
        "RATE_LIMITED", description="Too many attempts; wait `retryAfter` seconds."
    )
    INVALID_FILE = strawberry.enum_value(
        "INVALID_FILE", description="A file has problems, listed by line and column in `problems`."
    )


@strawberry.interface(description="An expected failure of a mutation, returned as data.")
class Error:
    code: ErrorCode = strawberry.field(description="What kind of error this is.")
    message: str = strawberry.field(description="A human-readable explanation.")


@strawberry.type(description="One invalid input field.")
class FieldError:
    field: str = strawberry.field(description="Path of the input field, e.g. `email` or `lines.0.quantity`.")
    message: str = strawberry.field(description="What is wrong with it.")


@strawberry.type(description="The input was invalid; `fields` says where and why.")
class ValidationError(Error):
    fields: list[FieldError] = strawberry.field(description="The invalid fields, each with a message.")


@strawberry.type(description="An object named in the input does not exist in your tenant.")
class NotFoundError(Error):
    field: str | None = strawberry.field(description="The input field that named the missing object.")


@strawberry.type(description="The change clashes with the current state of the data.")
class ConflictError(Error):
    shortages: list[Annotated[Shortage, strawberry.lazy("schema.types.reservation")]] = strawberry.field(
        default_factory=list,
        description="For stock conflicts: each equipment or unit that is short, and the reservations in the way.",
    )


@strawberry.type(description="The tenant, email or password is wrong (deliberately not saying which).")
class InvalidCredentialsError(Error):
    pass


@strawberry.type(description="The token is invalid, expired, revoked or was already used.")
class InvalidTokenError(Error):
    pass


@strawberry.type(description="You may not perform this operation.")
class ForbiddenError(Error):
    pass


@strawberry.type(description="Too many attempts; try again later.")
class RateLimitedError(Error):
    retry_after: int = strawberry.field(description="Seconds to wait before trying again.")


@strawberry.type(description="One problem of an imported file.")
class FileProblem:
    line: int | None = strawberry.field(
        description="The CSV line it is on, from 1 (the header); null for the whole file. A row spanning "
        "lines (a quoted field with line breaks) is on the line it starts on."
    )
    column: str | None = strawberry.field(
        description="The column it is about, by its documented name (`serial_numbers`); null for the row."
    )
    column_number: int | None = strawberry.field(
        description="Where that column is in the file, from 1; null when the file has no such column."
    )
    message: str = strawberry.field(description="What is wrong.")


@strawberry.type(description="The file has problems, so nothing was written; `problems` says where.")
class InvalidFileError(Error):
    dry_run: bool = strawberry.field(description="Whether this was a dry run.")
    problems: list[FileProblem] = strawberry.field(
        description=f"The problems in file order, at most the first {MAX_REPORTED_PROBLEMS}."
    )
    problem_count: int = strawberry.field(description="How many problems the file has in all.")


def to_error(error: domain.DomainError) -> Error:
    """The GraphQL error object for a domain error."""
    if isinstance(error, ImportRejected):
        return InvalidFileError(
            code=ErrorCode.INVALID_FILE,
            message=error.message,
            dry_run=error.dry_run,
            problems=[
                FileProblem(
                    line=problem.line,
                    column=problem.column,
                    column_number=problem.column_number,
                    message=problem.message,
                )
                for problem in error.problems
            ],
            problem_count=error.problem_count,
        )
    if isinstance(error, domain.InvalidInput):
        return ValidationError(
            code=ErrorCode.VALIDATION_FAILED,
            message=error.message,
            fields=[FieldError(field=name, message=text) for name, text in error.fields.items()],
        )
    if isinstance(error, domain.NotFound):
        return NotFoundError(code=ErrorCode.NOT_FOUND, message=error.message, field=error.field)
    if isinstance(error, domain.Unavailable):
        from schema.types.reservation import Shortage

        shortages = [Shortage.from_value(shortage) for shortage in error.shortages]
        return ConflictError(code=ErrorCode.CONFLICT, message=error.message, shortages=shortages)
    if isinstance(error, domain.Conflict):
        return ConflictError(code=ErrorCode.CONFLICT, message=error.message)
    if isinstance(error, domain.InvalidCredentials):
        return InvalidCredentialsError(code=ErrorCode.INVALID_CREDENTIALS, message=error.message)
    if isinstance(error, domain.InvalidToken):
        return InvalidTokenError(code=ErrorCode.INVALID_TOKEN, message=error.message)
    if isinstance(error, domain.EmailNotVerified):
        return ForbiddenError(code=ErrorCode.EMAIL_NOT_VERIFIED, message=error.message)
    if isinstance(error, domain.Forbidden):
        return ForbiddenError(code=ErrorCode.FORBIDDEN, message=error.message)
    if isinstance(error, domain.RateLimited):
        return RateLimitedError(
            code=ErrorCode.RATE_LIMITED, message=error.message, retry_after=error.retry_after
        )
    raise TypeError(f"no GraphQL error type for {type(error).__name__}")


P = ParamSpec("P")
R = TypeVar("R")


def errors_as_data(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | Error]]:
    """Return domain errors raised by ``resolver`` as members of its result union.

    Input the pipeline refused before the operation ran (a list over its cap) is such an
    error too: ``resolver`` is not called.
    """

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Error:
        refused = refused_input(kwargs.get("info"))
        if refused:
            return to_error(domain.InvalidInput(refused))
        try:
            return await resolver(*args, **kwargs)
        except domain.DomainError as error:
            return to_error(error)

    return wrapper
