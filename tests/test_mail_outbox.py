"""The mail outbox keeps no secret readable at rest, and still delivers the right link.

A real SMTP server (aiosmtpd) listens on a loopback port; the outbox (and the job
queue) are read back with plain SQL, as a database dump would show them. Delivery
is the worker running the queued ``mail`` jobs.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import text, update
from sqlmodel import select

from app import create_app
from auth.sealing import seal
from auth.services import Services
from db.clock import utcnow
from db.database import Database
from db.migrate import alembic_config, upgrade
from db.tables import Job, JobStatus, OutboxEmail
from db.types import UtcDateTime
from resolvers.jobs.worker import Worker
from resolvers.mail import SEAL_PURPOSE
from settings import Settings
from tests.api import Api, TenantUsers
from tests.conftest import settings_for
from tests.databases import PostgresTemplate
from tests.mailbox import Mailbox, free_port, part, smtp_server

REQUEST = (
    "mutation($t: String!, $e: String!) { requestPasswordReset(input: {tenant: $t, email: $e}) { message } }"
)
RESET = """
mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, newPassword: $password}) { __typename ... on Error { code } }
}
"""
LINK = "https://app.example/reset?token={token}"
LINK_PATTERN = re.compile(r"https://app\.example/reset\?token=(\S+)")


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, str]]:
    mailbox = Mailbox()
    with smtp_server(mailbox, free_port()) as url:
        yield mailbox, url


def production(database_url: str, **overrides: Any) -> Settings:
    return settings_for(database_url, env="production", password_reset_url=LINK, **overrides)


@pytest.fixture
async def production_services(database_url: str) -> AsyncIterator[Services]:
    """Production without SMTP: reset mail can only wait in the outbox."""
    services = Services.create(production(database_url))
    yield services
    await services.database.dispose()


@pytest.fixture
async def production_api(production_services: Services) -> AsyncIterator[Api]:
    app = create_app(services=production_services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.20", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://rigbook.test") as client:
        yield Api(client)


async def _as_stored(services: Services, table: str = "outbox_email") -> list[dict[str, Any]]:
    """Every column of every row of ``table``, as plain SQL returns it."""
    async with services.database.session(None) as session:
        rows = (await session.execute(text(f"SELECT * FROM {table}"))).mappings().all()
    return [dict(row) for row in rows]


async def _outbox_as_stored(services: Services) -> list[dict[str, Any]]:
    return await _as_stored(services)


async def _sent(services: Services) -> int:
    return sum(row["sent_at"] is not None for row in await _outbox_as_stored(services))


async def _deliver(database_url: str, smtp_url: str) -> int:
    """One delivery run by a process that has SMTP configured; returns how many mails went out."""
    deliverer = Services.create(production(database_url, smtp_url=smtp_url))
    try:
        before = await _sent(deliverer)
        await Worker(deliverer, schedules=[]).run_due()
        return await _sent(deliverer) - before
    finally:
        await deliverer.database.dispose()


async def test_a_queued_reset_mail_shows_no_token_at_rest_and_still_delivers_the_link(
    database_url: str,
    production_api: Api,
    production_services: Services,
    esr: TenantUsers,
    smtp: tuple[Mailbox, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailbox, smtp_url = smtp
    await production_api.data(REQUEST, {"t": "esr", "e": esr.staff.email})
    [stored] = await _outbox_as_stored(production_services)
    assert stored["sent_at"] is None
    assert stored["to_address"] == esr.staff.email
    [job] = await _as_stored(production_services, "job")
    assert (job["kind"], job["status"]) == ("mail", "QUEUED")

    assert await _deliver(database_url, smtp_url) == 1
    [body] = mailbox.bodies()
    found = LINK_PATTERN.search(body)
    assert found is not None, body
    token = found.group(1)
    link = LINK.format(token=token)
    assert f'href="{link}"' in part(mailbox.messages[0], "html")
    secret = token.rsplit(".", 1)[1]
    dump = repr((stored, job))
    for revealing in (token, link, secret, "reset?token="):
        assert revealing not in dump
    assert all(token not in record.getMessage() for record in caplog.records)

    reset = await production_api.data(RESET, {"token": token, "password": "Fresh-Start-2031"})
    assert reset["resetPassword"] == {"__typename": "ResetPasswordSuccess"}
    [sent] = await _outbox_as_stored(production_services)
    assert sent["sent_at"] is not None
    assert sent["body"] == sent["html_body"] == ""
    [done] = [row for row in await _as_stored(production_services, "job") if row["kind"] == "mail"]
    assert done["status"] == "DONE"


async def test_reset_mail_that_outlives_its_token_is_discarded_unsent(
    database_url: str,
    production_api: Api,
    production_services: Services,
    esr: TenantUsers,
    smtp: tuple[Mailbox, str],
) -> None:
    mailbox, smtp_url = smtp
    await production_api.data(REQUEST, {"t": "esr", "e": esr.staff.email})
    async with production_services.database.transaction(None) as session:
        await session.execute(update(OutboxEmail).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert await _deliver(database_url, smtp_url) == 0
    assert mailbox.messages == []
    [stored] = await _outbox_as_stored(production_services)
    assert (stored["sent_at"], stored["body"], stored["html_body"]) == (None, "", "")
    assert await _deliver(database_url, smtp_url) == 0  # and not tried again
    assert mailbox.messages == []


async def test_production_without_smtp_discards_expired_mail_too(
    production_api: Api, production_services: Services, esr: TenantUsers
) -> None:
    await production_api.data(REQUEST, {"t": "esr", "e": esr.staff.email})
    async with production_services.database.transaction(None) as session:
        await session.execute(update(OutboxEmail).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert await Worker(production_services, schedules=[]).run_due() == 1
    [stored] = await _outbox_as_stored(production_services)
    assert (stored["sent_at"], stored["body"]) == (None, "")


async def test_production_without_smtp_keeps_mail_queued_until_a_deliverer_has_smtp(
    database_url: str,
    production_api: Api,
    production_services: Services,
    esr: TenantUsers,
    smtp: tuple[Mailbox, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing is logged or lost: the job backs off, and a process with SMTP sends the mail later."""
    mailbox, smtp_url = smtp
    await production_api.data(REQUEST, {"t": "esr", "e": esr.staff.email})
    caplog.clear()
    assert await Worker(production_services, schedules=[]).run_due() == 1
    [stored] = await _outbox_as_stored(production_services)
    assert stored["sent_at"] is None and stored["body"].startswith("sealed:")
    async with production_services.database.session(None) as session:
        [job] = (await session.scalars(select(Job))).all()
    assert job.status == JobStatus.QUEUED and "RIGBOOK_SMTP_URL" in (job.last_error or "")
    assert "token" not in caplog.text.lower()  # the body never reaches the log

    deliverer = Services.create(production(database_url, smtp_url=smtp_url))
    later = job.run_at + timedelta(seconds=1)
    try:
        assert await Worker(deliverer, clock=lambda: later, schedules=[]).run_due() == 1
    finally:
        await deliverer.database.dispose()
    assert len(mailbox.messages) == 1 and LINK_PATTERN.search(mailbox.bodies()[0])


async def test_a_body_sealed_for_one_row_does_not_open_in_another(
    database_url: str,
    production_api: Api,
    production_services: Services,
    esr: TenantUsers,
    smtp: tuple[Mailbox, str],
) -> None:
    """A body copied onto another row (say, one addressed to an attacker) is refused."""
    mailbox, smtp_url = smtp
    await production_api.data(REQUEST, {"t": "esr", "e": esr.staff.email})
    await production_api.data(REQUEST, {"t": "esr", "e": esr.manager.email})
    async with production_services.database.transaction(None) as session:
        await session.execute(
            text(
                "UPDATE outbox_email SET body = (SELECT body FROM outbox_email WHERE to_address = :staff) "
                "WHERE to_address = :manager"
            ),
            {"staff": esr.staff.email, "manager": esr.manager.email},
        )
    assert await _deliver(database_url, smtp_url) == 1
    assert [message["To"] for message in mailbox.messages] == [esr.staff.email]
    stored = {row["to_address"]: row for row in await _outbox_as_stored(production_services)}
    assert stored[esr.manager.email]["sent_at"] is None
    assert stored[esr.manager.email]["body"] == ""
    assert await _deliver(database_url, smtp_url) == 0  # not tried again
    assert len(mailbox.messages) == 1


async def test_a_queued_mail_redirected_to_another_address_is_not_sent(
    database_url: str,
    production_api: Api,
    production_services: Services,
    esr: TenantUsers,
    smtp: tuple[Mailbox, str],
) -> None:
    mailbox, smtp_url = smtp
    await production_api.data(REQUEST, {"t": "esr", "e": esr.staff.email})
    async with production_services.database.transaction(None) as session:
        await session.execute(update(OutboxEmail).values(to_address="attacker@evil.example"))
    assert await _deliver(database_url, smtp_url) == 0
    assert mailbox.messages == []


OUTBOX_AT_0006 = sa.table(
    "outbox_email",
    sa.column("id", sa.Uuid()),
    sa.column("to_address", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("body", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("created_at", UtcDateTime()),
)


async def test_upgrading_discards_bodies_queued_in_plain_text(
    database_url: str, tmp_path: Path, postgres_template: PostgresTemplate | None
) -> None:
    """Mail queued by an older version holds its token readable: the migration drops it."""
    if database_url.startswith("sqlite"):
        target, name = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", None
    else:
        assert postgres_template is not None
        _, target, name = await postgres_template.empty()
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(target), "0006")
        database = Database(target)
        async with database.engine.begin() as connection:
            await connection.execute(
                OUTBOX_AT_0006.insert().values(
                    id=uuid.uuid4(),
                    to_address="staff@esr.example",
                    subject="Reset",
                    body="Your reset token: a.b.secret",
                    attempts=0,
                    created_at=utcnow(),
                )
            )
        await upgrade(target)
        async with database.engine.connect() as connection:
            body = (await connection.execute(text("SELECT body FROM outbox_email"))).scalar_one()
        await database.dispose()
        assert body == ""
    finally:
        if name is not None:
            assert postgres_template is not None
            await postgres_template.drop(name)


async def test_upgrading_gives_mail_still_waiting_its_delivery_job(
    database_url: str, tmp_path: Path, postgres_template: PostgresTemplate | None, smtp: tuple[Mailbox, str]
) -> None:
    """Mail an older version queued (sealed, unsent) is delivered by the worker after the upgrade."""
    mailbox, smtp_url = smtp
    if database_url.startswith("sqlite"):
        target, name = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", None
    else:
        assert postgres_template is not None
        _, target, name = await postgres_template.empty()
    settings = production(target, smtp_url=smtp_url)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(target), "0010")
        message_id, to = uuid.uuid4(), "staff@esr.example"
        sealed = seal(
            settings.signing_key, SEAL_PURPOSE, "Your reset token: a.b.c", message_id.bytes + to.encode()
        )
        database = Database(target)
        async with database.engine.begin() as connection:
            await connection.execute(
                OUTBOX_AT_0006.insert().values(
                    id=message_id,
                    to_address=to,
                    subject="Reset",
                    body=sealed,
                    attempts=0,
                    created_at=utcnow(),
                )
            )
            await connection.execute(
                OUTBOX_AT_0006.insert().values(
                    id=uuid.uuid4(), to_address=to, subject="Gone", body="", attempts=1, created_at=utcnow()
                )
            )
        await database.dispose()
        await upgrade(target)
        services = Services.create(settings)
        try:
            assert await Worker(services, schedules=[]).run_due() == 1  # one job: the message still waiting
        finally:
            await services.database.dispose()
        assert [body.strip() for body in mailbox.bodies()] == ["Your reset token: a.b.c"]
    finally:
        if name is not None:
            assert postgres_template is not None
            await postgres_template.drop(name)
