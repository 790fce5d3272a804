"""Reading an equipment catalogue from CSV: the columns, the dialect, and the bounds.

The file is comma-separated UTF-8 (a byte-order mark is allowed), fields may be
quoted (``"a, b"``, ``""`` for a quote), and the first line names the columns. The
work is bounded before anything else reads the text: its size in bytes, then its
rows (reading stops at the first row over the limit), its header and the length
of each field. Every problem is reported with the CSV line it is on (1-based; the
header is line 1) and the column it is in; a break in the CSV syntax itself (an
unclosed quote) ends the reading there.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from resolvers.validation import unstorable

COLUMNS = (
    "code",
    "name",
    "category",
    "tracking",
    "quantity",
    "buffer_before",
    "buffer_after",
    "tags",
    "description",
    "serial_numbers",
)
REQUIRED_COLUMNS = ("code", "name")
# More header cells than this cannot name distinct known columns: refused at once.
MAX_HEADER_CELLS = 2 * len(COLUMNS)
# The longest field: the most serial numbers a row may list, each at its longest, separated.
MAX_FIELD = 60_000
# Separates the items of a `tags` or `serial_numbers` field.
LIST_SEPARATOR = ","


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong, where: a CSV line (``None``: the whole file) and a column."""

    line: int | None
    column: str | None
    column_number: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: the line it starts on and its fields by known column."""

    line: int
    cells: dict[str, str]


@dataclass
class Table:
    """The rows read, the problems met, and where each known column is (1-based)."""

    positions: dict[str, int] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # The file cannot be read further (size, encoding, header, syntax, too many rows).
    fatal: bool = False

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(line, column, self.positions.get(column or ""), message))

    def refuse(self, line: int | None, message: str) -> Table:
        self.add(line, None, message)
        self.fatal = True
        return self


def column_key(header: str) -> str:
    """A header cell as the column it names: case, spaces, hyphens and underscores do not matter."""
    return "".join(char for char in header.strip().lower() if char not in " _-")


KNOWN = {column_key(name): name for name in COLUMNS}


def decode(source: str | bytes, max_bytes: int) -> tuple[str | None, Table]:
    """The text of ``source`` without its byte-order mark, or a table saying why there is none."""
    table = Table()
    size = len(source) if isinstance(source, bytes) else len(source.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return None, table.refuse(None, f"The file has {size} bytes; at most {max_bytes} are allowed.")
    if isinstance(source, bytes):
        try:
            text = source.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = source[: error.start].count(b"\n") + 1
            return None, table.refuse(
                line, f"The file is not UTF-8 text (byte {error.start + 1} is not); save it as CSV UTF-8."
            )
    else:
        text = source.removeprefix("\ufeff")
    if unstorable(text):
        return None, table.refuse(None, "The file must not contain NUL characters or unpaired surrogates.")
    return text, table


def read_table(text: str, max_rows: int) -> Table:
    """The header and rows of ``text``, at most ``max_rows`` of them."""
    table = Table()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            return table.refuse(1, "The file is empty: its first line must name the columns.")
        if not _read_header(table, header):
            table.fatal = True
            return table
        line = reader.line_num + 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, and the empty rows spreadsheets leave at the end
            if len(table.rows) >= max_rows:
                return table.refuse(start, f"The file has more than {max_rows} rows; import it in parts.")
            _read_row(table, start, cells, len(header))
    except csv.Error as error:
        # ``line``: where the record that cannot be read begins (an unclosed quote's line).
        return table.refuse(line, f"The CSV cannot be read from here on: {error}.")
    return table


def _read_header(table: Table, header: list[str]) -> bool:
    if len(header) > MAX_HEADER_CELLS:
        table.add(1, None, f"The header has {len(header)} columns; there are only {len(COLUMNS)} to name.")
        return False
    if len(header) == 1 and ";" in header[0]:
        table.add(1, None, "The columns must be separated by commas (this file uses semicolons).")
        return False
    for number, cell in enumerate(header, start=1):
        name = KNOWN.get(column_key(cell))
        if name is None:
            known = ", ".join(COLUMNS)
            table.problems.append(
                Problem(1, None, number, f"Unknown column {cell.strip()[:100]!r}; known: {known}.")
            )
        elif name in table.positions:
            table.problems.append(Problem(1, name, number, f"Column {name} appears twice."))
        else:
            table.positions[name] = number
    missing = [name for name in REQUIRED_COLUMNS if name not in table.positions]
    if missing:
        table.add(1, None, f"Required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}.")
    return not table.problems


def _read_row(table: Table, line: int, cells: list[str], width: int) -> None:
    if len(cells) != width:
        table.add(line, None, f"Has {len(cells)} fields; the header has {width}.")
        return
    values = {name: cells[number - 1] for name, number in table.positions.items()}
    too_long = [name for name, cell in values.items() if len(cell) > MAX_FIELD]
    for name in too_long:
        table.add(line, name, f"At most {MAX_FIELD} characters.")
    if not too_long:
        table.rows.append(Row(line, values))


def items(cell: str) -> list[str]:
    """The items of a list field (``tags``, ``serial_numbers``), trimmed; empty ones dropped."""
    return [item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip()]
