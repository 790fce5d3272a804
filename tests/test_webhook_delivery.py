"""Webhooks as a receiver sees them: signed, retried with one id, and given up on after a day.

A real HTTP server on a loopback port receives the webhooks and checks each
signature with the Standard Webhooks verifier. The worker runs on a controlled
clock (``Worker(services, clock=...).run_due()``): a test moves the clock on
instead of waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from standardwebhooks import Webhook

from auth.services import Services
from db.clock import utcnow
from db.scoped import scoped
from db.tables import AuditEvent, Job
from resolvers.jobs.webhooks import BACKOFF, MAX_ATTEMPTS, WEBHOOK_JOB
from resolvers.jobs.worker import Worker
from schema.node import pk_of
from settings import Settings
from tests.api import Api, TenantUsers
from tests.booking import line, reserve, step
from tests.conftest import settings_for
from tests.webhook_receiver import Receiver, receiving

CREATE = """
mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) {
    __typename ... on WebhookSecretSuccess { secret webhook { id } } ... on Error { code message }
  }
}
"""
UPDATE = """
mutation($input: UpdateWebhookInput!) {
  updateWebhook(input: $input) { ... on WebhookSuccess { webhook { enabled disabledAt failingSince } } }
}
"""
DELETE = "mutation($id: ID!) { deleteWebhook(input: {id: $id}) { __typename } }"
DELIVERY_FIELDS = (
    "id webhookId event status attempts responseCode durationMs responsePrefix lastError payload "
    "createdAt lastAttemptAt deliveredAt"
)
DELIVERIES = f"""
query($id: ID!, $status: WebhookDeliveryStatus, $first: Int, $after: String) {{
  webhookDeliveries(webhookId: $id, filter: {{status: $status}}, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {DELIVERY_FIELDS} }} }}
  }}
}}
"""
WEBHOOK = "query($id: ID!) { node(id: $id) { ... on Webhook { enabled disabledAt failingSince } } }"


@dataclass
class Clock:
    """The worker's now: the real time plus however far a test has moved it on."""

    ahead: timedelta = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.ahead

    def advance(self, **delta: float) -> None:
        self.ahead += timedelta(**delta)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The receiver listens on 127.0.0.1, which only an allowed host may reach."""
    return settings_for(database_url, webhook_allowed_hosts=["127.0.0.1", "localhost"])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving(Receiver()) as running:
        yield running


@pytest.fixture
async def watcher() -> AsyncIterator[Receiver]:
    """A second receiver, always answering 200."""
    async with receiving(Receiver()) as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(services: Services, clock: Clock) -> Worker:
    # One job at a time: the order of attempts is then the order the queue gives them. No
    # schedules: moving the clock on must bring only the retries, not monthly work.
    return Worker(services, concurrency=1, clock=clock, schedules=[])


async def create_webhook(api: Api, token: str, url: str, events: list[str]) -> tuple[str, str]:
    made = (await api.data(CREATE, {"input": {"url": url, "events": events}}, token=token))["createWebhook"]
    assert made["__typename"] == "WebhookSecretSuccess", made
    return made["webhook"]["id"], made["secret"]


async def deliveries(api: Api, token: str, webhook_id: str, **variables: Any) -> list[dict[str, Any]]:
    page = (await api.data(DELIVERIES, {"id": webhook_id, **variables}, token=token))["webhookDeliveries"]
    return [edge["node"] for edge in page["edges"]]


async def confirmed_reservation(
    api: Api, customer_token: str, manager_token: str, wall: dict[str, Any]
) -> dict[str, Any]:
    """A customer's request (``reservation.created``), then confirmed (``reservation.confirmed``)."""
    requested = await reserve(api, customer_token, [line(wall, 2)])
    reservation: dict[str, Any] = requested["reservation"]
    assert (await step(api, manager_token, "confirmReservation", reservation["id"]))["__typename"] == (
        "ReservationSuccess"
    )
    return reservation


async def test_a_failed_delivery_is_retried_with_the_same_id_until_it_is_delivered(
    api: Api,
    admin_token: str,
    customer_token: str,
    manager_token: str,
    wall: dict[str, Any],
    receiver: Receiver,
    worker: Worker,
    clock: Clock,
) -> None:
    webhook_id, secret = await create_webhook(api, admin_token, receiver.url, ["reservation.confirmed"])
    receiver.statuses = [500, 200]
    receiver.reply = b"upstream broke \x00 " + "é".encode() * 300
    reservation = await confirmed_reservation(api, customer_token, manager_token, wall)

    await worker.run_due()
    [first] = receiver.requests
    assert first.method == "POST" and first.path == "/hooks/rigbook?source=test"
    body = first.verified(secret)  # a valid Standard Webhooks signature
    assert isinstance(body, dict)
    assert body["type"] == "reservation.confirmed"
    assert body["timestamp"].endswith("Z")
    data = body["data"]
    assert data["id"] == reservation["id"] and data["objectType"] == "Reservation"
    assert data["object"]["status"] == "CONFIRMED" and data["object"]["title"] == "Gala"
    assert [(part["quantity"], part["equipment_id"]) for part in data["object"]["lines"]] == [
        (2, str(pk_of(wall["id"], "Equipment")))
    ]
    assert data["rawId"] == str(pk_of(reservation["id"], "Reservation"))
    assert first.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(first.body, first.headers)

    [pending] = await deliveries(api, admin_token, webhook_id)
    assert pending["id"] == first.headers["webhook-id"]
    assert pending["webhookId"] == webhook_id and pending["event"] == "reservation.confirmed"
    assert (pending["status"], pending["attempts"], pending["responseCode"]) == ("PENDING", 1, 500)
    assert pending["lastError"] == "The endpoint answered HTTP 500."
    assert (
        pending["responsePrefix"].startswith("upstream broke \ufffd ")
        and len(pending["responsePrefix"]) == 256
    )
    assert pending["durationMs"] >= 0 and pending["deliveredAt"] is None
    assert pending["payload"] == body
    failing = (await api.data(WEBHOOK, {"id": webhook_id}, token=admin_token))["node"]
    assert failing["failingSince"] is not None and failing["enabled"] is True

    await worker.run_due()
    assert len(receiver.requests) == 1  # not due again before its back-off
    clock.advance(seconds=BACKOFF.base.total_seconds())
    await worker.run_due()
    second = receiver.requests[1]
    assert second.verified(secret) == body
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    [delivered] = await deliveries(api, admin_token, webhook_id)
    assert (delivered["status"], delivered["attempts"], delivered["responseCode"]) == ("DELIVERED", 2, 200)
    assert delivered["deliveredAt"] is not None and delivered["lastError"] is None
    healthy = (await api.data(WEBHOOK, {"id": webhook_id}, token=admin_token))["node"]
    assert healthy["failingSince"] is None

    clock.advance(days=3)
    await worker.run_due()
    assert len(receiver.requests) == 2  # delivered once is delivered


async def test_only_subscribed_events_of_the_tenant_are_sent(
    api: Api,
    admin_token: str,
    other_tenant_admin_token: str,
    customer_token: str,
    manager_token: str,
    wall: dict[str, Any],
    receiver: Receiver,
    worker: Worker,
    esr: TenantUsers,
) -> None:
    everything, secret = await create_webhook(api, admin_token, receiver.url, ["*"])
    created_only, _ = await create_webhook(api, admin_token, receiver.url + "&only=created", ["user.created"])
    theirs, _ = await create_webhook(api, other_tenant_admin_token, receiver.url + "&tenant=cmh", ["*"])
    await confirmed_reservation(api, customer_token, manager_token, wall)
    await worker.run_due()
    types = sorted(request.verified(secret)["type"] for request in receiver.requests)  # type: ignore[index]
    assert types == ["equipment.created", "reservation.confirmed", "reservation.created"]
    assert all(
        "tenant=cmh" not in request.path and "only=" not in request.path for request in receiver.requests
    )
    assert await deliveries(api, admin_token, created_only) == []
    assert await deliveries(api, other_tenant_admin_token, theirs) == []

    sent = await deliveries(api, admin_token, everything, status="DELIVERED", first=2)
    assert len(sent) == 2 and all(item["status"] == "DELIVERED" for item in sent)
    page = (await api.data(DELIVERIES, {"id": everything, "first": 2}, token=admin_token))[
        "webhookDeliveries"
    ]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    rest = await deliveries(api, admin_token, everything, first=2, after=page["pageInfo"]["endCursor"])
    assert [item["event"] for item in rest] == ["equipment.created"]  # newest first
    assert await deliveries(api, admin_token, everything, status="FAILED") == []


async def test_an_endpoint_failing_for_a_day_is_disabled_and_announces_it(
    api: Api,
    watcher: Receiver,
    services: Services,
    admin_token: str,
    customer_token: str,
    manager_token: str,
    wall: dict[str, Any],
    receiver: Receiver,
    worker: Worker,
    clock: Clock,
    esr: TenantUsers,
) -> None:
    webhook_id, secret = await create_webhook(
        api, admin_token, receiver.url, ["reservation.created", "reservation.confirmed"]
    )
    watcher_id, watcher_secret = await create_webhook(api, admin_token, watcher.url, ["webhook.disabled"])
    receiver.statuses = [503]
    await confirmed_reservation(api, customer_token, manager_token, wall)
    await worker.run_due()
    assert len(receiver.requests) == 2

    clock.advance(hours=23)  # failing, but not for a day yet
    await worker.run_due()
    assert len(receiver.requests) == 4
    assert (await api.data(WEBHOOK, {"id": webhook_id}, token=admin_token))["node"]["enabled"] is True

    clock.advance(hours=2)
    await worker.run_due()
    assert len(receiver.requests) == 5  # the first failure past a day disables; the other is not sent
    state = (await api.data(WEBHOOK, {"id": webhook_id}, token=admin_token))["node"]
    assert state["enabled"] is False and state["disabledAt"] is not None
    failed = await deliveries(api, admin_token, webhook_id)
    assert sorted(item["status"] for item in failed) == ["FAILED", "FAILED"]
    assert sorted(item["attempts"] for item in failed) == [2, 3]
    assert "Not sent: the webhook is disabled." in [item["lastError"] for item in failed]
    async with services.database.session(esr.tenant.id) as session:
        announced = (
            await session.scalars(
                scoped(AuditEvent, esr.tenant.id).where(col(AuditEvent.event) == "webhook.disabled")
            )
        ).all()
        jobs = (await session.scalars(select(Job).where(col(Job.kind) == WEBHOOK_JOB))).all()
    [disabled] = announced
    assert disabled.actor_kind == "system" and disabled.target_type == "webhook_endpoint"
    assert all(job.status in ("DONE", "DEAD") for job in jobs)
    [told] = watcher.requests  # another endpoint hears of it (and the mail to admins starts from it)
    news = told.verified(watcher_secret)
    assert isinstance(news, dict) and news["type"] == "webhook.disabled"
    assert news["data"]["id"] == webhook_id and news["data"]["objectType"] == "Webhook"
    assert news["data"]["object"]["disabled_at"] is not None
    assert "signing_secret" not in news["data"]["object"] and "sealed:" not in told.body.decode()
    assert [item["status"] for item in await deliveries(api, admin_token, watcher_id)] == ["DELIVERED"]

    clock.advance(days=2)
    await confirmed_reservation(api, customer_token, manager_token, wall)
    await worker.run_due()
    assert len(receiver.requests) == 5  # a disabled endpoint hears of nothing

    again = await api.data(UPDATE, {"input": {"id": webhook_id, "enabled": True}}, token=admin_token)
    assert again["updateWebhook"]["webhook"] == {"enabled": True, "disabledAt": None, "failingSince": None}
    receiver.statuses = [200]
    await confirmed_reservation(api, customer_token, manager_token, wall)
    await worker.run_due()
    assert [request.verified(secret)["type"] for request in receiver.requests[5:]] == [  # type: ignore[index]
        "reservation.created",
        "reservation.confirmed",
    ]


async def test_a_delivery_that_never_succeeds_ends_failed_after_its_last_attempt(
    api: Api, admin_token: str, manager_token: str, receiver: Receiver, worker: Worker, clock: Clock
) -> None:
    webhook_id, _ = await create_webhook(api, admin_token, receiver.url, ["equipment.created"])
    receiver.statuses = [500]
    await api.data(
        'mutation { createEquipment(input: {name: "Truss", code: "T", tracking: BULK, quantity: 1}) { __typename } }',
        token=manager_token,
    )
    for _ in range(MAX_ATTEMPTS):
        await worker.run_due()
        # Its failures forgotten after each attempt, the endpoint never fails for a day.
        await api.data(UPDATE, {"input": {"id": webhook_id, "enabled": True}}, token=admin_token)
        clock.advance(hours=7)  # past the longest back-off
    assert len(receiver.requests) == MAX_ATTEMPTS
    [failed] = await deliveries(api, admin_token, webhook_id)
    assert (failed["status"], failed["attempts"]) == ("FAILED", MAX_ATTEMPTS)
    await worker.run_due()
    assert len(receiver.requests) == MAX_ATTEMPTS


async def test_a_deleted_webhook_is_sent_nothing_more(
    api: Api, admin_token: str, manager_token: str, receiver: Receiver, worker: Worker, clock: Clock
) -> None:
    webhook_id, _ = await create_webhook(api, admin_token, receiver.url, ["equipment.created"])
    receiver.statuses = [500]
    await api.data(
        'mutation { createEquipment(input: {name: "Deck", code: "D", tracking: BULK, quantity: 1}) { __typename } }',
        token=manager_token,
    )
    await worker.run_due()
    assert len(receiver.requests) == 1
    assert (await api.data(DELETE, {"id": webhook_id}, token=admin_token))["deleteWebhook"]["__typename"] == (
        "DeleteWebhookSuccess"
    )
    clock.advance(hours=8)
    await worker.run_due()
    assert len(receiver.requests) == 1


async def test_the_host_is_named_in_the_request_but_the_checked_address_is_called(
    api: Api, admin_token: str, manager_token: str, receiver: Receiver, worker: Worker
) -> None:
    url = f"http://localhost:{receiver.port}/named"
    webhook_id, secret = await create_webhook(api, admin_token, url, ["equipment.created"])
    await api.data(
        'mutation { createEquipment(input: {name: "Deck", code: "D", tracking: BULK, quantity: 1}) { __typename } }',
        token=manager_token,
    )
    await worker.run_due()
    [request] = receiver.requests
    assert request.headers["host"] == f"localhost:{receiver.port}" and request.path == "/named"
    assert request.headers["content-type"] == "application/json"
    assert request.verified(secret)
    assert [item["status"] for item in await deliveries(api, admin_token, webhook_id)] == ["DELIVERED"]


@pytest.mark.parametrize("env", ["development", "production"])
async def test_a_loopback_address_is_refused_at_delivery_without_the_allow_list(
    api: Api,
    database_url: str,
    admin_token: str,
    manager_token: str,
    receiver: Receiver,
    clock: Clock,
    env: str,
) -> None:
    """Registered while 127.0.0.1 was allowed (or its name pointed elsewhere): the delivery checks again."""
    url = receiver.url if env == "development" else receiver.url.replace("http://", "https://")
    webhook_id, _ = await create_webhook(api, admin_token, url, ["equipment.created"])
    await api.data(
        'mutation { createEquipment(input: {name: "Deck", code: "D", tracking: BULK, quantity: 1}) { __typename } }',
        token=manager_token,
    )
    strict = Services.create(settings_for(database_url, env=env))
    try:
        await Worker(strict, concurrency=1, clock=clock, schedules=[]).run_due()
    finally:
        await strict.database.dispose()
    assert receiver.requests == []
    [refused] = await deliveries(api, admin_token, webhook_id)
    assert (refused["status"], refused["attempts"], refused["responseCode"]) == ("PENDING", 1, None)
    assert "loopback" in refused["lastError"] and "RIGBOOK_WEBHOOK_ALLOWED_HOSTS" in refused["lastError"]


async def test_parallel_failures_past_a_day_disable_the_endpoint_once(
    api: Api,
    services: Services,
    admin_token: str,
    customer_token: str,
    manager_token: str,
    wall: dict[str, Any],
    receiver: Receiver,
    clock: Clock,
    esr: TenantUsers,
) -> None:
    webhook_id, _ = await create_webhook(
        api, admin_token, receiver.url, ["reservation.created", "reservation.confirmed"]
    )
    receiver.statuses = [500]
    await confirmed_reservation(api, customer_token, manager_token, wall)
    parallel = Worker(services, concurrency=4, clock=clock, schedules=[])
    await parallel.run_due()
    clock.advance(hours=25)
    await parallel.run_due()
    assert len(receiver.requests) == 4  # both were sent at once, both failed
    failed = await deliveries(api, admin_token, webhook_id)
    assert [(item["status"], item["attempts"]) for item in failed] == [("FAILED", 2), ("FAILED", 2)]
    async with services.database.session(esr.tenant.id) as session:
        announced = (
            await session.scalars(
                scoped(AuditEvent, esr.tenant.id).where(col(AuditEvent.event) == "webhook.disabled")
            )
        ).all()
        jobs = (await session.scalars(select(Job).where(col(Job.kind) == WEBHOOK_JOB))).all()
    assert len(announced) == 1
    assert sorted(job.status for job in jobs) == ["DONE", "DONE"]
