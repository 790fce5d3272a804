"""Importing an equipment catalogue from CSV (``importEquipment``, ``rigbook import equipment``).

Each row is equipment, found by its ``code``: a new code is created, a known one is
updated. Rows are checked by the very checks ``createEquipment`` and
``updateEquipment`` make (``resolvers/equipment.py``), and changes of stock go
through the same stock rules (``apply_changes``, ``add_units_to``,
``set_unit_statuses`` → ``ensure_bookings_fit``), so an import can never leave a
booking without its stock. The whole file is one transaction: every row's problems
are collected and reported by CSV line and column, and any problem, or a dry run,
rolls everything back. The audit trail records each row as the mutations would
(and so announces the same domain events), plus one ``equipment.imported`` entry
with the counts; all of an import's entries share its request id.

A column present in the file sets its field on every row (an empty field: empty
text, no tags, 0 minutes or pieces, no units); a column left out leaves the field
as it is on update, and at its default on create. For serialized equipment the
``serial_numbers`` field lists the units in service: units not yet known are added,
listed retired units come back into service, and units no longer listed are retired
(refused while a booking holds them).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.audit import Actor, record
from db.clock import utcnow
from db.database import Database
from db.scoped import in_tenant, scoped
from db.tables import Equipment, EquipmentUnit, Tenant, Tracking, UnitStatus
from resolvers.booking import lock_equipment
from resolvers.equipment import (
    STOCK_FIELDS,
    EquipmentDraft,
    EquipmentFields,
    NewUnit,
    add_units_to,
    apply_changes,
    check_changes,
    check_changes_of,
    check_draft,
    check_stock_form,
    new_equipment,
    set_unit_statuses,
)
from resolvers.equipment_csv import Problem, Row, Table, decode, items, read_table
from resolvers.errors import Conflict, DomainError, InvalidInput, Unavailable, Validator
from resolvers.transactions import Standalone, Transactions

# Problems listed in a refusal; ``problem_count`` has them all.
MAX_REPORTED_PROBLEMS = 1000
# Units of the file's serialized equipment read to compare with its serial numbers.
MAX_UNITS_READ = 100_000
# Rows checked and written between two yields to the event loop, so other requests are not held up.
ROWS_PER_YIELD = 100
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,12}")
# ``Validator`` paths of the equipment checks → the CSV column they are about.
COLUMN_OF_FIELD = {
    "name": "name",
    "code": "code",
    "category": "category",
    "description": "description",
    "tags": "tags",
    "tracking": "tracking",
    "quantity": "quantity",
    "bufferBefore": "buffer_before",
    "bufferAfter": "buffer_after",
    "units": "serial_numbers",
}


@dataclass(frozen=True)
class ImportLimits:
    """The largest file (bytes, as UTF-8) and the most rows one import takes."""

    max_bytes: int
    max_rows: int


@dataclass(frozen=True)
class ImportOutcome:
    """What the import did (a dry run: would do): rows read, and how many of each kind."""

    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int


class ImportRejected(DomainError):
    """The file has problems; nothing was written. ``problems``: the first ``MAX_REPORTED_PROBLEMS``."""

    def __init__(self, problems: Sequence[Problem], *, dry_run: bool) -> None:
        count = len(problems)
        super().__init__(f"The file has {count} problem{'s' if count != 1 else ''}; nothing was imported.")
        # In file order: the whole file's first, then by line (stable within a line).
        ordered = sorted(problems, key=lambda problem: problem.line or 0)
        self.problems = ordered[:MAX_REPORTED_PROBLEMS]
        self.problem_count = count
        self.dry_run = dry_run


class _Undo(Exception):
    """Rolls the import's transaction back (a dry run, or a file with problems)."""


@dataclass
class _Line:
    """A row read into values: ``None`` where the file has no such column."""

    row: Row
    code: str
    name: str
    category: str | None
    description: str | None
    tags: list[str] | None
    tracking: Tracking | None
    quantity: int | None
    quantity_column: bool
    buffer_before: int | None
    buffer_after: int | None
    serials: list[str] | None


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


async def import_equipment(
    transactions: Transactions,
    tenant_id: uuid.UUID,
    source: str | bytes,
    *,
    dry_run: bool,
    limits: ImportLimits,
) -> ImportOutcome:
    """Create or update the tenant's equipment from the CSV ``source``, all rows or none.

    ``ImportRejected`` lists every problem (by line and column) when there is one;
    a dry run checks everything the same way, then writes nothing.
    """
    text, table = decode(source, limits.max_bytes)
    if text is not None:
        table = read_table(text, limits.max_rows)
    if table.fatal:
        raise ImportRejected(table.problems, dry_run=dry_run)
    rows = _distinct_codes(table, table.rows)
    lines = [line for row in rows if (line := _line_of(table, row)) is not None]
    counts = _Counts()
    try:
        async with transactions.transaction(tenant_id) as session:
            await _apply(session, tenant_id, table, lines, counts)
            if table.problems or dry_run:
                raise _Undo()
            record(
                session.sync_session,
                tenant_id=tenant_id,
                action="equipment.imported",
                target_type="equipment",
                target_id=None,
                changes={"rows": len(table.rows), **vars(counts)},
            )
    except _Undo:
        pass
    except IntegrityError:
        # Equipment created meanwhile with a code of the file (the unique code refuses the second).
        raise Conflict("The catalogue changed during the import; import the file again.") from None
    if table.problems:
        raise ImportRejected(table.problems, dry_run=dry_run)
    return ImportOutcome(dry_run, len(table.rows), counts.created, counts.updated, counts.unchanged)


def _whole(table: Table, row: Row, column: str) -> int | None:
    """The whole number in ``column`` (an empty field: 0); ``None`` if absent or not a number."""
    cell = row.cells.get(column)
    if cell is None:
        return None
    text = cell.strip()
    if not text:
        return 0
    if WHOLE_NUMBER.fullmatch(text) is None:
        table.add(row.line, column, "Must be a whole number.")
        return None
    return int(text)


def _line_of(table: Table, row: Row) -> _Line | None:
    """The row's values, or ``None`` (and its problems in ``table``) if a field cannot be read."""
    problems = len(table.problems)
    cells = row.cells
    tracking: Tracking | None = None
    given = cells.get("tracking", "").strip()
    if given:
        try:
            tracking = Tracking(given.upper())
        except ValueError:
            table.add(row.line, "tracking", "Must be BULK or SERIALIZED.")
    quantity_cell = cells.get("quantity")
    quantity = _whole(table, row, "quantity") if quantity_cell is not None and quantity_cell.strip() else None
    line = _Line(
        row=row,
        code=cells["code"].strip(),
        name=cells["name"],
        category=cells.get("category"),
        description=cells.get("description"),
        tags=items(cells["tags"]) if "tags" in cells else None,
        tracking=tracking,
        quantity=quantity,
        quantity_column=quantity_cell is not None,
        buffer_before=_whole(table, row, "buffer_before"),
        buffer_after=_whole(table, row, "buffer_after"),
        serials=items(cells["serial_numbers"]) if "serial_numbers" in cells else None,
    )
    return line if len(table.problems) == problems else None


def _distinct_codes(table: Table, rows: list[Row]) -> list[Row]:
    """The rows whose code no earlier row has; each repeat is a problem of its line."""
    first: dict[str, int] = {}
    kept: list[Row] = []
    for row in rows:
        code = row.cells["code"].strip()
        if code and code in first:
            table.add(row.line, "code", f"Code {code!r} is already on line {first[code]}.")
            continue
        first.setdefault(code, row.line)
        kept.append(row)
    return kept


async def _apply(
    session: AsyncSession, tenant_id: uuid.UUID, table: Table, lines: list[_Line], counts: _Counts
) -> None:
    codes = [line.code for line in lines if line.code]
    found = (
        await session.execute(
            select(Equipment.id, Equipment.code).where(
                in_tenant(Equipment, tenant_id), col(Equipment.code).in_(codes)
            )
        )
    ).all()
    locked = await lock_equipment(session, tenant_id, {row.id for row in found})
    existing = {equipment.code: equipment for equipment in locked.values()}
    units = await _units_of(session, tenant_id, table, lines, existing)
    if units is None:
        return
    new_units: list[EquipmentUnit] = []
    for done, line in enumerate(lines, start=1):
        equipment = existing.get(line.code)
        if equipment is None:
            new_units.extend(_create(session, table, tenant_id, line, counts))
        else:
            await _update(session, table, line, equipment, units.get(equipment.id, []), counts)
        if done % ROWS_PER_YIELD == 0:
            await _write(session, new_units)
            await asyncio.sleep(0)
    await _write(session, new_units)
    await session.flush()


async def _write(session: AsyncSession, new_units: list[EquipmentUnit]) -> None:
    """Flush the rows so far (a batch: building their audit entries holds the CPU), then add their units.

    Equipment is flushed before its units, which refer to it; the units go with the next flush.
    """
    await session.flush()
    session.add_all(new_units)
    new_units.clear()


async def _units_of(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    table: Table,
    lines: list[_Line],
    existing: Mapping[str, Equipment],
) -> dict[uuid.UUID, list[Any]] | None:
    """The units (id, serial number, status) of the known serialized equipment the file lists units of."""
    ids = [
        existing[line.code].id
        for line in lines
        if line.serials is not None
        and line.code in existing
        and existing[line.code].tracking == Tracking.SERIALIZED
    ]
    if not ids:
        return {}
    statement = (
        select(
            EquipmentUnit.id, EquipmentUnit.equipment_id, EquipmentUnit.serial_number, EquipmentUnit.status
        )
        .where(in_tenant(EquipmentUnit, tenant_id), col(EquipmentUnit.equipment_id).in_(ids))
        .limit(MAX_UNITS_READ + 1)
    )
    rows = (await session.execute(statement)).all()
    if len(rows) > MAX_UNITS_READ:
        table.add(
            None,
            "serial_numbers",
            f"The file's serialized equipment has more than {MAX_UNITS_READ} units in all; import it in parts.",
        )
        return None
    found: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        found.setdefault(row.equipment_id, []).append(row)
    return found


def _report(table: Table, line: _Line, fields: Mapping[str, str], serials: Sequence[str]) -> None:
    """The problems of the equipment checks (by input path), as problems of the CSV's columns."""
    for path, message in fields.items():
        head, _, rest = path.partition(".")
        if head == "units" and rest:
            index = int(rest.split(".")[0])
            message = f"Serial number {serials[index]!r}: {message}"
        table.add(line.row.line, COLUMN_OF_FIELD.get(head), message)


def _create(
    session: AsyncSession, table: Table, tenant_id: uuid.UUID, line: _Line, counts: _Counts
) -> list[EquipmentUnit]:
    """Add the line's new equipment (the checks of ``createEquipment``); its units, to add after it."""
    tracking = line.tracking or Tracking.BULK
    serials = line.serials or []
    quantity = line.quantity
    if tracking == Tracking.BULK and line.quantity_column and quantity is None:
        quantity = 0
    draft = EquipmentDraft(
        fields=EquipmentFields(
            name=line.name,
            code=line.code,
            category=line.category,
            description=line.description,
            tags=line.tags,
            quantity=quantity,
            buffer_before=line.buffer_before,
            buffer_after=line.buffer_after,
        ),
        tracking=tracking,
        units=[NewUnit(serial) for serial in serials],
    )
    problems = Validator()
    check_draft(draft, problems)
    if problems.problems:
        _report(table, line, problems.problems, serials)
        return []
    equipment, units = new_equipment(tenant_id, draft)
    session.add(equipment)
    counts.created += 1
    return units


async def _update(
    session: AsyncSession,
    table: Table,
    line: _Line,
    equipment: Equipment,
    units: list[Any],
    counts: _Counts,
) -> None:
    """Apply the line to known equipment (the checks and stock rules of ``updateEquipment``)."""
    serialized = equipment.tracking == Tracking.SERIALIZED
    quantity = line.quantity
    if not serialized and line.quantity_column and quantity is None:
        quantity = 0
    fields = EquipmentFields(
        name=line.name,
        category=line.category,
        description=line.description,
        tags=line.tags,
        # Serialized stock is its units: a quantity beside the serial numbers only has to agree.
        quantity=None if serialized and line.serials is not None else quantity,
        buffer_before=line.buffer_before,
        buffer_after=line.buffer_after,
    )
    problems = Validator()
    check_changes(fields, problems)
    check_changes_of(equipment, fields, line.tracking, problems)
    serials = line.serials or []
    if line.serials is not None:
        listed = [NewUnit(serial) for serial in serials]
        check_stock_form(equipment.tracking, quantity if serialized else None, listed, problems)
    if problems.problems:
        _report(table, line, problems.problems, serials)
        return
    stock = [name for name in STOCK_FIELDS if getattr(fields, name) not in (None, getattr(equipment, name))]
    try:
        changed = await apply_changes(session, equipment, fields)
    except Unavailable as error:
        table.add(line.row.line, stock[0] if stock else None, _shortage_message(error, {}))
        return
    if serialized and line.serials is not None:
        try:
            changed += await _sync_units(session, equipment, serials, units)
        except InvalidInput as error:
            added = [serial for serial in serials if serial not in {unit.serial_number for unit in units}]
            _report(table, line, error.fields, added)
            return
        except Unavailable as error:
            table.add(
                line.row.line,
                "serial_numbers",
                _shortage_message(error, {unit.id: unit.serial_number for unit in units}),
            )
            return
    if changed:
        equipment.updated_at = utcnow()
        counts.updated += 1
    else:
        counts.unchanged += 1


async def _sync_units(
    session: AsyncSession, equipment: Equipment, serials: list[str], units: list[Any]
) -> list[str]:
    """Make the units in service those ``serials`` list; ``["units"]`` if any changed."""
    by_serial = {unit.serial_number: unit for unit in units}
    wanted = set(serials)
    added = [NewUnit(serial) for serial in serials if serial not in by_serial]
    statuses = {
        unit.id: UnitStatus.AVAILABLE if unit.serial_number in wanted else UnitStatus.RETIRED
        for unit in units
        if (unit.serial_number in wanted) == (unit.status == UnitStatus.RETIRED)
    }
    if added:
        await add_units_to(session, equipment, added)
    if statuses:
        statement = scoped(EquipmentUnit, equipment.tenant_id).where(
            col(EquipmentUnit.id).in_(list(statuses))
        )
        rows = (await session.scalars(statement)).all()
        await set_unit_statuses(session, equipment, [(row, statuses[row.id]) for row in rows])
    return ["units"] if added or statuses else []


def _shortage_message(error: Unavailable, serials: Mapping[uuid.UUID, str]) -> str:
    """What the bookings in the way need, in a sentence."""
    parts: list[str] = []
    for shortage in error.shortages:
        held = len(shortage.reservation_ids)
        reservations = f"{held} reservation{'s' if held != 1 else ''}"
        if shortage.unit_id is not None:
            serial = serials.get(shortage.unit_id, "a unit")
            if shortage.requested == 1:
                parts.append(f"unit {serial} is held by {reservations}")
            else:
                parts.append(f"unit {serial} would be in {reservations} at once")
        else:
            parts.append(
                f"{reservations} need up to {shortage.requested} at once, but only {shortage.available} "
                "would remain"
            )
    detail = "; ".join(parts) or "bookings need more than would remain"
    return f"{detail[0].upper()}{detail[1:]}: change or cancel them first."


COMMAND_ACTOR = Actor(None, "system", "rigbook import")


class NoSuchTenant(Exception):
    """``rigbook import`` named a slug no tenant has."""


async def import_for_command(
    database: Database, slug: str, source: bytes, *, dry_run: bool, limits: ImportLimits
) -> ImportOutcome:
    """``rigbook import equipment``: the import into the tenant ``slug`` names, audited as the system."""
    async with database.session(None) as session:
        tenant = (
            await session.scalars(select(Tenant).where(col(Tenant.slug) == slug.strip().lower()))
        ).first()
    if tenant is None:
        raise NoSuchTenant(f"no tenant has the slug {slug!r}")
    transactions = Standalone(database, actor=COMMAND_ACTOR)
    return await import_equipment(transactions, tenant.id, source, dry_run=dry_run, limits=limits)
