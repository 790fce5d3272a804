"""Inputs, filters and results for managing webhooks."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.webhooks.endpoints import MAX_DESCRIPTION_LENGTH, MAX_EVENTS
from resolvers.webhooks.targets import MAX_URL_LENGTH
from schema.errors import ConflictError, NotFoundError, ValidationError
from schema.limits.lists import MaxItems
from schema.types.webhook import Webhook, WebhookDeliveryStatus

EVENTS = (
    f"Event names from `webhookEventNames`, or `*` alone for every event (also those added later). "
    f"At most {MAX_EVENTS}."
)


@strawberry.input(description="A new webhook.")
class CreateWebhookInput:
    url: str = strawberry.field(
        description=f"Where to POST the events: http(s), at most {MAX_URL_LENGTH} characters (https only "
        "in production). Its host must resolve to public addresses only, unless the server allows it."
    )
    events: list[str] = strawberry.field(description=EVENTS, directives=[MaxItems(count=MAX_EVENTS)])
    description: str = strawberry.field(
        default="", description=f"What it is for (at most {MAX_DESCRIPTION_LENGTH} characters)."
    )


@strawberry.input(description="Changes to a webhook; omitted fields stay as they are.")
class UpdateWebhookInput:
    id: strawberry.ID = strawberry.field(description="The webhook to change.")
    url: str | None = strawberry.field(default=None, description="New URL (the same rules as on creation).")
    events: list[str] | None = strawberry.field(
        default=None, description=EVENTS, directives=[MaxItems(count=MAX_EVENTS)]
    )
    description: str | None = strawberry.field(default=None, description="New description.")
    enabled: bool | None = strawberry.field(
        default=None,
        description="false: send it nothing; true: send again, forgetting its failures "
        "(`disabledAt`, `failingSince`).",
    )


@strawberry.input(description="The webhook to give a new signing secret.")
class RotateWebhookSecretInput:
    id: strawberry.ID = strawberry.field(description="The webhook; the old secret stops signing at once.")


@strawberry.input(description="The webhook to delete.")
class DeleteWebhookInput:
    id: strawberry.ID = strawberry.field(
        description="The webhook; its delivery log goes with it, and nothing more is sent."
    )


@strawberry.input(description="Narrow a delivery log; all given conditions must hold.")
class WebhookDeliveryFilter:
    status: WebhookDeliveryStatus | None = strawberry.field(
        default=None, description="Only deliveries in this status."
    )


@strawberry.type(
    description="The webhook and its signing secret. Copy the secret now: it is never shown again."
)
class WebhookSecretSuccess:
    webhook: Webhook = strawberry.field(description="The webhook as saved.")
    secret: str = strawberry.field(
        description="The signing secret (`whsec_` + base64): verify each `webhook-signature` with it, "
        "e.g. with a Standard Webhooks library."
    )


@strawberry.type(description="The webhook as saved.")
class WebhookSuccess:
    webhook: Webhook = strawberry.field(description="The webhook after the change.")


@strawberry.type(description="The webhook was deleted.")
class DeleteWebhookSuccess:
    deleted_id: strawberry.ID = strawberry.field(description="The id of the deleted webhook.")


CreateWebhookResult = Annotated[
    WebhookSecretSuccess | ValidationError | ConflictError,
    strawberry.union("CreateWebhookResult", description="The outcome of `createWebhook`."),
]
UpdateWebhookResult = Annotated[
    WebhookSuccess | ValidationError | NotFoundError,
    strawberry.union("UpdateWebhookResult", description="The outcome of `updateWebhook`."),
]
RotateWebhookSecretResult = Annotated[
    WebhookSecretSuccess | NotFoundError,
    strawberry.union("RotateWebhookSecretResult", description="The outcome of `rotateWebhookSecret`."),
]
DeleteWebhookResult = Annotated[
    DeleteWebhookSuccess | NotFoundError,
    strawberry.union("DeleteWebhookResult", description="The outcome of `deleteWebhook`."),
]
