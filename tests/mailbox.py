"""A real SMTP server (aiosmtpd) on a loopback port, and what it received."""

from __future__ import annotations

import email
import email.message
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Mailbox:
    """What the SMTP server on loopback received."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def bodies(self) -> list[str]:
        """The text part of each message."""
        return [part(message, "plain") for message in self.messages]

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """The messages addressed to ``address``."""
        return [message for message in self.messages if message["To"] == address]

    def recipients(self) -> list[str]:
        return sorted(str(message["To"]) for message in self.messages)


def part(message: email.message.EmailMessage, subtype: str) -> str:
    """The ``text/<subtype>`` part of ``message``."""
    found = message.get_body(preferencelist=(subtype,))
    assert found is not None and found.get_content_subtype() == subtype, message
    return str(found.get_content())


def free_port() -> int:
    """A loopback port nothing listens on (aiosmtpd needs it up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def smtp_server(mailbox: Mailbox, port: int) -> Iterator[str]:
    """An SMTP server delivering into ``mailbox`` while the block runs; yields its ``smtp://`` URL."""
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()
