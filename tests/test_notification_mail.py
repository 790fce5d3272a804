"""Lifecycle mail follows from domain events: to the right people of the right tenant, once.

Requests, transitions and the rest are made through the API (or, for events whose
tables other parts of the product own, written into the audit trail as those parts
do); the worker then runs on a controlled clock and a real SMTP server on loopback
receives the mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from auth.services import Services
from db.audit import ACTOR_INFO_KEY, record
from db.clock import utcnow
from db.tables import Job, JobStatus, OutboxEmail, Reservation, ReservationStatus, Role, WebhookEndpoint
from resolvers.jobs.registry import system_actor
from schema.node import from_global_id
from settings import Settings
from tests.api import Api, TenantUsers, make_user
from tests.booking import at, create_equipment, line, reserve, step
from tests.conftest import settings_for
from tests.mailbox import Mailbox, free_port, smtp_server
from tests.notify import Clock, acting_as, counts, deliver, text_and_html


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mailbox(port: int) -> Iterator[Mailbox]:
    box = Mailbox()
    with smtp_server(box, port):
        yield box


@pytest.fixture
def settings(database_url: str, port: int) -> Settings:
    return settings_for(database_url, smtp_url=f"smtp://127.0.0.1:{port}")


async def request(api: Api, token: str, wall: dict[str, Any], title: str = "Summer gala") -> dict[str, Any]:
    """A customer's reservation request (REQUESTED)."""
    result = await reserve(api, token, [line(wall)], title=title)
    assert result["__typename"] == "CreateReservationSuccess", result
    reservation: dict[str, Any] = result["reservation"]
    assert reservation["status"] == "REQUESTED"
    return reservation


@pytest.mark.usefixtures("cmh")
async def test_a_customer_request_mails_the_tenants_admins_and_managers(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    customer_token: str,
    admin_token: str,
    wall: dict[str, Any],
) -> None:
    booked = await request(api, customer_token, wall)
    assert await deliver(services) >= 3  # the event, then one mail per recipient
    assert mailbox.recipients() == sorted([esr.admin.email, esr.manager.email])
    message = mailbox.to(esr.manager.email)[0]
    assert message["Subject"] == f"ESR: new reservation request #{booked['number']} from Customer of esr"
    text, html = text_and_html(message)
    for body in (text, html):
        assert "ESR" in body and "Summer gala" in body and "Customer of esr" in body
    assert "Hello Manager of esr," in text and "<p>Hello Manager of esr,</p>" in html

    # Staff booking outright is no request: nobody is asked to look at it.
    mailbox.messages.clear()
    staff_booking = await reserve(api, admin_token, [line(wall)], customerId=None)
    assert staff_booking["reservation"]["status"] == "CONFIRMED"
    await deliver(services)
    assert mailbox.messages == []


async def test_confirm_decline_and_cancel_mail_the_customer_with_both_parts(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    customer_token: str,
    manager_token: str,
    wall: dict[str, Any],
) -> None:
    steps = {
        "confirmReservation": "confirmed",
        "declineReservation": "declined",
        "cancelReservation": "canceled",
    }
    booked = {
        name: await request(api, customer_token, wall, title=f"Gala {verb}") for name, verb in steps.items()
    }
    await deliver(services)
    mailbox.messages.clear()
    for name, reservation in booked.items():
        assert (await step(api, manager_token, name, reservation["id"]))["__typename"] == "ReservationSuccess"
    await deliver(services)

    received = {message["Subject"]: message for message in mailbox.to(esr.customer.email)}
    assert len(mailbox.messages) == len(received) == 3
    for name, verb in steps.items():
        number = booked[name]["number"]
        said = "is" if verb == "confirmed" else "was"
        message = received[f"ESR: reservation #{number} {said} {verb}"]
        text, html = text_and_html(message)
        for body in (text, html):
            assert "ESR" in body and f"Gala {verb}" in body and f"#{number}" in body
        assert "Hello Customer of esr," in text
        assert "turn them off in your notification preferences" in text


async def test_title_and_tenant_name_are_escaped_in_the_html_part(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    customer_token: str,
    wall: dict[str, Any],
) -> None:
    async with services.database.transaction(esr.tenant.id) as session:
        tenant = await session.get(type(esr.tenant), esr.tenant.id)
        assert tenant is not None
        tenant.name = "Stage & <Sound>"
    await request(api, customer_token, wall, title="<script>alert(1)</script>")
    await deliver(services)
    text, html = text_and_html(mailbox.to(esr.admin.email)[0])
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Stage &amp; &lt;Sound&gt;" in html
    assert "<script>alert(1)</script>" in text and "Stage & <Sound>" in text  # plain text stays as typed


async def test_a_rolled_back_change_leaves_no_event_no_job_and_no_mail(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    customer_token: str,
    wall: dict[str, Any],
) -> None:
    pending = await request(api, customer_token, wall)
    await deliver(services)
    mailbox.messages.clear()
    before = await counts(services, esr.tenant.id)

    overbooked = await reserve(api, customer_token, [line(wall, 7)])  # 6 walls exist
    assert overbooked["__typename"] == "ConflictError"
    invalid = await reserve(api, customer_token, [line(wall)], starts=4, ends=1)
    assert invalid["__typename"] == "ValidationError"

    with pytest.raises(Failed):
        await _confirm_then_fail(services, esr, _pk(pending["id"]))

    assert await counts(services, esr.tenant.id) == before
    assert await deliver(services) == 0
    assert mailbox.messages == []


class Failed(Exception):
    pass


async def _confirm_then_fail(services: Services, users: TenantUsers, reservation_id: uuid.UUID) -> None:
    """A change that announced its event, then failed before its transaction committed."""
    async with acting_as(services, users.manager).transaction() as session:
        reservation = await session.get(Reservation, (users.tenant.id, reservation_id))
        assert reservation is not None
        reservation.status = ReservationStatus.CONFIRMED
        reservation.version += 1
        await session.flush()
        queued = (await session.scalars(select(Job).where(col(Job.kind) == "event"))).all()
        assert any(job.status == JobStatus.QUEUED for job in queued)  # it was announced ...
        raise Failed()  # ... and is taken back


def _pk(global_id: str) -> uuid.UUID:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


async def test_mail_never_reaches_another_tenants_users(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    cmh: TenantUsers,
    customer_token: str,
    wall: dict[str, Any],
    cmh_manager_token: str,
) -> None:
    cmh_wall = await create_equipment(api, cmh_manager_token, name="Wall", code="W-1", quantity=2)
    cmh_customer = await api.token("cmh", cmh.customer.email)
    ours = await request(api, customer_token, wall, title="ESR party")
    theirs = await request(api, cmh_customer, cmh_wall, title="CMH party")
    await deliver(services)
    assert mailbox.recipients() == sorted(
        [esr.admin.email, esr.manager.email, cmh.admin.email, cmh.manager.email]
    )
    for users, tenant, title, other in ((esr, "ESR", "ESR party", "CMH"), (cmh, "CMH", "CMH party", "ESR")):
        for address in (users.admin.email, users.manager.email):
            [message] = mailbox.to(address)
            assert str(message["Subject"]).startswith(f"{tenant}:")
            text, html = text_and_html(message)
            assert title in text and title in html
            assert other not in text and other not in html

    mailbox.messages.clear()
    manager = await api.token("cmh", cmh.manager.email)
    assert (await step(api, manager, "confirmReservation", theirs["id"]))[
        "__typename"
    ] == "ReservationSuccess"
    assert ours["number"] == theirs["number"] == 1  # the same number in both tenants
    await deliver(services)
    assert mailbox.recipients() == [cmh.customer.email]


async def test_a_failed_delivery_backs_off_and_is_delivered_once_when_the_server_is_up(
    api: Api, services: Services, port: int, esr: TenantUsers, customer_token: str, wall: dict[str, Any]
) -> None:
    """The ``port`` fixture is free and nothing listens there until the server starts."""
    clock = Clock()
    await request(api, customer_token, wall)
    await deliver(services, clock)  # SMTP is down: both mails fail their first attempt
    async with services.database.session(None) as session:
        jobs = (await session.scalars(select(Job).where(col(Job.kind) == "mail"))).all()
        mails = (await session.scalars(select(OutboxEmail))).all()
    assert [job.status for job in jobs] == [JobStatus.QUEUED] * 2
    assert all(job.attempts == 1 and job.last_error and job.run_at > clock() for job in jobs)
    assert all(mail.sent_at is None and mail.attempts == 1 and mail.last_error for mail in mails)
    assert await deliver(services, clock) == 0  # backing off: not due yet

    mailbox = Mailbox()
    with smtp_server(mailbox, port):
        assert await deliver(services, clock) == 0
        clock.advance(timedelta(minutes=2))
        assert await deliver(services, clock) == 2
        clock.advance(timedelta(hours=2))
        assert await deliver(services, clock) == 0
    assert mailbox.recipients() == sorted([esr.admin.email, esr.manager.email])
    async with services.database.session(None) as session:
        jobs = (await session.scalars(select(Job).where(col(Job.kind) == "mail"))).all()
        mails = (await session.scalars(select(OutboxEmail))).all()
    assert [(job.status, job.attempts) for job in jobs] == [(JobStatus.DONE, 2)] * 2
    assert all(mail.sent_at is not None and mail.body == "" and mail.attempts == 2 for mail in mails)


async def _announce(
    services: Services, users: TenantUsers, table: str, target: uuid.UUID, event: str, **changes: Any
) -> None:
    """An audited change of a table another part of the product writes, announced as it announces it."""
    async with acting_as(services, users.admin).transaction() as session:
        record(
            session.sync_session,
            tenant_id=users.tenant.id,
            action=f"{table}.updated",
            target_type=table,
            target_id=target,
            changes={column: [None, value] for column, value in changes.items()},
            event=event,
        )


async def test_pickup_reminders_and_overdue_notices_mail_the_customer_and_staff(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    customer_token: str,
    manager_token: str,
    wall: dict[str, Any],
) -> None:
    booked = await request(api, customer_token, wall)
    await step(api, manager_token, "confirmReservation", booked["id"])
    await deliver(services)
    mailbox.messages.clear()
    reservation_id = _pk(booked["id"])

    await _announce(
        services,
        esr,
        "reservation",
        reservation_id,
        "reservation.pickup_reminder",
        pickup_reminded_at=at(-24),
    )
    await deliver(services)
    [reminder] = mailbox.messages
    assert reminder["To"] == esr.customer.email
    assert reminder["Subject"] == "ESR: your pickup is on Thu 1 May 2031, 10:00 (UTC)"
    assert "your pickup is on Thu 1 May 2031, 10:00 (UTC)" in text_and_html(reminder)[0]

    mailbox.messages.clear()
    await _announce(
        services, esr, "reservation", reservation_id, "reservation.overdue", overdue_notified_at=at(6)
    )
    await deliver(services)
    assert mailbox.recipients() == sorted([esr.admin.email, esr.manager.email, esr.customer.email])
    assert "Please return it" in text_and_html(mailbox.to(esr.customer.email)[0])[0]
    assert "is not returned yet" in text_and_html(mailbox.to(esr.manager.email)[0])[0]


@pytest.mark.usefixtures("cmh")
async def test_reports_and_disabled_webhooks_mail_the_tenants_admins(
    services: Services, mailbox: Mailbox, esr: TenantUsers
) -> None:
    await _announce(services, esr, "monthly_report", uuid.uuid4(), "report.created", month="2031-04")
    await _announce(
        services,
        esr,
        "webhook_endpoint",
        uuid.uuid4(),
        "webhook.disabled",
        url="https://hooks.example/rigbook",
    )
    await deliver(services)
    assert mailbox.recipients() == [esr.admin.email] * 2
    subjects = sorted(str(message["Subject"]) for message in mailbox.messages)
    assert subjects == ["ESR: a webhook was disabled", "ESR: the monthly report for April 2031 is ready"]
    webhook = next(message for message in mailbox.messages if "webhook" in str(message["Subject"]))
    text, html = text_and_html(webhook)
    assert "https://hooks.example/rigbook" in text and "https://hooks.example/rigbook" in html
    assert "turn them off" not in text  # essential: no way out is offered


async def test_a_disabled_webhook_mail_names_the_endpoint(
    services: Services, mailbox: Mailbox, esr: TenantUsers
) -> None:
    """Disabling writes only ``disabled_at``; the mail still says which endpoint it was."""
    endpoint = WebhookEndpoint(
        tenant_id=esr.tenant.id, url="https://hooks.example/erp", events=["*"], signing_secret="sealed"
    )
    async with services.database.transaction(esr.tenant.id) as session:
        session.add(endpoint)
    async with services.database.transaction(esr.tenant.id) as session:
        session.info[ACTOR_INFO_KEY] = system_actor(uuid.uuid4())
        row = await session.get(WebhookEndpoint, (esr.tenant.id, endpoint.id))
        assert row is not None
        row.disabled_at = utcnow()
    await deliver(services)
    [mail] = mailbox.to(esr.admin.email)
    text, html = text_and_html(mail)
    assert "https://hooks.example/erp" in text and "https://hooks.example/erp" in html


@pytest.mark.usefixtures("cmh")
async def test_a_burst_of_requests_mails_staff_a_bounded_number_of_times(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    customer_token: str,
    wall: dict[str, Any],
) -> None:
    """A customer cannot make the server mail every admin and manager once per request, without end."""
    from resolvers.notices import REQUEST_MAILS_PER_HOUR

    for number in range(REQUEST_MAILS_PER_HOUR + 5):
        await request(api, customer_token, wall, title=f"Request {number}")
    other = await make_user(services, esr.tenant, Role.CUSTOMER, "other@esr.example")
    theirs = await request(api, await api.token("esr", other.email), wall, title="Another customer's")
    await deliver(services)
    for staff in (esr.admin, esr.manager):
        subjects = [str(message["Subject"]) for message in mailbox.to(staff.email)]
        # The first ones of the burst, and the other customer's request: each customer has a budget.
        assert len(subjects) == REQUEST_MAILS_PER_HOUR + 1, subjects
        assert sum(f"#{theirs['number']} " in subject for subject in subjects) == 1
    # Every request is still there for staff to answer.
    async with services.database.session(esr.tenant.id) as session:
        requested = (
            await session.scalars(
                select(Reservation).where(col(Reservation.status) == ReservationStatus.REQUESTED)
            )
        ).all()
    assert len(requested) == REQUEST_MAILS_PER_HOUR + 6
