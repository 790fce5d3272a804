"""Cursors as bytes: what a row's sort values encode to, and that they read back as the same values.

Cursors are handed to clients, who keep them (bookmarks, "load more" state): a
cursor a client already holds must keep working and the same row must keep giving
the same cursor. ``GOLDEN`` pins the exact text for values of each sort column type
(ids, instants, integers, text with non-ASCII and escaped characters); the
properties check any such value against the encoding written out with the
standard library, and the way back through each column type's decoder.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col

from db.tables import Equipment, Reservation, Tenant, User
from resolvers.pagination import decode_cursor, encode_cursor

GOLDEN: list[tuple[str, list[Any], str]] = [
    (
        "reservation by start",
        [
            datetime(2031, 3, 4, 5, 6, 7, 123456, tzinfo=UTC),
            uuid.UUID("0190a0b0-0000-7000-8000-000000000001"),
        ],
        "WyIyMDMxLTAzLTA0VDA1OjA2OjA3LjEyMzQ1NiswMDowMCIsIjAxOTBhMGIwMDAwMDcwMDA4MDAwMDAwMDAwMDAwMDAxIl0",
    ),
    (
        "instant without microseconds",
        [datetime(2027, 1, 3, 4, 0, tzinfo=UTC), uuid.UUID("0190a0b0-0000-7000-8000-00000000abcd")],
        "WyIyMDI3LTAxLTAzVDA0OjAwOjAwKzAwOjAwIiwiMDE5MGEwYjAwMDAwNzAwMDgwMDAwMDAwMDAwMGFiY2QiXQ",
    ),
    (
        "instants at the range's ends",
        [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)],
        "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwiOTk5OS0xMi0zMVQyMzo1OTo1OS45OTk5OTkrMDA6MDAiXQ",
    ),
    (
        "instant with an offset",
        [datetime(2031, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))],
        "WyIyMDMxLTAzLTA0VDA1OjA2OjA3LTA1OjMwIl0",
    ),
    (
        "reservation by number",
        [42, uuid.UUID("ffffffff-ffff-7fff-bfff-ffffffffffff")],
        "WzQyLCJmZmZmZmZmZmZmZmY3ZmZmYmZmZmZmZmZmZmZmZmZmZiJd",
    ),
    (
        "integers at the 64-bit bounds",
        [0, -1, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)],
        "WzAsLTEsMjE0NzQ4MzY0NywtMjE0NzQ4MzY0OCw5MjIzMzcyMDM2ODU0Nzc1ODA3LC05MjIzMzcyMDM2ODU0Nzc1ODA4XQ",
    ),
    (
        "ascii name",
        ["LED wall 3x2 m", uuid.UUID(int=0)],
        "WyJMRUQgd2FsbCAzeDIgbSIsIjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIl0",
    ),
    (
        "non-ascii name",
        ["Zürich – Bühne Ø 12 m 🎪 舞台", uuid.UUID(int=1)],
        "WyJaw7xyaWNoIOKAkyBCw7xobmUgw5ggMTIgbSDwn46qIOiInuWPsCIsIjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIl0",
    ),
    (
        "quotes and backslashes",
        ['say "hi" \\ back/slash', uuid.UUID(int=2)],
        "WyJzYXkgXCJoaVwiIFxcIGJhY2svc2xhc2giLCIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMiJd",
    ),
    (
        "control and separator characters",
        ["tab\tnew\nline\r\x01\x1f\x7f\u2028\u2029\ufeff", uuid.UUID(int=3)],
        "WyJ0YWJcdG5ld1xubGluZVxyXHUwMDAxXHUwMDFmf-KAqOKAqe-7vyIsIjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAzIl0",
    ),
    ("empty text", ["", uuid.UUID(int=4)], "WyIiLCIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwNCJd"),
    (
        "markup",
        ["</script><!-- & -->", uuid.UUID(int=5)],
        "WyI8L3NjcmlwdD48IS0tICYgLS0-IiwiMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDUiXQ",
    ),
    ("slug alone", ["tenant-07"], "WyJ0ZW5hbnQtMDciXQ"),
    ("null", [None, uuid.UUID(int=6)], "W251bGwsIjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA2Il0"),
]


@pytest.mark.parametrize(("values", "cursor"), [pytest.param(v, c, id=name) for name, v, c in GOLDEN])
def test_the_same_values_give_the_same_cursor_as_ever(values: list[Any], cursor: str) -> None:
    assert encode_cursor(values) == cursor


def stdlib_cursor(values: list[Any]) -> str:
    """The encoding written out with the standard library: compact JSON, non-ASCII kept, url-safe base64."""
    plain = [
        value.hex
        if isinstance(value, uuid.UUID)
        else value.isoformat()
        if isinstance(value, datetime)
        else value
        for value in values
    ]
    payload = json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


# What rows hold: instants stored in UTC, ids, integers of each width, storable text.
INSTANTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))
IDS = st.uuids()
INTEGERS = st.integers(min_value=-(2**31), max_value=2**31 - 1)
BIG_INTEGERS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200)

# A sort column of each type, with the values its rows hold.
COLUMNS = [
    pytest.param(col(Reservation.starts_at), INSTANTS, id="instant"),
    pytest.param(col(Reservation.id), IDS, id="id"),
    pytest.param(col(Reservation.number), INTEGERS, id="integer"),
    pytest.param(col(Equipment.name), TEXT, id="text"),
    pytest.param(col(User.email), TEXT, id="email"),
    pytest.param(
        col(Tenant.slug),
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40),
        id="slug",
    ),
]


@pytest.mark.parametrize(("column", "values"), COLUMNS)
@given(data=st.data())
def test_each_sort_value_encodes_as_written_out_and_reads_back(
    column: Any, values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    value = data.draw(values)
    pk = data.draw(IDS)
    cursor = encode_cursor([value, pk])

    assert cursor == stdlib_cursor([value, pk])
    assert decode_cursor(cursor, [column, col(Reservation.id)]) == [value, pk]


@given(values=st.lists(st.one_of(INSTANTS, IDS, BIG_INTEGERS, TEXT, st.none()), max_size=4))
def test_any_mix_of_sort_values_encodes_as_written_out(values: list[Any]) -> None:
    assert encode_cursor(values) == stdlib_cursor(values)
