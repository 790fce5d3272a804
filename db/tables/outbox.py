"""The mail outbox: messages written in the transaction that caused them, delivered by a ``mail`` job."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from db.tables.base import created_at_field, id_field, timestamp_field


class OutboxEmail(SQLModel, table=True):
    """A message waiting to be mailed, written in the transaction that caused it.

    A platform-level store (not tenant-scoped): one ``mail`` job per message, queued
    with it, delivers it (``resolvers/mail_delivery.py``). The body is sealed (``resolvers/mail.py``): it may carry a one-time token, and a
    dump of this table must not reveal it. It is cleared once the message is handed
    to the mail server, or once ``expires_at`` passes unsent (its token is dead then).
    """

    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_email_pending", "sent_at", "created_at"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenant.id", ondelete="CASCADE")
    to_address: str = Field(max_length=254, nullable=False)
    subject: str = Field(max_length=200, nullable=False)
    body: str = Field(default="", nullable=False)
    # The HTML alternative, sealed like ``body``; empty for text-only mail.
    html_body: str = Field(default="", nullable=False, sa_column_kwargs={"server_default": ""})
    attempts: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = timestamp_field()
    expires_at: datetime | None = timestamp_field()
