"""Bounds on the request's variables, checked before anything reads them.

The variables are JSON of any shape, declared or not, so they are measured before
cost, coercion or any resolver sees them: nesting (which would otherwise carry
recursive code past Python's limit), the number of values (each item, field and
scalar; coercing them is CPU work nothing can interrupt), the length of each text,
and text no database column can store. The walk is iterative and stops at the
first problem, so a refusal costs at most ``max_variable_values`` steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError

from resolvers.validation import unstorable
from schema.error_codes import bad_user_input
from schema.limits.config import QueryLimits
from schema.text_input import too_long_text_error, unstorable_text_error


def variables_problem(variables: Mapping[str, Any] | None, limits: QueryLimits) -> GraphQLError | None:
    """The first bound ``variables`` break, as a ``BAD_USER_INPUT`` error; None when they keep them all."""
    if not variables:
        return None
    remaining = limits.max_variable_values
    for name, root in variables.items():
        stack: list[tuple[Any, int]] = [(root, 1)]
        while stack:
            value, depth = stack.pop()
            remaining -= 1
            if remaining < 0:
                return bad_user_input(
                    f"The variables hold more than {limits.max_variable_values} values "
                    "(items, fields and scalars, in all).",
                    limit=limits.max_variable_values,
                )
            if isinstance(value, str):
                if len(value) > limits.max_text_length:
                    return too_long_text_error(
                        f"Variable `${name}` holds", len(value), limits.max_text_length
                    )
                if unstorable(value):
                    return unstorable_text_error()
            elif isinstance(value, dict | list):
                if value and depth >= limits.max_variable_depth:
                    return bad_user_input(
                        f"Variable `${name}` nests lists and objects more than "
                        f"{limits.max_variable_depth} levels deep.",
                        limit=limits.max_variable_depth,
                    )
                if isinstance(value, dict):
                    # Keys are text too, and count among the values.
                    stack.extend((key, depth + 1) for key in value)
                    stack.extend((item, depth + 1) for item in value.values())
                else:
                    stack.extend((item, depth + 1) for item in value)
    return None
