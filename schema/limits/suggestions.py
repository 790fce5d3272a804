"""No "Did you mean ...?" hints: in production they would spell out the schema that introspection hides.

Stripped from every error of the result (``schema/pipeline.py``), so the hints of
execution-time input coercion (e.g. a misspelt input field in a variable) go too,
not only validation's.
"""

from __future__ import annotations

import re

from graphql import GraphQLError

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
