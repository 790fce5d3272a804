"""Text no database column can store is refused before execution, as bad input.

NUL characters (PostgreSQL rejects them in text) and unpaired UTF-16
surrogates (not encodable as UTF-8) would otherwise surface as internal
errors deep inside a write, and differently on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension


def unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _any_unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, dict):
        return any(_any_unstorable(key) or _any_unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_any_unstorable(item) for item in value)
    return False


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.found = self.found or unstorable(node.value)


class RejectUnstorableText(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        literals = _StringLiterals()
        if context.graphql_document is not None:
            visit(context.graphql_document, literals)
        if literals.found or _any_unstorable(context.variables or {}):
            context.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "Text must not contain NUL characters or unpaired surrogates.",
                        extensions={"code": "BAD_USER_INPUT"},
                    )
                ],
            )
        yield
