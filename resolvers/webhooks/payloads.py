"""What a webhook says: the event, and a snapshot of the object it is about.

The body follows Standard Webhooks (https://www.standardwebhooks.com)::

    {"type": "reservation.confirmed", "timestamp": "2026-12-02T10:00:00.123456Z",
     "data": {"id": "<global id>", "rawId": "<uuid>", "objectType": "Reservation",
              "tenantId": "<uuid>", "auditEventId": "<global id>", "object": {...}}}

``object`` holds the row's columns as an admin would see them, read when the event
is fanned out (a reservation with its lines, a design version with its items);
columns that hold secrets (password hashes, token hashes, signing secrets) never
appear. For a deleted row it holds the values the audit trail kept of it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from db.audit import SECRET_FIELDS, plain
from db.json_values import readable_json
from db.scoped import column, scoped_records
from db.tables import AuditEvent, DesignItem, ReservationLine
from resolvers.global_ids import to_global_id, type_of_table

# Tables whose rows are sent with their parts: (key in the object, part model, its parent column).
PARTS: dict[str, tuple[str, type[Any], str]] = {
    "reservation": ("lines", ReservationLine, "reservation_id"),
    "design_version": ("items", DesignItem, "version_id"),
}


def _model_of(table: str) -> type[Any] | None:
    """The tenant-owned table model named ``table`` (any module's, so new tables are covered too)."""
    for mapper in SQLModel._sa_registry.mappers:
        model = mapper.class_
        if getattr(model, "__tablename__", None) == table and "tenant_id" in mapper.local_table.c:
            found: type[Any] = model
            return found
    return None


def _columns(model: type[Any]) -> list[str]:
    return [column.name for column in model.__table__.columns if column.name not in SECRET_FIELDS]


def _plain_row(row: Any, columns: list[str]) -> dict[str, Any]:
    return {name: plain(getattr(row, name)) for name in columns}


async def _read(
    session: AsyncSession, model: type[Any], tenant_id: uuid.UUID, where: Any
) -> list[dict[str, Any]]:
    columns = _columns(model)
    statement = scoped_records(model, tenant_id, columns).where(where)
    if "position" in columns:
        statement = statement.order_by(column(model, "position"), column(model, "id"))
    return [_plain_row(row, columns) for row in (await session.execute(statement)).all()]


async def snapshot(session: AsyncSession, entry: AuditEvent) -> dict[str, Any] | None:
    """The object ``entry`` is about, as it is now (or as it was, once deleted)."""
    model = _model_of(entry.target_type)
    if model is None or entry.target_id is None:
        return None
    found = await _read(session, model, entry.tenant_id, col(model.id) == entry.target_id)
    if not found:
        if entry.action.endswith(".deleted"):
            kept: dict[str, Any] = {name: values[0] for name, values in entry.changes.items()}
            return kept
        return None
    current = found[0]
    part = PARTS.get(entry.target_type)
    if part is not None:
        key, part_model, parent = part
        current[key] = await _read(
            session, part_model, entry.tenant_id, column(part_model, parent) == entry.target_id
        )
    return current


def instant(entry: AuditEvent) -> str:
    return entry.created_at.isoformat().replace("+00:00", "Z")


async def payload(session: AsyncSession, entry: AuditEvent) -> dict[str, Any]:
    """The body every endpoint hearing of ``entry`` is sent (the same for each)."""
    type_name = type_of_table(entry.target_type)
    target = entry.target_id
    data = {
        "id": to_global_id(type_name, target) if target is not None else None,
        "rawId": str(target) if target is not None else None,
        "objectType": type_name,
        "tenantId": str(entry.tenant_id),
        "auditEventId": to_global_id("AuditEvent", entry.id),
        "object": await snapshot(session, entry),
    }
    body: dict[str, Any] = readable_json({"type": entry.event, "timestamp": instant(entry), "data": data})
    return body
