"""Live updates against hostile clients: refusals keep their codes, nothing leaks, nothing grows.

Each test serves the app with uvicorn on a loopback port of this process and talks
``graphql-transport-ws`` to it through real sockets; changes are made over HTTP
through the same services, so on SQLite they reach the served subscribers too.
Every wait is bounded: a server that never answers or never closes fails the test
that waited instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app import create_app
from auth.services import Services
from resolvers.global_ids import from_global_id, to_global_id
from settings import Settings
from tests.api import Api, TenantUsers
from tests.booking import UPDATE_RESERVATION, at, create_equipment, line, reserve
from tests.conftest import settings_for
from tests.designs import CREATE_DESIGN
from web.live_socket import LiveSocket
from web.server import uvicorn_options

pytestmark = pytest.mark.socket

PROTOCOL = Subprotocol("graphql-transport-ws")
WAIT = 10.0  # seconds: an upper bound on every wait for what must come, never a speed target
QUIET = 0.5  # seconds listened to conclude that nothing comes

Message = dict[str, Any]
RESERVATION_EVENTS = "subscription { reservationEvents { type reservation { id } } }"


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings of the served app; a test parametrizes ``overrides`` for its own."""
    return {}


@pytest.fixture
def settings(database_url: str, overrides: dict[str, Any]) -> Settings:
    return settings_for(database_url, **overrides)


class Closed(AssertionError):
    """The server closed the socket while a message was awaited."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"the socket closed ({code} {reason!r})")
        self.code = code
        self.reason = reason


class Client:
    """One graphql-transport-ws connection; server pings are answered and never returned."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: Message | str | bytes) -> None:
        await self.connection.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def ack(self, token: str) -> None:
        await self.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert await self.next() == {"type": "connection_ack"}

    async def subscribe(self, id: Any, query: str, variables: dict[str, Any] | None = None) -> None:
        await self.send({"type": "subscribe", "id": id, "payload": {"query": query, "variables": variables}})

    async def subscribed(self, id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        """``subscribe``, then a ping round trip: the server has taken the subscription."""
        await self.subscribe(id, query, variables)
        await self.send({"type": "ping"})
        assert await self.next() == {"type": "pong"}

    async def next(self, within: float = WAIT) -> Message:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                raw = await asyncio.wait_for(self.connection.recv(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                pytest.fail(f"nothing arrived within {within} s")
            except ConnectionClosed as error:
                raise Closed(*_close_of(error)) from None
            message: Message = json.loads(raw)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def within(self, seconds: float = QUIET) -> list[Message]:
        """Every message (but pings) that arrives within ``seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        messages: list[Message] = []
        while (left := deadline - loop.time()) > 0:
            try:
                raw = await asyncio.wait_for(self.connection.recv(), left)
            except TimeoutError:
                break
            except ConnectionClosed as error:
                raise Closed(*_close_of(error)) from None
            message: Message = json.loads(raw)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            messages.append(message)
        return messages

    async def closed(self, within: float = WAIT) -> tuple[int | None, str]:
        """The code and reason the server closes with (failing on any message before it)."""
        try:
            message = await self.next(within)
        except Closed as closed:
            return closed.code, closed.reason
        pytest.fail(f"expected the socket to close, got {message}")


def _close_of(error: ConnectionClosed) -> tuple[int | None, str]:
    return (error.rcvd.code, error.rcvd.reason) if error.rcvd is not None else (None, "")


@dataclass(frozen=True)
class Served:
    services: Services
    url: str  # of the WebSocket
    server: uvicorn.Server
    app: Starlette

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])

    def open_connections(self) -> int:
        """Connections the server holds, WebSockets included (what its connection limit counts)."""
        return len(self.server.server_state.connections)

    def live_connections(self) -> int:
        """Live connections the app counts against their users and tenants."""
        [endpoint] = [route.endpoint for route in self.app.routes if isinstance(route, WebSocketRoute)]
        assert isinstance(endpoint, LiveSocket)
        return len(endpoint.connections)

    @contextlib.asynccontextmanager
    async def socket(self, subprotocols: list[Subprotocol] | None = None) -> AsyncIterator[Client]:
        async with connect(
            self.url,
            subprotocols=[PROTOCOL] if subprotocols is None else subprotocols,
            proxy=None,
            open_timeout=WAIT,
            close_timeout=1,
            ping_interval=None,
            compression=None,
        ) as connection:
            yield Client(connection)

    @contextlib.asynccontextmanager
    async def acked(self, token: str) -> AsyncIterator[Client]:
        async with self.socket() as client:
            await client.ack(token)
            yield client


class _Server(uvicorn.Server):
    """uvicorn's server, leaving the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(services: Services) -> AsyncIterator[Served]:
    """The app with ``services`` as ``rigbook serve`` serves it (uvicorn options included)."""
    app = create_app(services=services)
    config = uvicorn.Config(
        app,
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
        yield Served(services, f"ws://127.0.0.1:{port}/graphql", server, app)
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), 10)
        except TimeoutError:
            server.force_exit = True
            await asyncio.wait_for(task, 5)
        await services.live.close()


@pytest.fixture
async def served(services: Services) -> AsyncIterator[Served]:
    async with serving(services) as served:
        yield served


# -- refusals after the ack keep the protocol's codes -------------------------------------------


@pytest.mark.parametrize(
    ("messages", "code"),
    [
        ([{"type": "connection_init", "payload": {}}], 4429),
        (["not json"], 4400),
        ([b"\x00binary"], 4400),
        ([{"type": "subscribe", "id": 7, "payload": {"query": RESERVATION_EVENTS}}], 4400),
        ([{"type": "subscribe", "id": "x" * 129, "payload": {"query": RESERVATION_EVENTS}}], 4400),
        ([{"type": "subscribe", "id": "a", "payload": "no"}], 4400),
        ([{"type": "nonsense"}], 4400),
        (
            [
                {"type": "subscribe", "id": "a", "payload": {"query": RESERVATION_EVENTS}},
                {"type": "subscribe", "id": "a", "payload": {"query": RESERVATION_EVENTS}},
            ],
            4409,
        ),
    ],
    ids=["second-init", "not-json", "binary", "number-id", "long-id", "bad-payload", "unknown", "same-id"],
)
async def test_a_refusal_after_the_ack_closes_with_its_own_code(
    served: Served, staff_token: str, messages: list[Message | str | bytes], code: int
) -> None:
    """Not 1000: a normal closure would tell a client that nothing went wrong."""
    async with served.acked(staff_token) as client:
        for message in messages:
            await client.send(message)
        closed_code, _reason = await client.closed()
        assert closed_code == code


# -- availability follows every item a change touches ----------------------------------------------

AVAILABILITY = """
subscription($ids: [ID!]!, $from: DateTime!, $to: DateTime!) {
  availabilityChanged(equipmentIds: $ids, from: $from, to: $to) { total held equipment { id } }
}
"""


async def test_moving_a_booking_to_other_equipment_tells_the_watchers_of_the_equipment_it_left(
    served: Served, api: Api, staff_token: str, wall: dict[str, Any], deck: dict[str, Any]
) -> None:
    """The lines a change replaced are gone when the notice is read: the item they freed changed too."""
    made = await reserve(api, staff_token, [line(wall, 2)])
    assert made["__typename"] == "CreateReservationSuccess", made
    reservation = made["reservation"]
    async with served.acked(staff_token) as client:
        await client.subscribed("walls", AVAILABILITY, {"ids": [wall["id"]], "from": at(0), "to": at(4)})
        moved = (
            await api.data(
                UPDATE_RESERVATION,
                {"input": {"id": reservation["id"], "lines": [line(deck, 2)]}},
                token=staff_token,
            )
        )["updateReservation"]
        assert moved["__typename"] == "ReservationSuccess", moved
        event = await client.next()
        assert event["id"] == "walls", event
        assert event["payload"]["data"]["availabilityChanged"]["held"] == 0
        # A change that leaves the walls as they were sends nothing.
        renamed = (
            await api.data(
                UPDATE_RESERVATION,
                {"input": {"id": reservation["id"], "title": "Gala II"}},
                token=staff_token,
            )
        )["updateReservation"]
        assert renamed["__typename"] == "ReservationSuccess", renamed
        assert await client.within() == []


# -- a peer that reads nothing does not keep its connection ------------------------------------------


def _masked_text_frame(payload: bytes) -> bytes:
    """One client-to-server text frame (RFC 6455: masked), for payloads under 64 KiB."""
    mask = b"\x01\x02\x03\x04"
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    if len(payload) < 126:
        return bytes([0x81, 0x80 | len(payload)]) + mask + masked
    return bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") + mask + masked


async def _upgraded_raw_socket(port: int) -> socket.socket:
    """A WebSocket opened by hand, its receive buffer as small as the kernel allows."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), WAIT)
    request = (
        "GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    answer = await asyncio.wait_for(loop.sock_recv(sock, 1024), WAIT)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


async def _trickle_until(sock: socket.socket, frames: Iterator[bytes], done: Callable[[], bool]) -> None:
    """Send one frame every few milliseconds until ``done()`` (bounded).

    One at a time, so that the server reads each message on its own and its sender gets its
    turn between them: what backs up then is what the client does not read.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    pending = b""
    while not done():
        assert loop.time() < deadline, "the server never gave up on a client that reads nothing"
        pending = pending or next(frames)
        with contextlib.suppress(BlockingIOError):
            pending = pending[sock.send(pending) :]
        await asyncio.sleep(0.005)


BIG_ANSWER = (
    "{ __schema { types { name description fields { name description args { name description } } } } }"
)


async def test_a_socket_that_never_reads_is_let_go_once_the_server_gives_up_on_it(
    served: Served, staff_token: str
) -> None:
    """Queries whose answers are never read: the server gives up on the client (1008) and cannot
    even send its close frame. The connection must still end: otherwise a client holds a
    descriptor, megabytes of buffers and a place under the server's connection limit for as long
    as it likes, one socket after another (its user's connection count is free again at once)."""
    sock = await _upgraded_raw_socket(served.port)
    try:
        loop = asyncio.get_running_loop()
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {staff_token}"}}
        await loop.sock_sendall(sock, _masked_text_frame(json.dumps(init).encode()))
        ack = await asyncio.wait_for(loop.sock_recv(sock, 64), WAIT)
        assert b"connection_ack" in ack, ack
        assert served.live_connections() == 1
        queries = (
            _masked_text_frame(
                json.dumps(
                    {"type": "subscribe", "id": f"q{index}", "payload": {"query": BIG_ANSWER}}
                ).encode()
            )
            for index in itertools.count()
        )
        await _trickle_until(sock, queries, lambda: served.live_connections() == 0)
        deadline = loop.time() + 40  # the close's own wait, and uvicorn's
        while served.open_connections():
            assert loop.time() < deadline, "the server still holds the connection of a peer that never reads"
            await asyncio.sleep(0.2)
    finally:
        sock.close()


# -- an ended grant: nothing more is sent, and the socket closes ---------------------------------------

LOGOUT = "mutation($t: String!) { logout(input: {refreshToken: $t}) { __typename } }"
DEACTIVATE_USER = "mutation($id: ID!) { deactivateUser(input: {id: $id}) { __typename } }"


@pytest.mark.parametrize("overrides", [{"ws_grant_check_interval": 30.0}])
@pytest.mark.parametrize("ending", ["logout", "deactivation"])
async def test_no_event_reaches_a_socket_whose_grant_ended_before_the_change(
    served: Served, api: Api, esr: TenantUsers, admin_token: str, wall: dict[str, Any], ending: str
) -> None:
    """The change committed after the grant ended: the fan-out, not only the periodic check
    (set far off here), sees that it ended, sends nothing and closes the socket."""
    signed_in = await api.login("esr", esr.staff.email)
    token = signed_in["accessToken"]
    async with served.acked(token) as client:
        await client.subscribed("mine", RESERVATION_EVENTS)
        if ending == "logout":
            ended = await api.data(LOGOUT, {"t": signed_in["refreshToken"]}, token=token)
        else:
            ended = await api.data(
                DEACTIVATE_USER, {"id": to_global_id("User", esr.staff.id)}, token=admin_token
            )
        assert "Error" not in str(ended), ended
        made = await reserve(api, admin_token, [line(wall, 1)])
        assert made["__typename"] == "CreateReservationSuccess", made
        code, _reason = await client.closed()
        assert code == 4403


# -- a subscription that could not start leaves nothing behind for the next ---------------------------


class Gate:
    """A TCP relay to PostgreSQL that holds each connection until it is opened."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.opened = asyncio.Event()
        self.server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            await asyncio.wait_for(self.opened.wait(), 30)
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except (TimeoutError, OSError):
            writer.close()
            return
        self._writers.append(upstream_writer)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def cut(self) -> None:
        """Drop every relayed connection; new ones wait until the gate is opened again."""
        self.opened.clear()
        writers, self._writers = self._writers, []
        for writer in writers:
            writer.transport.abort()

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(OSError):
                await asyncio.wait_for(writer.wait_closed(), WAIT)
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.mark.parametrize("overrides", [{"ws_grant_check_interval": 0.3}])
async def test_a_subscription_cut_off_while_its_tenant_is_being_followed_leaves_no_dead_fanout(
    postgres_only: None,
    served: Served,
    api: Api,
    esr: TenantUsers,
    manager_token: str,
    wall: dict[str, Any],
) -> None:
    """The first subscriber of a tenant waits for the listening connection; its socket is closed
    meanwhile (its session ended) and a second subscriber of the tenant waits behind it. The
    second must still hear of changes: it must not join a fan-out that was never started."""
    database = served.services.database
    gate = Gate(make_url(database.url).port or 5432)
    port = await gate.start()
    database.listen_url = make_url(database.url).set(port=port).render_as_string(hide_password=False)
    try:
        signed_in = await api.login("esr", esr.staff.email)
        first_token = signed_in["accessToken"]
        async with served.acked(first_token) as first, served.acked(manager_token) as second:
            await first.subscribe("first", RESERVATION_EVENTS)  # waits for the listening connection
            await second.subscribe("second", RESERVATION_EVENTS)  # waits behind the first
            await api.data(LOGOUT, {"t": signed_in["refreshToken"]}, token=first_token)
            code, _reason = await first.closed()
            assert code == 4403
            gate.opened.set()
            await second.send({"type": "ping"})
            assert await second.next() == {"type": "pong"}  # the second subscription has started
            made = await reserve(api, manager_token, [line(wall, 1)])
            assert made["__typename"] == "CreateReservationSuccess", made
            event = await second.next()
            assert event["id"] == "second" and event["type"] == "next", event
    finally:
        await served.services.live.close()
        await gate.close()


# -- the database away ---------------------------------------------------------------------------------


async def test_an_init_while_the_database_is_away_is_told_to_try_again_not_that_all_is_well(
    postgres_only: None, database_url: str, staff_token: str
) -> None:
    """HTTP answers 503 then; a socket closed with 1000 would tell the client nothing went wrong
    (and never to come back), one closed with 4403 that its session ended."""
    unreachable = make_url(database_url).set(port=_closed_port()).render_as_string(hide_password=False)
    services = Services.create(settings_for(unreachable))
    try:
        async with serving(services) as served, served.socket() as client:
            await client.send(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {staff_token}"}}
            )
            code, reason = await client.closed()
            assert code == 1013, (code, reason)
            assert "try again" in reason
    finally:
        await services.close()


def _closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_subscriptions_outlive_a_database_outage_and_are_told_to_read_again(
    postgres_only: None, database_url: str, api: Api, staff_token: str, wall: dict[str, Any]
) -> None:
    """Every connection to the database cut (the pool's and the listening one), a change made
    meanwhile, then the database back: the socket stays open, says REFETCH (and sends the
    watched item again), and hears the next change."""
    gate = Gate(make_url(database_url).port or 5432)
    gate.opened.set()
    port = await gate.start()
    through_gate = make_url(database_url).set(port=port).render_as_string(hide_password=False)
    services = Services.create(settings_for(through_gate, ws_grant_check_interval=0.5))
    try:
        async with serving(services) as served, served.acked(staff_token) as client:
            await client.subscribed("events", RESERVATION_EVENTS)
            await client.subscribed("walls", AVAILABILITY, {"ids": [wall["id"]], "from": at(0), "to": at(4)})
            await gate.cut()
            missed = await reserve(api, staff_token, [line(wall, 1)])  # through the fixtures' own pool
            assert missed["__typename"] == "CreateReservationSuccess", missed
            await asyncio.sleep(1.5)  # the grant checks fail meanwhile: no reason to close
            gate.opened.set()
            back = [await client.next(15), await client.next()]
            by_id = {message["id"]: message["payload"]["data"] for message in back}
            assert by_id["events"]["reservationEvents"] == {"type": "REFETCH", "reservation": None}
            assert by_id["walls"]["availabilityChanged"]["held"] == 1
            made = await reserve(api, staff_token, [line(wall, 2)])
            assert made["__typename"] == "CreateReservationSuccess", made
            heard = {
                message["id"]: message["payload"]["data"]
                for message in [await client.next(), await client.next()]
            }
            assert heard["events"]["reservationEvents"]["type"] == "CREATED"
            assert heard["walls"]["availabilityChanged"]["held"] == 3
    finally:
        await services.close()
        await gate.close()


# -- another's design: refused as one that does not exist ----------------------------------------------

DESIGN_EVENTS = "subscription($id: ID!) { designEvents(designId: $id) { type design { id name } } }"


async def test_design_events_of_a_design_one_may_not_see_are_refused_as_if_it_did_not_exist(
    served: Served,
    api: Api,
    manager_token: str,
    customer_token: str,
    cmh_staff_token: str,
    wall: dict[str, Any],
) -> None:
    made = (await api.data(CREATE_DESIGN, {"input": {"name": "Stage"}}, token=manager_token))["createDesign"]
    assert made["__typename"] == "DesignSuccess", made
    design_id = made["design"]["id"]
    reservation = (await reserve(api, manager_token, [line(wall, 1)]))["reservation"]
    decoded = from_global_id(reservation["id"])
    assert decoded is not None
    forged = to_global_id("Design", decoded[1])  # a Reservation's key, named a Design
    nowhere = to_global_id("Design", uuid.uuid4())
    refusals: list[Any] = []
    for token, wanted in [
        (customer_token, design_id),  # the manager's design
        (cmh_staff_token, design_id),  # another tenant's
        (customer_token, reservation["id"]),  # another type's id
        (customer_token, forged),
        (customer_token, nowhere),
    ]:
        async with served.acked(token) as client:
            await client.subscribe("d", DESIGN_EVENTS, {"id": wanted})
            refusal = await client.next()
            assert refusal["type"] == "error", refusal
            refusals.append([(error["message"], error["extensions"]) for error in refusal["payload"]])
    assert all(refusal == refusals[-1] for refusal in refusals), refusals
    assert refusals[-1] == [("No such design.", {"code": "NOT_FOUND"})]


# -- what waits for a client that does not read is bounded in bytes too --------------------------------

WIDE_EVENTS = "subscription { reservationEvents { reservation { lines { equipment { description } } } } }"


@pytest.mark.parametrize("overrides", [{"ws_send_buffer": 100_000}])
async def test_a_client_that_does_not_read_is_cut_off_by_the_bytes_waiting_not_only_their_count(
    served: Served, api: Api, staff_token: str, manager_token: str
) -> None:
    """A few big events (a booking of many lines, each naming a long description, once for
    each of a connection's subscriptions) are megabytes: counted in messages only, the
    server would hold hundreds of them for a client that never reads."""
    wide = await create_equipment(
        api, manager_token, name="Truss", code="TR-1", quantity=10_000, description="d" * 5000
    )
    sock = await _upgraded_raw_socket(served.port)
    try:
        loop = asyncio.get_running_loop()
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {staff_token}"}}
        await loop.sock_sendall(sock, _masked_text_frame(json.dumps(init).encode()))
        ack = await asyncio.wait_for(loop.sock_recv(sock, 64), WAIT)
        assert b"connection_ack" in ack, ack
        subscribes = [
            json.dumps({"type": "subscribe", "id": f"s{index}", "payload": {"query": WIDE_EVENTS}}).encode()
            for index in range(served.services.settings.ws_max_subscriptions)
        ]
        await loop.sock_sendall(sock, b"".join(map(_masked_text_frame, subscribes)))
        # Each booking is ~10 MB of events for this connection; 100 kept would be a gigabyte.
        for _ in range(10):
            made = await reserve(api, staff_token, [line(wide, 1)] * 100)
            assert made["__typename"] == "CreateReservationSuccess", made
            if served.live_connections() == 0:
                break
            await asyncio.sleep(0.5)  # the fan-out's turn
        assert served.live_connections() == 0, "the server kept what waited for a client that never reads"
    finally:
        sock.close()
