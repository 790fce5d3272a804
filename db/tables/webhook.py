"""Webhooks: a tenant's endpoints, and one delivery per endpoint and domain event."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKeyConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.tables.base import check_in, created_at_field, id_field, tenant_key_field, timestamp_field


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class WebhookEndpoint(SQLModel, table=True):
    """A URL that hears of the tenant's domain events, signed with its own secret.

    ``signing_secret`` is sealed (``resolvers/webhooks/endpoints.py``): a dump of this
    table does not give anyone the power to forge the tenant's webhooks. ``is_enabled``
    is the admins' switch; ``disabled_at`` is set when the endpoint has failed for a day
    (which announces ``webhook.disabled``), ``failing_since`` when a run of failures began.
    """

    __tablename__ = "webhook_endpoint"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_webhook_endpoint_created_by",
        ),
        Index("ix_webhook_endpoint_created", "tenant_id", "created_at", "id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    url: str = Field(max_length=2000, nullable=False)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str = Field(default="", max_length=500, nullable=False)
    signing_secret: str = Field(max_length=200, nullable=False)
    is_enabled: bool = Field(default=True, nullable=False)
    disabled_at: datetime | None = timestamp_field()
    failing_since: datetime | None = timestamp_field()
    created_by_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: its payload, and how sending it went so far.

    Its id is the ``webhook-id`` header, the same on every retry, so a receiver can
    drop a repeat. The log is its own record: it is not copied into the audit trail.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoint.tenant_id", "webhook_endpoint.id"],
            name="fk_webhook_delivery_endpoint",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "audit_event_id"],
            ["audit_event.tenant_id", "audit_event.id"],
            name="fk_webhook_delivery_audit_event",
        ),
        # An event reaches an endpoint once, however often its fan-out runs.
        UniqueConstraint("tenant_id", "endpoint_id", "audit_event_id", name="uq_webhook_delivery_event"),
        CheckConstraint(check_in("status", DeliveryStatus), name="ck_webhook_delivery_status"),
        Index("ix_webhook_delivery_endpoint", "tenant_id", "endpoint_id", "created_at", "id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    endpoint_id: uuid.UUID = Field(nullable=False)
    audit_event_id: uuid.UUID = Field(nullable=False)
    event: str = Field(max_length=64, nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16, nullable=False)
    attempts: int = Field(default=0, nullable=False)
    response_code: int | None = Field(default=None)
    duration_ms: int | None = Field(default=None)
    response_prefix: str | None = Field(default=None, max_length=256)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()
    last_attempt_at: datetime | None = timestamp_field()
    delivered_at: datetime | None = timestamp_field()
