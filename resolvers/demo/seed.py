"""Demo data for development: two tenants with one user per role, an operator, and for
each tenant an equipment catalogue with a few weeks of reservations around today."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from auth.passwords import Passwords
from db.clock import utcnow
from db.database import Database
from db.tables import (
    Equipment,
    EquipmentUnit,
    Operator,
    Reservation,
    ReservationLine,
    ReservationStatus,
    Role,
    Tenant,
    Tracking,
    UnitStatus,
    User,
)
from resolvers.booking import LineRequest, find_shortages, lock_lines
from resolvers.demo.catalogue import BOOKINGS, CATALOGUES, DemoBooking, DemoItem
from resolvers.demo.designs import seed_demo_designs

OPERATOR_EMAIL = "operator@rigbook.example"
OPERATOR_PASSWORD = "Operator2025!"

S = ReservationStatus
# Statuses a reservation passed through to get where it is; its version counts the steps.
HISTORY: dict[str, tuple[S, ...]] = {
    S.REQUESTED: (S.REQUESTED,),
    S.CONFIRMED: (S.CONFIRMED,),
    S.CHECKED_OUT: (S.CONFIRMED, S.CHECKED_OUT),
    S.RETURNED: (S.CONFIRMED, S.CHECKED_OUT, S.RETURNED),
    S.CANCELED: (S.CONFIRMED, S.CANCELED),
    S.DECLINED: (S.REQUESTED, S.DECLINED),
}


class DemoDataError(RuntimeError):
    """The demo tables in ``resolvers.demo.catalogue`` contradict themselves (a bug in the data)."""


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    timezone: str


DEMO_TENANTS = (
    DemoTenant("esr", "Event Screen Rentals", "Europe/Berlin"),
    DemoTenant("cmh", "ClipMyHorse.TV", "Europe/Berlin"),
)


def demo_sign_ins() -> list[tuple[str | None, str, str, str]]:
    """``(tenant slug, email, password, role)`` for every demo account."""
    rows: list[tuple[str | None, str, str, str]] = [(None, OPERATOR_EMAIL, OPERATOR_PASSWORD, "OPERATOR")]
    for tenant in DEMO_TENANTS:
        for role in Role:
            word = role.value.capitalize()
            rows.append(
                (
                    tenant.slug,
                    f"{role.value.lower()}@{tenant.slug}.example",
                    f"{tenant.slug.upper()}2025!{word}",
                    role.value,
                )
            )
    return rows


async def is_empty(database: Database) -> bool:
    async with database.session(None) as session:
        return (await session.scalars(select(Tenant.id).limit(1))).first() is None


async def seed_demo(database: Database, passwords: Passwords) -> list[str]:
    """Insert the demo tenants (with users, catalogue and reservations) and operator that do not
    exist yet; returns the accounts added. A tenant is seeded in one transaction, all or nothing."""
    added: list[str] = []
    async with database.transaction(None) as session:
        if (
            await session.scalars(select(Operator.id).where(Operator.email == OPERATOR_EMAIL))
        ).first() is None:
            session.add(
                Operator(
                    email=OPERATOR_EMAIL,
                    name="Platform Operator",
                    password_hash=await passwords.hash(OPERATOR_PASSWORD),
                )
            )
            added.append(OPERATOR_EMAIL)
    now = utcnow()
    for demo in DEMO_TENANTS:
        async with database.session(None) as session:
            tenant = (await session.scalars(select(Tenant).where(Tenant.slug == demo.slug))).first()
        if tenant is not None:
            continue
        tenant = Tenant(slug=demo.slug, name=demo.name, timezone=demo.timezone)
        async with database.transaction(tenant.id) as session:
            session.add(tenant)
            await session.flush()
            users: dict[Role, User] = {}
            for slug, email, password, role in demo_sign_ins():
                if slug != demo.slug:
                    continue
                name = f"{demo.name} {role.capitalize()}"
                users[Role(role)] = user = User(
                    tenant_id=tenant.id,
                    email=email,
                    name=name,
                    role=role,
                    password_hash=await passwords.hash(password),
                )
                session.add(user)
                added.append(email)
            await session.flush()
            stock = await _add_catalogue(session, tenant.id, CATALOGUES[demo.slug])
            await _add_reservations(session, tenant, users, stock, BOOKINGS[demo.slug], now)
        await seed_demo_designs(database, tenant.id, demo.slug)
    return added


@dataclass
class Stock:
    """The seeded catalogue of one tenant, by code and by serial number."""

    equipment: dict[str, Equipment]
    units: dict[str, EquipmentUnit]


async def _add_catalogue(session: AsyncSession, tenant_id: uuid.UUID, items: tuple[DemoItem, ...]) -> Stock:
    stock = Stock(equipment={}, units={})
    for item in items:
        serialized = item.tracking == Tracking.SERIALIZED
        available = [serial for serial in item.serials if serial not in item.in_maintenance]
        equipment = Equipment(
            tenant_id=tenant_id,
            name=item.name,
            code=item.code,
            category=item.category,
            description=item.description,
            tags=list(item.tags),
            tracking=item.tracking,
            # As createEquipment/updateEquipmentUnit keep it: serialized stock = AVAILABLE units.
            quantity=len(available) if serialized else item.quantity,
            buffer_before=item.buffer_before,
            buffer_after=item.buffer_after,
        )
        stock.equipment[item.code] = equipment
        session.add(equipment)
    await session.flush()  # units reference their equipment
    for item in items:
        for serial in item.serials:
            maintenance = serial in item.in_maintenance
            unit = EquipmentUnit(
                tenant_id=tenant_id,
                equipment_id=stock.equipment[item.code].id,
                serial_number=serial,
                status=UnitStatus.MAINTENANCE if maintenance else UnitStatus.AVAILABLE,
                notes="In the workshop: repaired, awaiting calibration." if maintenance else "",
            )
            stock.units[serial] = unit
            session.add(unit)
    await session.flush()
    return stock


def _local_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # no tz database on this machine
        return UTC


def _instant(today: datetime, zone: tzinfo, day_and_hour: tuple[int, int]) -> datetime:
    days, hour = day_and_hour
    local = datetime.combine(today.date() + timedelta(days=days), time(hour), tzinfo=zone)
    return local.astimezone(UTC)


def _line_requests(booking: DemoBooking, stock: Stock) -> list[LineRequest]:
    requests: list[LineRequest] = []
    for index, line in enumerate(booking.lines):
        equipment = stock.equipment.get(line.code)
        unit = stock.units.get(line.serial) if line.serial is not None else None
        if equipment is None or (
            line.serial is not None and (unit is None or unit.equipment_id != equipment.id)
        ):
            raise DemoDataError(f"{booking.title!r}: unknown equipment or unit in {line}")
        requests.append(
            LineRequest(
                field=f"lines.{index}",
                equipment_id=equipment.id,
                quantity=line.quantity,
                unit_id=unit.id if unit is not None else None,
            )
        )
    return requests


async def _add_reservations(
    session: AsyncSession,
    tenant: Tenant,
    users: dict[Role, User],
    stock: Stock,
    bookings: tuple[DemoBooking, ...],
    now: datetime,
) -> None:
    """Insert ``bookings`` numbered 1..n by start, never overbooking.

    Every booking that is not CANCELED is checked with the same rule ``createReservation``
    uses (``find_shortages``, buffers and units included) against all bookings inserted
    before it, and is inserted as CONFIRMED so that the later ones are checked against it.
    Only then do they get their real statuses. So all of them, past and requested ones
    too, fit the stock together: any request can still be confirmed.
    """
    zone = _local_zone(tenant.timezone)
    today = now.astimezone(zone)
    planned = sorted(
        ((_instant(today, zone, b.starts), _instant(today, zone, b.ends), b) for b in bookings),
        key=lambda entry: entry[0],
    )
    seeded: list[tuple[Reservation, S]] = []
    for number, (starts_at, ends_at, booking) in enumerate(planned, start=1):
        lines = _line_requests(booking, stock)
        if booking.status != S.CANCELED:
            locked = await lock_lines(session, tenant.id, lines)
            shortages = await find_shortages(session, tenant.id, locked, lines, (starts_at, ends_at))
            if shortages:
                codes = {item.id: code for code, item in stock.equipment.items()}
                short = ", ".join(
                    f"{codes[shortage.equipment_id]} (wants {shortage.requested}, {shortage.available} free)"
                    for shortage in shortages
                )
                raise DemoDataError(f"{booking.title!r} would overbook {short}")
        history = HISTORY[booking.status]
        requested = history[0] == S.REQUESTED
        if requested and not booking.for_customer:
            raise DemoDataError(f"{booking.title!r}: requests come from the demo customer")
        # Creation times grow with the number and never lie in the future.
        created_at = min(starts_at - timedelta(days=10), now - timedelta(minutes=len(planned) - number + 1))
        updated_at = {
            S.RETURNED: ends_at + timedelta(hours=3),
            S.CHECKED_OUT: starts_at,
            S.CANCELED: created_at + timedelta(days=1),
        }.get(booking.status, created_at)
        reservation = Reservation(
            tenant_id=tenant.id,
            number=number,
            title=booking.title,
            customer_id=users[Role.CUSTOMER].id if booking.for_customer else None,
            # Customers create their own requests; staff and managers take the rest.
            created_by_id=users[
                Role.CUSTOMER if requested else Role.MANAGER if number % 3 == 0 else Role.STAFF
            ].id,
            starts_at=starts_at,
            ends_at=ends_at,
            # Held for now so the next bookings are checked against it (canceled ones hold nothing).
            status=S.CANCELED if booking.status == S.CANCELED else S.CONFIRMED,
            notes=booking.notes,
            version=len(history),
            created_at=created_at,
            updated_at=max(created_at, min(updated_at, now)),
        )
        session.add(reservation)
        await session.flush()  # lines reference the reservation
        session.add_all(
            ReservationLine(
                tenant_id=tenant.id,
                reservation_id=reservation.id,
                position=position,
                equipment_id=line.equipment_id,
                unit_id=line.unit_id,
                quantity=line.quantity,
            )
            for position, line in enumerate(lines)
            if line.equipment_id is not None
        )
        await session.flush()
        seeded.append((reservation, booking.status))
    for reservation, status in seeded:
        reservation.status = status
    # The next createReservation continues at n + 1.
    tenant.reservation_counter = len(seeded)
    await session.flush()
