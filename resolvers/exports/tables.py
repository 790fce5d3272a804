"""What an export holds: per table, an explicit allow-list of columns.

Nothing is exported unless it is named here, so a column added to a table later
(a new secret, say) stays out until someone decides it may leave. Password hashes,
share-link token hashes, webhook signing secrets and sealed mail bodies are never
named: the users file has no ``password_hash``, the shares file no ``token_hash``,
and the webhook and outbox tables are not exported at all.
``tests/test_export_tables.py`` fails when a column of an exported table is neither
allowed nor listed in ``WITHHELD`` with a reason, so every new column is a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from db.tables import (
    AuditEvent,
    Design,
    DesignItem,
    DesignShare,
    DesignVersion,
    Equipment,
    EquipmentUnit,
    Reservation,
    ReservationLine,
    User,
)


@dataclass(frozen=True)
class ExportTable:
    """One file of the archive: ``name`` (without extension), the table's model, its allowed columns."""

    name: str
    group: str
    model: type[Any]
    columns: tuple[str, ...]

    @property
    def table(self) -> str:
        name: str = self.model.__tablename__
        return name


TABLES: tuple[ExportTable, ...] = (
    ExportTable(
        "users",
        "users",
        User,
        (
            "id",
            "email",
            "name",
            "phone",
            "role",
            "is_active",
            "notification_preferences",
            "email_verified_at",
            "anonymized_at",
            "created_at",
            "updated_at",
        ),
    ),
    ExportTable(
        "equipment",
        "equipment",
        Equipment,
        (
            "id",
            "code",
            "name",
            "category",
            "tags",
            "description",
            "tracking",
            "quantity",
            "buffer_before",
            "buffer_after",
            "status",
            "created_at",
            "updated_at",
        ),
    ),
    ExportTable(
        "equipment_units",
        "equipment",
        EquipmentUnit,
        ("id", "equipment_id", "serial_number", "status", "notes", "created_at", "updated_at"),
    ),
    ExportTable(
        "reservations",
        "reservations",
        Reservation,
        (
            "id",
            "number",
            "title",
            "status",
            "customer_id",
            "created_by_id",
            "starts_at",
            "ends_at",
            "notes",
            "version",
            "design_version_id",
            "pickup_reminded_at",
            "overdue_notified_at",
            "created_at",
            "updated_at",
        ),
    ),
    ExportTable(
        "reservation_lines",
        "reservations",
        ReservationLine,
        ("id", "reservation_id", "position", "equipment_id", "unit_id", "quantity"),
    ),
    ExportTable(
        "designs",
        "designs",
        Design,
        (
            "id",
            "name",
            "description",
            "owner_id",
            "status",
            "current_version_number",
            "cloned_from_id",
            "created_at",
            "updated_at",
        ),
    ),
    ExportTable(
        "design_versions",
        "designs",
        DesignVersion,
        (
            "id",
            "design_id",
            "number",
            "configuration",
            "note",
            "created_by_id",
            "source_version_id",
            "created_at",
        ),
    ),
    ExportTable(
        "design_items",
        "designs",
        DesignItem,
        ("id", "version_id", "position", "equipment_id", "quantity", "notes"),
    ),
    ExportTable(
        "design_shares",
        "designs",
        DesignShare,
        ("id", "design_id", "created_by_id", "recipient_id", "expires_at", "revoked_at", "created_at"),
    ),
    ExportTable(
        "audit",
        "audit",
        AuditEvent,
        (
            "id",
            "created_at",
            "actor_id",
            "actor_kind",
            "action",
            "event",
            "target_type",
            "target_id",
            "changes",
            "request_id",
        ),
    ),
)

WITHHELD: dict[str, dict[str, str]] = {
    "app_user": {"password_hash": "a password hash"},
    "design_share": {"token_hash": "a share link's secret (hashed)"},
    "reservation": {"idempotency_key": "a client's retry key"},
    "design": {"idempotency_key": "a client's retry key"},
}
"""Columns of exported tables that stay behind, and why; ``tenant_id`` stays behind everywhere
(an archive is one tenant's: its manifest names it)."""

GROUPS: tuple[str, ...] = tuple(dict.fromkeys(table.group for table in TABLES))
"""The names ``--only`` / ``only`` accept, in archive order."""


class UnknownGroup(ValueError):
    """``only`` named something that is not one of ``GROUPS``."""


def chosen(only: Sequence[str] | None) -> tuple[ExportTable, ...]:
    """The tables of the groups named (every table for none); ``UnknownGroup`` for a name that is none."""
    if not only:
        return TABLES
    names = [name.strip().lower() for name in only if name.strip()]
    unknown = sorted({name for name in names if name not in GROUPS})
    if unknown:
        raise UnknownGroup(f"unknown: {', '.join(unknown)} (choose from {', '.join(GROUPS)})")
    return tuple(table for table in TABLES if table.group in names)
