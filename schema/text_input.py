"""Text no database column can store is refused before execution, as bad input.

NUL characters (PostgreSQL rejects them in text) and unpaired UTF-16
surrogates (not encodable as UTF-8) would otherwise surface as internal
errors deep inside a write, and differently on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, visit
from graphql.language import Visitor


def unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def any_unstorable(value: Any) -> bool:
    """Unstorable text anywhere in a JSON value (the request's variables)."""
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, dict):
        return any(any_unstorable(key) or any_unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(any_unstorable(item) for item in value)
    return False


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.found = self.found or unstorable(node.value)


def has_unstorable_literal(document: DocumentNode) -> bool:
    literals = _StringLiterals()
    visit(document, literals)
    return literals.found


def unstorable_text_error() -> GraphQLError:
    return GraphQLError(
        "Text must not contain NUL characters or unpaired surrogates.",
        extensions={"code": "BAD_USER_INPUT"},
    )
