"""``bench live``'s subscribers: graphql-transport-ws clients, in-process or in their own processes.

Each subscriber is one WebSocket (the ``websockets`` asyncio client) with one subscription.
It stamps every frame with ``time.monotonic()`` as it is read; on Linux that clock is the
same for every process, so the parent compares arrivals with the mutations' response times.
A subscription is live once the server has answered a query sent after it on the same
socket (the probe): the server reads a socket's messages in order.

Client processes (``child_main``) take commands over a pipe: after connecting they report
``ready``, then on ``collect`` wait until every subscriber has what it is entitled to (or
a deadline), report ``delivered``, wait a grace period for anything extra, close and send
back everything received.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from bench.live_stats import Key, Received, received_keys

PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION_ID = "live"
PROBE_ID = "probe"
PROBE = "query Probe { me { id } }"
CONNECT_CONCURRENCY = 50  # handshakes at once (uvicorn's backlog is larger; this keeps accepts steady)


@dataclass(frozen=True)
class SubscriberSpec:
    """Who subscribes to what."""

    index: int
    kind: str  # one of live_stats.KINDS
    principal: str  # the user's global id
    email: str
    token: str
    document: str
    variables: dict[str, Any]
    field: str  # the subscription's root field: reservationEvents, availabilityChanged
    equipment_id: str | None = None  # availabilityChanged: the item subscribed to


@dataclass
class Report:
    """How a subscriber's connection went; sent to the parent with what it received."""

    index: int
    local_port: int | None = None
    ready: bool = False
    failure: str | None = None  # why it is not subscribed (handshake, close code, error message)
    close_code: int | None = None  # set if the server closed it
    close_reason: str = ""
    extensions: str | None = None  # Sec-WebSocket-Extensions the server accepted
    messages: list[Received] = field(default_factory=list)


class Subscriber:
    """One socket with one subscription, read by its own task."""

    def __init__(self, spec: SubscriberSpec) -> None:
        self.spec = spec
        self.report = Report(spec.index)
        self.socket: ClientConnection | None = None
        self.pending: set[Key] = set()  # entitled events not received yet (set by `expect`)
        self.complete = asyncio.Event()
        self._probed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._closing = False  # closed by us: a close code then is not the server's doing

    async def open(self, url: str, seconds: float) -> None:
        """Connect, init, subscribe and probe in ``seconds``; a failure is recorded, not raised."""
        try:
            await asyncio.wait_for(self._open(url, seconds), seconds)
        except ConnectionClosed as error:
            # E.g. 1013 for a connection past a cap, 4403 for a refused token, right after the init.
            code, reason = (error.rcvd.code, error.rcvd.reason) if error.rcvd else (None, "")
            self.report.failure = self.report.failure or f"closed {code} {reason}".strip()
        except InvalidStatus as error:
            self.report.failure = f"HTTP {error.response.status_code}"
        except (OSError, InvalidHandshake, TimeoutError, ValueError) as error:
            self.report.failure = self.report.failure or f"{type(error).__name__}: {error}"[:300]
        if self.report.failure is None and self.report.close_code is not None:
            self.report.failure = f"closed {self.report.close_code} {self.report.close_reason}"
        self.report.ready = self.report.failure is None

    async def _open(self, url: str, seconds: float) -> None:
        socket = await connect(
            url,
            subprotocols=[PROTOCOL],
            open_timeout=seconds,
            ping_interval=None,  # graphql-transport-ws pings at its own level (answered below)
            close_timeout=5,
            max_size=2**22,
            max_queue=None,  # read everything: the reader task never falls behind on purpose
        )
        self.socket = socket
        self.report.local_port = socket.local_address[1]
        if socket.response is not None:
            self.report.extensions = socket.response.headers.get("Sec-WebSocket-Extensions")
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.spec.token}"}}
        await socket.send(orjson.dumps(init).decode())
        ack = orjson.loads(await socket.recv())
        if ack.get("type") != "connection_ack":
            self.report.failure = f"expected connection_ack, got {str(ack)[:200]}"
            return
        self._reader = asyncio.create_task(self._read(socket))
        subscribe = {
            "id": SUBSCRIPTION_ID,
            "type": "subscribe",
            "payload": {"query": self.spec.document, "variables": self.spec.variables},
        }
        await socket.send(orjson.dumps(subscribe).decode())
        probe = {"id": PROBE_ID, "type": "subscribe", "payload": {"query": PROBE}}
        await socket.send(orjson.dumps(probe).decode())
        await self._probed.wait()

    async def _read(self, socket: ClientConnection) -> None:
        try:
            async for frame in socket:
                arrival = time.monotonic()
                message = orjson.loads(frame)
                kind, operation = message.get("type"), message.get("id")
                if kind == "next" and operation == SUBSCRIPTION_ID:
                    self._received(arrival, message.get("payload") or {})
                elif kind == "ping":
                    await socket.send('{"type":"pong"}')
                elif operation == PROBE_ID and kind in {"complete", "error"}:
                    if kind == "error":
                        self.report.failure = f"probe refused: {str(message.get('payload'))[:200]}"
                    self._probed.set()
                elif kind == "error" and operation == SUBSCRIPTION_ID:
                    self.report.failure = f"subscription refused: {str(message.get('payload'))[:300]}"
                    self._probed.set()
                elif kind == "complete" and operation == SUBSCRIPTION_ID:
                    self.report.failure = self.report.failure or "subscription completed by the server"
        except ConnectionClosed:
            pass
        finally:
            if socket.close_code is not None and not self._closing:
                self.report.close_code = socket.close_code
                self.report.close_reason = socket.close_reason or ""
            self._probed.set()

    def _received(self, arrival: float, payload: dict[str, Any]) -> None:
        data = (payload.get("data") or {}).get(self.spec.field)
        if payload.get("errors") or not isinstance(data, dict):
            message = Received(arrival, None, None, errors=True)
        elif self.spec.field == "availabilityChanged":
            holders = tuple(row["id"] for row in data.get("reservations") or ())
            message = Received(arrival, None, None, holders=holders)
        else:
            reservation = data.get("reservation") or {}
            message = Received(arrival, data.get("type"), reservation.get("id"))
        self.report.messages.append(message)
        if self.pending:
            self.pending.difference_update(received_keys(self.spec.kind, message))
            if not self.pending:
                self.complete.set()

    def expect(self, keys: Iterable[Key]) -> None:
        """Watch for ``keys`` among what is received from now on (and what already was)."""
        self.pending = set(keys)
        for message in self.report.messages:
            self.pending.difference_update(received_keys(self.spec.kind, message))
        if not self.pending:
            self.complete.set()

    async def close(self) -> None:
        self._closing = True
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.socket.close(), 10)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader


class Pool:
    """Many subscribers in one event loop."""

    def __init__(self, specs: Iterable[SubscriberSpec]) -> None:
        self.subscribers = {spec.index: Subscriber(spec) for spec in specs}

    async def open(self, url: str, seconds: float) -> list[Report]:
        """Open every subscriber, each given ``seconds``."""
        slots = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(subscriber: Subscriber) -> None:
            async with slots:
                await subscriber.open(url, seconds)

        await asyncio.gather(*(one(subscriber) for subscriber in self.subscribers.values()))
        return [subscriber.report for subscriber in self.subscribers.values()]

    async def collect(self, expected: dict[int, list[Key]], seconds: float) -> tuple[float | None, int]:
        """Wait until every ready subscriber has received ``expected[index]``, at most ``seconds``.

        Returns when the last entitled event arrived (None when some never did) and how many
        subscribers still miss something.
        """
        waiting = []
        for index, subscriber in self.subscribers.items():
            if subscriber.report.ready:
                subscriber.expect(expected.get(index, ()))
                waiting.append(subscriber)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(subscriber.complete.wait() for subscriber in waiting)), seconds
            )
        short = sum(1 for subscriber in waiting if not subscriber.complete.is_set())
        if short:
            return None, short
        arrivals = [message.arrival for subscriber in waiting for message in subscriber.report.messages]
        return (max(arrivals) if arrivals else time.monotonic()), 0

    async def close(self) -> list[Report]:
        subscribers = list(self.subscribers.values())
        for start in range(0, len(subscribers), CONNECT_CONCURRENCY):
            await asyncio.gather(*(each.close() for each in subscribers[start : start + CONNECT_CONCURRENCY]))
        return [subscriber.report for subscriber in subscribers]


def child_main(pipe: Connection, url: str, specs: list[SubscriberSpec], timeout: float) -> None:
    """A client process: subscribers for ``specs``, driven by the parent's commands over ``pipe``."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_child(pipe, url, specs, timeout))


async def _command(pipe: Connection, seconds: float) -> Any:
    """The parent's next command, or ``("stop",)`` if none comes in ``seconds`` (the parent died)."""
    if await asyncio.to_thread(pipe.poll, seconds):
        return pipe.recv()
    return ("stop",)


async def _child(pipe: Connection, url: str, specs: list[SubscriberSpec], seconds: float) -> None:
    pool = Pool(specs)
    reports = await pool.open(url, seconds)
    pipe.send(("ready", os.getpid(), [_without_messages(report) for report in reports]))
    # Idle subscribers wait here while the parent measures memory; commands may be far apart.
    command = await _command(pipe, 4 * seconds + 600)
    if command[0] == "collect":
        _, expected, collect_timeout, grace = command
        last, short = await pool.collect(expected, collect_timeout)
        pipe.send(("delivered", last, short))
        await asyncio.sleep(grace)  # anything not entitled that is still on its way
    reports = await pool.close()
    pipe.send(("reports", reports))


def _without_messages(report: Report) -> Report:
    return Report(
        report.index,
        report.local_port,
        report.ready,
        report.failure,
        report.close_code,
        report.close_reason,
        report.extensions,
    )
