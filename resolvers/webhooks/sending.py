"""One attempt at one webhook: sign the body, POST it to the checked address, note the answer.

Signatures follow Standard Webhooks through its reference library
(``standardwebhooks``): ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">``, with the delivery's id (the same on every retry) and the
time of this attempt. The request goes to an address ``targets.resolve`` checked:
the URL names that address, while the ``Host`` header and TLS (SNI and the
certificate check) name the host, so a second DNS answer cannot redirect it. No
redirect is followed, no proxy from the environment is used, the whole attempt
has ten seconds (five to connect), and only a short prefix of the answer is read.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from standardwebhooks import Webhook

from resolvers.webhooks.targets import Target

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 10.0
PREFIX_CHARS = 256
READ_BYTES = 1024  # enough for 256 characters of UTF-8
ERROR_CHARS = 500
USER_AGENT = "Rigbook-Webhooks/1"


@dataclass(frozen=True)
class Attempt:
    """How one attempt went: the answer's status and first characters, or why there was none."""

    status_code: int | None = None
    duration_ms: int | None = None
    response_prefix: str | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @classmethod
    def refused(cls, reason: str) -> Attempt:
        """Not sent at all (the target is refused, or the secret does not open)."""
        return cls(error=_storable(reason))


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` sent at ``at`` (aware, UTC)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        # The prefix is read as sent: a compressed answer could inflate far past it.
        "accept-encoding": "identity",
    }


def _storable(text: str, limit: int = ERROR_CHARS) -> str:
    """Text any column can hold (no NUL), at most ``limit`` characters."""
    return text.replace("\x00", "\ufffd")[:limit]


async def _prefix(response: httpx.Response) -> str:
    collected = b""
    async for chunk in response.aiter_raw():
        collected += chunk
        if len(collected) >= READ_BYTES:
            break
    return _storable(collected[:READ_BYTES].decode("utf-8", errors="replace"), PREFIX_CHARS)


async def send(target: Target, addresses: list[str], headers: dict[str, str], body: bytes) -> Attempt:
    """POST ``body`` to ``target`` at the first of ``addresses`` that connects.

    Never raises for what the network or the peer does: every outcome is an ``Attempt``.
    """
    started = time.monotonic()
    request_headers = {**headers, "host": target.host_header}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    timeout = httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT)
    try:
        async with (
            asyncio.timeout(TOTAL_TIMEOUT),
            httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client,
        ):
            for index, address in enumerate(addresses):
                request = client.build_request(
                    "POST",
                    target.with_address(address),
                    content=body,
                    headers=request_headers,
                    extensions=extensions,
                )
                try:
                    response = await client.send(request, stream=True)
                except httpx.ConnectError:
                    if index == len(addresses) - 1:
                        raise
                    continue  # an address that does not answer (say, IPv6 without a route): the next one
                try:
                    prefix = await _prefix(response)
                finally:
                    await response.aclose()
                break
    except TimeoutError:
        return Attempt(duration_ms=_since(started), error=f"No answer within {TOTAL_TIMEOUT:g} seconds.")
    except (httpx.HTTPError, OSError) as error:
        reason = str(error) or type(error).__name__
        return Attempt(duration_ms=_since(started), error=_storable(f"{type(error).__name__}: {reason}"))
    code = response.status_code
    return Attempt(
        status_code=code,
        duration_ms=_since(started),
        response_prefix=prefix,
        error=None if 200 <= code < 300 else f"The endpoint answered HTTP {code}.",
    )


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
