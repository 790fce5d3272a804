"""The demo seed: a catalogue and weeks of reservations per tenant that obey the booking rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from auth.services import Services
from db.clock import utcnow
from db.tables import Equipment, EquipmentUnit, Reservation, ReservationLine, ReservationStatus, Tenant, User
from resolvers.availability import overlaps
from resolvers.demo.acting import DemoDataError
from resolvers.demo.catalogue import BOOKINGS, CATALOGUES, DemoBooking, take
from resolvers.demo.seed import DEMO_TENANTS, demo_sign_ins, seed_demo
from tests.api import Api
from tests.booking import CREATE_RESERVATION, step

SLUGS = [tenant.slug for tenant in DEMO_TENANTS]
HOLDING = {"CONFIRMED", "CHECKED_OUT"}

CATALOGUE = """
query {
  equipment(first: 100) {
    totalCount
    edges { node {
      id code name category description tags tracking quantity bufferBefore bufferAfter
      units { id serialNumber status }
    } }
  }
}
"""

RESERVATIONS = """
query {
  reservations(first: 100, orderBy: {field: NUMBER, direction: ASC}) {
    totalCount
    edges { node {
      id number title status version startsAt endsAt
      customer { email } createdBy { email role }
      lines { quantity equipment { id code bufferBefore bufferAfter } unit { id serialNumber status } }
    } }
  }
}
"""

CUSTOMER_RESERVATIONS = """
query { reservations(first: 100) { totalCount edges { node { number customer { email } } } } }
"""

AVAILABILITY = """
query($from: DateTime!, $to: DateTime!, $ids: [ID!]) {
  availability(from: $from, to: $to, equipmentIds: $ids) {
    total held equipment { code tracking } reservations { number status }
  }
}
"""

NODE = "query($id: ID!) { node(id: $id) { id } }"

AUDIT = """
query($action: String) {
  auditEvents(first: 100, filter: {action: $action}) { totalCount edges { node { actorKind actor { email } } } }
}
"""


@pytest.fixture
async def seeded(services: Services) -> list[str]:
    return await seed_demo(services)


async def sign_in(api: Api, slug: str, role: str) -> str:
    for tenant, email, password, account_role in demo_sign_ins():
        if tenant == slug and account_role == role:
            return await api.token(slug, email, password)
    raise AssertionError(f"no demo {role} in {slug}")


async def catalogue(api: Api, token: str) -> list[dict[str, Any]]:
    data = await api.data(CATALOGUE, token=token)
    assert data["equipment"]["totalCount"] == len(data["equipment"]["edges"])
    return [edge["node"] for edge in data["equipment"]["edges"]]


async def reservations(api: Api, token: str) -> list[dict[str, Any]]:
    data = await api.data(RESERVATIONS, token=token)
    assert data["reservations"]["totalCount"] == len(data["reservations"]["edges"])
    return [edge["node"] for edge in data["reservations"]["edges"]]


def window(reservation: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(reservation["startsAt"]), datetime.fromisoformat(reservation["endsAt"])


def buffered(reservation: dict[str, Any], equipment: dict[str, Any]) -> tuple[datetime, datetime]:
    starts, ends = window(reservation)
    return (
        starts - timedelta(minutes=equipment["bufferBefore"]),
        ends + timedelta(minutes=equipment["bufferAfter"]),
    )


async def row_counts(services: Services) -> dict[str, int]:
    """Rows per table, read tenant by tenant (on PostgreSQL, row-level security hides the rest)."""
    async with services.database.session(None) as session:
        tenant_ids = (await session.scalars(select(Tenant.id))).all()
    counts = {"Tenant": len(tenant_ids)}
    for tenant_id in tenant_ids:
        async with services.database.session(tenant_id) as session:
            for table in (User, Equipment, EquipmentUnit, Reservation, ReservationLine):
                statement = select(func.count()).select_from(table).where(table.tenant_id == tenant_id)
                found = int((await session.execute(statement)).scalar_one())
                counts[table.__name__] = counts.get(table.__name__, 0) + found
    return counts


@pytest.mark.parametrize("slug", SLUGS)
async def test_each_tenant_has_a_catalogue_of_bulk_and_serialized_equipment(
    api: Api, seeded: list[str], slug: str
) -> None:
    items = await catalogue(api, await sign_in(api, slug, "ADMIN"))
    assert 15 <= len(items) == len(CATALOGUES[slug]) <= 20
    assert {item["tracking"] for item in items} == {"BULK", "SERIALIZED"}
    assert all(item["code"].startswith(f"{slug.upper()}-") for item in items)
    assert all(item["category"] and item["description"] and item["tags"] for item in items)
    assert any(item["bufferBefore"] >= 60 and item["bufferAfter"] >= 60 for item in items)
    for item in items:
        if item["tracking"] == "BULK":
            assert item["units"] == [] and item["quantity"] > 0
        else:
            assert 1 <= len(item["units"]) <= 6
            # Serialized stock is the number of units that can be booked.
            assert item["quantity"] == sum(unit["status"] == "AVAILABLE" for unit in item["units"])
    statuses = [unit["status"] for item in items for unit in item["units"]]
    assert statuses.count("MAINTENANCE") == 1
    by_name = {item["name"]: item for item in items}
    if slug == "esr":
        assert by_name["LED panel 500x500 P2.6"]["quantity"] == 120
        cameras = by_name["PTZ camera Panasonic AW-UE150"]
        assert [unit["serialNumber"] for unit in cameras["units"]][:2] == ["ESR-CAM-001", "ESR-CAM-002"]
    else:
        assert by_name["Folding chair"]["quantity"] == 400
        assert len(by_name["Riders' Lounge hall (400 m²)"]["units"]) == 1  # a space is one unit


@pytest.mark.parametrize("slug", SLUGS)
async def test_reservations_span_weeks_around_now_in_every_status(
    api: Api, services: Services, seeded: list[str], slug: str
) -> None:
    found = await reservations(api, await sign_in(api, slug, "STAFF"))
    now = utcnow()
    assert [reservation["number"] for reservation in found] == list(range(1, len(found) + 1))
    assert {"RETURNED", "CHECKED_OUT", "CONFIRMED", "REQUESTED", "CANCELED"} <= {r["status"] for r in found}
    first_start = min(window(r)[0] for r in found)
    last_end = max(window(r)[1] for r in found)
    assert first_start < now - timedelta(weeks=3) and last_end > now + timedelta(weeks=3)
    for reservation in found:
        starts, ends = window(reservation)
        status = reservation["status"]
        assert reservation["lines"]
        assert reservation["customer"] in (None, {"email": f"customer@{slug}.example"})
        if status == "RETURNED":
            assert ends < now
        elif status == "CHECKED_OUT":
            assert starts < now < ends
        elif status in ("CONFIRMED", "REQUESTED"):
            assert starts > now
        expected_roles = {"CUSTOMER"} if status == "REQUESTED" else {"STAFF", "MANAGER"}
        assert reservation["createdBy"]["role"] in expected_roles
    async with services.database.session(None) as session:
        tenant = (await session.scalars(select(Tenant).where(Tenant.slug == slug))).one()
    assert tenant.reservation_counter == len(found)


@pytest.mark.parametrize("slug", SLUGS)
async def test_the_demo_customer_sees_only_their_own_reservations(
    api: Api, seeded: list[str], slug: str
) -> None:
    everything = await reservations(api, await sign_in(api, slug, "STAFF"))
    theirs = {r["number"] for r in everything if r["customer"] == {"email": f"customer@{slug}.example"}}
    assert 0 < len(theirs) < len(everything)
    data = await api.data(CUSTOMER_RESERVATIONS, token=await sign_in(api, slug, "CUSTOMER"))
    seen = [edge["node"] for edge in data["reservations"]["edges"]]
    assert {r["number"] for r in seen} == theirs
    assert all(r["customer"] == {"email": f"customer@{slug}.example"} for r in seen)


@pytest.mark.parametrize("slug", SLUGS)
async def test_nothing_is_overbooked_at_any_instant(api: Api, seeded: list[str], slug: str) -> None:
    token = await sign_in(api, slug, "STAFF")
    found = await reservations(api, token)
    first_start = min(window(r)[0] for r in found) - timedelta(days=1)
    last_end = max(window(r)[1] for r in found) + timedelta(days=1)
    # ``held`` is the peak over the window, so one window over all seeded weeks covers every instant.
    variables = {"from": first_start.isoformat(), "to": last_end.isoformat()}
    usage = (await api.data(AVAILABILITY, variables, token=token))["availability"]
    assert len(usage) == len(CATALOGUES[slug])
    for row in usage:
        assert row["held"] <= row["total"], row
        assert all(reservation["status"] in HOLDING for reservation in row["reservations"])
    assert any(row["held"] > 0 for row in usage)

    # A serialized unit is never in two overlapping holding reservations (buffers included).
    by_unit: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for reservation in found:
        if reservation["status"] not in HOLDING:
            continue
        for line in reservation["lines"]:
            if line["unit"] is not None:
                assert line["unit"]["status"] == "AVAILABLE", line
                by_unit[line["unit"]["serialNumber"]].append(buffered(reservation, line["equipment"]))
    assert by_unit
    for serial, intervals in by_unit.items():
        for index, first in enumerate(intervals):
            for second in intervals[index + 1 :]:
                assert not overlaps(first, second), serial


@pytest.mark.parametrize("slug", SLUGS)
async def test_every_demo_request_can_still_be_confirmed(api: Api, seeded: list[str], slug: str) -> None:
    token = await sign_in(api, slug, "MANAGER")
    requested = [r for r in await reservations(api, token) if r["status"] == "REQUESTED"]
    assert len(requested) >= 2
    for reservation in requested:
        result = await step(api, token, "confirmReservation", reservation["id"], reservation["version"])
        assert result["__typename"] == "ReservationSuccess", result


async def test_new_bookings_continue_the_numbering_and_meet_the_demo_holds(
    api: Api, seeded: list[str]
) -> None:
    token = await sign_in(api, "esr", "STAFF")
    found = await reservations(api, token)
    panels = next(item for item in await catalogue(api, token) if item["code"] == "ESR-LED-P26")
    holding = next(
        r
        for r in found
        if r["status"] == "CONFIRMED" and any(line["equipment"]["id"] == panels["id"] for line in r["lines"])
    )
    all_panels = {
        "title": "Everything at once",
        "startsAt": holding["startsAt"],
        "endsAt": holding["endsAt"],
        "lines": [{"equipmentId": panels["id"], "quantity": panels["quantity"]}],
    }
    conflict = (await api.data(CREATE_RESERVATION, {"input": all_panels}, token=token))["createReservation"]
    assert conflict["__typename"] == "ConflictError"
    assert holding["number"] in {r["number"] for r in conflict["shortages"][0]["reservations"]}

    later = datetime.fromisoformat(max(r["endsAt"] for r in found)) + timedelta(days=7)
    fits = dict(all_panels, startsAt=later.isoformat(), endsAt=(later + timedelta(hours=8)).isoformat())
    created = (await api.data(CREATE_RESERVATION, {"input": fits}, token=token))["createReservation"]
    assert created["__typename"] == "CreateReservationSuccess", created
    assert created["reservation"]["number"] == len(found) + 1


async def test_seeding_again_adds_nothing(api: Api, services: Services, seeded: list[str]) -> None:
    assert len(seeded) == len(demo_sign_ins())
    before = await row_counts(services)
    assert await seed_demo(services) == []
    assert await row_counts(services) == before
    assert before["Tenant"] == len(SLUGS)
    assert before["Equipment"] == sum(len(items) for items in CATALOGUES.values())


async def test_tenants_stay_isolated(api: Api, seeded: list[str]) -> None:
    esr = await sign_in(api, "esr", "ADMIN")
    cmh = await sign_in(api, "cmh", "ADMIN")
    esr_items = await catalogue(api, esr)
    cmh_items = await catalogue(api, cmh)
    assert all(item["code"].startswith("ESR-") for item in esr_items)
    assert all(item["code"].startswith("CMH-") for item in cmh_items)
    cmh_reservations = await reservations(api, cmh)
    assert {r["title"] for r in cmh_reservations}.isdisjoint(r["title"] for r in await reservations(api, esr))
    camera = next(item for item in cmh_items if item["units"])
    for global_id in (camera["id"], camera["units"][0]["id"], cmh_reservations[0]["id"]):
        assert await api.data(NODE, {"id": global_id}, token=esr) == {"node": None}
    now = utcnow()
    variables = {
        "from": now.isoformat(),
        "to": (now + timedelta(days=7)).isoformat(),
        "ids": [item["id"] for item in cmh_items],
    }
    assert (await api.data(AVAILABILITY, variables, token=esr))["availability"] == []
    foreign = {
        "title": "Borrowing from the neighbours",
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=2)).isoformat(),
        "lines": [{"equipmentId": cmh_items[0]["id"]}],
    }
    result = (await api.data(CREATE_RESERVATION, {"input": foreign}, token=esr))["createReservation"]
    assert result["__typename"] == "NotFoundError"


async def test_the_demo_is_made_by_its_accounts_and_audited_as_theirs(api: Api, seeded: list[str]) -> None:
    token = await sign_in(api, "esr", "ADMIN")

    async def actors(action: str) -> list[tuple[str, str | None]]:
        data = (await api.data(AUDIT, {"action": action}, token=token))["auditEvents"]
        assert data["totalCount"] == len(data["edges"])
        return [(e["node"]["actorKind"], (e["node"]["actor"] or {}).get("email")) for e in data["edges"]]

    # The operator creates the tenant and its admin; the admin adds the other users.
    assert await actors("tenant.created") == [("operator", None)]
    users = await actors("app_user.created")
    assert sorted(users, key=str) == sorted(
        [("operator", None)] + [("user", "admin@esr.example")] * 3, key=str
    )
    assert set(await actors("equipment.created")) == {("user", "manager@esr.example")}
    requested = sum(booking.status == "REQUESTED" for booking in BOOKINGS["esr"])
    made_by = [email for _, email in await actors("reservation.created")]
    assert len(made_by) == len(BOOKINGS["esr"])
    assert made_by.count("customer@esr.example") == requested
    assert set(made_by) == {"customer@esr.example", "staff@esr.example", "manager@esr.example"}


async def test_demo_data_breaking_a_rule_of_the_api_is_refused(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window longer than any reservation may be: the seed refuses it as createReservation does."""
    endless = DemoBooking(
        "Endless festival", (-1, 8), (400, 8), ReservationStatus.CONFIRMED, (take("ESR-LED-P26", 1),)
    )
    monkeypatch.setitem(BOOKINGS, "esr", (*BOOKINGS["esr"], endless))
    with pytest.raises(DemoDataError, match=r"'Endless festival'.*endsAt: The window may be at most"):
        await seed_demo(services)
