"""Stored JSON that every response can carry: the one check for JSON going in and coming out.

Responses are written with orjson, which refuses integers outside 64 bits, text
that is not valid Unicode and more than 254 nested arrays and objects (and writes
NaN and infinities as null). A response also wraps a stored value in levels of its
own (``data → designs → edges → node → currentVersion → configuration``, and
``changes → field → [old, new]`` in the audit trail). So:

* ``json_problem`` refuses a JSON input unless orjson writes it back unchanged,
  nested at most ``MAX_DEPTH`` levels deep and within a size;
* ``readable_json`` is what a response carries of a stored value: the value itself,
  or — for rows stored before these checks — a degraded form with integers beyond
  64 bits as their decimal text, unpaired surrogates in text as ``?``, and
  arrays and objects nested past ``READ_DEPTH`` levels as null.

Both ask orjson itself, wrapped in as many arrays as the depth allows, so a value
is checked at C speed; only a refused or degraded value is walked in Python.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

# Arrays and objects orjson nests before it refuses ("Recursion limit reached").
ORJSON_DEPTH = 254
# Accepted on input: deep enough for any layout, far below what a response can wrap.
MAX_DEPTH = 64
# Shown on output: leaves 126 levels around the value, several times the nesting
# the query depth limit lets a response reach; audit changes wrap a value in two.
READ_DEPTH = 128
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**64 - 1


class _Wrappers(threading.local):
    """Arrays nested in each other, built once per depth (and thread), the innermost one empty."""

    def __init__(self) -> None:
        self.by_levels: dict[int, tuple[list[Any], list[Any]]] = {}

    def get(self, levels: int) -> tuple[list[Any], list[Any]]:
        wrapper = self.by_levels.get(levels)
        if wrapper is None:
            innermost: list[Any] = [None]
            outermost = innermost
            for _ in range(levels - 1):
                outermost = [outermost]
            wrapper = self.by_levels[levels] = (outermost, innermost)
        return wrapper


_wrappers = _Wrappers()


def _wrapped(value: Any, depth: int) -> tuple[bytes, int]:
    """orjson's encoding of ``value`` inside as many arrays as leave it ``depth`` levels, and
    how many those are; ``JSONEncodeError`` if orjson cannot write it or it nests deeper."""
    levels = ORJSON_DEPTH - depth
    outermost, innermost = _wrappers.get(levels)
    innermost[0] = value
    try:
        return orjson.dumps(outermost), levels
    finally:
        innermost[0] = None


def json_problem(value: Any, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``value`` may not be stored as JSON, or ``None`` when every response can carry it."""
    try:
        wrapped, levels = _wrapped(value, max_depth)
    except orjson.JSONEncodeError:
        return _unwritable(value, max_depth)
    if len(wrapped) - 2 * levels > max_bytes:
        return f"Must be at most {max_bytes // 1024} KiB as JSON."
    # Only a value written with a null can have held NaN: the rest skip reading it back.
    if b"null" in wrapped and orjson.loads(wrapped[levels : len(wrapped) - levels]) != value:
        # orjson writes NaN and infinities as null: the value would not read back as sent.
        return "Numbers must be finite (no NaN or Infinity)."
    return None


def _unwritable(value: Any, max_depth: int) -> str:
    """The first reason orjson refused ``value`` (a walk, for values already refused)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                return f"Must be nested at most {max_depth} levels deep."
            if isinstance(item, dict):
                if not all(isinstance(key, str) for key in item):
                    return "Keys must be text."
                stack += ((key, depth) for key in item)
                stack += ((child, depth + 1) for child in item.values())
            else:
                stack += ((child, depth + 1) for child in item)
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if not MIN_INTEGER <= item <= MAX_INTEGER:
                return "Integers must fit in 64 bits; send larger numbers as strings."
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "Text must be valid Unicode (no unpaired surrogates)."
        else:
            return "Must be plain JSON."
    return "Must be plain JSON."


def readable_json(value: Any, depth: int = READ_DEPTH) -> Any:
    """``value`` if a response can carry it, else its degraded form (see the module docstring)."""
    try:
        _wrapped(value, depth)
    except orjson.JSONEncodeError:
        return _degraded(value, depth)
    return value


def _degraded(value: Any, depth: int) -> Any:
    # Recursion stops at ``depth`` levels, however deep the stored value is.
    if isinstance(value, dict):
        return (
            None
            if depth == 0
            else {_text(str(key)): _degraded(item, depth - 1) for key, item in value.items()}
        )
    if isinstance(value, list | tuple):
        return None if depth == 0 else [_degraded(item, depth - 1) for item in value]
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if MIN_INTEGER <= value <= MAX_INTEGER else str(value)
    if isinstance(value, str):
        return _text(value)
    return _text(str(value))


def _text(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8")
