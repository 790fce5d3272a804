"""No "Did you mean ...?" hints: in production they would spell out the schema that introspection hides.

Stripped from every error of the result, so the hints of execution-time input
coercion (e.g. a misspelt input field in a variable) go too, not only validation's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

# graphql-core's wording: " Did you mean 'a', 'b', or 'c'?" (names never contain "?").
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def without_suggestion(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    # A copy: validation errors are cached and shared between requests.
    return GraphQLError(
        message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        error.extensions,
    )


class HideSuggestions(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [without_suggestion(error) for error in result.errors]
