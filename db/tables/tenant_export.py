"""Tenant exports asked for through the API: one row per request, from the queue to a stored ZIP."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, ForeignKeyConstraint, Index, text
from sqlmodel import Field, SQLModel

from db.tables.base import check_in, created_at_field, id_field, tenant_key_field, timestamp_field


class ExportStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"


# An export in one of these is under way; a tenant has at most one (the partial unique index).
UNDER_WAY = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class TenantExport(SQLModel, table=True):
    """An admin's request for the tenant's export, and its outcome.

    The ``tenant.export`` job writes the ZIP to the object store
    (``t/<tenant>/exports/<id>.zip``) and sets ``READY`` with each file's row count;
    ``expires_at`` is when download links stop being given out.
    """

    __tablename__ = "tenant_export"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "requested_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_tenant_export_requested_by",
        ),
        CheckConstraint(check_in("status", ExportStatus), name="ck_tenant_export_status"),
        Index("ix_tenant_export_created", "tenant_id", "created_at", "id"),
        # One export under way per tenant: a second request is refused by the database itself.
        Index(
            "uq_tenant_export_under_way",
            "tenant_id",
            unique=True,
            sqlite_where=text("status IN ('QUEUED', 'RUNNING')"),
            postgresql_where=text("status IN ('QUEUED', 'RUNNING')"),
        ),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    requested_by_id: uuid.UUID | None = Field(default=None)
    status: str = Field(default=ExportStatus.QUEUED, max_length=16, nullable=False)
    format: str = Field(max_length=16, nullable=False)
    groups: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # File name → rows, once READY.
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    size_bytes: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()
    finished_at: datetime | None = timestamp_field()
    expires_at: datetime | None = timestamp_field()
