"""A monthly report as CSV: one section after another, each a title row, a header row and its rows.

Sections are separated by an empty row. Text that came from users (item names,
codes, categories, reservation titles) is guarded against formula injection: a
cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which
some spreadsheets skip before reading a formula) gets a leading ``'``, so a
spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from resolvers.reports.content import ReportData

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | None


def safe_cell(value: Cell) -> str:
    """The cell as text; text a spreadsheet would read as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _percent(value: float | None) -> Cell:
    return None if value is None else round(value * 100, 2)


def report_csv(report: ReportData) -> str:
    """The whole report as CSV text (``\\r\\n`` line ends, as the csv module writes them)."""
    out = io.StringIO()
    writer = csv.writer(out)

    def section(
        title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]], first: bool = False
    ) -> None:
        if not first:
            writer.writerow([])
        writer.writerow([title])
        writer.writerow(header)
        writer.writerows([safe_cell(cell) for cell in row] for row in rows)

    section(
        "Monthly report",
        ["field", "value"],
        [
            ("month", report.month),
            ("timezone", report.timezone),
            ("period_start", report.period_start.isoformat()),
            ("period_end", report.period_end.isoformat()),
            ("hours", report.hours),
            ("generated_at", report.generated_at.isoformat()),
        ],
        first=True,
    )
    section("Reservations by status", ["status", "count"], report.statuses.items())
    section(
        "Utilization by category",
        ["category", "items", "stock", "held_hours", "available_hours", "utilization_percent"],
        (
            (
                use.category,
                use.items,
                use.stock,
                use.held_hours,
                use.available_hours,
                _percent(use.utilization),
            )
            for use in report.categories
        ),
    )
    item_header = ["code", "name", "category", "stock", "held_hours", "available_hours"]
    item_header += ["utilization_percent", "reservations"]
    section(
        "Utilization by item",
        item_header,
        (
            (
                item.code,
                item.name,
                item.category,
                item.stock,
                item.held_hours,
                item.available_hours,
                _percent(item.utilization),
                item.reservations,
            )
            for item in report.items
        ),
    )
    section(
        "Most booked items (by held hours)",
        ["rank", "code", "name", "held_hours", "reservations"],
        (
            (rank, item.code, item.name, item.held_hours, item.reservations)
            for rank, item in enumerate(report.top_items, start=1)
        ),
    )
    section(
        f"Overdue returns ({report.overdue_total})",
        ["number", "title", "status", "ends_at", "returned_at", "hours_late"],
        (
            (
                entry.number,
                entry.title,
                entry.status.value,
                entry.ends_at.isoformat(),
                entry.returned_at.isoformat() if entry.returned_at is not None else None,
                entry.hours_late,
            )
            for entry in report.overdue
        ),
    )
    return out.getvalue()
