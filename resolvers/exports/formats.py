"""Rows as bytes: ndjson (one JSON object a line), CSV (a header row, then one row each), JSON (an array).

Values are written as JSON holds them: ids and instants as text (ISO 8601 with the
offset), JSON columns as themselves. In CSV a JSON value (tags, a configuration) is
its JSON text, an absent value an empty cell, a boolean ``true``/``false``; text a
spreadsheet would read as a formula gets a leading ``'`` (``resolvers/reports/csv_export.py``),
so CSV is for reading in a spreadsheet and ndjson or JSON for an exact copy.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import orjson

from db.audit import plain
from resolvers.reports.csv_export import safe_cell


class ExportFormat(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"
    JSON = "json"


class Encoder:
    """Turns pages of rows into the bytes of one file: ``start``, ``rows`` per page, ``end``."""

    def __init__(self, form: ExportFormat, columns: Sequence[str]) -> None:
        self.form = form
        self.columns = tuple(columns)
        self._first = True

    def start(self) -> bytes:
        if self.form is ExportFormat.CSV:
            return _csv_lines([list(self.columns)])
        return b"[" if self.form is ExportFormat.JSON else b""

    def rows(self, rows: Sequence[Any]) -> bytes:
        if not rows:
            return b""
        if self.form is ExportFormat.CSV:
            return _csv_lines([[_cell(getattr(row, name)) for name in self.columns] for row in rows])
        objects = [orjson.dumps({name: plain(getattr(row, name)) for name in self.columns}) for row in rows]
        if self.form is ExportFormat.NDJSON:
            return b"\n".join(objects) + b"\n"
        lead = b"\n" if self._first else b",\n"
        self._first = False
        return lead + b",\n".join(objects)

    def end(self) -> bytes:
        if self.form is ExportFormat.JSON:
            return b"]\n" if self._first else b"\n]\n"
        return b""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(plain(value)).decode()
    if isinstance(value, int | float):
        return str(value)
    return safe_cell(str(plain(value)))


def _csv_lines(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()
