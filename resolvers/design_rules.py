"""What every design operation shares: finding the caller's design, and input validation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.json_values import json_problem
from db.scoped import scoped
from db.tables import Design, DesignItem, DesignStatus, DesignVersion, Equipment, EquipmentStatus
from resolvers.caller import TenantCaller
from resolvers.errors import Conflict, Forbidden, NotFound, Validator
from resolvers.reservations import MAX_IDEMPOTENCY_KEY, MAX_LINE_QUANTITY
from resolvers.validation import name_problem
from settings import Settings

MAX_DESCRIPTION = 5000
MAX_NOTE = 2000
MAX_ITEM_NOTES = 1000
MAX_CONFIGURATION_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ItemRequest:
    """A requested design item; ``equipment_id`` is ``None`` when the client sent a malformed id."""

    field: str
    equipment_id: uuid.UUID | None
    quantity: int
    notes: str = ""


def owner_of(caller: TenantCaller) -> uuid.UUID:
    """The user who will own a new design; an operator acting in a tenant is not one."""
    if caller.user_id is None:
        raise Forbidden("Designs belong to users: sign in as a user of this tenant to create one.")
    return caller.user_id


async def find_design(
    session: AsyncSession,
    caller: TenantCaller,
    design_id: uuid.UUID | None,
    *,
    field: str,
    lock: bool = False,
) -> Design:
    """The caller's tenant's design, if the caller may see it; anything else is NOT_FOUND."""
    if design_id is None:
        raise NotFound("design", field=field)
    statement = scoped(Design, caller.tenant_id).where(col(Design.id) == design_id)
    if lock:
        statement = statement.with_for_update()
    design = (await session.scalars(statement)).first()
    if design is None or not caller.visibility.may_see(Design, design):
        raise NotFound("design", field=field)
    return design


def refuse_archived(design: Design, doing: str) -> None:
    if design.status == DesignStatus.ARCHIVED:
        raise Conflict(f"Design “{design.name}” is archived; set it back to DRAFT before you {doing}.")


async def version_by_number(
    session: AsyncSession, design: Design, number: int | None, *, field: str = "version"
) -> DesignVersion | None:
    """Version ``number`` of ``design`` (default: the current one); ``None`` when it has none yet."""
    wanted = number if number is not None else design.current_version_number
    if wanted == 0 and number is None:
        return None
    statement = scoped(DesignVersion, design.tenant_id).where(
        col(DesignVersion.design_id) == design.id, col(DesignVersion.number) == wanted
    )
    version = (await session.scalars(statement)).first()
    if version is None:
        raise NotFound("design version", field=field)
    return version


async def items_of(session: AsyncSession, version: DesignVersion) -> Sequence[DesignItem]:
    statement = (
        scoped(DesignItem, version.tenant_id)
        .where(col(DesignItem.version_id) == version.id)
        .order_by(col(DesignItem.position))
    )
    return (await session.scalars(statement)).all()


def validate_texts(
    problems: Validator, *, name: str | None = None, description: str | None = None, note: str | None = None
) -> None:
    if name is not None:
        problems.add("name", name_problem(name))
    if description is not None and len(description) > MAX_DESCRIPTION:
        problems.add("description", f"Must be at most {MAX_DESCRIPTION} characters long.")
    if note is not None and len(note) > MAX_NOTE:
        problems.add("note", f"Must be at most {MAX_NOTE} characters long.")


def validate_idempotency_key(problems: Validator, key: str | None) -> None:
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        problems.add("idempotencyKey", f"Must be 1 to {MAX_IDEMPOTENCY_KEY} characters long.")


def validate_configuration(problems: Validator, configuration: object) -> None:
    """A JSON object of at most 64 KiB (compact UTF-8), so a version stays cheap to load and share,
    and one every response can carry (``db/json_values.py``)."""
    if not isinstance(configuration, dict):
        problems.add("configuration", 'Must be a JSON object, e.g. {} or {"stage": {"width": 6}}.')
        return
    problems.add("configuration", json_problem(configuration, max_bytes=MAX_CONFIGURATION_BYTES))


def validate_items(settings: Settings, problems: Validator, items: Sequence[ItemRequest]) -> None:
    # A version must be reservable in one go, so it obeys the reservation line limit.
    limit = settings.max_reservation_lines
    if len(items) > limit:
        problems.add("items", f"At most {limit} items per version.")
        return
    for item in items:
        if not 1 <= item.quantity <= MAX_LINE_QUANTITY:
            problems.add(f"{item.field}.quantity", f"Must be between 1 and {MAX_LINE_QUANTITY}.")
        if len(item.notes) > MAX_ITEM_NOTES:
            problems.add(f"{item.field}.notes", f"Must be at most {MAX_ITEM_NOTES} characters long.")


async def check_equipment(session: AsyncSession, tenant_id: uuid.UUID, items: Sequence[ItemRequest]) -> None:
    """Every item names active equipment of the tenant; another tenant's id is NOT_FOUND."""
    for item in items:
        if item.equipment_id is None:
            raise NotFound("equipment", field=f"{item.field}.equipmentId")
    ids = {item.equipment_id for item in items if item.equipment_id is not None}
    if not ids:
        return
    statement = scoped(Equipment, tenant_id).where(col(Equipment.id).in_(ids))
    found = {row.id: row for row in (await session.scalars(statement)).all()}
    problems = Validator()
    for item in items:
        equipment = found.get(item.equipment_id) if item.equipment_id is not None else None
        if equipment is None:
            raise NotFound("equipment", field=f"{item.field}.equipmentId")
        if equipment.status == EquipmentStatus.RETIRED:
            problems.add(f"{item.field}.equipmentId", "Is retired and cannot be added to a design.")
    problems.raise_if_any()
