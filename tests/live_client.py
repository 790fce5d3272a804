"""A small graphql-transport-ws client for the live-update tests, and the app on a real port.

The client speaks the protocol of https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md
over the ``websockets`` asyncio client. Every wait is bounded: a server that never
answers, or never closes, fails the test that waited instead of hanging it. The
server's keep-alive ``ping`` messages are answered with ``pong`` and never returned
as messages, so a test sees only what its operations caused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app import create_app
from auth.services import Services
from web.server import uvicorn_options

PROTOCOL = Subprotocol("graphql-transport-ws")
LEGACY_PROTOCOL = Subprotocol("graphql-ws")
# How long a test waits for what the server must send soon (an ack, an event, a close).
WAIT = 5.0
# How long a test listens to conclude that nothing is sent (kept short: every test pays it).
QUIET = 0.3

Message = dict[str, Any]


class Closed(AssertionError):
    """The server closed the socket while the test waited for a message."""

    def __init__(self, code: int | None, reason: str, doing: str) -> None:
        super().__init__(f"the socket closed ({code} {reason!r}) while {doing}")
        self.code = code
        self.reason = reason


def _close_of(error: ConnectionClosed) -> tuple[int | None, str]:
    """The code and reason the server sent (None when the connection just dropped)."""
    if error.rcvd is None:
        return None, ""
    return error.rcvd.code, error.rcvd.reason


class LiveClient:
    """One graphql-transport-ws connection, read message by message with bounded waits."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.pings = 0  # server pings answered

    @classmethod
    @contextlib.asynccontextmanager
    async def opened(
        cls,
        url: str,
        subprotocols: list[Subprotocol] | None = None,
        *,
        sock: socket.socket | None = None,
        max_queue: int | None = 16,
    ) -> AsyncIterator[LiveClient]:
        """The socket open (the HTTP upgrade done), nothing sent yet; closed at the end."""
        offered = [PROTOCOL] if subprotocols is None else subprotocols
        extra: dict[str, Any] = {} if sock is None else {"sock": sock}
        async with connect(
            url,
            subprotocols=offered,
            proxy=None,
            open_timeout=WAIT,
            close_timeout=1,
            # The protocol's own ping is what the server speaks; websocket-level pings are noise here.
            ping_interval=None,
            max_queue=max_queue,
            compression=None,
            **extra,
        ) as connection:
            yield cls(connection)

    async def send(self, message: Message | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        try:
            await self.connection.send(text)
        except ConnectionClosed as error:
            raise Closed(*_close_of(error), f"sending {text[:80]}") from None

    async def init(self, token: str | None, *, key: str = "Authorization") -> None:
        """``connection_init`` carrying ``token`` as a bearer token (no payload without one)."""
        message: Message = {"type": "connection_init"}
        if token is not None:
            message["payload"] = {key: f"Bearer {token}"}
        await self.send(message)

    async def acknowledged(self, token: str | None, *, key: str = "Authorization") -> Message:
        """``connection_init``, then the ``connection_ack`` (fails on anything else)."""
        await self.init(token, key=key)
        ack = await self.next_message(waiting_for="connection_ack")
        assert ack["type"] == "connection_ack", ack
        return ack

    async def subscribe(
        self,
        id: str,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> None:
        """Start an operation; ``subscribed`` also waits until the server has read it."""
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name is not None:
            payload["operationName"] = operation_name
        await self.send({"id": id, "type": "subscribe", "payload": payload})

    async def subscribed(self, id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        """``subscribe``, then a ping round trip: the server has read the subscription.

        The protocol has no acknowledgement of a subscription; the server reads a
        connection's messages in order, so its pong comes after it took the subscribe.
        Nothing else may arrive meanwhile (an ``error`` for the id fails here).
        """
        await self.subscribe(id, query, variables)
        await self.round_trip()

    async def round_trip(self) -> None:
        """A protocol ``ping`` answered by its ``pong``, with nothing else in between."""
        await self.send({"type": "ping"})
        pong = await self.next_message(waiting_for="pong")
        assert pong["type"] == "pong", pong

    async def complete(self, id: str) -> None:
        await self.send({"id": id, "type": "complete"})

    async def next_message(self, within: float = WAIT, *, waiting_for: str = "a message") -> Message:
        """The next message other than a server ping (which is answered); fails after ``within`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            left = deadline - loop.time()
            if left <= 0:
                pytest.fail(f"nothing arrived within {within} s while waiting for {waiting_for}")
            try:
                raw = await asyncio.wait_for(self.connection.recv(), left)
            except TimeoutError:
                pytest.fail(f"nothing arrived within {within} s while waiting for {waiting_for}")
            except ConnectionClosed as error:
                raise Closed(*_close_of(error), f"waiting for {waiting_for}") from None
            message: Message = json.loads(raw)
            if message.get("type") == "ping":
                self.pings += 1
                await self.send({"type": "pong"})
                continue
            return message

    async def next_event(self, id: str, within: float = WAIT) -> dict[str, Any]:
        """The ``data`` of the next ``next`` message, which must be for ``id`` and carry no errors."""
        message = await self.next_message(within, waiting_for=f"an event of {id!r}")
        assert message.get("id") == id and message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        assert "errors" not in payload, payload
        data: dict[str, Any] = payload["data"]
        return data

    async def events_until(
        self, id: str, done: Callable[[dict[str, Any]], bool], within: float = WAIT
    ) -> list[dict[str, Any]]:
        """Events of ``id`` up to and including the first that is ``done``; bounded as a whole."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        events: list[dict[str, Any]] = []
        while True:
            left = deadline - loop.time()
            if left <= 0:
                pytest.fail(f"no awaited event of {id!r} within {within} s; got {events}")
            events.append(await self.next_event(id, left))
            if done(events[-1]):
                return events

    async def messages_within(self, seconds: float) -> list[Message]:
        """Every message (but server pings) that arrives within ``seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        messages: list[Message] = []
        while (left := deadline - loop.time()) > 0:
            try:
                raw = await asyncio.wait_for(self.connection.recv(), left)
            except TimeoutError:
                break
            except ConnectionClosed as error:
                raise Closed(*_close_of(error), f"reading messages for {seconds} s") from None
            message: Message = json.loads(raw)
            if message.get("type") == "ping":
                self.pings += 1
                await self.send({"type": "pong"})
                continue
            messages.append(message)
        return messages

    async def expect_no_message(self, for_seconds: float = QUIET) -> None:
        """Fails if anything but a server ping arrives within ``for_seconds`` (or the socket closes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + for_seconds
        while (left := deadline - loop.time()) > 0:
            try:
                raw = await asyncio.wait_for(self.connection.recv(), left)
            except TimeoutError:
                return
            except ConnectionClosed as error:
                raise Closed(*_close_of(error), f"expecting {for_seconds} s of silence") from None
            message: Message = json.loads(raw)
            if message.get("type") == "ping":
                self.pings += 1
                await self.send({"type": "pong"})
                continue
            pytest.fail(f"expected no message for {for_seconds} s, got {message}")

    async def closed_with(self, within: float = WAIT, *, skipping: bool = False) -> tuple[int | None, str]:
        """The close code and reason the server ends the socket with, within ``within`` s.

        A message before the close fails the test, unless ``skipping`` (a backlog the
        server sent before giving up on a slow reader). The code is None when the
        connection dropped without a close frame.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        skipped = 0
        while True:
            left = deadline - loop.time()
            if left <= 0:
                pytest.fail(f"the socket was still open {within} s later ({skipped} messages read)")
            try:
                raw = await asyncio.wait_for(self.connection.recv(), left)
            except TimeoutError:
                pytest.fail(f"the socket was still open {within} s later ({skipped} messages read)")
            except ConnectionClosed as error:
                return _close_of(error)
            message: Message = json.loads(raw)
            if message.get("type") == "ping":
                self.pings += 1
                with contextlib.suppress(ConnectionClosed):
                    await self.send({"type": "pong"})
                continue
            if not skipping:
                pytest.fail(f"expected the socket to close, got {message}")
            skipped += 1

    async def refusal_codes(self, id: str, within: float = WAIT) -> list[str | None]:
        """The ``extensions.code`` of each error an ``error`` message for ``id`` carries."""
        message = await self.next_message(within, waiting_for=f"an error for {id!r}")
        assert message.get("id") == id and message["type"] == "error", message
        return [error.get("extensions", {}).get("code") for error in message["payload"]]


@contextlib.asynccontextmanager
async def live(url: str, token: str) -> AsyncIterator[LiveClient]:
    """A connection that ``token`` has been acknowledged on; closed at the end."""
    async with LiveClient.opened(url) as client:
        await client.acknowledged(token)
        yield client


@dataclass(frozen=True)
class LiveServer:
    """The app served by uvicorn on a loopback port of this process."""

    http: str  # base URL of HTTP requests
    ws: str  # URL of the GraphQL WebSocket


class _Server(uvicorn.Server):
    """uvicorn's server, leaving the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def live_server(services: Services) -> AsyncIterator[LiveServer]:
    """``create_app(services=services)`` served as ``rigbook serve`` serves it, on a free port.

    The lifespan runs (what the app starts with it starts); the job worker does not,
    since the app is given its services. At the end the server stops, waiting at most
    a few seconds for open connections.
    """
    config = uvicorn.Config(
        create_app(services=services),
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
        **uvicorn_options(services.settings),
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not server.started:
            assert not task.done(), "the server stopped while starting"
            assert loop.time() < deadline, "the server did not start within 20 s"
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield LiveServer(http=f"http://127.0.0.1:{port}", ws=f"ws://127.0.0.1:{port}/graphql")
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), 10)
        except TimeoutError:
            server.force_exit = True
            await asyncio.wait_for(task, 5)
