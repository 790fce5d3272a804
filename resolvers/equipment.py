"""Equipment and its units: the catalogue, and stock changes that respect bookings."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import Text, cast, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from db.clock import utcnow
from db.scoped import escape_like, in_tenant, scoped
from db.tables import Equipment, EquipmentStatus, EquipmentUnit, Tracking, UnitStatus
from resolvers.booking import ensure_bookings_fit, lock_equipment
from resolvers.caller import TenantCaller
from resolvers.errors import InvalidInput, NotFound, Validator
from resolvers.list_caps import MAX_UNITS_PER_EQUIPMENT
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.transactions import Snapshot, Transactions
from resolvers.validation import name_problem

MAX_CODE = 64
MAX_CATEGORY = 100
MAX_DESCRIPTION = 5000
MAX_TAGS = 30
MAX_TAG = 50
MAX_QUANTITY = 1_000_000
MAX_BUFFER_MINUTES = 60 * 24 * 30
MAX_SERIAL = 100
MAX_UNIT_NOTES = 2000
MAX_UNITS_PER_CALL = 500
# The fields whose change must still fit the bookings.
STOCK_FIELDS = ("quantity", "buffer_before", "buffer_after")


class EquipmentSort(StrEnum):
    NAME = "name"
    CODE = "code"
    CATEGORY = "category"
    CREATED_AT = "created_at"


@dataclass(frozen=True)
class EquipmentFilter:
    search: str | None = None
    category: str | None = None
    tags: list[str] | None = None
    tracking: Tracking | None = None
    status: EquipmentStatus | None = None


@dataclass(frozen=True)
class EquipmentFields:
    """Creatable/updatable fields; ``None`` means "leave as it is" on update."""

    name: str | None = None
    code: str | None = None
    category: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    quantity: int | None = None
    buffer_before: int | None = None
    buffer_after: int | None = None


@dataclass(frozen=True)
class NewUnit:
    serial_number: str
    notes: str = ""


@dataclass(frozen=True)
class UnitChanges:
    serial_number: str | None = None
    status: UnitStatus | None = None
    notes: str | None = None


@dataclass
class EquipmentDraft:
    fields: EquipmentFields
    tracking: Tracking
    units: list[NewUnit] = field(default_factory=list)


def equipment_statement(tenant_id: uuid.UUID, filter: EquipmentFilter) -> SelectOfScalar[Equipment]:
    statement = scoped(Equipment, tenant_id)
    if filter.search:
        pattern = f"%{escape_like(filter.search.strip().lower())}%"
        statement = statement.where(
            or_(
                func.lower(col(Equipment.name)).like(pattern, escape="\\"),
                func.lower(col(Equipment.code)).like(pattern, escape="\\"),
                func.lower(col(Equipment.description)).like(pattern, escape="\\"),
            )
        )
    if filter.category is not None:
        statement = statement.where(func.lower(col(Equipment.category)) == filter.category.strip().lower())
    if filter.tracking is not None:
        statement = statement.where(col(Equipment.tracking) == filter.tracking)
    if filter.status is not None:
        statement = statement.where(col(Equipment.status) == filter.status)
    for tag in filter.tags or []:
        # Tags are a JSON list; match the quoted element so "led" does not match "ledwall".
        # Match the tag as the JSON text stores it (quoted, with JSON escapes).
        needle = f"%{escape_like(json.dumps(tag.strip().lower()))}%"
        statement = statement.where(func.lower(cast(col(Equipment.tags), Text)).like(needle, escape="\\"))
    return statement


async def list_equipment(
    snapshot: Snapshot,
    caller: TenantCaller,
    *,
    filter: EquipmentFilter,
    sort: EquipmentSort,
    descending: bool,
    args: PageArgs,
) -> Page[Equipment]:
    statement = equipment_statement(caller.tenant_id, filter)
    sort_column = col(getattr(Equipment, sort.value))
    return await paginate(
        snapshot, statement, sort=[sort_column, col(Equipment.id)], descending=descending, args=args
    )


def _normalize_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tag.strip().lower() for tag in tags if tag.strip()))


def _validate_fields(fields: EquipmentFields, problems: Validator, *, creating: bool) -> None:
    if creating or fields.name is not None:
        problems.add("name", name_problem(fields.name or ""))
    if creating or fields.code is not None:
        code = (fields.code or "").strip()
        problems.check(0 < len(code) <= MAX_CODE, "code", f"Must be 1 to {MAX_CODE} characters long.")
    if fields.category is not None:
        problems.check(
            len(fields.category) <= MAX_CATEGORY, "category", f"At most {MAX_CATEGORY} characters."
        )
    if fields.description is not None:
        problems.check(
            len(fields.description) <= MAX_DESCRIPTION,
            "description",
            f"At most {MAX_DESCRIPTION} characters.",
        )
    if fields.tags is not None:
        problems.check(len(fields.tags) <= MAX_TAGS, "tags", f"At most {MAX_TAGS} tags.")
        problems.check(
            all(len(tag) <= MAX_TAG for tag in fields.tags), "tags", f"Each tag at most {MAX_TAG} characters."
        )
    if fields.quantity is not None:
        problems.check(
            0 <= fields.quantity <= MAX_QUANTITY, "quantity", f"Must be between 0 and {MAX_QUANTITY}."
        )
    for name, value in (("bufferBefore", fields.buffer_before), ("bufferAfter", fields.buffer_after)):
        if value is not None:
            problems.check(
                0 <= value <= MAX_BUFFER_MINUTES, name, f"Must be between 0 and {MAX_BUFFER_MINUTES} minutes."
            )


def _validate_units(units: Sequence[NewUnit], problems: Validator, prefix: str) -> None:
    problems.check(len(units) <= MAX_UNITS_PER_CALL, prefix, f"At most {MAX_UNITS_PER_CALL} units at a time.")
    seen: set[str] = set()
    for index, unit in enumerate(units):
        serial = unit.serial_number.strip()
        problems.check(
            0 < len(serial) <= MAX_SERIAL,
            f"{prefix}.{index}.serialNumber",
            f"Must be 1 to {MAX_SERIAL} characters long.",
        )
        problems.check(serial not in seen, f"{prefix}.{index}.serialNumber", "Appears twice.")
        problems.check(
            len(unit.notes) <= MAX_UNIT_NOTES,
            f"{prefix}.{index}.notes",
            f"At most {MAX_UNIT_NOTES} characters.",
        )
        seen.add(serial)


async def _code_taken(
    session: AsyncSession, tenant_id: uuid.UUID, code: str, other_than: uuid.UUID | None = None
) -> bool:
    statement = select(Equipment.id).where(in_tenant(Equipment, tenant_id), col(Equipment.code) == code)
    if other_than is not None:
        statement = statement.where(col(Equipment.id) != other_than)
    return (await session.scalars(statement)).first() is not None


def check_draft(draft: EquipmentDraft, problems: Validator) -> None:
    """What ``createEquipment`` refuses before any SQL, added to ``problems``."""
    _validate_fields(draft.fields, problems, creating=True)
    check_stock_form(draft.tracking, draft.fields.quantity, draft.units, problems)


def check_stock_form(
    tracking: str, quantity: int | None, units: Sequence[NewUnit], problems: Validator
) -> None:
    """Serialized stock is its units (a quantity, if given, agrees); bulk stock has none."""
    if tracking == Tracking.SERIALIZED:
        problems.check(
            quantity in (None, len(units)),
            "quantity",
            "Serialized stock is the number of units; add units instead.",
        )
        _validate_units(units, problems, "units")
    else:
        problems.check(not units, "units", "Only serialized equipment has units.")


def check_changes(fields: EquipmentFields, problems: Validator) -> None:
    """What ``updateEquipment`` refuses before any SQL, added to ``problems``."""
    _validate_fields(fields, problems, creating=False)


def check_changes_of(
    equipment: Equipment, fields: EquipmentFields, tracking: Tracking | None, problems: Validator
) -> None:
    """What ``updateEquipment`` refuses of ``equipment`` as it is, added to ``problems``."""
    if tracking is not None and tracking != equipment.tracking:
        problems.add("tracking", "Tracking is fixed once equipment is created.")
    if fields.quantity is not None and equipment.tracking == Tracking.SERIALIZED:
        problems.add(
            "quantity", "Serialized stock is the number of available units; add or retire units instead."
        )


def new_equipment(tenant_id: uuid.UUID, draft: EquipmentDraft) -> tuple[Equipment, list[EquipmentUnit]]:
    """The rows of a checked draft whose code is free, not yet added to a session."""
    fields = draft.fields
    now = utcnow()
    equipment = Equipment(
        tenant_id=tenant_id,
        name=(fields.name or "").strip(),
        code=(fields.code or "").strip(),
        category=(fields.category or "").strip(),
        description=fields.description or "",
        tags=_normalize_tags(fields.tags or []),
        tracking=draft.tracking,
        quantity=len(draft.units) if draft.tracking == Tracking.SERIALIZED else fields.quantity or 0,
        buffer_before=fields.buffer_before or 0,
        buffer_after=fields.buffer_after or 0,
        created_at=now,
        updated_at=now,
    )
    units = [
        EquipmentUnit(
            tenant_id=tenant_id,
            equipment_id=equipment.id,
            serial_number=unit.serial_number.strip(),
            notes=unit.notes,
        )
        for unit in draft.units
    ]
    return equipment, units


async def create_equipment(
    transactions: Transactions, caller: TenantCaller, draft: EquipmentDraft
) -> Equipment:
    tenant_id = caller.tenant_id
    problems = Validator()
    check_draft(draft, problems)
    problems.raise_if_any()
    async with transactions.transaction() as session:
        code = (draft.fields.code or "").strip()
        if await _code_taken(session, tenant_id, code):
            raise InvalidInput({"code": "Is already used by other equipment."})
        equipment, units = new_equipment(tenant_id, draft)
        session.add(equipment)
        await session.flush()
        session.add_all(units)
        await session.flush()
        return equipment


async def _locked(
    session: AsyncSession, tenant_id: uuid.UUID, equipment_id: uuid.UUID | None, field_name: str
) -> Equipment:
    if equipment_id is None:
        raise NotFound("equipment", field=field_name)
    found = await lock_equipment(session, tenant_id, {equipment_id})
    if equipment_id not in found:
        raise NotFound("equipment", field=field_name)
    return found[equipment_id]


async def update_equipment(
    transactions: Transactions,
    caller: TenantCaller,
    equipment_id: uuid.UUID | None,
    fields: EquipmentFields,
    tracking: Tracking | None,
) -> Equipment:
    tenant_id = caller.tenant_id
    problems = Validator()
    check_changes(fields, problems)
    problems.raise_if_any()
    async with transactions.transaction() as session:
        equipment = await _locked(session, tenant_id, equipment_id, "id")
        check_changes_of(equipment, fields, tracking, problems)
        problems.raise_if_any()
        if fields.code is not None and fields.code.strip() != equipment.code:
            if await _code_taken(session, tenant_id, fields.code.strip(), other_than=equipment.id):
                raise InvalidInput({"code": "Is already used by other equipment."})
            equipment.code = fields.code.strip()
        await apply_changes(session, equipment, fields)
        equipment.updated_at = utcnow()
        await session.flush()
        return equipment


async def apply_changes(session: AsyncSession, equipment: Equipment, fields: EquipmentFields) -> list[str]:
    """Set the checked ``fields`` (but the code) on the locked ``equipment``; the columns that changed.

    A change of stock (quantity, buffers) must still fit the bookings
    (``ensure_bookings_fit``), or ``Unavailable`` says which are in the way.
    """
    changed: list[str] = []
    values = {
        "name": fields.name.strip() if fields.name is not None else None,
        "category": fields.category.strip() if fields.category is not None else None,
        "description": fields.description,
        "tags": _normalize_tags(fields.tags) if fields.tags is not None else None,
    }
    for name, value in values.items():
        if value is not None and value != getattr(equipment, name):
            setattr(equipment, name, value)
            changed.append(name)
    stock_changed = False
    for name in STOCK_FIELDS:
        value = getattr(fields, name)
        if value is not None and value != getattr(equipment, name):
            setattr(equipment, name, value)
            changed.append(name)
            stock_changed = True
    if stock_changed:
        await ensure_bookings_fit(session, equipment)
    return changed


async def retire_equipment(
    transactions: Transactions, caller: TenantCaller, equipment_id: uuid.UUID | None
) -> Equipment:
    async with transactions.transaction() as session:
        equipment = await _locked(session, caller.tenant_id, equipment_id, "id")
        if equipment.status != EquipmentStatus.RETIRED:
            equipment.status = EquipmentStatus.RETIRED
            await ensure_bookings_fit(session, equipment)
            equipment.updated_at = utcnow()
            await session.flush()
        return equipment


async def _available_units(session: AsyncSession, equipment: Equipment) -> int:
    statement = (
        select(func.count())
        .select_from(EquipmentUnit)
        .where(
            in_tenant(EquipmentUnit, equipment.tenant_id),
            col(EquipmentUnit.equipment_id) == equipment.id,
            col(EquipmentUnit.status) == UnitStatus.AVAILABLE,
        )
    )
    return int((await session.execute(statement)).scalar_one())


async def _unit_count(session: AsyncSession, equipment: Equipment) -> int:
    statement = select(func.count()).where(
        in_tenant(EquipmentUnit, equipment.tenant_id), col(EquipmentUnit.equipment_id) == equipment.id
    )
    return int((await session.scalars(statement)).one())


async def _serial_taken(
    session: AsyncSession, equipment: Equipment, serials: list[str], other_than: uuid.UUID | None = None
) -> set[str]:
    statement = select(EquipmentUnit.serial_number).where(
        in_tenant(EquipmentUnit, equipment.tenant_id),
        col(EquipmentUnit.equipment_id) == equipment.id,
        col(EquipmentUnit.serial_number).in_(serials),
    )
    if other_than is not None:
        statement = statement.where(col(EquipmentUnit.id) != other_than)
    return set((await session.scalars(statement)).all())


async def add_units(
    transactions: Transactions, caller: TenantCaller, equipment_id: uuid.UUID | None, units: list[NewUnit]
) -> tuple[Equipment, list[EquipmentUnit]]:
    tenant_id = caller.tenant_id
    problems = Validator()
    problems.check(bool(units), "units", "Add at least one unit.")
    _validate_units(units, problems, "units")
    problems.raise_if_any()
    async with transactions.transaction() as session:
        equipment = await _locked(session, tenant_id, equipment_id, "equipmentId")
        if equipment.tracking != Tracking.SERIALIZED:
            raise InvalidInput(
                {"equipmentId": "Only serialized equipment has units; change its quantity instead."}
            )
        rows = await add_units_to(session, equipment, units)
        equipment.updated_at = utcnow()
        await session.flush()
        return equipment, rows


async def add_units_to(
    session: AsyncSession, equipment: Equipment, units: Sequence[NewUnit]
) -> list[EquipmentUnit]:
    """Add checked ``units`` to the locked serialized ``equipment``, and count its stock again."""
    # Under the equipment's lock, so concurrent additions cannot pass the cap together.
    held = await _unit_count(session, equipment)
    if held + len(units) > MAX_UNITS_PER_EQUIPMENT:
        raise InvalidInput(
            {
                "units": f"An equipment has at most {MAX_UNITS_PER_EQUIPMENT} units; "
                f"it has {held}, so at most {MAX_UNITS_PER_EQUIPMENT - held} more."
            }
        )
    serials = [unit.serial_number.strip() for unit in units]
    taken = await _serial_taken(session, equipment, serials)
    if taken:
        raise InvalidInput(
            {
                f"units.{serials.index(serial)}.serialNumber": "Is already used by another unit."
                for serial in sorted(taken)
            }
        )
    rows = [
        EquipmentUnit(
            tenant_id=equipment.tenant_id, equipment_id=equipment.id, serial_number=serial, notes=unit.notes
        )
        for serial, unit in zip(serials, units, strict=True)
    ]
    session.add_all(rows)
    await session.flush()
    equipment.quantity = await _available_units(session, equipment)
    return rows


async def set_unit_statuses(
    session: AsyncSession, equipment: Equipment, statuses: Sequence[tuple[EquipmentUnit, UnitStatus]]
) -> None:
    """Give units of the locked ``equipment`` new statuses, and count its stock again.

    A unit taken out of service must hold no booking, and what remains must still
    cover the bookings (``ensure_bookings_fit``).
    """
    now = utcnow()
    for unit, status in statuses:
        unit.status = status
        unit.updated_at = now
    await session.flush()
    equipment.quantity = await _available_units(session, equipment)
    equipment.updated_at = now
    taken_out = {unit.id for unit, status in statuses if status != UnitStatus.AVAILABLE}
    if taken_out:
        await ensure_bookings_fit(session, equipment, units_taken_out=taken_out)


async def update_unit(
    transactions: Transactions, caller: TenantCaller, unit_id: uuid.UUID | None, changes: UnitChanges
) -> EquipmentUnit:
    tenant_id = caller.tenant_id
    problems = Validator()
    if changes.serial_number is not None:
        serial = changes.serial_number.strip()
        problems.check(
            0 < len(serial) <= MAX_SERIAL, "serialNumber", f"Must be 1 to {MAX_SERIAL} characters long."
        )
    if changes.notes is not None:
        problems.check(len(changes.notes) <= MAX_UNIT_NOTES, "notes", f"At most {MAX_UNIT_NOTES} characters.")
    problems.raise_if_any()
    if unit_id is None:
        raise NotFound("unit", field="id")
    async with transactions.transaction() as session:
        found = (
            await session.scalars(scoped(EquipmentUnit, tenant_id).where(col(EquipmentUnit.id) == unit_id))
        ).first()
        if found is None:
            raise NotFound("unit", field="id")
        equipment = await _locked(session, tenant_id, found.equipment_id, "id")
        await session.refresh(found)
        if changes.serial_number is not None and changes.serial_number.strip() != found.serial_number:
            if await _serial_taken(session, equipment, [changes.serial_number.strip()], other_than=found.id):
                raise InvalidInput({"serialNumber": "Is already used by another unit."})
            found.serial_number = changes.serial_number.strip()
        if changes.notes is not None:
            found.notes = changes.notes
        found.updated_at = utcnow()
        if changes.status is not None and changes.status != found.status:
            await set_unit_statuses(session, equipment, [(found, changes.status)])
        await session.flush()
        return found
