"""The mail outbox: a message is stored, and its ``mail`` job queued, in the caller's transaction.

A rollback takes both with it; a commit loses neither. The job
(``resolvers/mail_delivery.py``) sends exactly that message, and the queue owns
its retries, back-off and burial (``db/queue.py``).

A body may carry a one-time token or a share link, so it is sealed at rest
(``auth/sealing.py``), text and HTML part alike, and bound to its row and
recipient: a database dump shows no token, and a body moved to another row, or a
row redirected to another address, does not open. A message past its
``expires_at`` is worthless (its token has expired): its body is dropped unsent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.sealing import seal, unseal
from db import queue
from db.tables import Job, OutboxEmail
from settings import Settings

MAIL_JOB = "mail"
SEAL_PURPOSE = "outbox body"
HTML_SEAL_PURPOSE = "outbox html body"


@dataclass(frozen=True)
class Letter:
    """A rendered message: its subject, its text part and (empty: none) its HTML part."""

    subject: str
    text: str
    html: str = ""


def _bound_to(message_id: uuid.UUID, to: str) -> bytes:
    return message_id.bytes + to.encode()


def enqueue(
    session: AsyncSession,
    settings: Settings,
    *,
    tenant_id: uuid.UUID | None,
    to: str,
    letter: Letter,
    expires_at: datetime | None = None,
) -> OutboxEmail:
    """Store ``letter`` for ``to`` and queue its delivery, in ``session``'s transaction.

    ``expires_at`` for a message that is worthless after (a token's expiry).
    """
    message = OutboxEmail(
        tenant_id=tenant_id, to_address=to, subject=letter.subject[:200], expires_at=expires_at
    )
    bound = _bound_to(message.id, to)
    message.body = seal(settings.signing_key, SEAL_PURPOSE, letter.text, bound)
    if letter.html:
        message.html_body = seal(settings.signing_key, HTML_SEAL_PURPOSE, letter.html, bound)
    session.add(message)
    queue.add(session, Job(tenant_id=tenant_id, kind=MAIL_JOB, payload={"outbox_id": str(message.id)}))
    return message


def open_letter(settings: Settings, message: OutboxEmail) -> Letter:
    """The message's parts as sealed; ``Unsealable`` when either was altered, moved or redirected."""
    bound = _bound_to(message.id, message.to_address)
    text = unseal(settings.signing_key, SEAL_PURPOSE, message.body, bound)
    html = (
        unseal(settings.signing_key, HTML_SEAL_PURPOSE, message.html_body, bound) if message.html_body else ""
    )
    return Letter(message.subject, text, html)
