"""Keyset (cursor) pagination with Relay's first/after/last/before.

A cursor encodes the sort values of a row (plus its id as the tie-breaker), so
pages stay stable while rows are inserted, and every page is an index range scan.
A cursor that comes back is read by its columns' types and compared as values of
those types: anything a client crafts is either such a value or bad input.

A page encodes a row's cursor only when it is asked for (``Page.cursor``): most
documents select the page's end cursor and none of its edges' cursors.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from graphql import GraphQLError
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Uuid,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Mapped
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel.sql.expression import SelectOfScalar

from resolvers.transactions import Snapshot
from resolvers.validation import unstorable

R = TypeVar("R")

# A mapped column as SQLModel's ``col()`` or the class attribute gives it.
SortColumn = InstrumentedAttribute[Any] | Mapped[Any]

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# The longest real cursor (a 200-character name written as 6-byte JSON escapes, and
# an id) is under 1,700 characters; a longer one is refused before it is decoded.
MAX_CURSOR_LENGTH = 2048
MAX_INSTANT_LENGTH = 64
UUID_HEX = re.compile(r"[0-9a-f]{32}")


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
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]
    sort_keys: tuple[str, ...]
    """The attributes of a row its cursor holds, in sort order."""

    def cursor(self, row: R) -> str:
        """The cursor of ``row``, one of ``rows``."""
        return encode_cursor([getattr(row, key) for key in self.sort_keys])

    def start_cursor(self) -> str | None:
        return self.cursor(self.rows[0]) if self.rows else None

    def end_cursor(self) -> str | None:
        return self.cursor(self.rows[-1]) if self.rows else None


def _encode_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decode_uuid(raw: Any) -> uuid.UUID:
    if not (isinstance(raw, str) and UUID_HEX.fullmatch(raw)):
        raise ValueError("cursor value is not an id")
    return uuid.UUID(hex=raw)


def _decode_instant(raw: Any) -> datetime:
    if not (isinstance(raw, str) and len(raw) <= MAX_INSTANT_LENGTH):
        raise ValueError("cursor value is not an instant")
    instant = datetime.fromisoformat(raw)
    if instant.tzinfo is None:
        raise ValueError("cursor instant without an offset")
    try:
        return instant.astimezone(UTC)  # stored in UTC: out of range there is out of range
    except OverflowError as error:
        raise ValueError("cursor instant out of range") from error


def _integer_decoder(bits: int) -> Callable[[Any], int]:
    bound = 2 ** (bits - 1)

    def decode(raw: Any) -> int:
        # bool is an int in Python, and an integer past the column's width overflows the driver.
        if not (isinstance(raw, int) and not isinstance(raw, bool) and -bound <= raw < bound):
            raise ValueError("cursor value is not an integer of the column's range")
        return raw

    return decode


def _text_decoder(length: int | None) -> Callable[[Any], str]:
    def decode(raw: Any) -> str:
        if not (isinstance(raw, str) and (length is None or len(raw) <= length) and not unstorable(raw)):
            raise ValueError("cursor value is not text of the column")
        return raw

    return decode


def _type_of(column: SortColumn) -> TypeEngine[Any]:
    column_type: TypeEngine[Any] = column.type  # type: ignore[union-attr]
    return column_type


def _decoder(column: SortColumn) -> Callable[[Any], Any]:
    """How a cursor value for ``column`` is read back: exactly what ``_encode_value`` writes for it.

    The column's own type decides, unwrapped from decorators such as ``UtcDateTime``
    (whose ``python_type`` is ``object``: it would let any value through).
    """
    column_type = _type_of(column)
    while isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, Uuid):
        return _decode_uuid
    if isinstance(column_type, DateTime):
        return _decode_instant
    if isinstance(column_type, Integer):
        bits = (
            64 if isinstance(column_type, BigInteger) else 16 if isinstance(column_type, SmallInteger) else 32
        )
        return _integer_decoder(bits)
    if isinstance(column_type, String):
        return _text_decoder(column_type.length)
    raise TypeError(f"no cursor encoding for sort columns of type {column_type!r}")


def encode_cursor(values: Sequence[Any]) -> str:
    """Url-safe base64 (unpadded) of the values as compact JSON with non-ASCII text kept.

    orjson writes the JSON: for what a sort value is once ``_encode_value`` has had it
    (text, integers of at most 64 bits, null), byte for byte what
    ``json.dumps(separators=(",", ":"), ensure_ascii=False)`` writes, at a fraction
    of the cost (tests/test_cursor_encoding.py holds it to that).
    """
    payload = orjson.dumps([_encode_value(value) for value in values])
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def decode_cursor(cursor: str, columns: Sequence[SortColumn]) -> list[Any]:
    """The sort values ``cursor`` holds, typed as ``columns``; anything else is bad input."""
    decoders = [_decoder(column) for column in columns]
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("cursor too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError("wrong cursor shape")
        return [decode(value) for decode, value in zip(decoders, raw, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError) as error:
        raise BadPageRequest("The cursor is not valid for this list and order.") from error


async def paginate(
    snapshot: Snapshot,
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
            # Bound with the columns' own types, so their bind processing (UTC on SQLite) applies.
            decoded = decode_cursor(cursor, sort)
            values = tuple_(
                *(literal(value, _type_of(column)) for value, column in zip(decoded, sort, strict=True))
            )
            forward = after != descending
            filtered = filtered.where(key > values if forward else key < values)

    reverse = descending != backwards
    ordered = filtered.order_by(*(column.desc() if reverse else column.asc() for column in sort))
    rows = list(await snapshot.rows(ordered.limit(size + 1))) if size > 0 else []
    has_more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    async def count() -> int:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int(await snapshot.scalar(counted) or 0)

    return Page(
        rows=rows,
        has_next_page=has_more if not backwards else args.before is not None,
        has_previous_page=has_more if backwards else args.after is not None,
        count=count,
        sort_keys=tuple(column.key for column in sort),  # type: ignore[union-attr]
    )
