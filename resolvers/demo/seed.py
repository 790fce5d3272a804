"""Demo data for development: two tenants with one user per role, an operator, and for
each tenant an equipment catalogue with a few weeks of reservations around today.

Every row is made by the business function a GraphQL client's mutation calls
(``create_tenant``, ``create_user``, ``create_equipment``, ``create_reservation``,
``transition``, ...), acting as the demo account that would make it
(``resolvers/demo/acting.py``). So the demo data obeys every rule the API enforces —
stock, buffers, units, validation — and an edit of the tables in
``resolvers/demo/catalogue.py`` that breaks one fails loudly with a ``DemoDataError``.
Each step commits as its mutation would: a tenant whose seeding failed stays as far as
it got (seed a fresh database once the data is fixed).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import col, select

from auth.services import Services
from db.clock import utcnow
from db.database import Database
from db.scoped import scoped
from db.tables import (
    EquipmentUnit,
    Operator,
    Reservation,
    ReservationStatus,
    Role,
    Tenant,
    Tracking,
    UnitStatus,
    User,
)
from resolvers.booking import LineRequest
from resolvers.demo.acting import Acting, DemoDataError, demo_step, principal_of
from resolvers.demo.catalogue import BOOKINGS, CATALOGUES, DemoBooking, DemoItem
from resolvers.demo.designs import seed_demo_designs
from resolvers.equipment import (
    EquipmentDraft,
    EquipmentFields,
    NewUnit,
    UnitChanges,
    create_equipment,
    update_unit,
)
from resolvers.operators import create_operator
from resolvers.reservations import ReservationDraft, create_reservation, transition
from resolvers.tenants import NewTenant, create_tenant
from resolvers.transactions import Standalone
from resolvers.users import create_user

OPERATOR_EMAIL = "operator@rigbook.example"
OPERATOR_PASSWORD = "Operator2025!"
MAINTENANCE_NOTES = "In the workshop: repaired, awaiting calibration."

S = ReservationStatus
# The transitions that take a new reservation to each status: staff's start CONFIRMED,
# customers' REQUESTED (``REQUESTS``). Each step adds one to the reservation's version.
STEPS: dict[str, tuple[str, ...]] = {
    S.REQUESTED: (),
    S.CONFIRMED: (),
    S.CHECKED_OUT: ("check_out",),
    S.RETURNED: ("check_out", "return"),
    S.CANCELED: ("cancel",),
    S.DECLINED: ("decline",),
}
REQUESTS = frozenset({S.REQUESTED, S.DECLINED})


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


async def seed_demo(services: Services) -> list[str]:
    """Add the demo operator and tenants (with users, catalogue, reservations and designs)
    that do not exist yet; returns the accounts added."""
    database = services.database
    added: list[str] = []
    async with database.session(None) as session:
        operator = (
            await session.scalars(select(Operator).where(col(Operator.email) == OPERATOR_EMAIL))
        ).first()
    if operator is None:
        operator = await demo_step(
            "the demo operator",
            create_operator(
                Standalone(database),
                services.passwords,
                email=OPERATOR_EMAIL,
                name="Platform Operator",
                password=OPERATOR_PASSWORD,
            ),
        )
        added.append(OPERATOR_EMAIL)
    now = utcnow()
    for demo in DEMO_TENANTS:
        async with database.session(None) as session:
            if (await session.scalars(select(Tenant.id).where(col(Tenant.slug) == demo.slug))).first():
                continue
        _check_references(demo.slug)
        tenant, users = await _add_tenant(services, operator, demo)
        added.extend(user.email for user in users.values())
        stock = await _add_catalogue(Acting.as_user(database, users[Role.MANAGER]), CATALOGUES[demo.slug])
        await _add_reservations(services, tenant, users, stock, BOOKINGS[demo.slug], now)
        await seed_demo_designs(services, tenant.id, demo.slug)
    return added


async def _add_tenant(
    services: Services, operator: Operator, demo: DemoTenant
) -> tuple[Tenant, dict[Role, User]]:
    """The tenant with its admin, as the operator creates it; then the admin adds the others."""
    database, passwords = services.database, services.passwords
    accounts = {
        Role(role): (email, password) for slug, email, password, role in demo_sign_ins() if slug == demo.slug
    }
    email, password = accounts[Role.ADMIN]
    new = NewTenant(
        slug=demo.slug,
        name=demo.name,
        timezone=demo.timezone,
        admin_email=email,
        admin_password=password,
        admin_name=f"{demo.name} Admin",
    )
    tenant, admin = await demo_step(
        f"tenant {demo.slug}", create_tenant(Standalone(database, principal_of(operator)), passwords, new)
    )
    if admin is None:
        raise DemoDataError(f"tenant {demo.slug}: created without its admin")
    users = {Role.ADMIN: admin}
    by_admin = Acting.as_user(database, admin)
    for role, (email, password) in accounts.items():
        if role == Role.ADMIN:
            continue
        users[role] = await demo_step(
            email,
            create_user(
                by_admin.transactions,
                by_admin.caller,
                passwords,
                email=email,
                name=f"{demo.name} {role.value.capitalize()}",
                role=role,
                password=password,
            ),
        )
    # In the order of ``demo_sign_ins``.
    return tenant, {role: users[role] for role in accounts}


@dataclass(frozen=True)
class Stock:
    """The seeded catalogue of one tenant: equipment ids by code, unit ids by code and serial."""

    equipment: dict[str, uuid.UUID]
    units: dict[tuple[str, str], uuid.UUID]

    @property
    def codes(self) -> dict[uuid.UUID, str]:
        return {equipment_id: code for code, equipment_id in self.equipment.items()}


async def _add_catalogue(manager: Acting, items: tuple[DemoItem, ...]) -> Stock:
    """Each item as ``createEquipment`` makes it (serialized: with its units), as the manager;
    then the units in the workshop go into maintenance, as ``updateEquipmentUnit`` does it."""
    equipment: dict[str, uuid.UUID] = {}
    for item in items:
        serialized = item.tracking == Tracking.SERIALIZED
        fields = EquipmentFields(
            name=item.name,
            code=item.code,
            category=item.category,
            description=item.description,
            tags=list(item.tags),
            # Serialized stock is the number of units.
            quantity=None if serialized else item.quantity,
            buffer_before=item.buffer_before,
            buffer_after=item.buffer_after,
        )
        draft = EquipmentDraft(fields, item.tracking, [NewUnit(serial) for serial in item.serials])
        row = await demo_step(item.code, create_equipment(manager.transactions, manager.caller, draft))
        equipment[item.code] = row.id
    codes = {equipment_id: code for code, equipment_id in equipment.items()}
    async with manager.transactions.session() as session:
        statement = scoped(EquipmentUnit, manager.caller.tenant_id)
        units = {
            (codes[unit.equipment_id], unit.serial_number): unit.id
            for unit in (await session.scalars(statement)).all()
        }
    for item in items:
        for serial in item.in_maintenance:
            changes = UnitChanges(status=UnitStatus.MAINTENANCE, notes=MAINTENANCE_NOTES)
            await demo_step(
                serial,
                update_unit(manager.transactions, manager.caller, units[item.code, serial], changes),
            )
    return Stock(equipment, units)


def _check_references(slug: str) -> None:
    """Every booking names equipment and units of its tenant's catalogue, and requests are customers'."""
    serials = {item.code: set(item.serials) for item in CATALOGUES[slug]}
    for booking in BOOKINGS[slug]:
        for line in booking.lines:
            if line.code not in serials or (
                line.serial is not None and line.serial not in serials[line.code]
            ):
                raise DemoDataError(f"{booking.title!r}: unknown equipment or unit in {line}")
        if booking.status in REQUESTS and not booking.for_customer:
            raise DemoDataError(f"{booking.title!r}: requests come from the demo customer")


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
    return [
        LineRequest(
            field=f"lines.{index}",
            equipment_id=stock.equipment[line.code],
            quantity=line.quantity,
            unit_id=stock.units[line.code, line.serial] if line.serial is not None else None,
            unit_given=line.serial is not None,
        )
        for index, line in enumerate(booking.lines)
    ]


async def _add_reservations(
    services: Services,
    tenant: Tenant,
    users: dict[Role, User],
    stock: Stock,
    bookings: tuple[DemoBooking, ...],
    now: datetime,
) -> None:
    """Book ``bookings`` in order of their start (so numbered 1..n), then move each to its status.

    Staff book what was confirmed at some point (``createReservation`` makes it CONFIRMED),
    the customer requests the rest. Each booking is checked against the stock that every
    earlier one holds, buffers and units included, and all of them hold stock while the
    later ones are booked: checking out, returning and declining come only afterwards. So
    they fit the stock together, past ones too. A canceled booking is canceled at once and
    holds nothing; requests must fit beside all the others too (``tests/test_seed.py``
    confirms every one).
    """
    database, settings = services.database, services.settings
    zone = _local_zone(tenant.timezone)
    today = now.astimezone(zone)
    planned = sorted(
        ((_instant(today, zone, b.starts), _instant(today, zone, b.ends), b) for b in bookings),
        key=lambda entry: entry[0],
    )
    customer = Acting.as_user(database, users[Role.CUSTOMER])
    manager = Acting.as_user(database, users[Role.MANAGER])
    staff = Acting.as_user(database, users[Role.STAFF])
    moves: list[tuple[Acting, Reservation, DemoBooking]] = []
    for number, (starts_at, ends_at, booking) in enumerate(planned, start=1):
        requested = booking.status in REQUESTS
        # Customers make their own requests; staff and managers take the rest.
        by = customer if requested else manager if number % 3 == 0 else staff
        for_customer = booking.for_customer and not requested
        draft = ReservationDraft(
            title=booking.title,
            starts_at=starts_at,
            ends_at=ends_at,
            lines=_line_requests(booking, stock),
            customer_id=customer.caller.subject_id if for_customer else None,
            customer_given=for_customer,
            notes=booking.notes,
        )
        reservation = await demo_step(
            repr(booking.title), create_reservation(by.transactions, by.caller, settings, draft), stock.codes
        )
        # Requests are answered by a manager.
        move = (manager if requested else by, reservation, booking)
        if booking.status == S.CANCELED:
            await _move(*move)
        else:
            moves.append(move)
    for move in moves:
        await _move(*move)


async def _move(by: Acting, reservation: Reservation, booking: DemoBooking) -> None:
    """Take ``reservation`` to the booking's status through the lifecycle's transitions."""
    for action in STEPS[booking.status]:
        reservation = await demo_step(
            f"{booking.title!r} ({action})",
            transition(by.transactions, by.caller, action, reservation.id, reservation.version),
        )
