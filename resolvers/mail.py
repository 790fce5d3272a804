"""The mail outbox: messages are queued in the caller's transaction, then delivered.

Delivery goes to SMTP when ``RIGBOOK_SMTP_URL`` is set; otherwise, in
development, the message is written to the log (so a developer can follow a
reset link), and in production it stays queued with a warning.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.clock import utcnow
from db.database import Database
from db.tables import OutboxEmail
from settings import Settings

log = logging.getLogger("rigbook.mail")
BATCH = 50
MAX_ATTEMPTS = 5


def enqueue(session: AsyncSession, *, tenant_id: uuid.UUID | None, to: str, subject: str, body: str) -> None:
    session.add(OutboxEmail(tenant_id=tenant_id, to_address=to, subject=subject, body=body))


def _send_smtp(url: str, sender: str, message: OutboxEmail) -> None:
    parts = urlsplit(url)
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email.set_content(message.body)
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
    """Send queued messages; returns how many went out."""
    if settings.smtp_url is None and settings.is_production:
        log.warning("mail is queued but RIGBOOK_SMTP_URL is not set")
        return 0
    sent = 0
    async with database.transaction(None) as session:
        statement = (
            select(OutboxEmail)
            .where(col(OutboxEmail.sent_at).is_(None), col(OutboxEmail.attempts) < MAX_ATTEMPTS)
            .order_by(col(OutboxEmail.created_at))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        for message in (await session.scalars(statement)).all():
            message.attempts += 1
            try:
                if settings.smtp_url is not None:
                    await asyncio.to_thread(_send_smtp, settings.smtp_url, settings.mail_from, message)
                else:
                    log.info(
                        "mail (development, not sent) to %s: %s\n%s",
                        message.to_address,
                        message.subject,
                        message.body,
                    )
            except (OSError, smtplib.SMTPException) as error:
                message.last_error = str(error)[:500]
                log.warning("mail to %s failed (attempt %d): %s", message.to_address, message.attempts, error)
                continue
            message.sent_at = utcnow()
            message.body = ""  # the body may carry a one-time token; keep it no longer than needed
            sent += 1
    return sent
