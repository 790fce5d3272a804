"""Keyset (cursor) pagination with Relay's first/after/last/before.

A cursor encodes the sort values of a row (plus its id as the tie-breaker), so
pages stay stable while rows are inserted, and every page is an index range scan.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from graphql import GraphQLError
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Mapped
from sqlmodel.sql.expression import SelectOfScalar

from auth.context import Context

R = TypeVar("R")

# A mapped column as SQLModel's ``col()`` or the class attribute gives it.
SortColumn = InstrumentedAttribute[Any] | Mapped[Any]

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class BadPageRequest(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT"})


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def size(self) -> tuple[int, bool]:
        """The page size, and whether paging runs backwards (``last``)."""
        if self.first is not None and self.last is not None:
            raise BadPageRequest("Pass either `first` or `last`, not both.")
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
                raise BadPageRequest(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}.")
        if self.last is not None:
            return self.last, True
        return (self.first if self.first is not None else DEFAULT_PAGE_SIZE), False


@dataclass
class Page(Generic[R]):
    rows: list[R]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]


def _encode_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decode_value(raw: Any, column: SortColumn) -> Any:
    python_type = column.type.python_type  # type: ignore[union-attr]
    if python_type is uuid.UUID:
        return uuid.UUID(hex=raw)
    if python_type is datetime:
        return datetime.fromisoformat(raw)
    if not isinstance(raw, python_type):
        raise ValueError("cursor value of the wrong type")
    return raw


def encode_cursor(values: Sequence[Any]) -> str:
    payload = json.dumps([_encode_value(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, columns: Sequence[SortColumn]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError("wrong cursor shape")
        return [_decode_value(value, column) for value, column in zip(raw, columns, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise BadPageRequest("The cursor is not valid for this list and order.") from error


async def paginate(
    context: Context,
    statement: SelectOfScalar[R],
    *,
    sort: Sequence[SortColumn],
    descending: bool,
    args: PageArgs,
) -> Page[R]:
    """One page of ``statement``'s rows ordered by ``sort`` (which must end in a unique column).

    The page holds rows, not ORM instances: a ``select(Model)`` reads as rows of all
    its columns, which answer the same attribute names.
    """
    size, backwards = args.size()
    filtered = statement
    key = tuple_(*sort)
    for cursor, after in ((args.after, True), (args.before, False)):
        if cursor is not None:
            values = tuple_(*decode_cursor(cursor, sort))
            forward = after != descending
            filtered = filtered.where(key > values if forward else key < values)

    reverse = descending != backwards
    ordered = filtered.order_by(*(column.desc() if reverse else column.asc() for column in sort))
    rows = list(await context.rows(ordered.limit(size + 1))) if size > 0 else []
    has_more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    async def count() -> int:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int(await context.scalar(counted) or 0)

    return Page(
        rows=rows,
        cursors=[encode_cursor([getattr(row, column.key) for column in sort]) for row in rows],  # type: ignore[union-attr]
        has_next_page=has_more if not backwards else args.before is not None,
        has_previous_page=has_more if backwards else args.after is not None,
        count=count,
    )
