"""Webhooks as GraphQL: endpoints (``Webhook``) and their delivery log (``WebhookDelivery``)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from db.tables import DeliveryStatus as DeliveryStatusValue
from db.tables import WebhookDelivery as DeliveryRow
from db.tables import WebhookEndpoint as EndpointRow
from schema.context import Info
from schema.fetches import USERS
from schema.node import Node, to_global_id
from schema.relations import relation
from schema.rows import FromRow, Reader, row_type
from schema.types.user import User


@strawberry.enum(description="How sending a webhook delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value(
        DeliveryStatusValue.PENDING.value, description="Not delivered yet; it is tried again after a pause."
    )
    DELIVERED = strawberry.enum_value(
        DeliveryStatusValue.DELIVERED.value, description="The endpoint answered with a 2xx status."
    )
    FAILED = strawberry.enum_value(
        DeliveryStatusValue.FAILED.value,
        description="Given up: every attempt failed, or the webhook was disabled before it was sent.",
    )


def _enabled(row: Any) -> bool:
    return bool(row.is_enabled) and row.disabled_at is None


@row_type(EndpointRow, enabled=Reader(("is_enabled", "disabled_at"), _enabled))
@strawberry.type(
    description="A URL that hears of your tenant's events, each POST signed as Standard Webhooks "
    "describe (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Its secret is shown once."
)
class Webhook(FromRow[EndpointRow], Node):
    url: str = strawberry.field(description="Where the events are POSTed.")
    events: list[str] = strawberry.field(
        description="The event names it hears of (see `webhookEventNames`); `*` for every event."
    )
    description: str = strawberry.field(description="What it is for; may be empty.")
    enabled: bool = strawberry.field(
        description="Events are sent to it: it is switched on and was not disabled for failing."
    )
    disabled_at: datetime | None = strawberry.field(
        description="When it was disabled for having failed for a day; null when it was not. "
        "Set `enabled: true` to turn it on again."
    )
    failing_since: datetime | None = strawberry.field(
        description="When its current run of failed attempts began; null while it delivers."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    row: strawberry.Private[EndpointRow]

    @strawberry.field(description="Who registered it; null when that was not a user of the tenant.")
    @relation(key="created_by_id", fetch=USERS)
    async def created_by(self, info: Info) -> User | None: ...


def _webhook_id(row: Any) -> strawberry.ID:
    return to_global_id("Webhook", row.endpoint_id)


@row_type(
    DeliveryRow,
    status=WebhookDeliveryStatus,
    webhook_id=Reader(("endpoint_id",), _webhook_id),
)
@strawberry.type(
    description="One event sent (or to be sent) to one webhook; its id is the `webhook-id` header, "
    "the same on every retry."
)
class WebhookDelivery(FromRow[DeliveryRow], Node):
    webhook_id: strawberry.ID = strawberry.field(description="The webhook it goes to.")
    event: str = strawberry.field(description="The event name, e.g. `reservation.confirmed`.")
    status: WebhookDeliveryStatus = strawberry.field(description="Delivered, failed, or still trying.")
    attempts: int = strawberry.field(description="How many times it was tried.")
    response_code: int | None = strawberry.field(
        description="The HTTP status of the last answer; null when none came (refused, unreachable, timed out)."
    )
    duration_ms: int | None = strawberry.field(description="How long the last attempt took, in milliseconds.")
    response_prefix: str | None = strawberry.field(
        description="The first characters (at most 256) of the last answer's body."
    )
    last_error: str | None = strawberry.field(description="Why the last attempt did not deliver.")
    payload: JSON = strawberry.field(
        description="The JSON body sent: `{type, timestamp, data: {id, objectType, object, ...}}`."
    )
    created_at: datetime = strawberry.field(description="When the event was fanned out to the webhook.")
    last_attempt_at: datetime | None = strawberry.field(description="When it was last tried.")
    delivered_at: datetime | None = strawberry.field(description="When an attempt delivered it.")
    row: strawberry.Private[DeliveryRow]
