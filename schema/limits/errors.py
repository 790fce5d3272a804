"""The top-level errors of rejected documents: readable, with a machine code and the limit."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from graphql import GraphQLError, Node

# Counts through fragments and costs can grow exponentially (2**70 aliases fit in 2,000
# tokens); reported numbers stop at the largest integer JSON clients (and orjson) handle.
MAX_REPORTED = 2**53 - 1


class LimitCode(StrEnum):
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    TOO_MANY_DIRECTIVES = "TOO_MANY_DIRECTIVES"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    TOO_MANY_SENSITIVE_FIELDS = "TOO_MANY_SENSITIVE_FIELDS"
    TOO_MANY_FIELDS = "TOO_MANY_FIELDS"
    TOO_MANY_REPEATED_FIELDS = "TOO_MANY_REPEATED_FIELDS"


def reported(value: int) -> int:
    return min(value, MAX_REPORTED)


def in_words(value: int) -> str:
    return str(value) if value <= MAX_REPORTED else f"more than {MAX_REPORTED}"


def limit_error(
    code: LimitCode,
    message: str,
    *,
    limit: int,
    requested: int | None = None,
    nodes: Sequence[Node] | Node | None = None,
) -> GraphQLError:
    extensions: dict[str, object] = {"code": code.value, "limit": limit}
    if requested is not None:
        extensions["requested"] = reported(requested)
    return GraphQLError(message, nodes, extensions=extensions)
