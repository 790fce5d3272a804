"""Webhooks from domain events: the fan-out (a consumer) and the ``webhook`` delivery job.

* **Fan-out.** For each enabled endpoint of the event's tenant that subscribes to
  it, one ``webhook_delivery`` row and one ``webhook`` job, written in the
  dispatch transaction (``resolvers/jobs/dispatch.py``): the event's fan-out and
  its completion commit together, and an event reaches an endpoint once.
* **Delivery.** Each attempt checks the target again, signs and POSTs
  (``resolvers/webhooks/sending.py``) and writes down how it went. A 2xx answer
  delivers it; anything else is retried with a back-off that spreads the attempts
  over about a day. An endpoint whose failures began over a day ago at a failed
  attempt is disabled (``disabled_at``, which announces ``webhook.disabled``): its
  waiting deliveries end FAILED unsent. A success ends the endpoint's run of failures.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import orjson
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth.sealing import Unsealable
from db import queue
from db.clock import utcnow
from db.queue import Backoff
from db.scoped import in_tenant, scoped
from db.tables import AuditEvent, DeliveryStatus, Job, WebhookDelivery, WebhookEndpoint
from resolvers.global_ids import to_global_id
from resolvers.jobs.dispatch import consumer
from resolvers.jobs.registry import JobRun, LeaseLost, handler
from resolvers.webhooks.endpoints import open_secret, subscribes_to
from resolvers.webhooks.payloads import payload
from resolvers.webhooks.sending import Attempt, send, signed_headers
from resolvers.webhooks.targets import Refused, parse_target, resolve
from settings import Settings

WEBHOOK_JOB = "webhook"
# 30 s, 1 min, 2 min, … 4 h 16 min, then every 6 h: 15 attempts over 16 to 32 hours (with jitter).
MAX_ATTEMPTS = 15
BACKOFF = Backoff(base=timedelta(seconds=30), cap=timedelta(hours=6))
DISABLE_AFTER = timedelta(hours=24)
DISABLED = "Not sent: the webhook is disabled."


class DeliveryFailed(Exception):
    """The attempt did not deliver; the queue tries again after the back-off."""


@consumer
async def fan_out(run: JobRun, session: AsyncSession, entry: AuditEvent) -> None:
    event = entry.event
    if event is None:
        return
    statement = scoped(WebhookEndpoint, entry.tenant_id).where(
        col(WebhookEndpoint.is_enabled).is_(True), col(WebhookEndpoint.disabled_at).is_(None)
    )
    endpoints = [
        each for each in (await session.scalars(statement)).all() if subscribes_to(each.events, event)
    ]
    if not endpoints:
        return
    body = await payload(session, entry)
    for endpoint in endpoints:
        delivery = WebhookDelivery(
            tenant_id=entry.tenant_id,
            endpoint_id=endpoint.id,
            audit_event_id=entry.id,
            event=event,
            payload=body,
        )
        session.add(delivery)
        queue.add(
            session,
            Job(
                tenant_id=entry.tenant_id,
                kind=WEBHOOK_JOB,
                payload={"delivery_id": str(delivery.id)},
                unique_key=f"webhook:{delivery.id}",
                max_attempts=MAX_ATTEMPTS,
                run_at=run.now,
            ),
        )


def message_id(delivery_id: uuid.UUID) -> str:
    """The ``webhook-id`` header: the delivery's global id, as the API shows it."""
    return to_global_id("WebhookDelivery", delivery_id)


async def attempt(settings: Settings, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> Attempt:
    """Check the target again, then sign and send; refusals are attempts that sent nothing."""
    target = parse_target(endpoint.url, https_only=settings.is_production)
    if isinstance(target, str):
        return Attempt.refused(f"The URL is refused: {target}")
    try:
        addresses = await resolve(target, settings)
    except Refused as refusal:
        return Attempt.refused(str(refusal))
    try:
        secret = open_secret(settings, endpoint)
    except Unsealable:
        return Attempt.refused(
            "The signing secret does not open (altered, or sealed under another RIGBOOK_JWT_SECRET): "
            "rotate it."
        )
    body = orjson.dumps(delivery.payload).decode()
    # The timestamp is the real time of sending: receivers hold it against their own clocks.
    headers = signed_headers(secret, message_id(delivery.id), body, utcnow())
    return await send(target, addresses, headers, body.encode())


@handler(WEBHOOK_JOB, max_attempts=MAX_ATTEMPTS, backoff=BACKOFF)
async def deliver(run: JobRun) -> None:
    tenant_id = run.job.tenant_id
    if tenant_id is None:
        return
    key = (tenant_id, uuid.UUID(run.job.payload["delivery_id"]))
    async with run.services.database.session(tenant_id) as session:
        delivery = await session.get(WebhookDelivery, key)
        endpoint = (
            await session.get(WebhookEndpoint, (tenant_id, delivery.endpoint_id))
            if delivery is not None
            else None
        )
    if delivery is None or endpoint is None or delivery.status != DeliveryStatus.PENDING:
        return  # removed with its endpoint, or already finished
    if not endpoint.is_enabled or endpoint.disabled_at is not None:
        async with run.transaction(tenant_id) as writing:
            await _finish_unsent(writing, key)
        return
    result = await attempt(run.services.settings, endpoint, delivery)
    if result.delivered:
        await _delivered(run, key, endpoint.id, result)
        return
    if not await _failed(run, key, endpoint.id, result):
        raise DeliveryFailed(result.error or "not delivered")


async def _finish_unsent(session: AsyncSession, key: tuple[uuid.UUID, uuid.UUID]) -> None:
    delivery = await session.get(WebhookDelivery, key)
    if delivery is not None and delivery.status == DeliveryStatus.PENDING:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = DISABLED


def _note(delivery: WebhookDelivery, result: Attempt, run: JobRun) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = run.now
    delivery.response_code = result.status_code
    delivery.duration_ms = result.duration_ms
    delivery.response_prefix = result.response_prefix
    delivery.last_error = result.error


async def _delivered(
    run: JobRun, key: tuple[uuid.UUID, uuid.UUID], endpoint_id: uuid.UUID, result: Attempt
) -> None:
    async with run.transaction(key[0]) as session:
        delivery = await session.get(WebhookDelivery, key)
        if delivery is None:
            return
        _note(delivery, result, run)
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = run.now
        endpoint = await session.get(WebhookEndpoint, (key[0], endpoint_id), with_for_update=True)
        if endpoint is not None and endpoint.failing_since is not None:
            endpoint.failing_since = None


async def _hold(session: AsyncSession, run: JobRun) -> None:
    """Lock this attempt's job, or raise ``LeaseLost``: a worker that lost it writes nothing."""
    held = await session.execute(select(col(Job.id)).where(run.job.owned()).with_for_update())
    if held.first() is None:
        raise LeaseLost()


async def _failed(
    run: JobRun, key: tuple[uuid.UUID, uuid.UUID], endpoint_id: uuid.UUID, result: Attempt
) -> bool:
    """Write the failed attempt down; True when nothing is left to retry (the endpoint is off now)."""
    tenant_id = key[0]
    # Not ``completes``: the job is to be retried, unless this ends it (then the worker marks it done).
    async with run.transaction(tenant_id, completes=False) as session:
        await _hold(session, run)
        delivery = await session.get(WebhookDelivery, key)
        endpoint = await session.get(WebhookEndpoint, (tenant_id, endpoint_id), with_for_update=True)
        if delivery is None or endpoint is None:
            return True  # removed meanwhile: nothing left to send
        _note(delivery, result, run)
        # Switched off or disabled meanwhile (by another delivery's failure, say): stop here too.
        stopped = delivery.status != DeliveryStatus.PENDING or not endpoint.is_enabled
        stopped = stopped or endpoint.disabled_at is not None
        if not stopped:
            if endpoint.failing_since is None:
                endpoint.failing_since = run.now
            elif run.now - endpoint.failing_since >= DISABLE_AFTER:
                # In this audited transaction (the system's), this announces ``webhook.disabled``.
                endpoint.disabled_at = run.now
                stopped = True
                await _fail_waiting(session, endpoint, delivery.id)
        last = run.job.attempts >= run.job.max_attempts
        if delivery.status == DeliveryStatus.PENDING and (stopped or last):
            delivery.status = DeliveryStatus.FAILED
        return stopped


async def _fail_waiting(session: AsyncSession, endpoint: WebhookEndpoint, this: uuid.UUID) -> None:
    """The endpoint's other waiting deliveries end now, unsent (their jobs then find nothing to do)."""
    await session.execute(
        update(WebhookDelivery)
        .where(
            in_tenant(WebhookDelivery, endpoint.tenant_id),
            col(WebhookDelivery.endpoint_id) == endpoint.id,
            col(WebhookDelivery.status) == DeliveryStatus.PENDING,
            col(WebhookDelivery.id) != this,
        )
        .values(status=DeliveryStatus.FAILED, last_error=DISABLED)
        .execution_options(synchronize_session=False)
    )
