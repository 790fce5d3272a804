"""The audit trail: one append-only row per change (who, what, which row, old → new)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from db.tables.base import created_at_field, id_field, tenant_key_field


class AuditEvent(SQLModel, table=True):
    """Append-only record of a change: who, what, which row, old → new.

    It is also the record of what happened that others hear of: a change they may
    need (``event`` set) is followed, in the same transaction, by a job that tells them.

    ``actor_id`` has no foreign key: the actor may be a platform operator.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_time", "tenant_id", "created_at", "id"),
        Index("ix_audit_event_target", "tenant_id", "target_id"),
        Index("ix_audit_event_actor", "tenant_id", "actor_id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    actor_id: uuid.UUID | None = Field(default=None)
    actor_kind: str = Field(max_length=16, nullable=False)
    action: str = Field(max_length=64, nullable=False)
    # The domain event the change announces (``db/events.py``), e.g. ``reservation.confirmed``.
    event: str | None = Field(default=None, max_length=64)
    target_type: str = Field(max_length=64, nullable=False)
    target_id: uuid.UUID | None = Field(default=None)
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()
