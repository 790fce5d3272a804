"""The ``mail`` job: sends the one outbox message it names, then clears its body.

Delivery goes to SMTP when ``RIGBOOK_SMTP_URL`` is set; otherwise, in
development, the message is written to the log (so a developer can follow a
reset link) and counts as sent, and in production it waits: the attempt fails with
a warning, the queue tries again after its back-off (and, after the last attempt,
keeps the job dead for ``rigbook jobs retry``), and the body is never logged.

A message past its ``expires_at``, or whose body no longer opens (altered, moved,
or sealed under another ``RIGBOOK_JWT_SECRET``), is dropped unsent and not tried
again. An SMTP failure is noted on the message and fails the attempt, so the
queue retries it. No transaction is held while the mail server is talked to.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import update
from sqlmodel import col

from auth.sealing import Unsealable
from db.queue import Backoff
from db.tables import OutboxEmail
from resolvers.jobs.registry import JobRun, handler
from resolvers.mail import MAIL_JOB, Letter, open_letter

log = logging.getLogger("rigbook.mail")
ERROR_KEPT = 500
SMTP_TIMEOUT = 20.0
# About six hours of attempts before the job is dead (kept, and retried by hand).
MAX_ATTEMPTS = 12
BACKOFF = Backoff(base=timedelta(seconds=30), cap=timedelta(hours=1))


class MailNotConfigured(Exception):
    """Production without ``RIGBOOK_SMTP_URL``: the message waits for a configured deliverer."""


@handler(MAIL_JOB, max_attempts=MAX_ATTEMPTS, backoff=BACKOFF)
async def deliver(run: JobRun) -> None:
    settings = run.services.settings
    message_id = uuid.UUID(run.job.payload["outbox_id"])
    async with run.services.database.session(None) as session:
        message = await session.get(OutboxEmail, message_id)
        if message is None or message.sent_at is not None or not message.body:
            return  # gone, sent or dropped already: nothing is left to do
        session.expunge(message)  # kept readable after the read transaction ends
    if message.expires_at is not None and message.expires_at <= run.now:
        await _drop(run, message_id, "expired before it could be sent")
        return
    if settings.smtp_url is None and settings.is_production:
        log.warning("mail is queued but RIGBOOK_SMTP_URL is not set")
        raise MailNotConfigured("RIGBOOK_SMTP_URL is not set; the mail waits")
    try:
        letter = open_letter(settings, message)
    except Unsealable:
        log.warning("mail %s to %s does not open and is dropped", message.id, message.to_address)
        await _drop(run, message_id, "the body does not open: altered, or sealed with another secret")
        return
    try:
        if settings.smtp_url is not None:
            await asyncio.to_thread(
                send_smtp, settings.smtp_url, settings.mail_from, message.to_address, letter
            )
        else:
            log.info(
                "mail (development, not sent) to %s: %s\n%s", message.to_address, letter.subject, letter.text
            )
    except (OSError, smtplib.SMTPException) as error:
        await _note_failure(run, message_id, str(error) or type(error).__name__)
        log.warning("mail to %s failed (attempt %d): %s", message.to_address, run.job.attempts, error)
        raise
    async with run.transaction(None) as session:
        # The token is with the recipient now: keep no copy.
        await session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == message_id)
            .values(sent_at=run.now, body="", html_body="", attempts=run.job.attempts, last_error=None)
        )


async def _drop(run: JobRun, message_id: uuid.UUID, reason: str) -> None:
    """Clear the body unsent, and end the job with it."""
    async with run.transaction(None) as session:
        await session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == message_id)
            .values(body="", html_body="", last_error=reason)
        )


async def _note_failure(run: JobRun, message_id: uuid.UUID, error: str) -> None:
    """Note a failed attempt on the message; the job itself is failed (and retried) by the worker."""
    async with run.transaction(None, completes=False) as session:
        await session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == message_id)
            .values(attempts=run.job.attempts, last_error=error[:ERROR_KEPT])
        )


def compose(sender: str, to: str, letter: Letter) -> EmailMessage:
    """The MIME message: the text part, and the HTML part as its alternative when there is one."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = to
    email["Subject"] = letter.subject
    email.set_content(letter.text)
    if letter.html:
        email.add_alternative(letter.html, subtype="html")
    return email


def send_smtp(url: str, sender: str, to: str, letter: Letter) -> None:
    parts = urlsplit(url)
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(parts.hostname or "localhost", parts.port or 465, timeout=SMTP_TIMEOUT)
    else:
        client = smtplib.SMTP(parts.hostname or "localhost", parts.port or 587, timeout=SMTP_TIMEOUT)
    with client:
        if parts.scheme == "smtp" and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(compose(sender, to, letter))
