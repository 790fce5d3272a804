"""Text in the request is refused before execution, as bad input, when no column could store it or it is huge.

NUL characters (PostgreSQL rejects them in text) and unpaired UTF-16
surrogates (not encodable as UTF-8) would otherwise surface as internal
errors deep inside a write, and differently on SQLite and PostgreSQL. Text
longer than any field takes (``max_text_length``) goes no further either: a
string literal is one token, so the token limit does not bound it.
"""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, visit
from graphql.language import BREAK, Visitor

from resolvers.validation import unstorable
from schema.error_codes import bad_user_input


class _StringLiterals(Visitor):
    def __init__(self, max_length: int) -> None:
        super().__init__()
        self.max_length = max_length
        self.problem: GraphQLError | None = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> object:
        if len(node.value) > self.max_length:
            self.problem = too_long_text_error("The document holds", len(node.value), self.max_length)
        elif unstorable(node.value):
            self.problem = unstorable_text_error()
        return BREAK if self.problem is not None else None


def literal_text_problem(document: DocumentNode, max_length: int) -> GraphQLError | None:
    """Why a string literal of ``document`` is refused, if one is."""
    literals = _StringLiterals(max_length)
    visit(document, literals)
    return literals.problem


def unstorable_text_error() -> GraphQLError:
    return bad_user_input("Text must not contain NUL characters or unpaired surrogates.")


def too_long_text_error(where: str, length: int, max_length: int) -> GraphQLError:
    return bad_user_input(
        f"{where} a text of {length} characters; at most {max_length} are allowed.", limit=max_length
    )
