"""A tenant's webhook endpoints (ADMIN): registering, changing, re-keying, removing, listing.

The signing secret (``whsec_`` + 32 random bytes in base64, as Standard Webhooks
writes it) is shown once, when it is made. It is kept sealed (``auth/sealing.py``),
bound to its tenant and endpoint: a database dump shows nothing that signs, and a
sealed secret copied onto another endpoint does not open there.
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth.sealing import seal, unseal
from db.clock import utcnow
from db.events import EVENT_NAMES
from db.scoped import in_tenant, scoped, scoped_records
from db.tables import DeliveryStatus, Role, Tenant, WebhookDelivery, WebhookEndpoint
from resolvers.caller import CallerRefused, TenantCaller
from resolvers.errors import Conflict, NotFound, Validator
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.transactions import Snapshot, Transactions
from resolvers.validation import unstorable
from resolvers.webhooks.targets import registration_problem
from settings import Settings

MAX_WEBHOOKS_PER_TENANT = 20
MAX_EVENTS = 50
MAX_DESCRIPTION_LENGTH = 500
ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SEAL_PURPOSE = "webhook signing secret"
ADMINS_ONLY = "Only admins may manage webhooks."
KNOWN_EVENTS = frozenset(EVENT_NAMES)


@dataclass(frozen=True)
class WebhookChanges:
    """What ``update_webhook`` changes; None leaves a field as it is."""

    url: str | None = None
    events: list[str] | None = None
    description: str | None = None
    enabled: bool | None = None


def require_admin(caller: TenantCaller) -> None:
    """Webhooks send the tenant's data out: only its admins manage them (also without the schema's check)."""
    if not caller.principal.has_role_at_least(Role.ADMIN):
        raise CallerRefused(ADMINS_ONLY, "FORBIDDEN")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def _bound_to(endpoint: WebhookEndpoint) -> bytes:
    return endpoint.tenant_id.bytes + endpoint.id.bytes


def seal_secret(settings: Settings, endpoint: WebhookEndpoint, secret: str) -> None:
    endpoint.signing_secret = seal(settings.signing_key, SEAL_PURPOSE, secret, _bound_to(endpoint))


def open_secret(settings: Settings, endpoint: WebhookEndpoint) -> str:
    """The endpoint's secret; ``Unsealable`` when it was altered or sealed under another server secret."""
    return unseal(settings.signing_key, SEAL_PURPOSE, endpoint.signing_secret, _bound_to(endpoint))


def subscribes_to(events: list[str], event: str) -> bool:
    return ALL_EVENTS in events or event in events


def events_problem(events: list[str]) -> str | None:
    if not events:
        return f"Name at least one event, or `{ALL_EVENTS}` for every event."
    if len(events) > MAX_EVENTS:
        return f"At most {MAX_EVENTS} events."
    unknown = [event for event in events if event != ALL_EVENTS and event not in KNOWN_EVENTS]
    if unknown:
        shown = ", ".join(repr(event[:64]) for event in unknown[:3])
        return f"Unknown event {shown}; see the `webhookEventNames` query for the names."
    if ALL_EVENTS in events and len(set(events)) > 1:
        return f"`{ALL_EVENTS}` already means every event: give it alone."
    return None


def _distinct(events: list[str]) -> list[str]:
    return list(dict.fromkeys(events))


def description_problem(description: str) -> str | None:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        return f"Must be at most {MAX_DESCRIPTION_LENGTH} characters long."
    if unstorable(description):
        return "Must not contain NUL characters."
    return None


async def _validate(settings: Settings, changes: WebhookChanges) -> None:
    """Every given field's problem at once; a URL is resolved here, before any transaction."""
    problems = Validator()
    if changes.url is not None:
        problems.add("url", await registration_problem(changes.url, settings))
    if changes.events is not None:
        problems.add("events", events_problem(changes.events))
    if changes.description is not None:
        problems.add("description", description_problem(changes.description))
    problems.raise_if_any()


async def _lock_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Serialise registrations within a tenant, so that the cap holds under parallel calls."""
    # FOR NO KEY UPDATE: other inserts in the tenant take KEY SHARE on this row for their
    # foreign keys, and go on. (SQLite: the write transaction's lock does it.)
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True))


async def create_webhook(
    transactions: Transactions,
    caller: TenantCaller,
    settings: Settings,
    *,
    url: str,
    events: list[str],
    description: str,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (which is never shown again)."""
    require_admin(caller)
    await _validate(settings, WebhookChanges(url=url, events=events, description=description))
    tenant_id = caller.tenant_id
    async with transactions.transaction() as session:
        await _lock_tenant(session, tenant_id)
        count = select(func.count()).select_from(WebhookEndpoint).where(in_tenant(WebhookEndpoint, tenant_id))
        if int((await session.execute(count)).scalar_one()) >= MAX_WEBHOOKS_PER_TENANT:
            raise Conflict(f"A tenant has at most {MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first.")
        endpoint = WebhookEndpoint(
            tenant_id=tenant_id,
            url=url,
            events=_distinct(events),
            description=description.strip(),
            signing_secret="",
            created_by_id=caller.user_id,
        )
        secret = new_secret()
        seal_secret(settings, endpoint, secret)
        session.add(endpoint)
        await session.flush()
        return endpoint, secret


async def _locked(
    session: AsyncSession, caller: TenantCaller, webhook_id: uuid.UUID | None
) -> WebhookEndpoint:
    """The caller's tenant's endpoint, locked for the change; anything else is NOT_FOUND."""
    endpoint = None
    if webhook_id is not None:
        statement = (
            scoped(WebhookEndpoint, caller.tenant_id)
            .where(col(WebhookEndpoint.id) == webhook_id)
            .with_for_update()
        )
        endpoint = (await session.scalars(statement)).first()
    if endpoint is None:
        raise NotFound("webhook", field="id")
    return endpoint


async def update_webhook(
    transactions: Transactions,
    caller: TenantCaller,
    settings: Settings,
    webhook_id: uuid.UUID | None,
    changes: WebhookChanges,
) -> WebhookEndpoint:
    """Change what is given. Turning it on again also forgets its failures (``disabledAt``, ``failingSince``)."""
    require_admin(caller)
    await _validate(settings, changes)
    async with transactions.transaction() as session:
        endpoint = await _locked(session, caller, webhook_id)
        if changes.url is not None:
            endpoint.url = changes.url
        if changes.events is not None:
            endpoint.events = _distinct(changes.events)
        if changes.description is not None:
            endpoint.description = changes.description.strip()
        if changes.enabled is True:
            endpoint.is_enabled = True
            endpoint.disabled_at = None
            endpoint.failing_since = None
        elif changes.enabled is False:
            endpoint.is_enabled = False
        endpoint.updated_at = utcnow()
        await session.flush()
        return endpoint


async def rotate_webhook_secret(
    transactions: Transactions, caller: TenantCaller, settings: Settings, webhook_id: uuid.UUID | None
) -> tuple[WebhookEndpoint, str]:
    """A new secret, used from the next attempt on; the old one stops signing at once."""
    require_admin(caller)
    async with transactions.transaction() as session:
        endpoint = await _locked(session, caller, webhook_id)
        secret = new_secret()
        seal_secret(settings, endpoint, secret)
        endpoint.updated_at = utcnow()
        await session.flush()
        return endpoint, secret


async def delete_webhook(
    transactions: Transactions, caller: TenantCaller, webhook_id: uuid.UUID | None
) -> uuid.UUID:
    """Remove the endpoint and its delivery log; deliveries still waiting are never sent."""
    require_admin(caller)
    async with transactions.transaction() as session:
        endpoint = await _locked(session, caller, webhook_id)
        await session.delete(endpoint)
        await session.flush()
        return endpoint.id


async def list_webhooks(snapshot: Snapshot, caller: TenantCaller, args: PageArgs) -> Page[WebhookEndpoint]:
    """Oldest first."""
    require_admin(caller)
    statement = scoped(WebhookEndpoint, caller.tenant_id)
    sort = [col(WebhookEndpoint.created_at), col(WebhookEndpoint.id)]
    return await paginate(snapshot, statement, sort=sort, descending=False, args=args)


async def find_webhook(snapshot: Snapshot, caller: TenantCaller, webhook_id: uuid.UUID) -> Any:
    """The row of the caller's tenant's endpoint ``webhook_id``, if there is one."""
    require_admin(caller)
    statement = scoped_records(WebhookEndpoint, caller.tenant_id).where(col(WebhookEndpoint.id) == webhook_id)
    rows = await snapshot.rows(statement)
    return rows[0] if rows else None


async def list_deliveries(
    snapshot: Snapshot,
    caller: TenantCaller,
    webhook_id: uuid.UUID | None,
    status: DeliveryStatus | None,
    args: PageArgs,
) -> Page[WebhookDelivery] | None:
    """An endpoint's deliveries, newest first; None when the tenant has no such endpoint."""
    require_admin(caller)
    if webhook_id is None or await find_webhook(snapshot, caller, webhook_id) is None:
        return None
    statement = scoped(WebhookDelivery, caller.tenant_id).where(
        col(WebhookDelivery.endpoint_id) == webhook_id
    )
    if status is not None:
        statement = statement.where(col(WebhookDelivery.status) == status)
    sort = [col(WebhookDelivery.created_at), col(WebhookDelivery.id)]
    return await paginate(snapshot, statement, sort=sort, descending=True, args=args)


async def find_delivery(snapshot: Snapshot, caller: TenantCaller, delivery_id: uuid.UUID) -> Any:
    """The row of the caller's tenant's delivery ``delivery_id``, if there is one."""
    require_admin(caller)
    statement = scoped_records(WebhookDelivery, caller.tenant_id).where(
        col(WebhookDelivery.id) == delivery_id
    )
    rows = await snapshot.rows(statement)
    return rows[0] if rows else None
