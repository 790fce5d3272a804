"""Live updates over graphql-transport-ws, against the app served on a real loopback port.

Each test runs the app in this process under uvicorn, on both databases, and makes
its changes over HTTP to the same server. Subscribers see what committed and
nothing else: their own tenant's changes, re-read under their own rights (a customer
gets only their own reservations, and availability without holders), nothing of a
refused change. The protocol's close codes, the limits per connection, user and
tenant, the documents' limits and the end of a grant (an expiring token, a sign-out,
a deactivation, a changed password) are each checked on the socket.

An absence is asserted only where something would have arrived by then: a change
that must send nothing is followed by one that must, and the latter has to be the
next message.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

import web.server
from auth.services import Services
from db.clock import utcnow
from db.tables import Role, User
from schema.node import to_global_id
from schema.pipeline import Subscribed
from settings import Settings
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers, error_codes, make_user
from tests.booking import at, create_equipment, line, reserve, step
from tests.clients import Calls
from tests.conftest import settings_for
from tests.designs import create_design, item, save_version
from tests.equipment import add_units, update
from tests.live_client import LEGACY_PROTOCOL, QUIET, WAIT, LiveClient, LiveServer, live, live_server

# Seconds between the server's checks that each socket's session is still live.
GRANT_CHECK = 0.5

RESERVATION_EVENTS = """
subscription($filter: ReservationEventFilter) {
  reservationEvents(filter: $filter) {
    type occurredAt reservation { id number status customer { email } }
  }
}
"""
AVAILABILITY = """
subscription($ids: [ID!]!, $from: DateTime!, $to: DateTime!) {
  availabilityChanged(equipmentIds: $ids, from: $from, to: $to) {
    total held available equipment { id } reservations { number }
  }
}
"""
EQUIPMENT_EVENTS = """
subscription($filter: EquipmentEventFilter) {
  equipmentEvents(filter: $filter) { type occurredAt equipment { id name } }
}
"""
DESIGN_EVENTS = """
subscription($id: ID!) {
  designEvents(designId: $id) { type occurredAt design { id name currentVersion { number } } }
}
"""
ME = "query { me { email } }"
LOGOUT = "mutation($t: String!) { logout(input: {refreshToken: $t}) { __typename } }"
LOGOUT_ALL = "mutation { logoutAll { revokedSessions } }"
CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) { __typename }
}
"""
DEACTIVATE_USER = """
mutation($id: ID!) { deactivateUser(input: {id: $id}) { __typename ... on UserSuccess { user { isActive } } } }
"""


@pytest.fixture
def live_settings() -> dict[str, Any]:
    """Settings of the server beyond the suite's; a test parametrizes this to change them."""
    return {}


@pytest.fixture
def settings(database_url: str, live_settings: dict[str, Any]) -> Settings:
    return settings_for(database_url, **{"ws_grant_check_interval": GRANT_CHECK, **live_settings})


@pytest.fixture
async def server(services: Services) -> AsyncIterator[LiveServer]:
    async with live_server(services) as running:
        yield running


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP to the same server over its socket (so ``api`` and the token fixtures use it too)."""
    async with httpx.AsyncClient(base_url=server.http, timeout=2 * WAIT) as http:
        yield http


@pytest.fixture
def url(server: LiveServer) -> str:
    return server.ws


def for_customer(user: User) -> dict[str, Any]:
    return {"customerId": to_global_id("User", user.id)}


def instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, value
    return moment


async def booked(api: Api, token: str, lines: list[dict[str, Any]], *window: float, **extra: Any) -> Any:
    """A reservation that must be made (returns it)."""
    result = await reserve(api, token, lines, *window, **extra)
    assert result["__typename"] == "CreateReservationSuccess", result
    return result["reservation"]


def reservation_event(data: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = data["reservationEvents"]
    return event


def summary(reservation: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    """What ``RESERVATION_EVENTS`` selects of ``reservation``."""
    return {
        "id": reservation["id"],
        "number": reservation["number"],
        "status": status or reservation["status"],
        "customer": reservation["customer"],
    }


# What subscribers see.


async def test_staff_see_a_request_created_then_confirmed(
    api: Api, url: str, staff_token: str, customer_token: str, wall: dict[str, Any], esr: TenantUsers
) -> None:
    async with live(url, staff_token) as staff:
        await staff.subscribed("r", RESERVATION_EVENTS)
        request = await booked(api, customer_token, [line(wall, 2)])
        created = reservation_event(await staff.next_event("r"))
        assert created["type"] == "CREATED"
        assert created["reservation"] == summary(request, "REQUESTED")
        assert created["reservation"]["customer"] == {"email": esr.customer.email}

        confirmation = await step(api, staff_token, "confirmReservation", request["id"])
        assert confirmation["__typename"] == "ReservationSuccess", confirmation
        confirmed = reservation_event(await staff.next_event("r"))
        assert confirmed["type"] == "CONFIRMED"
        assert confirmed["reservation"] == summary(request, "CONFIRMED")
        assert instant(confirmed["occurredAt"]) >= instant(created["occurredAt"])
        await staff.expect_no_message()


async def test_a_customer_gets_only_their_own_reservations_events(
    api: Api,
    services: Services,
    url: str,
    customer_token: str,
    staff_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
) -> None:
    other = await make_user(services, esr.tenant, Role.CUSTOMER, "other-customer@esr.example")
    other_token = await api.token("esr", other.email)
    async with live(url, customer_token) as customer:
        await customer.subscribed("r", RESERVATION_EVENTS)
        theirs = await booked(api, other_token, [line(wall)])
        await customer.expect_no_message()
        assert (await step(api, staff_token, "confirmReservation", theirs["id"]))[
            "__typename"
        ] == "ReservationSuccess"
        staff_booked = await booked(api, staff_token, [line(wall)], **for_customer(esr.customer))
        # Nothing of the other customer's came before (not even an empty event).
        event = reservation_event(await customer.next_event("r"))
        assert event == {
            "type": "CREATED",
            "occurredAt": event["occurredAt"],
            "reservation": summary(staff_booked, "CONFIRMED"),
        }
        own = await booked(api, customer_token, [line(wall)])
        event = reservation_event(await customer.next_event("r"))
        assert (event["type"], event["reservation"]) == ("CREATED", summary(own, "REQUESTED"))
        await customer.expect_no_message()


async def test_another_tenants_subscriber_gets_nothing(
    api: Api,
    url: str,
    cmh_staff_token: str,
    cmh_manager_token: str,
    staff_token: str,
    manager_token: str,
    wall: dict[str, Any],
) -> None:
    async with live(url, cmh_staff_token) as cmh:
        await cmh.subscribed("r", RESERVATION_EVENTS)
        await cmh.subscribed("e", EQUIPMENT_EVENTS)
        esr_booking = await booked(api, staff_token, [line(wall)])
        canceled = await step(api, staff_token, "cancelReservation", esr_booking["id"])
        assert canceled["__typename"] == "ReservationSuccess", canceled
        assert (await update(api, manager_token, wall, name="Renamed wall"))[
            "__typename"
        ] == "EquipmentSuccess"
        await create_equipment(api, manager_token, name="Truss", code="TRUSS-1", quantity=4)
        await cmh.expect_no_message()
        # The same kinds of change in cmh's own tenant do arrive.
        screen = await create_equipment(api, cmh_manager_token, name="Screen", code="SCR-1", quantity=2)
        event = await cmh.next_event("e")
        assert event["equipmentEvents"]["type"] == "CREATED"
        assert event["equipmentEvents"]["equipment"] == {"id": screen["id"], "name": "Screen"}
        cmh_booking = await booked(api, cmh_staff_token, [line(screen)])
        assert reservation_event(await cmh.next_event("r"))["reservation"]["id"] == cmh_booking["id"]
        await cmh.expect_no_message()


async def test_reservation_filters_by_status_equipment_and_customer(
    api: Api,
    url: str,
    staff_token: str,
    customer_token: str,
    wall: dict[str, Any],
    deck: dict[str, Any],
    esr: TenantUsers,
) -> None:
    customer_id = to_global_id("User", esr.customer.id)
    async with live(url, staff_token) as staff:
        await staff.subscribed("confirmed", RESERVATION_EVENTS, {"filter": {"statuses": ["CONFIRMED"]}})
        await staff.subscribed("decks", RESERVATION_EVENTS, {"filter": {"equipmentIds": [deck["id"]]}})
        await staff.subscribed("customer", RESERVATION_EVENTS, {"filter": {"customerId": customer_id}})

        # A staff member's own booking of walls: confirmed, so only "confirmed" gets it.
        own = await booked(api, staff_token, [line(wall)])
        event = reservation_event(await staff.next_event("confirmed"))
        assert (event["type"], event["reservation"]["id"]) == ("CREATED", own["id"])
        await staff.expect_no_message()

        # The customer's request of walls: requested, so only "customer" gets it.
        request = await booked(api, customer_token, [line(wall)])
        event = reservation_event(await staff.next_event("customer"))
        assert (event["type"], event["reservation"]["status"]) == ("CREATED", "REQUESTED")
        await staff.expect_no_message()

        # Staff book decks for the customer: all three.
        decks = await booked(api, staff_token, [line(deck, 2)], **for_customer(esr.customer))
        arrived = {}
        for _ in range(3):
            message = await staff.next_message(waiting_for="the deck booking on each subscription")
            assert message["type"] == "next", message
            arrived[message["id"]] = reservation_event(message["payload"]["data"])
        assert set(arrived) == {"confirmed", "decks", "customer"}
        assert {(e["type"], e["reservation"]["id"]) for e in arrived.values()} == {("CREATED", decks["id"])}

        # Confirming the request: "confirmed" and "customer".
        assert (await step(api, staff_token, "confirmReservation", request["id"]))[
            "__typename"
        ] == "ReservationSuccess"
        arrived = {}
        for _ in range(2):
            message = await staff.next_message(waiting_for="the confirmation")
            arrived[message["id"]] = reservation_event(message["payload"]["data"])
        assert set(arrived) == {"confirmed", "customer"}
        assert {(e["type"], e["reservation"]["id"]) for e in arrived.values()} == {
            ("CONFIRMED", request["id"])
        }
        await staff.expect_no_message()


async def test_availability_follows_bookings_in_the_window_and_hides_holders_from_customers(
    api: Api,
    url: str,
    staff_token: str,
    customer_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
) -> None:
    window = {"ids": [wall["id"]], "from": at(0), "to": at(4)}
    async with live(url, staff_token) as staff, live(url, customer_token) as customer:
        await staff.subscribed("a", AVAILABILITY, window)
        await customer.subscribed("a", AVAILABILITY, window)

        await booked(api, staff_token, [line(wall, 3)], 10, 12)  # outside the window
        await staff.expect_no_message()
        await customer.expect_no_message(0.05)

        inside = await booked(api, staff_token, [line(wall, 2)], 1, 3, **for_customer(esr.customer))
        counts = {"total": 6, "held": 2, "available": 4, "equipment": {"id": wall["id"]}}
        staff_view = (await staff.next_event("a"))["availabilityChanged"]
        assert staff_view == {**counts, "reservations": [{"number": inside["number"]}]}
        customer_view = (await customer.next_event("a"))["availabilityChanged"]
        assert customer_view == {**counts, "reservations": None}

        # A request and its confirmation touch the window too; the confirmation holds stock.
        request = await booked(api, customer_token, [line(wall, 3)], 2, 5)
        assert (await step(api, staff_token, "confirmReservation", request["id"]))[
            "__typename"
        ] == "ReservationSuccess"

        def held_five(view: dict[str, Any]) -> bool:
            return bool(view["availabilityChanged"]["held"] == 5)

        views = await staff.events_until("a", held_five)
        last = views[-1]["availabilityChanged"]
        assert {key: value for key, value in last.items() if key != "reservations"} == {
            "total": 6,
            "held": 5,
            "available": 1,
            "equipment": {"id": wall["id"]},
        }
        assert sorted(held["number"] for held in last["reservations"]) == [
            inside["number"],
            request["number"],
        ]
        customer_views = await customer.events_until("a", held_five)
        assert [view["availabilityChanged"]["reservations"] for view in customer_views] == [None] * len(
            customer_views
        )
        await staff.expect_no_message()
        await customer.expect_no_message(0.05)


async def test_a_request_that_holds_nothing_sends_no_availability_until_it_is_confirmed(
    api: Api, url: str, staff_token: str, customer_token: str, wall: dict[str, Any]
) -> None:
    """Availability is sent when what it shows changes: a request alone would tell a customer of another's."""
    window = {"ids": [wall["id"]], "from": at(0), "to": at(4)}
    async with live(url, staff_token) as staff, live(url, customer_token) as customer:
        await staff.subscribed("a", AVAILABILITY, window)
        await customer.subscribed("a", AVAILABILITY, window)
        request = await booked(api, customer_token, [line(wall)], 1, 2)
        await staff.expect_no_message()
        await customer.expect_no_message(0.05)
        assert (await step(api, staff_token, "confirmReservation", request["id"]))[
            "__typename"
        ] == "ReservationSuccess"
        view = (await staff.next_event("a"))["availabilityChanged"]
        assert view == {
            "total": 6,
            "held": 1,
            "available": 5,
            "equipment": {"id": wall["id"]},
            "reservations": [{"number": request["number"]}],
        }
        assert (await customer.next_event("a"))["availabilityChanged"]["reservations"] is None


async def test_one_principals_identical_subscriptions_are_rendered_once_per_change(
    api: Api, url: str, staff_token: str, wall: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's tabs and screens with the same subscription cost one render per change; each still hears it."""
    renders = Calls(monkeypatch, Subscribed, "render")

    async def renders_for_one_booking(subscriptions: int) -> int:
        async with live(url, staff_token) as staff:
            for number in range(subscriptions):
                await staff.subscribed(f"s{number}", RESERVATION_EVENTS)
            rendered = renders.count
            made = await booked(api, staff_token, [line(wall)], 1, 2)
            seen = set()
            for _ in range(subscriptions):
                message = await staff.next_message(waiting_for="the booking on every subscription")
                assert message["payload"]["data"]["reservationEvents"]["reservation"]["id"] == made["id"]
                seen.add(message["id"])
            assert seen == {f"s{number}" for number in range(subscriptions)}
            return renders.count - rendered

    assert await renders_for_one_booking(5) == await renders_for_one_booking(1) == 1


async def test_equipment_events_follow_changes_and_their_filter(
    api: Api,
    url: str,
    staff_token: str,
    manager_token: str,
    wall: dict[str, Any],
    deck: dict[str, Any],
    camera: dict[str, Any],
) -> None:
    async with live(url, staff_token) as staff:
        await staff.subscribed("all", EQUIPMENT_EVENTS)
        await staff.subscribed("deck", EQUIPMENT_EVENTS, {"filter": {"equipmentIds": [deck["id"]]}})

        assert (await update(api, manager_token, wall, name="Big wall"))["__typename"] == "EquipmentSuccess"
        event = (await staff.next_event("all"))["equipmentEvents"]
        assert (event["type"], event["equipment"]) == ("CHANGED", {"id": wall["id"], "name": "Big wall"})
        await staff.expect_no_message()

        assert (await update(api, manager_token, deck, quantity=9))["__typename"] == "EquipmentSuccess"
        arrived = {}
        for _ in range(2):
            message = await staff.next_message(waiting_for="the deck change on both subscriptions")
            arrived[message["id"]] = message["payload"]["data"]["equipmentEvents"]
        assert set(arrived) == {"all", "deck"}
        assert {(e["type"], e["equipment"]["id"]) for e in arrived.values()} == {("CHANGED", deck["id"])}

        assert (await add_units(api, manager_token, camera, "A3"))["__typename"] == "AddEquipmentUnitsSuccess"
        events = await staff.events_until(
            "all", lambda data: data["equipmentEvents"]["type"] == "UNIT_CREATED"
        )
        # A serialized item's quantity is its count of units: the camera changed too.
        events += [message["payload"]["data"] for message in await staff.messages_within(QUIET)]
        assert {event["equipmentEvents"]["type"] for event in events} <= {"UNIT_CREATED", "CHANGED"}, events
        assert {(event["equipmentEvents"]["equipment"]["id"]) for event in events} == {camera["id"]}, events


async def test_design_events_on_a_saved_version(
    api: Api, url: str, staff_token: str, wall: dict[str, Any], deck: dict[str, Any]
) -> None:
    design = await create_design(api, staff_token, items=[item(wall)])
    other = await create_design(api, staff_token, "Indoor stage", items=[item(deck)])
    async with live(url, staff_token) as staff:
        await staff.subscribed("d", DESIGN_EVENTS, {"id": design["id"]})
        saved_other = await save_version(api, staff_token, other["id"], [item(deck, 2)], 1)
        assert saved_other["__typename"] == "SaveDesignVersionSuccess", saved_other
        saved = await save_version(api, staff_token, design["id"], [item(wall, 2)], 1, note="bigger")
        assert saved["__typename"] == "SaveDesignVersionSuccess", saved
        event = (await staff.next_event("d"))["designEvents"]
        assert event["type"] == "VERSION_CREATED"
        assert event["design"] == {
            "id": design["id"],
            "name": "Outdoor stage",
            "currentVersion": {"number": 2},
        }
        await staff.expect_no_message()


async def test_a_refused_change_sends_nothing(
    api: Api, url: str, staff_token: str, wall: dict[str, Any], deck: dict[str, Any]
) -> None:
    window = {"ids": [wall["id"]], "from": at(0), "to": at(4)}
    all_walls = await booked(api, staff_token, [line(wall, 6)])
    async with live(url, staff_token) as staff:
        await staff.subscribed("r", RESERVATION_EVENTS)
        await staff.subscribed("a", AVAILABILITY, window)
        overbooked = await reserve(api, staff_token, [line(deck), line(wall)])
        assert overbooked["__typename"] == "ConflictError", overbooked
        stale = await step(api, staff_token, "cancelReservation", all_walls["id"], expected_version=7)
        assert stale["__typename"] != "ReservationSuccess", stale
        decks = await booked(api, staff_token, [line(deck)])
        # The next event is the deck booking's: the refused booking and cancellation sent nothing.
        event = reservation_event(await staff.next_event("r"))
        assert (event["type"], event["reservation"]["id"]) == ("CREATED", decks["id"])
        await staff.expect_no_message()


# Operations other than subscriptions.


async def test_queries_and_mutations_over_the_socket_are_answered_once(
    api: Api, url: str, staff_token: str, wall: dict[str, Any], esr: TenantUsers
) -> None:
    create = """
    mutation($input: CreateReservationInput!) {
      createReservation(input: $input) { __typename ... on CreateReservationSuccess { reservation { id } } }
    }
    """
    values = {"title": "Over the socket", "startsAt": at(0), "endsAt": at(2), "lines": [line(wall)]}
    async with live(url, staff_token) as watcher, live(url, staff_token) as staff:
        await watcher.subscribed("r", RESERVATION_EVENTS)
        await staff.subscribe("me", ME)
        assert await staff.next_message() == {
            "id": "me",
            "type": "next",
            "payload": {"data": {"me": {"email": esr.staff.email}}},
        }
        assert await staff.next_message() == {"id": "me", "type": "complete"}

        await staff.subscribe("m", create, {"input": values})
        answer = await staff.next_message()
        assert (answer["id"], answer["type"]) == ("m", "next"), answer
        made = answer["payload"]["data"]["createReservation"]
        assert made["__typename"] == "CreateReservationSuccess", made
        assert await staff.next_message() == {"id": "m", "type": "complete"}
        await staff.expect_no_message(0.05)
        event = reservation_event(await watcher.next_event("r"))
        assert (event["type"], event["reservation"]["id"]) == ("CREATED", made["reservation"]["id"])
        # The operation ids are free again.
        await staff.subscribe("me", ME)
        assert (await staff.next_message())["type"] == "next"
        assert await staff.next_message() == {"id": "me", "type": "complete"}


async def test_an_operator_outside_any_tenant_may_not_connect(url: str, operator_token: str) -> None:
    """An operator outside a tenant has no tenant's changes to hear of: refused at ``connection_init``."""
    assert await _code_after_init(url, operator_token) == 4403


# The protocol.


async def test_the_legacy_subprotocol_is_closed_with_4406(url: str) -> None:
    async with LiveClient.opened(url, [LEGACY_PROTOCOL]) as legacy:
        code, _ = await legacy.closed_with()
    assert code == 4406


async def _code_after_init(url: str, token: str | None) -> int | None:
    async with LiveClient.opened(url) as client:
        await client.init(token)
        code, _ = await client.closed_with()
        return code


async def test_init_without_a_valid_token_is_closed_with_4403(
    api: Api, url: str, staff_token: str, esr: TenantUsers
) -> None:
    signed_out = await api.login("esr", esr.staff.email)
    ended = await api.data(LOGOUT, {"t": signed_out["refreshToken"]})
    assert ended["logout"]["__typename"] == "LogoutSuccess"
    forged = staff_token[:-4] + ("AAAA" if not staff_token.endswith("AAAA") else "BBBB")
    codes = {
        "no payload": await _code_after_init(url, None),
        "garbage": await _code_after_init(url, "not-a-token"),
        "forged": await _code_after_init(url, forged),
        "ended session": await _code_after_init(url, signed_out["accessToken"]),
    }
    async with LiveClient.opened(url) as client:
        await client.send({"type": "connection_init", "payload": {"Authorization": staff_token}})
        codes["no Bearer scheme"], _ = await client.closed_with()
    assert codes == dict.fromkeys(codes, 4403), codes


async def test_the_token_key_may_be_lowercase(url: str, staff_token: str) -> None:
    async with LiveClient.opened(url) as client:
        await client.acknowledged(staff_token, key="authorization")
        await client.subscribed("r", RESERVATION_EVENTS)


@pytest.mark.parametrize("live_settings", [{"ws_init_timeout": 0.5}], ids=["init-timeout-0.5s"])
async def test_no_init_in_time_is_closed_with_4408(url: str) -> None:
    async with LiveClient.opened(url) as client:
        code, _ = await client.closed_with(within=0.5 + WAIT)
    assert code == 4408


async def test_subscribe_before_the_ack_is_closed_with_4401(url: str) -> None:
    async with LiveClient.opened(url) as client:
        await client.subscribe("r", RESERVATION_EVENTS)
        code, _ = await client.closed_with()
    assert code == 4401


async def test_a_second_init_is_closed_with_4429(url: str, staff_token: str) -> None:
    async with live(url, staff_token) as client:
        await client.init(staff_token)
        code, _ = await client.closed_with()
    assert code == 4429


MALFORMED = {
    "not json": "not json",
    "not an object": '["a", "list"]',
    "unknown type": '{"type": "bogus"}',
    "subscribe without id": '{"type": "subscribe", "payload": {"query": "{ __typename }"}}',
    "subscribe without payload": '{"type": "subscribe", "id": "x"}',
    "query not text": '{"type": "subscribe", "id": "x", "payload": {"query": 5}}',
}


async def test_a_malformed_message_is_closed_with_4400(url: str, staff_token: str) -> None:
    codes: dict[str, int | None] = {}
    async with LiveClient.opened(url) as client:
        await client.send("not json")
        codes["before init: not json"], _ = await client.closed_with()
    for name, message in MALFORMED.items():
        async with live(url, staff_token) as client:
            await client.send(message)
            codes[name], _ = await client.closed_with()
    assert codes == dict.fromkeys(codes, 4400), codes


async def test_a_duplicate_subscription_id_is_closed_with_4409(url: str, staff_token: str) -> None:
    async with live(url, staff_token) as client:
        await client.subscribed("a", RESERVATION_EVENTS)
        await client.subscribe("a", EQUIPMENT_EVENTS)
        code, _ = await client.closed_with()
    assert code == 4409


async def test_a_completed_id_may_be_used_again_and_then_is_taken(
    api: Api, url: str, staff_token: str, wall: dict[str, Any]
) -> None:
    async with live(url, staff_token) as client:
        await client.subscribed("a", RESERVATION_EVENTS)
        await client.complete("a")
        await client.subscribed("a", RESERVATION_EVENTS)
        made = await booked(api, staff_token, [line(wall)])
        assert reservation_event(await client.next_event("a"))["reservation"]["id"] == made["id"]
        await client.expect_no_message()  # once: the completed subscription is gone
        await client.subscribe("a", EQUIPMENT_EVENTS)
        code, _ = await client.closed_with()
    assert code == 4409


async def test_a_reused_id_can_be_completed(
    api: Api, url: str, staff_token: str, wall: dict[str, Any]
) -> None:
    async with live(url, staff_token) as client:
        await client.subscribed("a", RESERVATION_EVENTS)
        await client.complete("a")
        await client.subscribed("a", RESERVATION_EVENTS)
        await client.complete("a")
        await client.round_trip()
        await booked(api, staff_token, [line(wall)])
        await client.expect_no_message()


@pytest.mark.parametrize("live_settings", [{"ws_ping_interval": 0.2}], ids=["ping-0.2s"])
async def test_the_server_pings_and_answers_pings(url: str, staff_token: str) -> None:
    async with live(url, staff_token) as client:
        await client.round_trip()
        await client.expect_no_message(1.0)  # answers each ping on the way
        assert client.pings >= 2
        await client.round_trip()


@pytest.fixture
def short_header_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """``RIGBOOK_HEADER_TIMEOUT`` of half a second (``web/server.py`` reads it once per process)."""
    monkeypatch.setenv("RIGBOOK_HEADER_TIMEOUT", "0.5")
    forget: Callable[[], None] = getattr(web.server.header_timeout, "cache_clear")  # noqa: B009
    forget()
    yield 0.5
    forget()


async def test_a_socket_outlives_the_header_timeout(
    api: Api, url: str, staff_token: str, wall: dict[str, Any], short_header_timeout: float
) -> None:
    """The HTTP protocol's deadline for a request's headers ends with the upgrade."""
    async with live(url, staff_token) as client:
        await client.subscribed("r", RESERVATION_EVENTS)
        await asyncio.sleep(3 * short_header_timeout)
        await client.round_trip()
        made = await booked(api, staff_token, [line(wall)])
        assert reservation_event(await client.next_event("r"))["reservation"]["id"] == made["id"]


# Limits.


@pytest.mark.parametrize("live_settings", [{"ws_max_subscriptions": 2}], ids=["max-2"])
async def test_a_subscription_past_the_limit_is_refused_and_the_connection_stays(
    api: Api, url: str, staff_token: str, wall: dict[str, Any]
) -> None:
    async with live(url, staff_token) as client:
        await client.subscribed("a", RESERVATION_EVENTS)
        await client.subscribed("b", RESERVATION_EVENTS)
        await client.subscribe("c", RESERVATION_EVENTS)
        assert await client.refusal_codes("c") == ["TOO_MANY_SUBSCRIPTIONS"]
        await client.complete("a")
        await client.subscribed("d", RESERVATION_EVENTS)  # a completed one frees its place

        made = await booked(api, staff_token, [line(wall)])
        arrived = {}
        for _ in range(2):
            message = await client.next_message(waiting_for="the booking on b and d")
            arrived[message["id"]] = reservation_event(message["payload"]["data"])["reservation"]["id"]
        assert arrived == {"b": made["id"], "d": made["id"]}
        await client.expect_no_message()


async def _refused_at_init(url: str, token: str) -> int | None:
    async with LiveClient.opened(url) as client:
        await client.init(token)
        code, _ = await client.closed_with()
        return code


async def _accepted_again(url: str, token: str) -> None:
    """A connection for ``token`` is acknowledged again, within a bound (the server notices a close soon)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        async with LiveClient.opened(url) as client:
            await client.init(token)
            message = await client.next_message(waiting_for="connection_ack")
            if message["type"] == "connection_ack":
                return
        assert loop.time() < deadline, "still refused after a connection closed"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("live_settings", [{"ws_max_connections_per_user": 2}], ids=["per-user-2"])
async def test_connections_past_a_users_limit_are_closed_with_1013(
    url: str, staff_token: str, admin_token: str
) -> None:
    async with live(url, staff_token), live(url, staff_token) as second:
        assert await _refused_at_init(url, staff_token) == 1013
        async with live(url, admin_token) as admin:  # another user of the tenant is served
            await admin.round_trip()
        await second.connection.close()
        await _accepted_again(url, staff_token)


@pytest.mark.parametrize("live_settings", [{"ws_max_connections_per_tenant": 2}], ids=["per-tenant-2"])
async def test_connections_past_a_tenants_limit_are_closed_with_1013(
    url: str, staff_token: str, customer_token: str, admin_token: str, cmh_staff_token: str
) -> None:
    async with live(url, staff_token), live(url, customer_token) as customer:
        assert await _refused_at_init(url, admin_token) == 1013
        async with live(url, cmh_staff_token) as cmh:  # another tenant is served
            await cmh.round_trip()
        await customer.connection.close()
        await _accepted_again(url, admin_token)


DEEP_SUBSCRIPTION = """
subscription { reservationEvents { reservation { lines { equipment { units { equipment { name } } } } } } }
"""
DEEP_QUERY = "query { reservations { edges { node { lines { equipment { name } } } } } }"
COSTLY_SUBSCRIPTION = """
subscription($ids: [ID!]!, $from: DateTime!, $to: DateTime!) {
  availabilityChanged(equipmentIds: $ids, from: $from, to: $to) { reservations { lines { equipment { name } } } }
}
"""
COSTLY_QUERY = "query { equipment(first: 100) { edges { node { units { id } } } } }"
# Two root fields, one of them unknown.
INVALID_SUBSCRIPTION = "subscription { reservationEvents { type } equipmentEvents { nope } }"
VARIABLES = {"ids": ["RXF1aXBtZW50OjA="], "from": at(0), "to": at(4)}


@pytest.mark.parametrize(
    ("live_settings", "subscription", "query", "code"),
    [
        pytest.param({"max_query_depth": 4}, DEEP_SUBSCRIPTION, DEEP_QUERY, "QUERY_TOO_DEEP", id="depth"),
        pytest.param(
            {"max_query_cost": 20}, COSTLY_SUBSCRIPTION, COSTLY_QUERY, "QUERY_TOO_COSTLY", id="cost"
        ),
        pytest.param({}, INVALID_SUBSCRIPTION, "{ me { nope } }", "GRAPHQL_VALIDATION_FAILED", id="invalid"),
    ],
)
async def test_refused_documents_get_an_error_with_the_codes_of_http(
    api: Api, url: str, staff_token: str, subscription: str, query: str, code: str
) -> None:
    over_http = error_codes(await api.post(query, token=staff_token))
    assert over_http == [code], over_http
    async with live(url, staff_token) as client:
        await client.subscribe("s", subscription, VARIABLES)
        refused = await client.refusal_codes("s")
        assert refused and set(refused) == {code}, refused
        await client.subscribe("q", query)
        assert await client.refusal_codes("q") == over_http
        await client.round_trip()  # the connection stays
        await client.subscribed("ok", RESERVATION_EVENTS)


# The end of a grant.


async def test_an_expiring_token_closes_the_socket_with_4403(
    services: Services, url: str, staff_token: str
) -> None:
    tokens = services.access_tokens
    principal = tokens.verify(staff_token)
    # The same session, issued so that it expires about a second from now.
    expiring = tokens.issue(principal, now=utcnow() - tokens.ttl + timedelta(seconds=2))
    async with live(url, expiring) as client:
        await client.subscribed("r", RESERVATION_EVENTS)
        code, reason = await client.closed_with(within=2 + WAIT)
    assert code == 4403
    assert "expire" in reason.lower(), reason


async def test_an_ended_grant_closes_the_socket_with_4403(
    api: Api, services: Services, url: str, esr: TenantUsers, admin_token: str
) -> None:
    """Each way a grant ends, for one user each; the admin who ends them keeps theirs."""
    leaving = await make_user(services, esr.tenant, Role.STAFF, "leaving@esr.example")
    users = {
        "logout": esr.staff,
        "logoutAll elsewhere": esr.manager,
        "changePassword elsewhere": esr.customer,
        "deactivateUser": leaving,
    }
    signed_in = {name: await api.login("esr", user.email) for name, user in users.items()}
    async with contextlib.AsyncExitStack() as stack:
        sockets = {
            name: await stack.enter_async_context(live(url, session["accessToken"]))
            for name, session in signed_in.items()
        }
        admin = await stack.enter_async_context(live(url, admin_token))
        for client in [*sockets.values(), admin]:
            await client.subscribed("r", RESERVATION_EVENTS)

        ended = await api.data(LOGOUT, {"t": signed_in["logout"]["refreshToken"]})
        assert ended["logout"]["__typename"] == "LogoutSuccess"
        other = await api.token("esr", esr.manager.email)
        assert (await api.data(LOGOUT_ALL, token=other))["logoutAll"]["revokedSessions"] == 2
        other = await api.token("esr", esr.customer.email)
        variables = {"current": DEFAULT_PASSWORD, "new": "Brand-New-Password-42"}
        changed = await api.data(CHANGE_PASSWORD, variables, token=other)
        assert changed["changePassword"]["__typename"] == "ChangePasswordSuccess"
        deactivated = await api.data(
            DEACTIVATE_USER, {"id": to_global_id("User", leaving.id)}, token=admin_token
        )
        assert deactivated["deactivateUser"]["user"] == {"isActive": False}

        closes = await asyncio.gather(
            *(client.closed_with(within=GRANT_CHECK + WAIT) for client in sockets.values())
        )
        codes = {name: code for name, (code, _) in zip(sockets, closes, strict=True)}
        assert codes == dict.fromkeys(codes, 4403), codes
        await admin.round_trip()  # others' sockets stay


# A client that does not read.

# Ten aliases of a reservation's notes (5,000 characters): about 50 kB a message.
BULKY_EVENTS = (
    "subscription { reservationEvents { "
    + " ".join(f"n{index}: reservation {{ notes }}" for index in range(10))
    + " } }"
)
BULKY_SUBSCRIPTIONS = 20  # the default cap per connection: ~1 MB of messages per change


@pytest.mark.parametrize("live_settings", [{"ws_send_buffer": 16}], ids=["send-buffer-16"])
async def test_a_client_that_stops_reading_is_closed_with_1008(
    api: Api, url: str, server: LiveServer, staff_token: str, wall: dict[str, Any]
) -> None:
    reservation = await booked(api, staff_token, [line(wall)], notes="n" * 5000)
    update_notes = """
    mutation($input: UpdateReservationInput!) { updateReservation(input: $input) { __typename } }
    """
    # A small receive window, and a client that stops taking frames off it after one.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    port = int(server.http.rsplit(":", 1)[1])
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    async with LiveClient.opened(url, sock=sock, max_queue=1) as client:
        await client.acknowledged(staff_token)
        for index in range(BULKY_SUBSCRIPTIONS):
            await client.subscribed(f"r{index}", BULKY_EVENTS)
        # ~10 MB the client does not read: past the kernel's and uvicorn's buffers (a few
        # MB on loopback) and the server's 16 messages.
        for index in range(10):
            notes = f"{index:04d}" + "n" * 4996
            variables = {"input": {"id": reservation["id"], "notes": notes}}
            changed = await api.data(update_notes, variables, token=staff_token)
            assert changed["updateReservation"]["__typename"] == "ReservationSuccess", changed
        # Reading again at once finds what the server sent before it gave up, then its close.
        code, reason = await client.closed_with(within=2 * WAIT, skipping=True)
    assert code == 1008, reason


async def test_other_connections_are_served_while_one_is_not_read(
    api: Api, url: str, staff_token: str, customer_token: str, wall: dict[str, Any]
) -> None:
    """A subscriber that is slow to read holds up nobody else's events."""
    async with live(url, staff_token) as idle, live(url, customer_token) as customer:
        await idle.subscribed("r", RESERVATION_EVENTS)
        await customer.subscribed("r", RESERVATION_EVENTS)
        made = [await booked(api, customer_token, [line(wall)], index, index + 1) for index in range(3)]
        for reservation in made:
            event = reservation_event(await customer.next_event("r"))
            assert event["reservation"]["id"] == reservation["id"]
        await customer.expect_no_message(QUIET / 2)
        # The idle one has them all waiting, in order.
        ids = [reservation_event(await idle.next_event("r"))["reservation"]["id"] for _ in made]
        assert ids == [reservation["id"] for reservation in made]
