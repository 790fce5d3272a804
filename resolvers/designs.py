"""Designs: create, save immutable numbered versions, rename/publish/archive, clone."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.clock import utcnow
from db.json_values import readable_json
from db.scoped import in_tenant, scoped
from db.tables import Design, DesignItem, DesignStatus, DesignVersion
from resolvers.caller import TenantCaller
from resolvers.design_rules import (
    ItemRequest,
    check_equipment,
    find_design,
    items_of,
    owner_of,
    refuse_archived,
    validate_configuration,
    validate_idempotency_key,
    validate_items,
    validate_texts,
    version_by_number,
)
from resolvers.errors import Conflict, InvalidInput, Validator
from resolvers.transactions import Transactions
from resolvers.validation import MAX_NAME_LENGTH
from settings import Settings


@dataclass(frozen=True)
class VersionDraft:
    configuration: Any
    items: Sequence[ItemRequest]
    note: str = ""


@dataclass(frozen=True)
class DesignDraft:
    name: str
    description: str = ""
    # A first version is saved when either of these is given.
    configuration: Any | None = None
    items: Sequence[ItemRequest] | None = None
    note: str = ""
    idempotency_key: str | None = None


@dataclass(frozen=True)
class DesignChanges:
    """``None`` means "leave as it is"."""

    name: str | None = None
    description: str | None = None
    status: DesignStatus | None = None


def _validate_version(settings: Settings, problems: Validator, draft: VersionDraft) -> None:
    validate_configuration(problems, draft.configuration)
    validate_items(settings, problems, draft.items)
    validate_texts(problems, note=draft.note)


async def _insert_version(
    session: AsyncSession,
    design: Design,
    number: int,
    draft: VersionDraft,
    created_by: uuid.UUID | None,
    *,
    source_version_id: uuid.UUID | None = None,
) -> DesignVersion:
    version = DesignVersion(
        tenant_id=design.tenant_id,
        design_id=design.id,
        number=number,
        configuration=draft.configuration,
        note=draft.note,
        created_by_id=created_by,
        source_version_id=source_version_id,
    )
    session.add(version)
    await session.flush()  # items reference the version
    session.add_all(
        DesignItem(
            tenant_id=design.tenant_id,
            version_id=version.id,
            position=position,
            equipment_id=item.equipment_id,
            quantity=item.quantity,
            notes=item.notes,
        )
        for position, item in enumerate(draft.items)
        if item.equipment_id is not None
    )
    await session.flush()
    return version


async def _by_idempotency_key(transactions: Transactions, caller: TenantCaller, key: str) -> Design | None:
    """The design an earlier call with ``key`` created; someone else's key is a conflict, not a leak."""
    async with transactions.session() as session:
        statement = scoped(Design, caller.tenant_id).where(col(Design.idempotency_key) == key)
        design = (await session.scalars(statement)).first()
    # The design's creator is its owner: a retry is the same user's, whatever they may see.
    if design is not None and design.owner_id != caller.user_id:
        raise Conflict("This idempotency key was already used; choose another.")
    return design


async def _create(
    transactions: Transactions,
    caller: TenantCaller,
    key: str | None,
    build: Callable[[AsyncSession], Awaitable[Design]],
) -> Design:
    """Run ``build(session)`` in a transaction, returning the first result for a repeated ``key``."""
    if key is not None and (earlier := await _by_idempotency_key(transactions, caller, key)) is not None:
        return earlier
    try:
        async with transactions.transaction() as session:
            return await build(session)
    except IntegrityError:
        # A concurrent request with the same idempotency key won the race.
        if key is not None and (earlier := await _by_idempotency_key(transactions, caller, key)) is not None:
            return earlier
        raise


async def create_design(
    transactions: Transactions, caller: TenantCaller, settings: Settings, draft: DesignDraft
) -> Design:
    tenant_id = caller.tenant_id
    owner_id = owner_of(caller)
    with_version = draft.configuration is not None or draft.items is not None
    version = VersionDraft(
        configuration=draft.configuration if draft.configuration is not None else {},
        items=draft.items or [],
        note=draft.note,
    )
    problems = Validator()
    validate_texts(problems, name=draft.name, description=draft.description)
    validate_idempotency_key(problems, draft.idempotency_key)
    if with_version:
        _validate_version(settings, problems, version)
    elif draft.note:
        problems.add("note", "A note belongs to a version: give a configuration or items too.")
    problems.raise_if_any()

    async def build(session: AsyncSession) -> Design:
        await check_equipment(session, tenant_id, version.items)
        design = Design(
            tenant_id=tenant_id,
            name=draft.name.strip(),
            description=draft.description,
            owner_id=owner_id,
            current_version_number=1 if with_version else 0,
            idempotency_key=draft.idempotency_key,
        )
        session.add(design)
        await session.flush()
        if with_version:
            await _insert_version(session, design, 1, version, owner_id)
        return design

    return await _create(transactions, caller, draft.idempotency_key, build)


async def save_version(
    transactions: Transactions,
    caller: TenantCaller,
    settings: Settings,
    design_id: uuid.UUID | None,
    draft: VersionDraft,
    expected_version: int | None,
) -> tuple[Design, DesignVersion]:
    """Save version n + 1 — only if the design is still at the ``expected_version`` n the client saw."""
    tenant_id = caller.tenant_id
    expected = expected_version or 0
    problems = Validator()
    _validate_version(settings, problems, draft)
    problems.check(expected >= 0, "expectedVersion", "Must be 0 or more.")
    problems.raise_if_any()
    try:
        async with transactions.transaction() as session:
            design = await find_design(session, caller, design_id, field="designId", lock=True)
            refuse_archived(design, "save a version")
            if design.current_version_number != expected:
                raise _moved_on(design, expected)
            await check_equipment(session, tenant_id, draft.items)
            # Compare-and-swap on the design row: of two saves that both saw n, one wins.
            result = await session.execute(
                update(Design)
                .where(
                    in_tenant(Design, tenant_id),
                    col(Design.id) == design.id,
                    col(Design.current_version_number) == expected,
                )
                .values(current_version_number=expected + 1, updated_at=utcnow())
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _moved_on(design, expected)
            version = await _insert_version(session, design, expected + 1, draft, caller.user_id)
            return design, version
    except IntegrityError as error:
        # The unique (design, number) key caught a save the compare-and-swap did not.
        raise Conflict(f"Someone else saved version {expected + 1} first; reload and retry.") from error


def _moved_on(design: Design, expected: int) -> Conflict:
    return Conflict(
        f"Design “{design.name}” is at version {design.current_version_number}, not {expected}: "
        "someone saved in between. Reload, then save on top of the newest version."
    )


async def update_design(
    transactions: Transactions, caller: TenantCaller, design_id: uuid.UUID | None, changes: DesignChanges
) -> Design:
    problems = Validator()
    validate_texts(problems, name=changes.name, description=changes.description)
    problems.raise_if_any()
    async with transactions.transaction() as session:
        design = await find_design(session, caller, design_id, field="id", lock=True)
        if changes.status == DesignStatus.PUBLISHED and design.current_version_number == 0:
            raise InvalidInput({"status": "Save a version before publishing the design."})
        if changes.name is not None:
            design.name = changes.name.strip()
        if changes.description is not None:
            design.description = changes.description
        if changes.status is not None:
            design.status = changes.status
        design.updated_at = utcnow()
        await session.flush()
        return design


async def archive_design(
    transactions: Transactions, caller: TenantCaller, design_id: uuid.UUID | None
) -> Design:
    """Archive: hidden from share links and no longer reservable; set it back to DRAFT to revive it."""
    return await update_design(transactions, caller, design_id, DesignChanges(status=DesignStatus.ARCHIVED))


async def clone_design(
    transactions: Transactions,
    caller: TenantCaller,
    design_id: uuid.UUID | None,
    version_number: int | None,
    name: str | None,
    idempotency_key: str | None = None,
) -> Design:
    """A new DRAFT owned by the caller whose version 1 copies the chosen (default: current) version."""
    tenant_id = caller.tenant_id
    owner_id = owner_of(caller)
    problems = Validator()
    validate_texts(problems, name=name)
    validate_idempotency_key(problems, idempotency_key)
    problems.raise_if_any()

    async def build(session: AsyncSession) -> Design:
        source = await find_design(session, caller, design_id, field="designId")
        version = await version_by_number(session, source, version_number)
        copy = Design(
            tenant_id=tenant_id,
            name=name.strip() if name is not None else f"Copy of {source.name}"[:MAX_NAME_LENGTH],
            description=source.description,
            owner_id=owner_id,
            current_version_number=1 if version is not None else 0,
            cloned_from_id=source.id,
            idempotency_key=idempotency_key,
        )
        session.add(copy)
        await session.flush()
        if version is not None:
            items = [
                ItemRequest(
                    field=f"items.{index}",
                    equipment_id=item.equipment_id,
                    quantity=item.quantity,
                    notes=item.notes,
                )
                for index, item in enumerate(await items_of(session, version))
            ]
            draft = VersionDraft(
                # What readers of the source are shown, should it predate the JSON checks.
                configuration=readable_json(version.configuration),
                items=items,
                note=f"Copied from “{source.name}” version {version.number}.",
            )
            await _insert_version(session, copy, 1, draft, owner_id, source_version_id=version.id)
        return copy

    return await _create(transactions, caller, idempotency_key, build)
