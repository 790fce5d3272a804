"""Parsing with a token budget.

graphql-core aborts the parser as soon as a document exceeds ``max_tokens``
(comments count too), so an oversized document costs at most that many tokens of
work. The refusal carries the limit's code.
"""

from __future__ import annotations

import re

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, parse

from schema.limits.errors import LimitCode


def _is_over_budget(error: GraphQLError, max_tokens: int) -> bool:
    # graphql-core reports the budget only as this message; tests pin the wording.
    pattern = rf"Document contains more than {max_tokens} tokens\b"
    return isinstance(error, GraphQLSyntaxError) and re.search(pattern, error.message) is not None


def parse_within_budget(query: str, max_tokens: int) -> DocumentNode:
    """The parsed document; a ``GraphQLError`` (with ``TOO_MANY_TOKENS`` when over budget) otherwise."""
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLError as error:
        if _is_over_budget(error, max_tokens):
            error.extensions = {
                **(error.extensions or {}),
                "code": LimitCode.TOO_MANY_TOKENS.value,
                "limit": max_tokens,
            }
        raise
