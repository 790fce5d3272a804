"""Live updates between two ``rigbook serve`` processes sharing one PostgreSQL database.

Changes made through one process reach the subscribers of the other (through
LISTEN/NOTIFY), each re-read under the subscriber's rights; a deactivation through
one process closes the user's sockets on both within the grant-check interval; and
when the dedicated listener connections are cut, each process reconnects, its
subscribers are told to refetch, and later changes arrive again. The servers run in
production mode (nothing seeded): the tenants and users are written to the shared
database first, and everyone signs in over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from auth.services import Services
from db.tables import Role, User
from schema.node import to_global_id
from tests.api import Api, TenantUsers, make_tenant_with_users, make_user
from tests.booking import at, create_equipment, line, reserve
from tests.conftest import settings_for
from tests.databases import OWNER_ROLE, RUNTIME_ROLE, PostgresTemplate, owner_url, require_postgres
from tests.live_client import WAIT, live
from tests.test_worker_processes import Process, _free_port, rigbook

# Starting a server takes seconds: the two serve the whole module, each test with its own
# users and equipment (the deactivation's user is its own, the listener cut comes last).
pytestmark = [pytest.mark.socket, pytest.mark.asyncio(loop_scope="module")]

GRANT_CHECK = 1.0  # RIGBOOK_WS_GRANT_CHECK_INTERVAL of both servers
# How soon a change made through one process reaches a subscriber of the other.
DELIVERY = 1.0
# How long a process may take to notice a cut listener, reconnect and say so.
RECONNECT = 15.0
LISTENER = "rigbook live"
START = 90.0  # seconds a server may take to start (imports take seconds on a busy machine)

RESERVATION_EVENTS = """
subscription { reservationEvents { type reservation { id status customer { email } } } }
"""
AVAILABILITY = """
subscription($ids: [ID!]!, $from: DateTime!, $to: DateTime!) {
  availabilityChanged(equipmentIds: $ids, from: $from, to: $to) { total held available equipment { id } }
}
"""
DEACTIVATE_USER = """
mutation($id: ID!) { deactivateUser(input: {id: $id}) { __typename ... on UserSuccess { user { isActive } } } }
"""


@dataclass(frozen=True)
class Served:
    """One ``rigbook serve`` process and where it listens."""

    process: Process
    api: Api
    ws: str


@dataclass(frozen=True)
class Scene:
    a: Served
    b: Served
    esr: TenantUsers
    other_customer: User
    leaving: User  # the staff member the deactivation test deactivates
    cmh: TenantUsers
    database: str  # the shared database's name
    admin_url: str  # a superuser's URL on the same server


SERVER_SETTINGS = {
    "ws_grant_check_interval": str(GRANT_CHECK),
    # The users were hashed cheaply; the servers need not rehash them at sign-in.
    "password_hash_time_cost": "1",
    "password_hash_memory_kib": "1024",
    "password_hash_parallelism": "1",
}


async def _ready(process: Process, http: httpx.AsyncClient) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START
    while True:
        assert process.process.returncode is None, "\n".join(process.log)
        with contextlib.suppress(httpx.TransportError):
            if (await http.get("/health/live")).status_code == 200:
                return
        assert loop.time() < deadline, f"the server did not start within {START} s:\n" + "\n".join(
            process.log
        )
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def two_servers(database_url: str) -> AsyncIterator[tuple[Served, Served]]:
    """Two ``rigbook serve`` processes (one worker each) on free ports, started side by side.

    The first listens through ``RIGBOOK_LISTEN_DATABASE_URL`` (as the owner role, so
    that its listener is told apart); the second through its database URL.
    """
    listen_urls = [{"listen_database_url": owner_url(database_url)}, {}]
    async with contextlib.AsyncExitStack() as stack:
        served = []
        for listen_url in listen_urls:
            port = _free_port()
            command = ("serve", "--port", str(port), "--workers", "1")
            process = await stack.enter_async_context(
                rigbook(database_url, *command, **SERVER_SETTINGS, **listen_url)
            )
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2 * WAIT)
            )
            served.append(Served(process, Api(http), f"ws://127.0.0.1:{port}/graphql"))
        await asyncio.gather(*(_ready(server.process, server.api.client) for server in served))
        yield served[0], served[1]
        for server in served:
            log = server.process.log
            assert not [text for text in log if "Traceback" in text], "\n".join(log)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(postgres_template: PostgresTemplate | None) -> AsyncIterator[Scene]:
    admin_url = require_postgres("live updates between processes (LISTEN/NOTIFY)")
    assert postgres_template is not None
    url, name = await postgres_template.fresh()
    try:
        services = Services.create(settings_for(url))
        try:
            esr = await make_tenant_with_users(services, "esr")
            other = await make_user(services, esr.tenant, Role.CUSTOMER, "other-customer@esr.example")
            leaving = await make_user(services, esr.tenant, Role.STAFF, "leaving@esr.example")
            cmh = await make_tenant_with_users(services, "cmh")
        finally:
            await services.close()
        async with two_servers(url) as (a, b):
            yield Scene(a, b, esr, other, leaving, cmh, name, admin_url)
    finally:
        await postgres_template.drop(name)


async def _listeners(scene: Scene) -> list[str]:
    """The roles of the shared database's live-update listener connections."""
    connection = await asyncpg.connect(_asyncpg_dsn(scene.admin_url), timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT usename FROM pg_stat_activity WHERE application_name = $1 AND datname = $2",
            LISTENER,
            scene.database,
        )
        return sorted(row["usename"] for row in rows)
    finally:
        await connection.close()


async def _cut_listeners(scene: Scene) -> int:
    """Terminates the shared database's listener connections (only this test's)."""
    connection = await asyncpg.connect(_asyncpg_dsn(scene.admin_url), timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = $2",
            LISTENER,
            scene.database,
        )
        return sum(1 for row in rows if row["cut"])
    finally:
        await connection.close()


async def _booked(api: Api, token: str, lines: list[dict[str, Any]], *window: float) -> dict[str, Any]:
    result = await reserve(api, token, lines, *window)
    assert result["__typename"] == "CreateReservationSuccess", result
    reservation: dict[str, Any] = result["reservation"]
    return reservation


async def test_changes_through_one_process_reach_the_other_under_each_subscribers_rights(
    scene: Scene,
) -> None:
    a, b, esr = scene.a, scene.b, scene.esr
    manager = await b.api.token("esr", esr.manager.email)
    wall = await create_equipment(b.api, manager, name="LED wall", code="LED-1", quantity=6)
    cmh_manager = await b.api.token("cmh", scene.cmh.manager.email)
    screen = await create_equipment(b.api, cmh_manager, name="Screen", code="SCR-1", quantity=2)
    tokens = {
        "staff": await a.api.token("esr", esr.staff.email),
        "customer": await a.api.token("esr", esr.customer.email),
        "cmh": await a.api.token("cmh", scene.cmh.staff.email),
    }
    other_customer = await b.api.token("esr", scene.other_customer.email)
    customer_through_b = await b.api.token("esr", esr.customer.email)
    cmh_staff_through_b = await b.api.token("cmh", scene.cmh.staff.email)

    async with (
        live(a.ws, tokens["staff"]) as staff,
        live(a.ws, tokens["customer"]) as customer,
        live(a.ws, tokens["cmh"]) as cmh,
    ):
        for subscriber in (staff, customer, cmh):
            await subscriber.subscribed("r", RESERVATION_EVENTS)

        # Another customer's request: staff see it, the customer does not.
        theirs = await _booked(b.api, other_customer, [line(wall)])
        event = (await staff.next_event("r", DELIVERY))["reservationEvents"]
        assert event == {
            "type": "CREATED",
            "reservation": {
                "id": theirs["id"],
                "status": "REQUESTED",
                "customer": {"email": scene.other_customer.email},
            },
        }

        # The customer's own request: both see it, and it is the customer's first event.
        own = await _booked(b.api, customer_through_b, [line(wall, 2)])
        expected = {
            "type": "CREATED",
            "reservation": {
                "id": own["id"],
                "status": "REQUESTED",
                "customer": {"email": esr.customer.email},
            },
        }
        assert (await staff.next_event("r", DELIVERY))["reservationEvents"] == expected
        assert (await customer.next_event("r", DELIVERY))["reservationEvents"] == expected

        # cmh's own booking is the first thing cmh's subscriber gets: nothing of esr's came.
        cmh_booking = await _booked(b.api, cmh_staff_through_b, [line(screen)])
        event = (await cmh.next_event("r", DELIVERY))["reservationEvents"]
        assert (event["type"], event["reservation"]["id"]) == ("CREATED", cmh_booking["id"])
        for subscriber in (staff, customer, cmh):
            await subscriber.expect_no_message()


async def test_a_deactivation_through_one_process_closes_the_users_sockets_on_both(scene: Scene) -> None:
    a, b, esr = scene.a, scene.b, scene.esr
    admin = await b.api.token("esr", esr.admin.email)
    staff_token = await a.api.token("esr", scene.leaving.email)
    customer_token = await a.api.token("esr", esr.customer.email)
    async with (
        live(a.ws, staff_token) as on_a,
        live(b.ws, staff_token) as on_b,
        live(a.ws, customer_token) as bystander,
    ):
        for client in (on_a, on_b, bystander):
            await client.subscribed("r", RESERVATION_EVENTS)
        deactivated = await b.api.data(
            DEACTIVATE_USER, {"id": to_global_id("User", scene.leaving.id)}, token=admin
        )
        assert deactivated["deactivateUser"]["user"] == {"isActive": False}
        closes = await asyncio.gather(
            on_a.closed_with(within=GRANT_CHECK + WAIT), on_b.closed_with(within=GRANT_CHECK + WAIT)
        )
        assert [code for code, _ in closes] == [4403, 4403]
        await bystander.round_trip()


async def test_a_cut_listener_reconnects_and_subscribers_are_told_to_refetch(scene: Scene) -> None:
    a, b, esr = scene.a, scene.b, scene.esr
    manager = await b.api.token("esr", esr.manager.email)
    wall = await create_equipment(b.api, manager, name="LED wall", code="LED-2", quantity=6)
    staff_token = await a.api.token("esr", esr.staff.email)
    window = {"ids": [wall["id"]], "from": at(0), "to": at(4)}
    async with live(a.ws, staff_token) as on_a, live(b.ws, staff_token) as on_b:
        for client in (on_a, on_b):
            await client.subscribed("r", RESERVATION_EVENTS)
            await client.subscribed("a", AVAILABILITY, window)
        # Each process holds one listener connection, named for what it is; the first's
        # connects where RIGBOOK_LISTEN_DATABASE_URL says.
        assert await _listeners(scene) == sorted([OWNER_ROLE, RUNTIME_ROLE])
        assert await _cut_listeners(scene) == 2

        counts = {"total": 6, "held": 0, "available": 6, "equipment": {"id": wall["id"]}}
        for client in (on_a, on_b):
            arrived: dict[str, dict[str, Any]] = {}
            for _ in range(2):
                message = await client.next_message(RECONNECT, waiting_for="REFETCH after the cut")
                assert message["type"] == "next", message
                arrived[message["id"]] = message["payload"]["data"]
            assert arrived == {
                "r": {"reservationEvents": {"type": "REFETCH", "reservation": None}},
                "a": {"availabilityChanged": counts},
            }
        assert await _listeners(scene) == sorted([OWNER_ROLE, RUNTIME_ROLE])

        # Changes arrive again, across the processes both ways.
        through_b = await _booked(b.api, staff_token, [line(wall, 2)])
        through_a = await _booked(a.api, staff_token, [line(wall, 1)], 1, 2)
        for client in (on_a, on_b):
            seen: list[tuple[str, Any]] = []
            for _ in range(4):
                message = await client.next_message(WAIT, waiting_for="the bookings after the reconnect")
                data = message["payload"]["data"]
                if message["id"] == "r":
                    seen.append(("r", data["reservationEvents"]["reservation"]["id"]))
                else:
                    seen.append(("a", data["availabilityChanged"]["held"]))
            assert [item for item in seen if item[0] == "r"] == [
                ("r", through_b["id"]),
                ("r", through_a["id"]),
            ]
            assert [item for item in seen if item[0] == "a"] == [("a", 2), ("a", 3)]
            await client.expect_no_message()
