"""The audit trail, written in the same transaction as the change it records.

Transactions opened for a caller (``resolvers/transactions.py``) carry an ``Actor`` in
``session.info``; before each flush, every inserted, changed or deleted
tenant-owned row becomes an ``AuditEvent`` with its changed fields old → new.
Secrets (hashes, tokens) are never copied, and the changes are stored in the form
every response can carry (``db/json_values.py``). Bulk statements that bypass the
unit of work record their event explicitly with ``record``; new rows inserted without
it (``db/inserts.py``) are written with the events ``created_events`` gives them.

The trail is append-only but for one controlled path: ``erase_user_values``, which
replaces the personal values (``PERSONAL_FIELDS``) of the entries about a user who was
anonymised by ``[erased]``. The database allows no other change (migration 0020: a
trigger on both engines; on PostgreSQL a function the serving role may call, since it
has no UPDATE on the table).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, inspect, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from db import live
from db.database import TenantSession
from db.events import EVENT_JOB, event_name
from db.json_values import readable_json
from db.scoped import in_tenant
from db.tables.audit import AuditEvent
from db.tables.job import Job

ACTOR_INFO_KEY = "audit_actor"
# Secrets (hashes, tokens) and an address not yet verified (a pending email change).
SECRET_FIELDS = frozenset({"password_hash", "token_hash", "body", "signing_secret", "new_email"})
# A user's fields that identify a person: erased from the trail when the user is anonymised.
PERSONAL_FIELDS = ("email", "name", "phone")
ERASED = "[erased]"
# The webhook delivery log is its own record of every attempt (and holds a payload each).
NOT_AUDITED = frozenset({"audit_event", "webhook_delivery"})


@dataclass(frozen=True)
class Actor:
    actor_id: uuid.UUID | None
    kind: str  # "user" | "operator" | "anonymous"
    request_id: str | None


def plain(value: Any) -> Any:
    """``value`` as JSON holds it: ids, instants and days as text, enums as their values."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):  # an enquiry's event day is a date
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return value


def record(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    action: str,
    target_type: str,
    target_id: uuid.UUID | None,
    changes: dict[str, Any],
    event: str | None = None,
) -> None:
    """Add one audit event for the session's actor (no-op outside a caller's transaction).

    ``event``: the domain event it announces (``db/events.py``), queued with it.
    """
    actor: Actor | None = session.info.get(ACTOR_INFO_KEY)
    if actor is None:
        return
    entry = _event(actor, tenant_id, action, target_type, target_id, changes)
    entry.event = event
    session.add_all([entry, *announcements(session, [entry])])


def announcements(session: Session, entries: Sequence[AuditEvent]) -> list[Job]:
    """The jobs that tell others of the entries announcing a domain event, one each.

    The same entries are announced live once the session commits (``db/live.py``).
    """
    live.note(session, entries)
    return [
        Job(tenant_id=entry.tenant_id, kind=EVENT_JOB, payload={"audit_event_id": str(entry.id)})
        for entry in entries
        if entry.event is not None
    ]


def _event(
    actor: Actor,
    tenant_id: uuid.UUID,
    action: str,
    target_type: str,
    target_id: uuid.UUID | None,
    changes: dict[str, Any],
) -> AuditEvent:
    return AuditEvent(
        tenant_id=tenant_id,
        actor_id=actor.actor_id,
        actor_kind=actor.kind,
        action=action,
        target_type=target_type,
        target_id=target_id,
        # Append-only: a value no response could carry would stay unreadable for good.
        changes=readable_json(plain(changes)),
        request_id=actor.request_id,
    )


def _event_of(actor: Actor, row: SQLModel, verb: str) -> AuditEvent | None:
    """The event recording that ``row`` was ``verb`` (created, updated, deleted), if it is audited."""
    table = getattr(row, "__tablename__", None)
    tenant_id = getattr(row, "tenant_id", None)
    if table is None or table in NOT_AUDITED or tenant_id is None or not _tenant_owned(row):
        return None
    changes = _changes_of(row, verb)
    if verb == "updated" and not changes:
        return None
    entry = _event(actor, tenant_id, f"{table}.{verb}", table, getattr(row, "id", None), changes)
    entry.event = event_name(table, verb, changes)
    return entry


def created_events(session: Session, rows: Sequence[SQLModel]) -> list[AuditEvent]:
    """The events recording ``rows`` as created, for rows written without the unit of work.

    The same events the unit of work would add for them (none outside a caller's
    transaction); the caller writes them, and their ``announcements``, in the same
    transaction as the rows.
    """
    actor: Actor | None = session.info.get(ACTOR_INFO_KEY)
    if actor is None:
        return []
    return [event for event in (_event_of(actor, row, "created") for row in rows) if event is not None]


def _tenant_owned(row: SQLModel) -> bool:
    """Rows keyed by tenant; platform queues (the mail outbox) only note a tenant."""
    return any(column.name == "tenant_id" for column in inspect(row).mapper.primary_key)


def _columns(row: SQLModel) -> list[str]:
    return [
        attribute.key for attribute in inspect(row).mapper.column_attrs if attribute.key not in SECRET_FIELDS
    ]


def _changes_of(row: SQLModel, verb: str) -> dict[str, Any]:
    state = inspect(row)
    changes: dict[str, Any] = {}
    for key in _columns(row):
        if verb == "created":
            changes[key] = [None, getattr(row, key)]
        elif verb == "deleted":
            changes[key] = [getattr(row, key), None]
        else:
            history = state.attrs[key].history
            if history.has_changes():
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                if old != new:
                    changes[key] = [old, new]
    return changes


@event.listens_for(TenantSession, "before_flush")
def _audit_flush(session: Session, _context: object, _instances: object) -> None:
    actor: Actor | None = session.info.get(ACTOR_INFO_KEY)
    if actor is None:
        return
    pending: list[tuple[SQLModel, str]] = [
        *((row, "created") for row in session.new),
        *((row, "updated") for row in session.dirty if session.is_modified(row, include_collections=False)),
        *((row, "deleted") for row in session.deleted),
    ]
    entries = [found for row, verb in pending if (found := _event_of(actor, row, verb)) is not None]
    session.add_all([*entries, *announcements(session, entries)])


def _erased(changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` with every non-empty value of a personal field replaced by ``ERASED``."""
    erased = dict(changes)
    for key in PERSONAL_FIELDS:
        values = erased.get(key)
        if isinstance(values, list):
            erased[key] = [value if value is None or value == "" else ERASED for value in values]
    return erased


async def erase_user_values(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """Erase the personal values of the entries about ``user_id``, who must be anonymised (flushed).

    Returns how many entries there were. PostgreSQL does it in the database
    (``rigbook_erase_user_audit``), SQLite here; the trigger of both refuses it for a
    user who is not anonymised, and any change but to ``changes``.
    """
    if (await session.connection()).dialect.name == "postgresql":
        erase = text("SELECT rigbook_erase_user_audit(:tenant, :user)")
        return int((await session.execute(erase, {"tenant": tenant_id, "user": user_id})).scalar_one())
    about_user = (
        in_tenant(AuditEvent, tenant_id),
        col(AuditEvent.target_type) == "app_user",
        col(AuditEvent.target_id) == user_id,
    )
    rows = (
        await session.execute(select(col(AuditEvent.id), col(AuditEvent.changes)).where(*about_user))
    ).all()
    for entry_id, changes in rows:
        erased = _erased(changes)
        if erased != changes:
            await session.execute(
                update(AuditEvent)
                .where(in_tenant(AuditEvent, tenant_id), col(AuditEvent.id) == entry_id)
                .values(changes=erased)
            )
    return len(rows)
