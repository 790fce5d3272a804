"""Webhooks in the edge-case world, with deliveries made by a real worker and a real receiver.

One webhook delivered once after a failed attempt and failed again with another
delivery (a receiver on loopback answered 500, 500, 200, 503), one was disabled after failing for a day (its host is refused), one is
switched off. The worker runs twice, the second time a day and an hour later on
its clock; every event the world announced is fanned out then.
"""

from __future__ import annotations

from datetime import timedelta

from auth.services import Services
from db.clock import utcnow
from resolvers.jobs.worker import Worker
from tests.api import Api
from tests.designs import mutate
from tests.webhook_receiver import Receiver, receiving

CREATE_WEBHOOK = """
mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { __typename ... on WebhookSecretSuccess { webhook { id } } }
}
"""
UPDATE_WEBHOOK = """
mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { __typename } }
"""


async def _create(api: Api, token: str, **values: object) -> str:
    made = await mutate(api, CREATE_WEBHOOK, token, **values)
    assert made["__typename"] == "WebhookSecretSuccess", made
    webhook_id: str = made["webhook"]["id"]
    return webhook_id


async def seed_webhooks(api: Api, services: Services, admin: str) -> dict[str, str]:
    """The webhooks of ``esr`` and their deliveries; the global ids of the first two, by name."""
    async with receiving(Receiver(statuses=[500, 500, 200, 503], reply=b'{"received": true}')) as receiver:
        live = await _create(
            api,
            admin,
            url=receiver.url,
            events=["reservation.confirmed", "reservation.declined"],
            description="Bookings to the ERP",
        )
        # Only 127.0.0.1 is allowed below: `localhost` is refused as a loopback host.
        down = await _create(
            api,
            admin,
            url=f"http://localhost:{receiver.port}/down",
            events=["reservation.canceled", "reservation.declined"],
        )
        off = await _create(api, admin, url="https://hooks.example/off", events=["*"])
        assert (await mutate(api, UPDATE_WEBHOOK, admin, id=off, enabled=False))[
            "__typename"
        ] == "WebhookSuccess"
        allowed = services.settings.model_copy(update={"webhook_allowed_hosts": ["127.0.0.1"]})
        later = timedelta()
        worker = Worker(
            Services.create(allowed, database=services.database),
            concurrency=1,
            clock=lambda: utcnow() + later,
            schedules=[],  # the events' work only: no scheduled job changes the world's rows
        )
        await worker.run_due()
        later = timedelta(hours=25)
        await worker.run_due()
        assert len(receiver.requests) == 4, receiver.requests
    return {"webhook": live, "down webhook": down}
