"""The `extensions.code` of top-level errors that graphql-core reports without one.

Clients branch on the code, not on the wording: a document that does not parse is
``GRAPHQL_PARSE_FAILED``, one that breaks a validation rule ``GRAPHQL_VALIDATION_FAILED``,
and a variable or argument value that cannot be coerced ``BAD_USER_INPUT``. Errors that
already carry a code (the limits, permissions, masking) keep it.
"""

from __future__ import annotations

from enum import StrEnum

from graphql import GraphQLError, Node


class ErrorCode(StrEnum):
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    BAD_USER_INPUT = "BAD_USER_INPUT"


def has_code(error: GraphQLError) -> bool:
    return bool(error.extensions and error.extensions.get("code"))


def with_code(error: GraphQLError, code: ErrorCode) -> GraphQLError:
    """``error`` with ``code``, unless it has one; a copy, since validation errors are shared."""
    if has_code(error):
        return error
    return GraphQLError(
        error.message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        {**(error.extensions or {}), "code": code.value},
    )


def bad_user_input(message: str, nodes: Node | None = None, **extensions: object) -> GraphQLError:
    """A refusal of the request's values, before they reach a resolver."""
    return GraphQLError(message, nodes, extensions={"code": ErrorCode.BAD_USER_INPUT.value, **extensions})
