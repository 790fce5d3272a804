"""A hand-built month for report tests: rows written straight to the database, figures worked out by hand.

``build_november(services, tenant)`` writes equipment and reservations of November
2026 (UTC: 720 hours) to a tenant; ``NOVEMBER`` holds what its report must say when
made at ``REPORT_TIME``. Each reservation's comment shows the arithmetic.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from auth.services import Services
from db.tables import (
    Equipment,
    EquipmentStatus,
    EquipmentUnit,
    Reservation,
    ReservationLine,
    ReservationStatus,
    Tenant,
    Tracking,
)

S = ReservationStatus
REPORT_TIME = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def nov(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@dataclass
class Built:
    """What a builder wrote: equipment by key, reservations by key (their ids)."""

    tenant: Tenant
    equipment: dict[str, Equipment] = field(default_factory=dict)
    reservations: dict[str, uuid.UUID] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    units: dict[str, list[uuid.UUID]] = field(default_factory=dict)


async def add_equipment(
    services: Services,
    built: Built,
    key: str,
    *,
    name: str,
    quantity: int,
    category: str = "",
    code: str | None = None,
    serialized: bool = False,
    retired: bool = False,
) -> Equipment:
    item = Equipment(
        tenant_id=built.tenant.id,
        name=name,
        code=code or key.upper(),
        category=category,
        tracking=Tracking.SERIALIZED if serialized else Tracking.BULK,
        quantity=quantity,
        status=EquipmentStatus.RETIRED if retired else EquipmentStatus.ACTIVE,
    )
    async with services.database.transaction(built.tenant.id) as session:
        session.add(item)
        await session.flush()
        units = [
            EquipmentUnit(tenant_id=built.tenant.id, equipment_id=item.id, serial_number=f"{key}-{number}")
            for number in range(quantity if serialized else 0)
        ]
        session.add_all(units)
    built.units[key] = [unit.id for unit in units]
    built.equipment[key] = item
    return item


async def add_reservation(
    services: Services,
    built: Built,
    key: str,
    status: ReservationStatus,
    starts: datetime,
    ends: datetime,
    lines: list[tuple[str, int]],
    *,
    updated_at: datetime | None = None,
    title: str | None = None,
    units: bool = False,
) -> uuid.UUID:
    """``lines``: (equipment key, quantity); with ``units``, one line per unit of a serialized item."""
    number = len(built.reservations) + 1
    reservation = Reservation(
        tenant_id=built.tenant.id,
        number=number,
        title=title or f"Job {key}",
        starts_at=starts,
        ends_at=ends,
        status=status,
        created_at=starts - timedelta(days=3),
        updated_at=updated_at or starts - timedelta(days=1),
    )
    async with services.database.transaction(built.tenant.id) as session:
        session.add(reservation)
        await session.flush()
        position = 0
        for equipment_key, quantity in lines:
            item = built.equipment[equipment_key]
            unit_ids: list[uuid.UUID | None] = (
                list(built.units[equipment_key][:quantity]) if units else [None]
            )
            for unit_id in unit_ids:
                session.add(
                    ReservationLine(
                        tenant_id=built.tenant.id,
                        reservation_id=reservation.id,
                        position=position,
                        equipment_id=item.id,
                        unit_id=unit_id,
                        quantity=1 if unit_id is not None else quantity,
                    )
                )
                position += 1
    built.reservations[key] = reservation.id
    built.numbers[key] = number
    return reservation.id


async def make_dated_tenant(services: Services, slug: str, timezone: str = "UTC") -> Tenant:
    """A tenant that existed long before the months under test."""
    tenant = Tenant(slug=slug, name=slug.upper(), timezone=timezone, created_at=LONG_AGO)
    async with services.database.transaction(tenant.id) as session:
        session.add(tenant)
    return tenant


async def build_november(services: Services, tenant: Tenant, *, names: dict[str, str] | None = None) -> Built:
    """The hand-built month; ``names`` renames items (the CSV guard's tests)."""
    names = names or {}
    built = Built(tenant)
    await add_equipment(
        services, built, "wall", name=names.get("wall", "LED wall"), quantity=4, category="LED"
    )
    await add_equipment(services, built, "deck", name="Stage deck", quantity=10, category="Staging")
    await add_equipment(
        services, built, "cam", name="Camera", quantity=2, category="Broadcast", serialized=True
    )
    await add_equipment(services, built, "old", name="Old wall", quantity=3, category="LED", retired=True)
    await add_equipment(services, built, "idle", name="Idle truss", quantity=5)
    # wall: 2 × 48 h = 96
    await add_reservation(services, built, "r1", S.CONFIRMED, nov(10), nov(12), [("wall", 2)])
    # wall: 1 × 12 h inside November (from Oct 31 12:00); still out, due Nov 1 12:00: 732 h late
    await add_reservation(
        services, built, "r2", S.CHECKED_OUT, nov(1) - timedelta(hours=12), nov(1, 12), [("wall", 1)]
    )
    # deck: 5 × 6 h inside November; due back in December, so not November's overdue (though late)
    await add_reservation(
        services,
        built,
        "r3",
        S.RETURNED,
        nov(30, 18),
        nov(30, 18) + timedelta(hours=12),
        [("deck", 5)],
        updated_at=datetime(2026, 12, 1, 8, tzinfo=UTC),
    )
    # cam: two units × 24 h = 48, one reservation; back 3 h late
    await add_reservation(
        services, built, "r4", S.RETURNED, nov(20), nov(21), [("cam", 2)], updated_at=nov(21, 3), units=True
    )
    await add_reservation(services, built, "r5", S.REQUESTED, nov(5), nov(6), [("wall", 4)])
    await add_reservation(services, built, "r6", S.CANCELED, nov(15), nov(16), [("deck", 2)])
    await add_reservation(services, built, "r7", S.DECLINED, nov(1), nov(2), [("wall", 1)])
    # December: overlaps nothing of November
    await add_reservation(
        services, built, "r8", S.CONFIRMED, datetime(2026, 12, 3, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC),
        [("wall", 1)],
    )  # fmt: skip
    # old (retired, no stock): 3 × 24 h = 72, back early
    await add_reservation(
        services, built, "r9", S.RETURNED, nov(2), nov(3), [("old", 3)], updated_at=nov(2, 23)
    )
    # wall: 1 × 10 h, back exactly on time (not late)
    await add_reservation(
        services, built, "r10", S.RETURNED, nov(25), nov(25, 10), [("wall", 1)], updated_at=nov(25, 10)
    )
    # deck: 1 × 24 h; still out, due Nov 29: 72 h late at the report
    await add_reservation(services, built, "r11", S.CHECKED_OUT, nov(28), nov(29), [("deck", 1)])
    return built


NOVEMBER: dict[str, Any] = {
    "hours": 720.0,
    "statuses": {
        "REQUESTED": 1,
        "CONFIRMED": 1,
        "CHECKED_OUT": 2,
        "RETURNED": 4,
        "CANCELED": 1,
        "DECLINED": 1,
        "EXPIRED": 0,
    },
    # name: (stock, held, available, utilization, reservations)
    "items": {
        "Camera": (2, 48.0, 1440.0, 0.0333, 1),
        "Idle truss": (5, 0.0, 3600.0, 0.0, 0),
        "LED wall": (4, 118.0, 2880.0, 0.041, 3),
        "Old wall": (0, 72.0, 0.0, None, 1),
        "Stage deck": (10, 54.0, 7200.0, 0.0075, 2),
    },
    # category: (items, stock, held, available, utilization)
    "categories": {
        "": (1, 5, 0.0, 3600.0, 0.0),
        "Broadcast": (1, 2, 48.0, 1440.0, 0.0333),
        "LED": (2, 4, 190.0, 2880.0, 0.066),
        "Staging": (1, 10, 54.0, 7200.0, 0.0075),
    },
    "top": ["LED wall", "Old wall", "Stage deck", "Camera"],
    # reservation key: (status, returned late?, hours late), longest first
    "overdue": [("r2", "CHECKED_OUT", 732.0), ("r11", "CHECKED_OUT", 72.0), ("r4", "RETURNED", 3.0)],
}
