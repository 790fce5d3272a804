"""Cursor paging on every connection, with every order, forwards and backwards.

The connection fields and their orders are read from the schema, so a new
connection or a new sort is covered without touching this file; the seed only
has to give it rows. Rows share sort values in groups of three, so pages of two
split ties and the id tie-breaker decides.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, get_named_type

from auth.services import Services
from db.tables import (
    Attachment,
    AuditEvent,
    Design,
    Enquiry,
    Equipment,
    ExportStatus,
    MonthlyReport,
    Operator,
    Reservation,
    ReservationStatus,
    Role,
    TenantExport,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from resolvers import pagination
from resolvers.pagination import encode_cursor
from resolvers.reports.content import ReportData
from schema import schema
from schema.node import to_global_id
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers, error_codes, make_tenant

ROWS = 8  # per table, on top of the fixtures' rows
PAGE = 2
# Microseconds included: a cursor must carry the instant exactly.
BASE = datetime(2031, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
# The webhook whose delivery log is paged (each test has a database of its own).
WEBHOOK = uuid.UUID("01900000-0000-7000-8000-000000000001")
# Arguments a connection requires, written into its page query.
REQUIRED = {"webhookDeliveries": f'webhookId: "{to_global_id("Webhook", WEBHOOK)}", '}


@dataclass(frozen=True)
class ConnectionField:
    name: str
    order_type: str | None
    orders: tuple[tuple[str, str] | None, ...]
    """(field, direction) pairs; ``None`` for a connection without `orderBy`."""


def connection_fields() -> list[ConnectionField]:
    query = schema._schema.query_type
    assert query is not None
    found = []
    for name, field in query.fields.items():
        returned = get_named_type(field.type)
        if not (isinstance(returned, GraphQLObjectType) and "pageInfo" in returned.fields):
            continue
        order = field.args.get("orderBy")
        if order is None:
            found.append(ConnectionField(name, None, (None,)))
            continue
        order_type = get_named_type(order.type)
        assert isinstance(order_type, GraphQLInputObjectType)
        fields = get_named_type(order_type.fields["field"].type)
        directions = get_named_type(order_type.fields["direction"].type)
        assert isinstance(fields, GraphQLEnumType) and isinstance(directions, GraphQLEnumType)
        orders = tuple((value, direction) for value in fields.values for direction in directions.values)
        found.append(ConnectionField(name, order_type.name, orders))
    return found


CONNECTIONS = connection_fields()
ORDERED = [
    pytest.param(connection, order, id=f"{connection.name}-{'-'.join(order) if order else 'default'}")
    for connection in CONNECTIONS
    for order in connection.orders
]


def page_query(connection: ConnectionField) -> str:
    order_variable = f", $orderBy: {connection.order_type}" if connection.order_type else ""
    order_argument = ", orderBy: $orderBy" if connection.order_type else ""
    return f"""
query Page($first: Int, $after: String, $last: Int, $before: String{order_variable}) {{
  page: {connection.name}({REQUIRED.get(connection.name, "")}first: $first, after: $after, last: $last, before: $before{order_argument}) {{
    edges {{ cursor node {{ id }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
  }}
}}
"""


def at(index: int) -> datetime:
    """Equal instants in groups of three."""
    return BASE + timedelta(seconds=index // 3)


async def seed(services: Services, esr: TenantUsers) -> None:
    """Rows with tied sort values in every sortable table, inserted as they are stored."""
    tenant_id = esr.tenant.id
    for index in range(ROWS):
        await make_tenant(services, f"tenant-{index:02}")
    async with services.database.transaction(tenant_id) as session:
        users = [
            User(
                tenant_id=tenant_id,
                email=f"user-{index:02}@esr.example",
                name=f"Name {index // 3}",
                role=Role.CUSTOMER,
                password_hash="not-a-hash",
                created_at=at(index),
                updated_at=at(index),
            )
            for index in range(ROWS)
        ]
        session.add_all(users)
        equipment = [
            Equipment(
                tenant_id=tenant_id,
                name=f"Item {index // 3}",
                code=f"CODE-{index:02}",
                category=f"Category {index // 3}",
                tracking="BULK",
                quantity=5,
                created_at=at(index),
                updated_at=at(index),
            )
            for index in range(ROWS)
        ]
        session.add_all(equipment)
        await session.flush()
        session.add_all(
            Reservation(
                tenant_id=tenant_id,
                number=index + 1,
                title=f"Event {index}",
                customer_id=users[index].id,
                starts_at=at(index) + timedelta(days=1),
                ends_at=at(index) + timedelta(days=2),
                status="REQUESTED",
                created_at=at(index),
                updated_at=at(index),
            )
            for index in range(ROWS)
        )
        session.add_all(
            Design(
                tenant_id=tenant_id,
                name=f"Design {index // 3}",
                owner_id=esr.admin.id,
                created_at=at(index),
                updated_at=at(ROWS - index),
            )
            for index in range(ROWS)
        )
        session.add_all(
            Enquiry(
                tenant_id=tenant_id,
                name=f"Guest {index}",
                email=f"guest-{index:02}@guests.example",
                created_at=at(index),
                updated_at=at(ROWS - index),
            )
            for index in range(ROWS)
        )
        audit = [
            AuditEvent(
                tenant_id=tenant_id,
                actor_kind="user",
                action="equipment.updated",
                target_type="equipment",
                target_id=equipment[index].id,
                changes={"quantity": [index, index + 1]},
                created_at=at(index),
            )
            for index in range(ROWS)
        ]
        session.add_all(audit)
        session.add_all(
            WebhookEndpoint(
                tenant_id=tenant_id,
                id=WEBHOOK if index == 0 else uuid.uuid4(),
                url=f"https://hooks.example/{index}",
                events=["*"],
                signing_secret="sealed:v1:not-opened-here",
                created_at=at(index),
                updated_at=at(index),
            )
            for index in range(ROWS)
        )
        await session.flush()
        session.add_all(
            WebhookDelivery(
                tenant_id=tenant_id,
                endpoint_id=WEBHOOK,
                audit_event_id=audit[index].id,
                event="equipment.changed",
                created_at=at(index),
            )
            for index in range(ROWS)
        )
        session.add_all(
            TenantExport(
                tenant_id=tenant_id,
                requested_by_id=esr.admin.id,
                status=ExportStatus.READY,
                format="csv",
                groups=["users"],
                created_at=at(index),
            )
            for index in range(ROWS)
        )
        session.add_all(
            MonthlyReport(
                tenant_id=tenant_id,
                month=f"{2000 + index}-01",
                data=ReportData(
                    month=f"{2000 + index}-01",
                    timezone="UTC",
                    period_start=datetime(2000 + index, 1, 1, tzinfo=UTC),
                    period_end=datetime(2000 + index, 2, 1, tzinfo=UTC),
                    hours=744.0,
                    generated_at=at(index),
                    statuses=dict.fromkeys(ReservationStatus, 0),
                ).to_json(),
                created_at=at(index),
            )
            for index in range(ROWS)
        )
        session.add_all(
            Attachment(
                tenant_id=tenant_id,
                owner_kind="GALLERY",
                filename=f"photo-{index}.png",
                content_type="image/png",
                size=100 + index,
                sha256="0" * 64,
                storage_key=f"t/{tenant_id}/attachments/{index}/original",
                # Ties on position, broken by the instant, then by the id.
                position=index % 3,
                created_at=at(index // 2),
            )
            for index in range(ROWS)
        )
    async with services.database.transaction(None) as session:
        session.add(
            Operator(
                email="op@rigbook.example", password_hash=await services.passwords.hash(DEFAULT_PASSWORD)
            )
        )


@pytest.fixture
async def tokens(api: Api, services: Services, esr: TenantUsers, admin_token: str) -> list[str]:
    """Who may read the connections: a tenant admin, and a platform operator for `tenants`."""
    await seed(services, esr)
    return [admin_token, await api.token(None, "op@rigbook.example")]


async def read(api: Api, tokens: list[str], connection: ConnectionField, **variables: Any) -> dict[str, Any]:
    """The page from the first principal allowed to read the connection."""
    query = page_query(connection)
    for token in tokens:
        body = await api.post(query, variables, token=token)
        if error_codes(body) == ["FORBIDDEN"]:
            continue
        assert "errors" not in body, body["errors"]
        page: dict[str, Any] = body["data"]["page"]
        return page
    raise AssertionError(f"nobody may read {connection.name}")


def ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


@pytest.mark.parametrize(("connection", "order"), ORDERED)
async def test_pages_forwards_and_backwards_match_one_big_page(
    api: Api, tokens: list[str], connection: ConnectionField, order: tuple[str, str] | None
) -> None:
    ordering = {"orderBy": {"field": order[0], "direction": order[1]}} if order else {}
    everything = ids(await read(api, tokens, connection, first=100, **ordering))
    assert len(everything) >= ROWS, f"seed rows for {connection.name}"
    assert len(set(everything)) == len(everything)

    forwards: list[str] = []
    after = None
    while True:
        page = await read(api, tokens, connection, first=PAGE, after=after, **ordering)
        forwards += ids(page)
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert len(forwards) <= len(everything), "paging does not end"
    assert forwards == everything

    backwards: list[str] = []
    before = None
    while True:
        page = await read(api, tokens, connection, last=PAGE, before=before, **ordering)
        backwards = ids(page) + backwards
        assert page["pageInfo"]["hasNextPage"] == (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
        assert len(backwards) <= len(everything), "paging does not end"
    assert backwards == everything

    # Every edge's own cursor starts the page right after it.
    middle = await read(api, tokens, connection, first=100, **ordering)
    for index, edge in enumerate(middle["edges"]):
        following = await read(api, tokens, connection, first=1, after=edge["cursor"], **ordering)
        assert ids(following) == everything[index + 1 : index + 2]


def crafted(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def as_json(*values: Any) -> str:
    return crafted(json.dumps(list(values)).encode())


HEX = uuid.uuid4().hex
# Whole cursors that are not a list of sort values.
MALFORMED = {
    "not base64": "!!!*",
    "not JSON": crafted(b"not json"),
    "invalid UTF-8": crafted(b'["\xff\xfe", 1]'),
    "an object": crafted(b'{"a": 1}'),
    "an empty list": as_json(),
    "a huge cursor": as_json("x" * 20_000, HEX),
}
# Values put in place of each sort value of a real cursor, in turn; strings are
# bad for the kinds of sort value named.
ANY = frozenset({"text", "id", "instant", "integer"})
NOT_TEXT = ANY - {"text"}
BAD_VALUES: list[tuple[str, Any, frozenset[str]]] = [
    ("null", None, ANY),
    ("an object", {"a": 1}, ANY),
    ("a list", [1], ANY),
    ("a boolean", True, ANY),
    ("a float", 1.5, ANY),
    ("an integer over 64 bits", 123456789012345678901234567890, ANY),
    ("an integer over 32 bits", 2**40, ANY),
    ("a negative integer over 64 bits", -(2**70), ANY),
    ("NUL in text", "a\x00b", ANY),
    ("a long text", "x" * 5000, ANY),
    ("a naive instant", "2031-03-04T05:06:07", NOT_TEXT),
    ("an instant past year 9999 in UTC", "9999-12-31T23:59:59-14:00", NOT_TEXT),
    ("an instant before year 1 in UTC", "0001-01-01T00:00:00+14:00", NOT_TEXT),
    ("a malformed id", "zz", NOT_TEXT),
    ("an id over 128 bits", "f" * 40, NOT_TEXT),
]


def kind_of(value: Any) -> str:
    if isinstance(value, int):
        return "integer"
    assert isinstance(value, str)
    try:
        uuid.UUID(hex=value)
        return "id"
    except ValueError:
        pass
    try:
        datetime.fromisoformat(value)
        return "instant"
    except ValueError:
        return "text"


def bad_cursors(real: str) -> dict[str, str]:
    values = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
    assert isinstance(values, list)
    cursors = {**MALFORMED, "too short": as_json(*values[:-1]), "too long": as_json(*values, HEX)}
    for position, value in enumerate(values):
        kind = kind_of(value)
        for name, bad, kinds in BAD_VALUES:
            if kind in kinds:
                cursors[f"{name} for {kind} {position}"] = as_json(
                    *values[:position], bad, *values[position + 1 :]
                )
        # JSON allows an escaped lone surrogate, and NaN is what Python's parser reads.
        text = json.dumps([*values[:position], "@@", *values[position + 1 :]])
        for name, raw in (("a lone surrogate", '"\\ud800"'), ("NaN", "NaN")):
            cursors[f"{name} for {kind} {position}"] = crafted(text.replace('"@@"', raw).encode())
    return cursors


@pytest.mark.parametrize(("connection", "order"), ORDERED)
async def test_crafted_cursors_are_bad_input(
    api: Api, tokens: list[str], connection: ConnectionField, order: tuple[str, str] | None
) -> None:
    ordering = {"orderBy": {"field": order[0], "direction": order[1]}} if order else {}
    page = await read(api, tokens, connection, first=1, **ordering)
    query = page_query(connection)
    for name, cursor in bad_cursors(page["pageInfo"]["endCursor"]).items():
        for argument in ("after", "before"):
            answers = []
            for token in tokens:
                body = await api.post(query, {argument: cursor, "first": 1, **ordering}, token=token)
                answers.append(error_codes(body))
            assert ["BAD_USER_INPUT"] in answers, (name, argument, answers)
            assert all(codes in (["BAD_USER_INPUT"], ["FORBIDDEN"]) for codes in answers), (
                name,
                argument,
                answers,
            )


# The reservations page as the benchmark asks for it: the end cursor, no edge's cursor.
RESERVATIONS_PAGE = """
query Reservations($status: [ReservationStatus!], $from: DateTime) {
  reservations(first: 50, filter: {status: $status, from: $from}) {
    edges { node { id number title status startsAt endsAt customer { name email } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
RESERVATIONS_WITH_CURSORS = """
query { reservations(first: 100) {
  edges { cursor node { id } } pageInfo { hasNextPage startCursor endCursor }
} }
"""
RESERVATION_AFTER = """
query After($after: String) { reservations(first: 1, after: $after) { edges { node { id } } } }
"""


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """The values of every cursor encoded from here on."""
    seen: list[list[Any]] = []
    encode = pagination.encode_cursor

    def recording(values: Any) -> str:
        seen.append(list(values))
        return encode(values)

    monkeypatch.setattr(pagination, "encode_cursor", recording)
    return seen


@pytest.mark.parametrize("engine", ["projected", "plain"])
async def test_a_page_encodes_only_the_cursors_its_document_selects(
    api: Api, plain_api: Api, tokens: list[str], encoded: list[list[Any]], engine: str
) -> None:
    client = api if engine == "projected" else plain_api
    encoded.clear()
    page = (await client.data(RESERVATIONS_PAGE, token=tokens[0]))["reservations"]
    assert len(page["edges"]) >= ROWS
    # One cursor, the page's end cursor (the last row's, as the next test checks).
    assert [encode_cursor(values) for values in encoded] == [page["pageInfo"]["endCursor"]]

    encoded.clear()
    await client.data("{ reservations(first: 5) { edges { node { number } } } }", token=tokens[0])
    assert encoded == []

    encoded.clear()
    page = (await client.data(RESERVATIONS_WITH_CURSORS, token=tokens[0]))["reservations"]
    assert len(encoded) == len(page["edges"]) + 2


async def test_every_edge_cursor_pages_from_its_row_on_both_engines(
    api: Api, plain_api: Api, tokens: list[str]
) -> None:
    projected = (await api.data(RESERVATIONS_WITH_CURSORS, token=tokens[0]))["reservations"]
    plain = (await plain_api.data(RESERVATIONS_WITH_CURSORS, token=tokens[0]))["reservations"]
    assert projected == plain
    edges = plain["edges"]
    assert len(edges) >= ROWS
    assert plain["pageInfo"]["startCursor"] == edges[0]["cursor"]
    assert plain["pageInfo"]["endCursor"] == edges[-1]["cursor"]
    everything = ids(plain)
    for index, edge in enumerate(edges):
        for client in (api, plain_api):
            following = await client.data(RESERVATION_AFTER, {"after": edge["cursor"]}, token=tokens[0])
            assert ids(following["reservations"]) == everything[index + 1 : index + 2]
