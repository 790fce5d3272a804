"""Bounds on the request's variables, checked before anything reads them.

The variables are JSON of any shape, declared or not, so they are measured before
cost, coercion or any resolver sees them: nesting (which would otherwise carry
recursive code past Python's limit), the number of values (each item, field and
scalar; coercing them is CPU work nothing can interrupt), the length of each text,
and text no database column can store. The walk is iterative and stops at the
first problem, so a refusal costs at most ``max_variable_values`` steps.

One kind of text is longer: a file's (``ImportEquipmentInput.csv``), in a variable
declared of that input type, is measured by ``max_file_text_length`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLError,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    TypeNode,
)

from resolvers.validation import unstorable
from schema.error_codes import bad_user_input
from schema.limits.config import QueryLimits
from schema.text_input import too_long_text_error, unstorable_text_error


@dataclass(frozen=True, slots=True)
class FileText:
    """A string in a file text field of an input variable: measured by the file text limit."""

    text: str


def file_text_variables(operation: OperationDefinitionNode, limits: QueryLimits) -> dict[str, frozenset[str]]:
    """The operation's variables of an input type with file text fields, and those fields."""
    found: dict[str, frozenset[str]] = {}
    for definition in operation.variable_definitions or ():
        type_node: TypeNode = definition.type
        while isinstance(type_node, NonNullTypeNode | ListTypeNode):
            type_node = type_node.type
        if isinstance(type_node, NamedTypeNode) and type_node.name.value in limits.file_text_fields:
            found[definition.variable.name.value] = limits.file_text_fields[type_node.name.value]
    return found


def variables_problem(
    variables: Mapping[str, Any] | None,
    limits: QueryLimits,
    file_texts: Mapping[str, frozenset[str]] | None = None,
) -> GraphQLError | None:
    """The first bound ``variables`` break, as a ``BAD_USER_INPUT`` error; None when they keep them all.

    ``file_texts``: variables (of an input type, ``file_text_variables``) whose fields
    named there may hold text up to ``max_file_text_length``.
    """
    if not variables:
        return None
    remaining = limits.max_variable_values
    for name, root in variables.items():
        long_fields = (file_texts or {}).get(name, frozenset())
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
            if isinstance(value, FileText):
                if len(value.text) > limits.max_file_text_length:
                    return too_long_text_error(
                        f"Variable `${name}` holds", len(value.text), limits.max_file_text_length
                    )
                if unstorable(value.text):
                    return unstorable_text_error()
            elif isinstance(value, str):
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
                    stack.extend(
                        (
                            FileText(item)
                            if depth == 1 and key in long_fields and isinstance(item, str)
                            else item,
                            depth + 1,
                        )
                        for key, item in value.items()
                    )
                else:
                    stack.extend((item, depth + 1) for item in value)
    return None
