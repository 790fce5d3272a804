"""Lifecycle mail: which domain event mails whom, with which template, under which preference.

``RULES`` is the one table of it. The consumer (``resolvers/notifications.py``)
looks an event up there, gathers the facts its templates need from the event's
tenant, and queues one mail per recipient in the dispatch transaction: the mails
commit with the event's completion, or not at all. Recipients are always read
within the event's tenant (scoped, and under row-level security on PostgreSQL);
an inactive user, or one who turned the category off, gets nothing.

``design.shared`` is in the table too, but its mail is queued by the change that
makes the share (``resolvers/design_shares.py``): the link's token exists only
there (the row keeps a hash of it), and the mail is the link's way to its recipient.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.scoped import in_tenant, scoped
from db.tables import (
    AuditEvent,
    Enquiry,
    EnquiryMessage,
    OutboxEmail,
    Reservation,
    ReservationStatus,
    Role,
    Tenant,
    User,
    WebhookEndpoint,
)
from resolvers.mail import enqueue
from resolvers.mail_render import render
from resolvers.notification_prefs import ESSENTIAL, NAMES, Category, wants
from settings import Settings


class Audience(StrEnum):
    CUSTOMER = "the reservation's customer"
    STAFF = "the tenant's admins and managers"
    ADMINS = "the tenant's admins"
    RECIPIENT = "the user a share link was made for"
    ENQUIRER = "the address an enquiry came from"


@dataclass(frozen=True)
class Notice:
    """One mail of an event: to whom, from which template, under which preference."""

    audience: Audience
    template: str
    category: Category | None
    """``None``: no preference turns it off (a reply the enquirer is waiting for)."""


def _always(_entry: AuditEvent) -> bool:
    return True


def _requested(entry: AuditEvent) -> bool:
    """A reservation made as a request (a customer's), not one staff booked outright."""
    return bool(_new_value(entry, "status") == ReservationStatus.REQUESTED.value)


@dataclass(frozen=True)
class Rule:
    notices: tuple[Notice, ...]
    applies: Callable[[AuditEvent], bool] = _always
    queued_by_change: bool = False
    """Mailed by the change itself, not by the consumer (what the mail carries is not in the event)."""
    per_customer_budget: bool = False
    """Mailed for at most ``REQUEST_MAILS_PER_HOUR`` of a customer's own requests an hour."""


def _to_customer(template: str, category: Category) -> Rule:
    return Rule((Notice(Audience.CUSTOMER, template, category),))


RULES: dict[str, Rule] = {
    "reservation.created": Rule(
        (Notice(Audience.STAFF, "reservation_requested", Category.REQUESTS),),
        applies=_requested,
        per_customer_budget=True,
    ),
    "reservation.confirmed": _to_customer("reservation_confirmed", Category.BOOKING_UPDATES),
    "reservation.declined": _to_customer("reservation_declined", Category.BOOKING_UPDATES),
    "reservation.canceled": _to_customer("reservation_canceled", Category.BOOKING_UPDATES),
    "reservation.expired": _to_customer("reservation_expired", Category.BOOKING_UPDATES),
    "reservation.pickup_reminder": _to_customer("pickup_reminder", Category.PICKUP_REMINDERS),
    "reservation.overdue": Rule(
        (
            Notice(Audience.CUSTOMER, "overdue_customer", Category.OVERDUE),
            Notice(Audience.STAFF, "overdue_staff", Category.OVERDUE),
        )
    ),
    "design.shared": Rule(
        (Notice(Audience.RECIPIENT, "design_shared", Category.DESIGN_SHARES),), queued_by_change=True
    ),
    # A new enquiry to the tenant's admins and managers (as reservation requests are); a
    # reply to whoever sent it, at the address they gave: always, as password reset mail is.
    "enquiry.created": Rule((Notice(Audience.STAFF, "enquiry_received", Category.ENQUIRIES),)),
    "enquiry.replied": Rule((Notice(Audience.ENQUIRER, "enquiry_reply", None),)),
    "report.created": Rule((Notice(Audience.ADMINS, "report_ready", Category.MONTHLY_REPORTS),)),
    "webhook.disabled": Rule((Notice(Audience.ADMINS, "webhook_disabled", Category.WEBHOOK_ALERTS),)),
}
STAFF_ROLES = (Role.ADMIN, Role.MANAGER)
# A request mails every admin and manager, and a customer may make any number of them
# (a request holds no stock): past this many of one customer's requests within an hour,
# the rest are not mailed. They still wait in the reservation list for staff to answer.
REQUEST_MAILS_PER_HOUR = 10
REQUEST_MAIL_WINDOW = timedelta(hours=1)


@dataclass
class Facts:
    """What an event's mails say, and who its customer or recipient is."""

    tenant: Tenant
    values: dict[str, Any] = field(default_factory=dict)
    customer: User | None = None
    recipient: User | None = None


def _new_value(entry: AuditEvent, column: str) -> Any:
    """The value ``column`` changed to in ``entry``, or None when it did not change."""
    change = entry.changes.get(column)
    return change[1] if isinstance(change, list) and len(change) == 2 else None


def display_name(user: User | None) -> str | None:
    return (user.name or user.email) if user is not None else None


def month_name(value: Any) -> str | None:
    """``2031-04`` or ``2031-04-01`` → ``April 2031``; anything else as it is."""
    if value is None:
        return None
    found = re.fullmatch(r"(\d{4})-(\d{2})(?:-\d{2}.*)?", str(value))
    if found is None or not 1 <= int(found.group(2)) <= 12:
        return str(value)
    return f"{datetime(int(found.group(1)), int(found.group(2)), 1):%B %Y}"


async def facts_of(session: AsyncSession, entry: AuditEvent) -> Facts | None:
    """The facts the event's mails need, from its tenant only; None when its subject is gone."""
    tenant = await session.get(Tenant, entry.tenant_id)
    if tenant is None:
        return None
    facts = Facts(tenant)
    if entry.target_type == "reservation":
        if entry.target_id is None:
            return None
        reservation = await session.get(Reservation, (tenant.id, entry.target_id))
        if reservation is None:
            return None
        if reservation.customer_id is not None:
            facts.customer = await session.get(User, (tenant.id, reservation.customer_id))
        facts.values.update(reservation=reservation, customer=display_name(facts.customer))
    elif entry.target_type in ("enquiry", "enquiry_message"):
        return await _enquiry_facts(session, facts, entry)
    elif entry.target_type == "monthly_report":
        facts.values["month"] = month_name(_new_value(entry, "month"))
    elif entry.target_type == "webhook_endpoint":
        # Disabling changes only ``disabled_at``: the endpoint's URL is read from its row.
        endpoint = (
            await session.get(WebhookEndpoint, (tenant.id, entry.target_id)) if entry.target_id else None
        )
        url = endpoint.url if endpoint is not None else _new_value(entry, "url")
        reason = _new_value(entry, "disabled_reason") or _new_value(entry, "last_error")
        facts.values.update(url=url, reason=reason)
    return facts


async def _enquiry_facts(session: AsyncSession, facts: Facts, entry: AuditEvent) -> Facts | None:
    """An enquiry's facts (and a reply's text, for ``enquiry.replied``), read in its tenant."""
    if entry.target_id is None:
        return None
    enquiry_id = entry.target_id
    if entry.target_type == "enquiry_message":
        message = await session.get(EnquiryMessage, (facts.tenant.id, entry.target_id))
        if message is None:
            return None
        enquiry_id = message.enquiry_id
        author = await session.get(User, (facts.tenant.id, message.author_id)) if message.author_id else None
        facts.values.update(reply=message.text, author=display_name(author) or facts.tenant.name)
    enquiry = await session.get(Enquiry, (facts.tenant.id, enquiry_id))
    if enquiry is None:
        return None
    facts.values["enquiry"] = enquiry
    return facts


async def within_request_budget(session: AsyncSession, facts: Facts) -> bool:
    """Whether the event's reservation is among the first ``REQUEST_MAILS_PER_HOUR`` its customer
    made themselves in the hour up to it.

    Counted from the reservations' own creation times (not from when the worker runs),
    so a retried or late event decides the same way; canceled requests count too.
    """
    reservation = facts.values.get("reservation")
    if not isinstance(reservation, Reservation) or reservation.customer_id is None:
        return True
    statement = (
        select(func.count())
        .select_from(Reservation)
        .where(
            in_tenant(Reservation, facts.tenant.id),
            col(Reservation.customer_id) == reservation.customer_id,
            col(Reservation.created_by_id) == reservation.customer_id,
            col(Reservation.created_at) > reservation.created_at - REQUEST_MAIL_WINDOW,
            col(Reservation.created_at) <= reservation.created_at,
        )
    )
    return int((await session.execute(statement)).scalar_one()) <= REQUEST_MAILS_PER_HOUR


async def _audience(session: AsyncSession, facts: Facts, audience: Audience) -> Sequence[User]:
    if audience is Audience.CUSTOMER:
        return [facts.customer] if facts.customer is not None else []
    if audience is Audience.RECIPIENT:
        return [facts.recipient] if facts.recipient is not None else []
    roles = STAFF_ROLES if audience is Audience.STAFF else (Role.ADMIN,)
    statement = (
        scoped(User, facts.tenant.id)
        .where(col(User.role).in_(roles), col(User.is_active).is_(True))
        .order_by(col(User.email))
    )
    return (await session.scalars(statement)).all()


async def queue_notices(
    session: AsyncSession,
    settings: Settings,
    facts: Facts,
    notices: Sequence[Notice],
    *,
    expires_at: datetime | None = None,
) -> int:
    """Queue each notice's mail to its audience in ``session``; returns how many were queued.

    A user gets one mail per event (the first notice naming them), and none when
    inactive, of another tenant, or not wanting the notice's category.
    """
    mailed: set[uuid.UUID] = set()
    for notice in notices:
        if notice.audience is Audience.ENQUIRER:
            mailed.add(_mail_enquirer(session, settings, facts, notice).id)
            continue
        for user in await _audience(session, facts, notice.audience):
            if user.id in mailed or user.tenant_id != facts.tenant.id or not user.is_active:
                continue
            if notice.category is not None and not wants(user, notice.category):
                continue
            mailed.add(user.id)
            letter = render(
                notice.template,
                **facts.values,
                tenant=facts.tenant.name,
                timezone=facts.tenant.timezone,
                recipient=display_name(user),
                preference=None
                if notice.category is None or notice.category in ESSENTIAL
                else NAMES[notice.category],
            )
            enqueue(
                session,
                settings,
                tenant_id=facts.tenant.id,
                to=user.email,
                letter=letter,
                expires_at=expires_at,
            )
    return len(mailed)


def _mail_enquirer(session: AsyncSession, settings: Settings, facts: Facts, notice: Notice) -> OutboxEmail:
    """The notice's mail to the address the event's enquiry came from (a guest has no account)."""
    enquiry = facts.values["enquiry"]
    letter = render(
        notice.template,
        **facts.values,
        tenant=facts.tenant.name,
        timezone=facts.tenant.timezone,
        recipient=enquiry.name,
        preference=None,
    )
    return enqueue(session, settings, tenant_id=facts.tenant.id, to=enquiry.email, letter=letter)
