"""The longest list each argument and input field takes, declared in the schema and checked first.

Every list input carries ``@maxItems(count: N)`` (and says "At most N" in its
description). The cap holds for the list and for each list nested in it. Before an
operation runs, its argument values — literals and the request's variables — are
measured against the caps (``schema/limits/list_lengths.py``): one tag becomes one
`LIKE`, one status one bound parameter, so a list longer than any use needs is
refused before it costs SQL, or CPU that nothing can interrupt.
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLArgument, GraphQLInputField
from strawberry.schema_directive import Location


@strawberry.schema_directive(
    locations=[Location.ARGUMENT_DEFINITION, Location.INPUT_FIELD_DEFINITION],
    description="The most items this list (and each list nested in it) may hold; "
    "a longer one is refused before the operation runs.",
)
class MaxItems:
    count: int


def max_items(definition: GraphQLArgument | GraphQLInputField) -> int | None:
    """The cap ``definition`` declares; None when it declares none."""
    declared = (definition.extensions or {}).get("strawberry-definition")
    for directive in getattr(declared, "directives", None) or ():
        if isinstance(directive, MaxItems):
            return directive.count
    return None
