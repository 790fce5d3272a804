"""Nested lists cost a constant number of SQL statements, however long they are."""

from __future__ import annotations

from datetime import timedelta

from auth.services import Services
from db.tables import Equipment, Reservation, ReservationLine, ReservationStatus, Role, Tenant, Tracking, User
from tests.api import Api, make_tenant, make_user
from tests.booking import T0
from tests.conftest import StatementCounter

NESTED = """
query Nested($from: DateTime, $to: DateTime) {
  equipment(first: 100) {
    edges { node { name reservations(from: $from, to: $to) { number lines { quantity equipment { name } } customer { email } } } }
  }
}
"""


async def fill(services: Services, tenant: Tenant, customer: User, items: int, per_item: int) -> None:
    """``items`` equipment, each with ``per_item`` one-line reservations, written directly."""
    async with services.database.transaction(tenant.id) as session:
        number = 0
        for index in range(items):
            equipment = Equipment(
                tenant_id=tenant.id,
                name=f"Item {index:03}",
                code=f"I{index:03}",
                tracking=Tracking.BULK,
                quantity=per_item,
            )
            session.add(equipment)
            await session.flush()
            for slot in range(per_item):
                number += 1
                reservation = Reservation(
                    tenant_id=tenant.id,
                    number=number,
                    title=f"Job {number}",
                    customer_id=customer.id,
                    starts_at=T0 + timedelta(days=slot),
                    ends_at=T0 + timedelta(days=slot, hours=8),
                    status=ReservationStatus.CONFIRMED,
                )
                session.add(reservation)
                await session.flush()
                session.add(
                    ReservationLine(
                        tenant_id=tenant.id,
                        reservation_id=reservation.id,
                        equipment_id=equipment.id,
                        quantity=1,
                    )
                )


async def statements_for(
    api: Api, services: Services, statements: StatementCounter, slug: str, items: int
) -> int:
    tenant = await make_tenant(services, slug)
    manager = await make_user(services, tenant, Role.MANAGER, f"manager@{slug}.example")
    customer = await make_user(services, tenant, Role.CUSTOMER, f"customer@{slug}.example")
    await fill(services, tenant, customer, items, per_item=3)
    token = await api.token(slug, manager.email)
    variables = {"from": T0.isoformat(), "to": (T0 + timedelta(days=30)).isoformat()}
    with statements.counting():
        data = await api.data(NESTED, variables, token=token)
    edges = data["equipment"]["edges"]
    assert len(edges) == items
    assert all(len(edge["node"]["reservations"]) == 3 for edge in edges)
    assert edges[0]["node"]["reservations"][0]["customer"] == {"email": customer.email}
    assert edges[0]["node"]["reservations"][0]["lines"] == [
        {"quantity": 1, "equipment": {"name": "Item 000"}}
    ]
    return statements.last


async def test_nested_equipment_reservations_cost_the_same_for_10_and_100_items(
    api: Api, services: Services, statements: StatementCounter
) -> None:
    small = await statements_for(api, services, statements, "small", 10)
    large = await statements_for(api, services, statements, "large", 100)
    assert small == large
    # SQLite checks the caller's sign-in session in a statement of its own, PostgreSQL
    # in the read transaction's opening one (db/session_check.py).
    assert large <= (6 if services.database.is_sqlite else 5)
