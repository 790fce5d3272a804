"""A booking costs a fixed, small number of SQL statements, however many lines it has.

Booking is the write users make most. Each statement is a round trip inside the
transaction that holds the equipment locks, so every one saved is time no other
booking of the same equipment waits.
"""

from __future__ import annotations

from auth.services import Services
from tests.api import Api
from tests.booking import at, create_equipment, line
from tests.conftest import StatementCounter

# What a booking screen asks back: nothing that needs another read.
RESERVE = """
mutation($input: CreateReservationInput!) {
  createReservation(input: $input) {
    __typename
    ... on CreateReservationSuccess { reservation { id number status startsAt endsAt } }
  }
}
"""

# The caller's check (which sets the tenant, and rides with BEGIN in one round trip),
# the equipment locked, the holds read again under the lock, the next number; then
# the reservation, its lines and their audit events in one statement. With COMMIT,
# six round trips (``tests/test_write_transactions.py`` watches them on the wire).
POSTGRES_BOOKING_STATEMENTS = 5


async def test_a_booking_costs_the_same_statements_for_one_line_and_five(
    api: Api, services: Services, manager_token: str, staff_token: str, statements: StatementCounter
) -> None:
    items = [
        await create_equipment(api, manager_token, name=f"Item {index}", code=f"I{index}", quantity=3)
        for index in range(5)
    ]
    counts = []
    for index, lines in enumerate(([line(items[0])], [line(item) for item in items])):
        values = {"title": "Gala", "startsAt": at(10 * index), "endsAt": at(10 * index + 4), "lines": lines}
        with statements.counting():
            made = (await api.data(RESERVE, {"input": values}, token=staff_token))["createReservation"]
        assert made["__typename"] == "CreateReservationSuccess", made
        counts.append(statements.last)
    assert counts[0] == counts[1]
    if not services.database.is_sqlite:
        assert counts[0] == POSTGRES_BOOKING_STATEMENTS


async def test_a_booking_of_as_many_lines_as_allowed_is_written_whole_with_an_event_per_line(
    api: Api, services: Services, manager_token: str, staff_token: str, admin_token: str
) -> None:
    most = services.settings.max_reservation_lines
    deck = await create_equipment(api, manager_token, name="Deck", code="DECK", quantity=most)
    values = {"title": "Festival", "startsAt": at(0), "endsAt": at(8), "lines": [line(deck)] * most}
    made = (await api.data(RESERVE, {"input": values}, token=staff_token))["createReservation"]
    assert made["__typename"] == "CreateReservationSuccess", made
    reservation_id = made["reservation"]["id"]
    lines = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Reservation { lines { quantity } } } }",
        {"id": reservation_id},
        token=staff_token,
    )
    assert len(lines["node"]["lines"]) == most
    trail = await api.data(
        'query { auditEvents(first: 1, filter: {action: "reservation_line.created"}) { totalCount } }',
        token=admin_token,
    )
    assert trail["auditEvents"]["totalCount"] == most
