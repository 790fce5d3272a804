"""Helpers for the notification mail tests: running the worker, preferences, counting rows."""

from __future__ import annotations

import email.message
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from auth.principal import Principal
from auth.services import Services
from db.clock import utcnow
from db.tables import AuditEvent, Job, OutboxEmail, Role, User
from resolvers.jobs.worker import Worker
from resolvers.transactions import Standalone
from tests.api import Api
from tests.mailbox import part

SHARE_LINK = "https://app.example/shared?token={token}"

PREFERENCES = "{ me { notificationPreferences { category enabled essential } } }"
UPDATE_PREFERENCES = """
mutation($input: UpdateNotificationPreferencesInput!) {
  updateNotificationPreferences(input: $input) {
    __typename
    ... on NotificationPreferencesSuccess { user { email notificationPreferences { category enabled } } }
    ... on ValidationError { fields { field message } }
    ... on Error { code message }
  }
}
"""


class Clock:
    """The worker's clock: now, or as far ahead as a test moved it (no sleeping)."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.ahead

    def advance(self, by: timedelta) -> None:
        self.ahead += by


async def deliver(services: Services, clock: Clock | None = None) -> int:
    """Run every job due (events, then their mails); returns how many ran.

    The schedules are not planned: their slots' jobs would be counted too.
    """
    return await Worker(services, clock=clock or Clock(), schedules=[]).run_due()


async def turn(api: Api, token: str, **enabled: bool) -> dict[str, Any]:
    """Set the caller's preferences, ``BOOKING_UPDATES=False`` style; returns the mutation's result."""
    preferences = [{"category": category, "enabled": on} for category, on in enabled.items()]
    data = await api.data(UPDATE_PREFERENCES, {"input": {"preferences": preferences}}, token=token)
    result: dict[str, Any] = data["updateNotificationPreferences"]
    return result


def text_and_html(message: email.message.EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative", message.get_content_type()
    return part(message, "plain"), part(message, "html")


async def counts(services: Services, tenant_id: uuid.UUID) -> tuple[int, int, int]:
    """How many audit events the tenant has, and how many jobs and outbox mails there are."""
    async with services.database.session(tenant_id) as session:
        events = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.tenant_id) == tenant_id)
        )
        jobs = await session.scalar(select(func.count()).select_from(Job))
        mails = await session.scalar(select(func.count()).select_from(OutboxEmail))
    return int(events or 0), int(jobs or 0), int(mails or 0)


def acting_as(services: Services, user: User) -> Standalone:
    """Transactions audited as ``user``, outside any request."""
    principal = Principal(user.id, uuid.uuid4(), user.tenant_id, Role(user.role))
    return Standalone(services.database, principal)
