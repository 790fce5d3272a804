"""The mail outbox: messages are queued in the caller's transaction, then delivered.

Delivery goes to SMTP when ``RIGBOOK_SMTP_URL`` is set; otherwise, in
development, the message is written to the log (so a developer can follow a
reset link), and in production it stays queued with a warning and is never logged.

A body may carry a one-time token, so it is sealed at rest (``auth/sealing.py``)
and bound to its row and recipient: a database dump shows no token, and a body
moved to another row, or a row redirected to another address, does not open. A
message past its ``expires_at`` is worthless (its token has expired): its body is
dropped unsent, whether or not mail can be delivered.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from auth.sealing import Unsealable, seal, unseal
from db.clock import utcnow
from db.database import Database
from db.tables import OutboxEmail
from settings import Settings

log = logging.getLogger("rigbook.mail")
BATCH = 50
MAX_ATTEMPTS = 5
SEAL_PURPOSE = "outbox body"


def _bound_to(message_id: uuid.UUID, to: str) -> bytes:
    return message_id.bytes + to.encode()


def enqueue(
    session: AsyncSession,
    settings: Settings,
    *,
    tenant_id: uuid.UUID | None,
    to: str,
    subject: str,
    body: str,
    expires_at: datetime | None = None,
) -> None:
    """Queue a message; ``expires_at`` for one that is worthless after (a token's expiry)."""
    message = OutboxEmail(tenant_id=tenant_id, to_address=to, subject=subject, expires_at=expires_at)
    message.body = seal(settings.signing_key, SEAL_PURPOSE, body, _bound_to(message.id, to))
    session.add(message)


def _open(settings: Settings, message: OutboxEmail) -> str:
    return unseal(settings.signing_key, SEAL_PURPOSE, message.body, _bound_to(message.id, message.to_address))


def _send_smtp(url: str, sender: str, message: OutboxEmail, body: str) -> None:
    parts = urlsplit(url)
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email.set_content(body)
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(parts.hostname or "localhost", parts.port or 465, timeout=20)
    else:
        client = smtplib.SMTP(parts.hostname or "localhost", parts.port or 587, timeout=20)
    with client:
        if parts.scheme == "smtp" and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(email)


async def deliver_pending(database: Database, settings: Settings) -> int:
    """Drop expired messages, then send queued ones; returns how many went out."""
    sent = 0
    async with database.transaction(None) as session:
        now = utcnow()
        await session.execute(
            update(OutboxEmail)
            .where(
                col(OutboxEmail.sent_at).is_(None),
                col(OutboxEmail.expires_at) <= now,
                col(OutboxEmail.body) != "",
            )
            .values(body="", last_error="expired before it could be sent")
        )
        if settings.smtp_url is None and settings.is_production:
            log.warning("mail is queued but RIGBOOK_SMTP_URL is not set")
            return 0
        statement = (
            select(OutboxEmail)
            .where(
                col(OutboxEmail.sent_at).is_(None),
                col(OutboxEmail.attempts) < MAX_ATTEMPTS,
                col(OutboxEmail.body) != "",
                or_(col(OutboxEmail.expires_at).is_(None), col(OutboxEmail.expires_at) > now),
            )
            .order_by(col(OutboxEmail.created_at))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        for message in (await session.scalars(statement)).all():
            message.attempts += 1
            try:
                body = _open(settings, message)
            except Unsealable:
                # Tampered with, or sealed under another RIGBOOK_JWT_SECRET: never sendable.
                message.body = ""
                message.last_error = "the body does not open: altered, or sealed with another secret"
                log.warning("mail %s to %s does not open and is dropped", message.id, message.to_address)
                continue
            try:
                if settings.smtp_url is not None:
                    await asyncio.to_thread(_send_smtp, settings.smtp_url, settings.mail_from, message, body)
                else:
                    log.info(
                        "mail (development, not sent) to %s: %s\n%s",
                        message.to_address,
                        message.subject,
                        body,
                    )
            except (OSError, smtplib.SMTPException) as error:
                message.last_error = str(error)[:500]
                log.warning("mail to %s failed (attempt %d): %s", message.to_address, message.attempts, error)
                continue
            message.sent_at = utcnow()
            message.body = ""  # the token is with the recipient now; keep no copy
            sent += 1
    return sent
