"""Webhook fields (ADMIN): the endpoints, their delivery logs, and managing them."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.events import EVENT_NAMES
from db.tables import DeliveryStatus as DeliveryStatusValue
from db.tables import Role
from resolvers.pagination import PageArgs
from resolvers.webhooks import endpoints as resolve
from resolvers.webhooks.endpoints import WebhookChanges
from schema.context import Info
from schema.errors import errors_as_data
from schema.node import pk_of, to_global_id
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least
from schema.types.webhook import Webhook, WebhookDelivery
from schema.types.webhook_inputs import (
    CreateWebhookInput,
    CreateWebhookResult,
    DeleteWebhookInput,
    DeleteWebhookResult,
    DeleteWebhookSuccess,
    RotateWebhookSecretInput,
    RotateWebhookSecretResult,
    UpdateWebhookInput,
    UpdateWebhookResult,
    WebhookDeliveryFilter,
    WebhookSecretSuccess,
    WebhookSuccess,
)

InputArg = strawberry.argument(description="What to do; see the input type.")


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        description="Your tenant's webhooks, oldest first (ADMIN).", extensions=role_at_least(Role.ADMIN)
    )
    @paginated
    async def webhooks(self, info: Info, paging: PageArgs) -> Connection[Webhook]:
        context = info.context
        page = await resolve.list_webhooks(context, context.caller(), paging)
        return to_connection(page, Webhook.from_row)

    @strawberry.field(
        description="What was sent to one webhook, newest first (ADMIN); null when your tenant has no "
        "webhook with that id.",
        extensions=role_at_least(Role.ADMIN),
    )
    @paginated
    async def webhook_deliveries(
        self,
        info: Info,
        paging: PageArgs,
        *,
        webhook_id: Annotated[strawberry.ID, strawberry.argument(description="The webhook.")],
        filter: Annotated[
            WebhookDeliveryFilter | None,
            strawberry.argument(description="Conditions the deliveries must meet."),
        ] = None,
    ) -> Connection[WebhookDelivery] | None:
        status = filter.status if filter is not None else None
        context = info.context
        page = await resolve.list_deliveries(
            context,
            context.caller(),
            pk_of(webhook_id, "Webhook"),
            DeliveryStatusValue[status.name] if status is not None else None,
            paging,
        )
        return to_connection(page, WebhookDelivery.from_row) if page is not None else None

    @strawberry.field(
        description="Every event name a webhook may subscribe to (ADMIN), as its payload's `type` says it.",
        extensions=role_at_least(Role.ADMIN),
    )
    def webhook_event_names(self) -> list[str]:
        return list(EVENT_NAMES)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Register a webhook (ADMIN). The answer holds its signing secret, shown only this once.",
        extensions=role_at_least(Role.ADMIN),
    )
    @errors_as_data
    async def create_webhook(
        self, info: Info, input: Annotated[CreateWebhookInput, InputArg]
    ) -> CreateWebhookResult:
        context = info.context
        row, secret = await resolve.create_webhook(
            context,
            context.caller(),
            context.services.settings,
            url=input.url,
            events=input.events,
            description=input.description,
        )
        return WebhookSecretSuccess(webhook=Webhook.from_row(row), secret=secret)

    @strawberry.mutation(
        description="Change a webhook's URL, events, description or switch (ADMIN).",
        extensions=role_at_least(Role.ADMIN),
    )
    @errors_as_data
    async def update_webhook(
        self, info: Info, input: Annotated[UpdateWebhookInput, InputArg]
    ) -> UpdateWebhookResult:
        changes = WebhookChanges(
            url=input.url, events=input.events, description=input.description, enabled=input.enabled
        )
        context = info.context
        row = await resolve.update_webhook(
            context, context.caller(), context.services.settings, pk_of(input.id, "Webhook"), changes
        )
        return WebhookSuccess(webhook=Webhook.from_row(row))

    @strawberry.mutation(
        description="Give a webhook a new signing secret, shown only this once (ADMIN).",
        extensions=role_at_least(Role.ADMIN),
    )
    @errors_as_data
    async def rotate_webhook_secret(
        self, info: Info, input: Annotated[RotateWebhookSecretInput, InputArg]
    ) -> RotateWebhookSecretResult:
        context = info.context
        row, secret = await resolve.rotate_webhook_secret(
            context, context.caller(), context.services.settings, pk_of(input.id, "Webhook")
        )
        return WebhookSecretSuccess(webhook=Webhook.from_row(row), secret=secret)

    @strawberry.mutation(
        description="Delete a webhook and its delivery log (ADMIN); nothing more is sent to it.",
        extensions=role_at_least(Role.ADMIN),
    )
    @errors_as_data
    async def delete_webhook(
        self, info: Info, input: Annotated[DeleteWebhookInput, InputArg]
    ) -> DeleteWebhookResult:
        context = info.context
        deleted = await resolve.delete_webhook(context, context.caller(), pk_of(input.id, "Webhook"))
        return DeleteWebhookSuccess(deleted_id=to_global_id("Webhook", deleted))
