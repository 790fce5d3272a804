"""The benchmarked operations: documents, variables, and how to compare results.

Both servers receive byte-identical request bodies; the baseline recognises a
document by its exact text.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

NESTED_PAGE = 100  # the default `nested` page; `bench scale` also loads NESTED_PAGES
NESTED_PAGES = (10, 50, 100)


def nested_query(first: int) -> str:
    """The nested document with its page size written as a literal, as a client would."""
    return f"""query Nested($from: DateTime, $to: DateTime) {{
  equipment(first: {first}) {{
    edges {{ node {{ name reservations(from: $from, to: $to) {{ number lines {{ quantity equipment {{ name }} }} customer {{ email }} }} }} }}
  }}
}}"""


NESTED = nested_query(NESTED_PAGE)

ME = """query Me { me { email role } }"""

AVAILABILITY = """query Availability($from: DateTime!, $to: DateTime!, $ids: [ID!]) {
  availability(from: $from, to: $to, equipmentIds: $ids) { total held available }
}"""

RESERVE = """mutation Reserve($input: CreateReservationInput!) {
  createReservation(input: $input) {
    __typename
    ... on CreateReservationSuccess { reservation { id number status startsAt endsAt } }
    ... on Error { code message }
  }
}"""

# The most common screen of a booking app: the upcoming bookings to act on, with their customer.
RESERVATIONS_PAGE = 50
RESERVATIONS_STATUSES = ("REQUESTED", "CONFIRMED")
RESERVATIONS = f"""query Reservations($status: [ReservationStatus!], $from: DateTime) {{
  reservations(first: {RESERVATIONS_PAGE}, filter: {{status: $status, from: $from}}) {{
    edges {{ node {{ id number title status startsAt endsAt customer {{ name email }} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

# The dashboard of a manager: every figure of `stats` over the seeded month.
STATS = """query Stats($from: DateTime!, $to: DateTime!) {
  stats(from: $from, to: $to) {
    periodStart periodEnd hours timezone today
    reservationsByStatus { status count }
    categories { category items stock heldHours availableHours utilization }
    topItems { equipmentId name code category stock heldHours availableHours utilization reservations }
    due { checkOutsToday checkOutsLate returnsToday returnsOverdue }
    newCustomers
  }
}"""

LOGIN = """mutation Login($input: LoginInput!) {
  login(input: $input) { __typename ... on LoginSuccess { accessToken } ... on Error { code message } }
}"""

SCENARIO_NAMES = ("nested", "me", "availability", "reserve", "reservations", "stats")
DEFAULT_SCENARIOS = "nested,me,availability,reserve,reservations,stats"
AVAILABILITY_ITEMS = 50  # the default `availability` set; `bench scale` also loads AVAILABILITY_SIZES
# 100 is the most one request may ask for (`equipmentIds: [ID!] @maxItems(count: 100)`).
AVAILABILITY_SIZES = (10, 50, 100)

# Far-future reserve windows: random 4-hour slots over ~45 years from 2100, never
# near the seeded months, so they neither conflict nor slow down the read scenarios.
RESERVE_EPOCH = 4102444800  # 2100-01-01T00:00:00Z
RESERVE_SLOTS = 45 * 365 * 24
RESERVE_HOURS = 4


def global_id(type_name: str, pk: uuid.UUID | str) -> str:
    """Relay id as schema/node.py makes it: base64 of ``Type:uuid``."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def decode_global_id(value: str) -> tuple[str, str] | None:
    try:
        type_name, _, raw = base64.b64decode(value.encode(), validate=True).decode().partition(":")
        return type_name, str(uuid.UUID(raw))
    except (ValueError, UnicodeError):
        return None


@dataclass(frozen=True)
class Fixture:
    """What the scenarios need from the seeded tenant."""

    window: tuple[datetime, datetime]
    # Equipment global ids spread over the catalogue, per set size (AVAILABILITY_SIZES).
    availability_sets: dict[int, list[str]]
    reserve_ids: list[str]  # global ids of BULK equipment to book
    salt: int = 0  # varies the pre-flight booking's window from run to run
    tenant_id: str = ""  # the signed-in admin's tenant and user (PostGraphile's `me` takes both)
    admin_id: str = ""

    @property
    def availability_ids(self) -> list[str]:
        return self.availability_sets[AVAILABILITY_ITEMS]


@dataclass(frozen=True)
class Scenario:
    name: str
    query: str
    variables: Callable[[Fixture], dict[str, Any]]
    marker: str  # a substring every good response body contains
    normalise: Callable[[Any], Any]


@dataclass(frozen=True)
class PeerDocument:
    """A peer server's own document for a shared scenario, and how its answer is compared.

    Peers have their own schema, so answers are compared as tuples: ``tuples`` reads
    the peer's ``data``, ``expected`` reads Rigbook's ``data`` for the same scenario.
    """

    query: str
    variables: Callable[[Fixture], dict[str, Any]]
    marker: str
    tuples: Callable[[Any], list[tuple[Any, ...]]]
    expected: Callable[[Any], list[tuple[Any, ...]]]


def _same(data: Any) -> Any:
    return data


def _mask_created(data: Any) -> Any:
    """A created reservation's id and number differ per call: check their form, then mask them."""
    result = data["createReservation"]
    if result.get("__typename") != "CreateReservationSuccess":
        return data
    reservation = dict(result["reservation"])
    decoded = decode_global_id(reservation["id"])
    reservation["id"] = "<Reservation id>" if decoded and decoded[0] == "Reservation" else reservation["id"]
    number = reservation["number"]
    reservation["number"] = "<number>" if isinstance(number, int) and number > 0 else number
    return {"createReservation": {**result, "reservation": reservation}}


def reserve_input(equipment_id: str, slot: int, title: str = "Bench booking") -> dict[str, Any]:
    starts = datetime.fromtimestamp(RESERVE_EPOCH + (slot % RESERVE_SLOTS) * 3600, tz=UTC)
    ends = starts + timedelta(hours=RESERVE_HOURS)
    return {
        "title": title,
        "startsAt": starts.isoformat(),
        "endsAt": ends.isoformat(),
        "lines": [{"equipmentId": equipment_id, "quantity": 1}],
    }


def _window(fixture: Fixture) -> dict[str, Any]:
    return {"from": fixture.window[0].isoformat(), "to": fixture.window[1].isoformat()}


def _reservations_page(fixture: Fixture) -> dict[str, Any]:
    return {"status": list(RESERVATIONS_STATUSES), "from": fixture.window[0].isoformat()}


def nested_tuples(data: Any) -> list[tuple[Any, ...]]:
    """Rigbook's nested answer as (equipment, reservation, line, customer) tuples, in answer order."""
    return [
        (edge["node"]["name"], reservation["number"], line["quantity"], line["equipment"]["name"], email)
        for edge in data["equipment"]["edges"]
        for reservation in edge["node"]["reservations"]
        for email in [(reservation["customer"] or {}).get("email")]
        for line in reservation["lines"]
    ]


def nested_scenario(first: int) -> Scenario:
    name = "nested" if first == NESTED_PAGE else f"nested-first{first}"
    return Scenario(name, nested_query(first), _window, '"edges"', _same)


def availability_scenario(items: int) -> Scenario:
    name = "availability" if items == AVAILABILITY_ITEMS else f"availability-{items}"

    def variables(fixture: Fixture) -> dict[str, Any]:
        return {**_window(fixture), "ids": fixture.availability_sets[items]}

    return Scenario(name, AVAILABILITY, variables, '"available"', _same)


SCENARIOS: dict[str, Scenario] = {
    "nested": nested_scenario(NESTED_PAGE),
    "me": Scenario("me", ME, lambda _fixture: {}, '"email"', _same),
    "availability": availability_scenario(AVAILABILITY_ITEMS),
    # The variables here are those of the pre-flight check; under load the wrk script
    # varies equipment and window per request (bench/wrk.py).
    "reserve": Scenario(
        "reserve",
        RESERVE,
        lambda fixture: {"input": reserve_input(fixture.reserve_ids[0], fixture.salt, "Bench pre-flight")},
        '"CreateReservationSuccess"',
        _mask_created,
    ),
    "reservations": Scenario("reservations", RESERVATIONS, _reservations_page, '"pageInfo"', _same),
    "stats": Scenario("stats", STATS, _window, '"topItems"', _same),
}


def parse_scenarios(text: str) -> list[Scenario]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names or len(set(names)) != len(names):
        raise SystemExit(f"unknown scenarios {unknown}; choose from {', '.join(SCENARIO_NAMES)}")
    return [SCENARIOS[name] for name in names]
