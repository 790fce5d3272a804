"""Pure-ASGI middleware: body size and time caps, request id, security headers, deadline."""

from __future__ import annotations

import asyncio
import contextvars
import os
import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT = 15.0
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class BodySizeLimit:
    """Read the whole body first: over ``max_bytes`` is 413, slower than ``timeout`` 408.

    Nothing parses a body before it is complete, and a client that trickles it
    holds its connection ``timeout`` seconds at most (headers: ``web/server.py``).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        timeout: float = BODY_TIMEOUT,
        streamed: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        # (method, path) of endpoints that read the body as a stream and cap it themselves
        # (uploads, ``web/files.py``); the request's deadline still bounds them.
        self.streamed = streamed

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = JSONResponse(
            {
                "errors": [
                    {
                        "message": f"Request body exceeds {self.max_bytes} bytes.",
                        "extensions": {"code": "PAYLOAD_TOO_LARGE", "limit": self.max_bytes},
                    }
                ]
            },
            status_code=413,
        )
        await refusal(scope, receive, send)

    async def _too_slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The rest of the body may still be on its way: the connection cannot be reused.
        refusal = JSONResponse(
            {
                "errors": [
                    {
                        "message": f"The request body did not arrive within {self.timeout:g} s.",
                        "extensions": {"code": "REQUEST_TIMEOUT"},
                    }
                ]
            },
            status_code=408,
            headers={"Connection": "close"},
        )
        await refusal(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) in self.streamed:
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        break
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await self._too_slow(scope, receive, send)
            return
        if size > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RequestId:
    """Take a sane ``X-Request-ID`` or make one; echo it and expose it to logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value
                break
        text = incoming.decode("latin-1")
        request_id = text if _REQUEST_ID.match(text) else os.urandom(16).hex()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        echoed = (b"x-request-id", request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    header for header in message.get("headers", ()) if header[0].lower() != b"x-request-id"
                ]
                headers.append(echoed)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class SecurityHeaders:
    """Headers every response carries; HTML (GraphiQL) gets a CSP that lets it load."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        defaults = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if hsts:
            defaults.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        self._defaults = defaults
        # Not for HTML: GraphiQL's page brings its own policy that lets it load.
        self._csp = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Raw header pairs: a response's own value of one of these wins.
                headers = list(message.get("headers", ()))
                present: dict[bytes, bytes] = {name.lower(): value for name, value in headers}
                headers.extend(header for header in self._defaults if header[0] not in present)
                html = present.get(b"content-type", b"").startswith(b"text/html")
                if not html and self._csp[0] not in present:
                    headers.append(self._csp)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Deadline:
    """Answer 503 when a request runs past ``seconds``; its work is cancelled.

    GraphQL responses are sent whole at the end, so a request still running at
    the deadline has sent nothing yet and can get a clean error instead.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        # In the request's own task: no task per request, as wait_for would make.
        deadline = asyncio.timeout(self.seconds)

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Answered in full: the clean-up after it (ending the read) is not cut short.
                deadline.reschedule(None)
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if started:
                raise
            timed_out = JSONResponse(
                {"errors": [{"message": "The request took too long.", "extensions": {"code": "TIMEOUT"}}]},
                status_code=503,
            )
            await timed_out(scope, receive, send)
