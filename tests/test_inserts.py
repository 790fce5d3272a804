"""``db/inserts.py`` writes new rows as the unit of work would, on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from auth.services import Services
from db.inserts import insert_new
from db.tables import Equipment, Reservation, ReservationLine, ReservationStatus, Tracking
from tests.api import make_tenant
from tests.booking import T0


async def test_a_none_where_a_column_has_a_default_takes_the_default_as_the_unit_of_work_does(
    services: Services,
) -> None:
    tenant = await make_tenant(services, "defaults")
    equipment = Equipment(tenant_id=tenant.id, name="Deck", code="D", tracking=Tracking.BULK, quantity=2)
    async with services.database.transaction(tenant.id) as session:
        session.add(equipment)
    reservation = Reservation(
        tenant_id=tenant.id,
        number=1,
        title="Gala",
        starts_at=T0,
        ends_at=T0 + timedelta(hours=4),
        status=ReservationStatus.CONFIRMED,
    )
    reservation.notes = None  # type: ignore[assignment]
    reservation.version = None  # type: ignore[assignment]
    line = ReservationLine(
        tenant_id=tenant.id, reservation_id=reservation.id, equipment_id=equipment.id, quantity=1
    )
    line.position = None  # type: ignore[assignment]
    async with services.database.transaction(tenant.id) as session:
        await insert_new(session, [reservation], [line])
    async with services.database.session(tenant.id) as session:
        stored = (
            await session.scalars(select(Reservation).where(col(Reservation.id) == reservation.id))
        ).one()
        stored_line = (
            await session.scalars(select(ReservationLine).where(col(ReservationLine.id) == line.id))
        ).one()
    assert (stored.notes, stored.version) == ("", 1)
    assert stored_line.position == 0
