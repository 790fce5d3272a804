"""Parsing with a token budget, and a cache of parsed documents.

graphql-core aborts the parser as soon as a document exceeds ``max_tokens``
(comments count too), so an oversized document costs at most that many tokens of
work. This replaces Strawberry's ``ParserCache``, which parses inside its hook, where
a failed parse escapes Strawberry's usual error handling.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, parse
from strawberry.extensions import SchemaExtension

from schema.limits.errors import LimitCode

CACHE_SIZE = 512


@lru_cache(maxsize=CACHE_SIZE)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


def _is_over_budget(error: GraphQLError, max_tokens: int) -> bool:
    # graphql-core reports the budget only as this message; tests pin the wording.
    pattern = rf"Document contains more than {max_tokens} tokens\b"
    return isinstance(error, GraphQLSyntaxError) and re.search(pattern, error.message) is not None


class TokenLimitedParser(SchemaExtension):
    def __init__(self, *, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # Also applies when Strawberry parses itself (below, after a failure here).
        context.parse_options["max_tokens"] = self.max_tokens
        if context.graphql_document is None and context.query:
            # On a syntax error the document stays unset: Strawberry parses again (with the
            # same budget) and reports the error the usual way; only valid documents are cached.
            with suppress(GraphQLError):
                context.graphql_document = _parse(context.query, self.max_tokens)
        yield
        for error in context.pre_execution_errors or ():
            if _is_over_budget(error, self.max_tokens):
                # The error was created for this request and is already in the response; label it.
                error.extensions = {
                    **(error.extensions or {}),
                    "code": LimitCode.TOO_MANY_TOKENS.value,
                    "limit": self.max_tokens,
                }
