"""Reservations: create, change, move through the lifecycle — never overbooking."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete

from db import writes
from db.clock import utcnow
from db.inserts import insert_new
from db.scoped import in_tenant, scoped, scoped_records
from db.tables import Reservation, ReservationLine, ReservationStatus, Tenant, User
from resolvers.booking import LineRequest, find_shortages, lock_lines
from resolvers.caller import TenantCaller
from resolvers.errors import Conflict, EmailNotVerified, Forbidden, NotFound, Unavailable, Validator
from resolvers.instants import instant_problem
from resolvers.transactions import Transactions
from resolvers.validation import name_problem
from settings import Settings

S = ReservationStatus
MAX_NOTES = 5000
MAX_IDEMPOTENCY_KEY = 128
MAX_LINE_QUANTITY = 100_000


@dataclass(frozen=True)
class ReservationDraft:
    """What a client asks for: validated here, then checked against stock under locks."""

    title: str
    starts_at: datetime
    ends_at: datetime
    lines: list[LineRequest]
    customer_id: uuid.UUID | None = None
    customer_given: bool = False
    notes: str = ""
    idempotency_key: str | None = None
    design_version_id: uuid.UUID | None = field(default=None)


def validate_window(settings: Settings, problems: Validator, starts_at: datetime, ends_at: datetime) -> None:
    unusable = False
    for name, value in (("startsAt", starts_at), ("endsAt", ends_at)):
        problem = instant_problem(value)
        problems.add(name, problem)
        unusable = unusable or problem is not None
    if unusable:
        return
    if ends_at <= starts_at:
        problems.add("endsAt", "Must be after startsAt.")
    limit = settings.max_reservation_days
    if ends_at - starts_at > timedelta(days=limit):
        problems.add("endsAt", f"The window may be at most {limit} days long.")


def validate_not_started(problems: Validator, starts_at: datetime, now: datetime) -> None:
    """A customer's request must leave staff time to answer: its window may not have started."""
    if instant_problem(starts_at) is None and starts_at <= now:
        problems.add("startsAt", "The window has already started; ask for one that starts later.")


def validate_lines(settings: Settings, problems: Validator, lines: list[LineRequest]) -> None:
    limit = settings.max_reservation_lines
    if not lines:
        problems.add("lines", "Add at least one line.")
    if len(lines) > limit:
        problems.add("lines", f"At most {limit} lines per reservation.")
        return
    seen_units: set[uuid.UUID] = set()
    for line in lines:
        if not 1 <= line.quantity <= MAX_LINE_QUANTITY:
            problems.add(f"{line.field}.quantity", f"Must be between 1 and {MAX_LINE_QUANTITY}.")
        if line.unit_id is not None:
            if line.quantity != 1:
                problems.add(f"{line.field}.quantity", "A line naming a unit books exactly 1.")
            if line.unit_id in seen_units:
                problems.add(f"{line.field}.unitId", "The same unit appears twice.")
            seen_units.add(line.unit_id)


def validate_text(problems: Validator, title: str | None, notes: str | None) -> None:
    if title is not None:
        problems.add("title", name_problem(title))
    if notes is not None and len(notes) > MAX_NOTES:
        problems.add("notes", f"Must be at most {MAX_NOTES} characters long.")


async def _next_number(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    statement = (
        update(Tenant)
        .where(col(Tenant.id) == tenant_id)
        .values(reservation_counter=col(Tenant.reservation_counter) + 1)
        .returning(col(Tenant.reservation_counter))
    )
    (row,) = await writes.rows(session, statement)
    return int(row[0])


async def _check_customer(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, *, by_themselves: bool
) -> None:
    """The customer exists and is not anonymised; booking for themselves, they verified their address.

    Staff may book for a customer whose address is not verified yet: they know them.
    """
    statement = scoped_records(User, tenant_id, ("id", "email_verified_at", "anonymized_at")).where(
        col(User.id) == user_id
    )
    rows = await writes.rows(session, statement)
    found = rows[0] if rows else None
    if found is None or found.anonymized_at is not None:
        raise NotFound("customer", field="customerId")
    if by_themselves and found.email_verified_at is None:
        raise EmailNotVerified()


async def _by_idempotency_key(
    transactions: Transactions, tenant_id: uuid.UUID, key: str
) -> Reservation | None:
    async with transactions.session() as session:
        statement = scoped(Reservation, tenant_id).where(col(Reservation.idempotency_key) == key)
        return (await session.scalars(statement)).first()


def _replayed(earlier: Reservation, caller: TenantCaller) -> Reservation:
    """A retry gets its first result; a key someone else used reveals nothing of theirs."""
    if earlier.created_by_id != caller.user_id:
        raise Conflict("This idempotency key was already used for another request; use a new key.")
    return earlier


def _new_lines(reservation: Reservation, lines: list[LineRequest]) -> list[ReservationLine]:
    new: list[ReservationLine] = []
    for position, line in enumerate(lines):
        if line.equipment_id is None:  # ``lock_lines`` refused it already
            raise NotFound("equipment", field=f"{line.field}.equipmentId")
        new.append(
            ReservationLine(
                tenant_id=reservation.tenant_id,
                reservation_id=reservation.id,
                position=position,
                equipment_id=line.equipment_id,
                unit_id=line.unit_id,
                quantity=line.quantity,
            )
        )
    return new


def _customer_of(caller: TenantCaller, draft: ReservationDraft) -> uuid.UUID | None:
    """Who the reservation is for: staff name anyone (or no one), customers only themselves."""
    customer_id = draft.customer_id
    if not caller.is_staff:
        if draft.customer_given and customer_id != caller.subject_id:
            raise Forbidden("Customers can only make reservations for themselves.")
        return caller.subject_id
    if draft.customer_given and customer_id is None:
        raise NotFound("customer", field="customerId")
    return customer_id


def validate_draft(caller: TenantCaller, settings: Settings, draft: ReservationDraft) -> None:
    """Every problem of ``draft`` that needs no SQL, raised together."""
    problems = Validator()
    validate_text(problems, draft.title, draft.notes)
    validate_window(settings, problems, draft.starts_at, draft.ends_at)
    if not caller.is_staff:
        validate_not_started(problems, draft.starts_at, utcnow())
    validate_lines(settings, problems, draft.lines)
    if draft.idempotency_key is not None and not 1 <= len(draft.idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        problems.add("idempotencyKey", f"Must be 1 to {MAX_IDEMPOTENCY_KEY} characters long.")
    problems.raise_if_any()


async def create_reservation(
    transactions: Transactions, caller: TenantCaller, settings: Settings, draft: ReservationDraft
) -> Reservation:
    tenant_id = caller.tenant_id
    _customer_of(caller, draft)
    validate_draft(caller, settings, draft)

    if draft.idempotency_key is not None:
        earlier = await _by_idempotency_key(transactions, tenant_id, draft.idempotency_key)
        if earlier is not None:
            return _replayed(earlier, caller)
    try:
        async with transactions.transaction() as session:
            return await book(session, caller, draft)
    except IntegrityError:
        # A concurrent request with the same idempotency key won the race.
        if draft.idempotency_key is not None:
            earlier = await _by_idempotency_key(transactions, tenant_id, draft.idempotency_key)
            if earlier is not None:
                return _replayed(earlier, caller)
        raise


async def book(session: AsyncSession, caller: TenantCaller, draft: ReservationDraft) -> Reservation:
    """Write ``draft`` (validated by ``validate_draft``) in ``session``'s transaction, or nothing.

    Locks the equipment its lines name and re-checks stock under those locks; a
    shortage raises ``Unavailable`` before anything is written. The caller's
    transaction may write more beside it (``convertEnquiry``): all of it commits, or none.
    """
    tenant_id = caller.tenant_id
    customer_id = _customer_of(caller, draft)
    if customer_id is not None:
        await _check_customer(session, tenant_id, customer_id, by_themselves=not caller.is_staff)
    locked = await lock_lines(session, tenant_id, draft.lines)
    window = (draft.starts_at, draft.ends_at)
    shortages = await find_shortages(
        session,
        tenant_id,
        locked,
        draft.lines,
        window,
        reveal_reservations=caller.visibility.sees_holders,
    )
    if shortages:
        raise Unavailable(shortages)
    now = utcnow()
    reservation = Reservation(
        tenant_id=tenant_id,
        number=await _next_number(session, tenant_id),
        title=draft.title.strip(),
        customer_id=customer_id,
        created_by_id=caller.user_id,
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        status=S.CONFIRMED if caller.is_staff else S.REQUESTED,
        notes=draft.notes,
        idempotency_key=draft.idempotency_key,
        design_version_id=draft.design_version_id,
        created_at=now,
        updated_at=now,
    )
    await insert_new(session, [reservation], _new_lines(reservation, draft.lines))
    return reservation


async def _lock_reservation(
    session: AsyncSession, caller: TenantCaller, reservation_id: uuid.UUID | None
) -> Reservation:
    """The caller's reservation, locked; one the caller may not see is not found."""
    if reservation_id is None:
        raise NotFound("reservation", field="id")
    statement = (
        scoped(Reservation, caller.tenant_id).where(col(Reservation.id) == reservation_id).with_for_update()
    )
    reservation = (await session.scalars(statement)).first()
    if reservation is None or not caller.visibility.may_see(Reservation, reservation):
        raise NotFound("reservation", field="id")
    return reservation


def _check_version(reservation: Reservation, expected_version: int | None) -> None:
    if expected_version is not None and reservation.version != expected_version:
        raise Conflict(
            f"Reservation #{reservation.number} has moved on: it is at version {reservation.version} "
            f"({reservation.status}), not {expected_version}."
        )


async def _current_lines(session: AsyncSession, reservation: Reservation) -> list[LineRequest]:
    statement = (
        scoped(ReservationLine, reservation.tenant_id)
        .where(col(ReservationLine.reservation_id) == reservation.id)
        .order_by(col(ReservationLine.position))
    )
    return [
        LineRequest(
            field=f"lines.{index}",
            equipment_id=line.equipment_id,
            quantity=line.quantity,
            unit_id=line.unit_id,
        )
        for index, line in enumerate((await session.scalars(statement)).all())
    ]


async def _recheck(
    session: AsyncSession,
    reservation: Reservation,
    lines: list[LineRequest],
    window: tuple[datetime, datetime],
    *,
    reveal_reservations: bool,
) -> None:
    locked = await lock_lines(session, reservation.tenant_id, lines)
    shortages = await find_shortages(
        session,
        reservation.tenant_id,
        locked,
        lines,
        window,
        exclude_reservation=reservation.id,
        reveal_reservations=reveal_reservations,
    )
    if shortages:
        raise Unavailable(shortages)


# Who may move a reservation from which statuses to which. Nobody moves one to
# EXPIRED: the expiry job does, for requests left unanswered (``resolvers/jobs/expiry.py``).
TRANSITIONS: dict[str, tuple[frozenset[str], S]] = {
    "confirm": (frozenset({S.REQUESTED}), S.CONFIRMED),
    "decline": (frozenset({S.REQUESTED}), S.DECLINED),
    "cancel": (frozenset({S.REQUESTED, S.CONFIRMED}), S.CANCELED),
    "check_out": (frozenset({S.CONFIRMED}), S.CHECKED_OUT),
    "return": (frozenset({S.CHECKED_OUT}), S.RETURNED),
}
CUSTOMER_TRANSITIONS = {"cancel": frozenset({S.REQUESTED})}


async def transition(
    transactions: Transactions,
    caller: TenantCaller,
    action: str,
    reservation_id: uuid.UUID | None,
    expected_version: int | None,
) -> Reservation:
    """Compare-and-swap a status change; confirming re-checks stock under the same locks."""
    sources, target = TRANSITIONS[action]
    async with transactions.transaction() as session:
        reservation = await _lock_reservation(session, caller, reservation_id)
        if not caller.is_staff:
            allowed = CUSTOMER_TRANSITIONS.get(action)
            if allowed is None:
                raise Forbidden("Only staff may do this.")
            sources = allowed
        _check_version(reservation, expected_version)
        if reservation.status not in sources:
            raise Conflict(
                f"Reservation #{reservation.number} is {reservation.status}; it cannot be moved to {target}."
            )
        if target == S.CONFIRMED:
            lines = await _current_lines(session, reservation)
            window = (reservation.starts_at, reservation.ends_at)
            await _recheck(
                session, reservation, lines, window, reveal_reservations=caller.visibility.sees_holders
            )
        await _swap(session, reservation, status=target)
        return reservation


async def _swap(session: AsyncSession, reservation: Reservation, **values: object) -> None:
    """Apply ``values`` and bump the version of a reservation this transaction has locked.

    The row lock (SQLite: the write lock) makes the earlier status/version check
    and this write one compare-and-swap; going through the unit of work also
    puts the change in the audit trail.
    """
    for name, value in values.items():
        setattr(reservation, name, value)
    reservation.version += 1
    reservation.updated_at = utcnow()
    await session.flush()


@dataclass(frozen=True)
class ReservationChanges:
    title: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    notes: str | None = None
    lines: list[LineRequest] | None = None
    expected_version: int | None = None


EDITABLE = frozenset({S.REQUESTED, S.CONFIRMED})


async def update_reservation(
    transactions: Transactions,
    caller: TenantCaller,
    settings: Settings,
    reservation_id: uuid.UUID | None,
    changes: ReservationChanges,
) -> Reservation:
    tenant_id = caller.tenant_id
    problems = Validator()
    validate_text(problems, changes.title, changes.notes)
    if changes.lines is not None:
        validate_lines(settings, problems, changes.lines)
    problems.raise_if_any()
    async with transactions.transaction() as session:
        reservation = await _lock_reservation(session, caller, reservation_id)
        _check_version(reservation, changes.expected_version)
        editable = EDITABLE if caller.is_staff else frozenset({S.REQUESTED})
        if reservation.status not in editable:
            raise Conflict(
                f"Reservation #{reservation.number} is {reservation.status} and can no longer be changed."
            )
        starts_at = changes.starts_at or reservation.starts_at
        ends_at = changes.ends_at or reservation.ends_at
        validate_window(settings, problems, starts_at, ends_at)
        window_changed = (starts_at, ends_at) != (reservation.starts_at, reservation.ends_at)
        if window_changed and not caller.is_staff:
            validate_not_started(problems, starts_at, utcnow())
        problems.raise_if_any()
        lines = changes.lines if changes.lines is not None else await _current_lines(session, reservation)
        if changes.lines is not None or window_changed:
            # Requests do not hold stock, but are still told when they cannot be met.
            await _recheck(
                session,
                reservation,
                lines,
                (starts_at, ends_at),
                reveal_reservations=caller.visibility.sees_holders,
            )
        values: dict[str, object] = {"starts_at": starts_at, "ends_at": ends_at}
        if starts_at != reservation.starts_at:
            values["pickup_reminded_at"] = None  # a new start is reminded of again
        if changes.title is not None:
            values["title"] = changes.title.strip()
        if changes.notes is not None:
            values["notes"] = changes.notes
        await _swap(session, reservation, **values)
        if changes.lines is not None:
            await session.execute(
                delete(ReservationLine).where(
                    in_tenant(ReservationLine, tenant_id),
                    col(ReservationLine.reservation_id) == reservation.id,
                )
            )
            await insert_new(session, _new_lines(reservation, changes.lines))
        return reservation
