"""Enquiries: anyone may send one; staff move it along, write in its thread, and turn it into a reservation.

``submitEnquiry`` is open to guests (no account: the tenant by slug) and to signed-in
customers (linked to them; the tenant from their token). A guest's or customer's
enquiry spends the enquiry budgets (``resolvers/throttle.py``) before any read; a
filled honeypot field gets the same answer and stores nothing; every field has a
bound. The answer carries nothing about the tenant: no stock, no other customers,
and the same words for an unknown tenant as for a known one.

Everything after it is staff work (``TenantCaller.is_staff``): the status moves
along ``TRANSITIONS``, compare-and-swap on the version; an assignee must be staff of
the same tenant; a NOTE stays internal (``resolvers/visibility.py``) and a REPLY is
mailed to the enquirer by its domain event (``resolvers/notices.py``).
``convert_enquiry`` books through ``resolvers/reservations.book`` in the transaction
that marks the enquiry WON, with the enquiry's row locked first: two staff
converting at once make one reservation, and a shortage leaves everything as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth.tokens import RefreshTokenParts, hash_secret
from db.clock import utcnow
from db.scoped import in_tenant, records, scoped, scoped_records
from db.tables import (
    Design,
    DesignShare,
    DesignStatus,
    Enquiry,
    EnquiryMessage,
    EnquiryStatus,
    Equipment,
    EquipmentStatus,
    MessageKind,
    Reservation,
    Tenant,
    User,
)
from resolvers import throttle
from resolvers.booking import LineRequest
from resolvers.caller import TenantCaller
from resolvers.context import Context
from resolvers.design_shares import is_active
from resolvers.errors import Conflict, Forbidden, InvalidInput, NotFound, Validator
from resolvers.list_caps import MAX_MESSAGES_PER_ENQUIRY
from resolvers.reservations import MAX_LINE_QUANTITY, ReservationDraft, book, validate_draft
from resolvers.transactions import Transactions
from resolvers.validation import email_problem, name_problem, normalize_email, unstorable
from resolvers.visibility import works_for_tenant
from settings import Settings

E = EnquiryStatus
MAX_ITEMS = 50
MAX_PHONE = 40
MAX_VENUE = 300
MAX_MESSAGE = 5000
MAX_GUESTS = 100_000
MAX_TENANT_SLUG = 40
MAX_SHARE_TOKEN = 200
MAX_HONEYPOT = 1000
# An event date may be yesterday (the enquirer's day may lag the server's), and no
# further ahead than this.
MAX_YEARS_AHEAD = 5
RECEIVED = "Thank you: your enquiry was received. Someone will be in touch."

# Where an enquiry may go from each status. WON is reached by ``convertEnquiry`` (with a
# reservation) or by hand from QUOTED (a deal closed elsewhere); it is final. LOST and
# CLOSED may be reopened.
TRANSITIONS: dict[E, frozenset[E]] = {
    E.NEW: frozenset({E.IN_PROGRESS, E.QUOTED, E.LOST, E.CLOSED}),
    E.IN_PROGRESS: frozenset({E.QUOTED, E.LOST, E.CLOSED}),
    E.QUOTED: frozenset({E.IN_PROGRESS, E.WON, E.LOST, E.CLOSED}),
    E.WON: frozenset(),
    E.LOST: frozenset({E.IN_PROGRESS}),
    E.CLOSED: frozenset({E.IN_PROGRESS}),
}
CONVERTIBLE = frozenset({E.NEW, E.IN_PROGRESS, E.QUOTED})


@dataclass(frozen=True, slots=True)
class ItemRequest:
    """An equipment asked for; ``equipment_id`` is ``None`` when the client sent a malformed id."""

    field: str
    equipment_id: uuid.UUID | None
    quantity: int


@dataclass(frozen=True)
class EnquiryDraft:
    """What the enquirer sent, before any check."""

    tenant: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str = ""
    event_date: date | None = None
    event_end_date: date | None = None
    venue: str = ""
    guest_count: int | None = None
    message: str = ""
    design_share_token: str | None = None
    items: list[ItemRequest] = field(default_factory=list)
    website: str | None = None
    """The honeypot: a field people never see and naive bots fill in."""


def _text(problems: Validator, name: str, value: str | None, limit: int) -> None:
    if value is None:
        return
    if len(value) > limit:
        problems.add(name, f"Must be at most {limit} characters long.")
    elif unstorable(value):
        problems.add(name, "Contains characters that cannot be stored.")


def validate_enquiry(settings: Settings, draft: EnquiryDraft, *, signed_in: bool, today: date) -> None:
    """Every problem of ``draft`` that needs no SQL, raised together."""
    problems = Validator()
    if not signed_in:
        problems.check(bool(draft.tenant and draft.tenant.strip()), "tenant", "Name the company (its slug).")
        problems.check(bool(draft.name and draft.name.strip()), "name", "Must not be empty.")
        problems.check(bool(draft.email and draft.email.strip()), "email", "Must not be empty.")
    _text(problems, "tenant", draft.tenant, MAX_TENANT_SLUG)
    if draft.name:
        problems.add("name", name_problem(draft.name))
        _text(problems, "name", draft.name, 200)
    if draft.email and draft.email.strip():
        problems.add("email", email_problem(normalize_email(draft.email)))
    _text(problems, "phone", draft.phone, MAX_PHONE)
    _text(problems, "venue", draft.venue, MAX_VENUE)
    _text(problems, "message", draft.message, MAX_MESSAGE)
    _text(problems, "designShareToken", draft.design_share_token, MAX_SHARE_TOKEN)
    _text(problems, "website", draft.website, MAX_HONEYPOT)
    if draft.guest_count is not None and not 1 <= draft.guest_count <= MAX_GUESTS:
        problems.add("guestCount", f"Must be between 1 and {MAX_GUESTS}.")
    latest = today + timedelta(days=366 * MAX_YEARS_AHEAD)
    for name, value in (("eventDate", draft.event_date), ("eventEndDate", draft.event_end_date)):
        if value is not None and not today - timedelta(days=1) <= value <= latest:
            problems.add(name, f"Must be between yesterday and {MAX_YEARS_AHEAD} years from now.")
    if draft.event_end_date is not None:
        if draft.event_date is None:
            problems.add("eventEndDate", "Give eventDate too.")
        elif draft.event_end_date < draft.event_date:
            problems.add("eventEndDate", "Must not be before eventDate.")
        elif (draft.event_end_date - draft.event_date).days >= settings.max_reservation_days:
            problems.add("eventEndDate", f"The event may last at most {settings.max_reservation_days} days.")
    if len(draft.items) > MAX_ITEMS:
        problems.add("items", f"At most {MAX_ITEMS} items.")
    else:
        for item in draft.items:
            if not 1 <= item.quantity <= MAX_LINE_QUANTITY:
                problems.add(f"{item.field}.quantity", f"Must be between 1 and {MAX_LINE_QUANTITY}.")
    problems.raise_if_any()


async def submit_enquiry(context: Context, draft: EnquiryDraft) -> Enquiry | None:
    """Store the enquiry and announce it; the enquiry for a signed-in caller, ``None`` for a guest.

    A guest learns nothing but "received": not whether the tenant exists, nor
    anything of its stock. An id the tenant does not have (an unknown tenant has
    none) is refused as not found; a honeypot filled in is answered as a success
    and nothing is kept.
    """
    principal = context.principal
    caller = context.caller() if principal is not None else None
    staff = caller is not None and caller.is_staff
    validate_enquiry(context.services.settings, draft, signed_in=caller is not None, today=utcnow().date())
    email = normalize_email(draft.email or "")
    if not staff:
        # A customer's budget is their account's, whatever address they type.
        who = str(caller.subject_id) if caller is not None else email
        place = str(caller.tenant_id) if caller is not None else draft.tenant or ""
        await throttle.take(context, throttle.enquiry(context, throttle.account_key(place, who)))
    if draft.website:
        return None
    if caller is not None:
        tenant_id = caller.tenant_id
        if draft.tenant is not None and draft.tenant.strip():
            tenant = await context.first(records(Tenant, ("slug",)).where(col(Tenant.id) == tenant_id))
            if tenant is None or tenant.slug != draft.tenant.strip().lower():
                raise Forbidden("You are signed in to another company; send the enquiry there, or sign out.")
    else:
        slug = (draft.tenant or "").strip().lower()
        found = await context.first(records(Tenant, ("id",)).where(col(Tenant.slug) == slug))
        if found is None:
            _refuse_as_unknown(draft)
            return None
        tenant_id = found.id
    async with context.transaction(tenant_id) as session:
        await _check_items(session, tenant_id, draft.items)
        design_id = await _shared_design(session, tenant_id, draft.design_share_token)
        name, customer_id = (draft.name or "").strip(), None
        if caller is not None and not staff:
            customer = await session.get(User, (tenant_id, caller.subject_id))
            if customer is None:
                raise Forbidden("Only users of this company may do this.")
            customer_id = customer.id
            name, email = name or customer.name or customer.email, email or customer.email
        if not name or not email:
            problems = Validator()
            problems.check(bool(name), "name", "Must not be empty.")
            problems.check(bool(email), "email", "Must not be empty.")
            problems.raise_if_any()
        now = utcnow()
        enquiry = Enquiry(
            tenant_id=tenant_id,
            status=E.NEW,
            name=name,
            email=email,
            phone=draft.phone.strip(),
            event_date=draft.event_date,
            event_end_date=draft.event_end_date,
            venue=draft.venue.strip(),
            guest_count=draft.guest_count,
            message=draft.message,
            items=[
                {"equipment_id": str(item.equipment_id), "quantity": item.quantity} for item in draft.items
            ],
            customer_id=customer_id,
            design_id=design_id,
            created_at=now,
            updated_at=now,
        )
        session.add(enquiry)  # audited as ``enquiry.created``: staff are told by its event
        await session.flush()
    return enquiry if caller is not None else None


def _refuse_as_unknown(draft: EnquiryDraft) -> None:
    """An unknown tenant has no equipment and no share links: refused as a known one refuses unknown ids."""
    for item in draft.items:
        raise NotFound("equipment", field=f"{item.field}.equipmentId")
    if draft.design_share_token:
        raise NotFound("design share link", field="designShareToken")


async def _check_items(session: AsyncSession, tenant_id: uuid.UUID, items: list[ItemRequest]) -> None:
    """Every item names equipment the tenant offers (a retired one counts as unknown)."""
    ids = {item.equipment_id for item in items if item.equipment_id is not None}
    offered: set[uuid.UUID] = set()
    if ids:
        connection = await session.connection()
        statement = scoped_records(Equipment, tenant_id, ("id",)).where(
            col(Equipment.id).in_(sorted(ids)), col(Equipment.status) != EquipmentStatus.RETIRED
        )
        offered = {row.id for row in (await connection.execute(statement)).all()}
    for item in items:
        if item.equipment_id not in offered:
            raise NotFound("equipment", field=f"{item.field}.equipmentId")


async def _shared_design(session: AsyncSession, tenant_id: uuid.UUID, token: str | None) -> uuid.UUID | None:
    """The design an active share link of this tenant shows; any other token is not found."""
    if not token:
        return None
    parts = RefreshTokenParts.decode(token)
    if parts is None or parts.tenant_id != tenant_id:
        raise NotFound("design share link", field="designShareToken")
    statement = scoped(DesignShare, tenant_id).where(
        col(DesignShare.id) == parts.token_id, col(DesignShare.token_hash) == hash_secret(parts.secret)
    )
    share = (await session.scalars(statement)).first()
    design = await session.get(Design, (tenant_id, share.design_id)) if share is not None else None
    if (
        share is None
        or not is_active(share, utcnow())
        or design is None
        or design.status == DesignStatus.ARCHIVED
    ):
        raise NotFound("design share link", field="designShareToken")
    return design.id


def _staff_only(caller: TenantCaller) -> None:
    if not caller.is_staff:
        raise Forbidden("Only staff may do this.")


async def _lock_enquiry(session: AsyncSession, caller: TenantCaller, enquiry_id: uuid.UUID | None) -> Enquiry:
    """The enquiry, locked for this transaction; one the caller may not see is not found."""
    if enquiry_id is None:
        raise NotFound("enquiry", field="id")
    statement = scoped(Enquiry, caller.tenant_id).where(col(Enquiry.id) == enquiry_id).with_for_update()
    enquiry = (await session.scalars(statement)).first()
    if enquiry is None or not caller.visibility.may_see(Enquiry, enquiry):
        raise NotFound("enquiry", field="id")
    return enquiry


def _check_version(enquiry: Enquiry, expected_version: int | None) -> None:
    if expected_version is not None and enquiry.version != expected_version:
        raise Conflict(
            f"The enquiry has moved on: it is at version {enquiry.version} ({enquiry.status}), "
            f"not {expected_version}."
        )


async def _swap(session: AsyncSession, enquiry: Enquiry, **values: object) -> None:
    """Apply ``values`` to an enquiry this transaction has locked, bumping its version (audited)."""
    for name, value in values.items():
        setattr(enquiry, name, value)
    enquiry.version += 1
    enquiry.updated_at = utcnow()
    await session.flush()


async def set_enquiry_status(
    transactions: Transactions,
    caller: TenantCaller,
    enquiry_id: uuid.UUID | None,
    status: EnquiryStatus,
    expected_version: int | None = None,
) -> Enquiry:
    """Move the enquiry to ``status`` if ``TRANSITIONS`` allows it from where it is."""
    _staff_only(caller)
    async with transactions.transaction() as session:
        enquiry = await _lock_enquiry(session, caller, enquiry_id)
        _check_version(enquiry, expected_version)
        current = E(enquiry.status)
        if status not in TRANSITIONS[current]:
            allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing: it is final"
            raise Conflict(
                f"The enquiry is {current}; it cannot move to {status} (it may move to {allowed})."
            )
        await _swap(session, enquiry, status=status)
        return enquiry


async def assign_enquiry(
    transactions: Transactions,
    caller: TenantCaller,
    enquiry_id: uuid.UUID | None,
    assignee_id: uuid.UUID | None,
    *,
    unassign: bool = False,
    expected_version: int | None = None,
) -> Enquiry:
    """Give the enquiry to a member of staff of the same tenant (or to no one, with ``unassign``)."""
    _staff_only(caller)
    if not unassign and assignee_id is None:
        raise NotFound("user", field="assigneeId")
    async with transactions.transaction() as session:
        enquiry = await _lock_enquiry(session, caller, enquiry_id)
        _check_version(enquiry, expected_version)
        if not unassign:
            assignee = await session.get(User, (caller.tenant_id, assignee_id))
            if assignee is None:
                raise NotFound("user", field="assigneeId")
            problems = Validator()
            problems.check(
                works_for_tenant(assignee.role), "assigneeId", "Must be staff (STAFF, MANAGER or ADMIN)."
            )
            problems.check(assignee.is_active, "assigneeId", "Is deactivated.")
            problems.raise_if_any()
        if enquiry.assigned_to_id != assignee_id:
            await _swap(session, enquiry, assigned_to_id=None if unassign else assignee_id)
        return enquiry


async def add_enquiry_message(
    transactions: Transactions,
    caller: TenantCaller,
    enquiry_id: uuid.UUID | None,
    kind: MessageKind,
    text: str,
) -> EnquiryMessage:
    """Add a staff note, or a reply (its event mails it to the enquirer, ``resolvers/notices.py``)."""
    _staff_only(caller)
    problems = Validator()
    problems.check(bool(text.strip()), "text", "Must not be empty.")
    _text(problems, "text", text, MAX_MESSAGE)
    problems.raise_if_any()
    async with transactions.transaction() as session:
        enquiry = await _lock_enquiry(session, caller, enquiry_id)
        # Under the enquiry's lock, so parallel additions cannot pass the cap together.
        count = select(func.count()).where(
            in_tenant(EnquiryMessage, enquiry.tenant_id), col(EnquiryMessage.enquiry_id) == enquiry.id
        )
        if int((await session.execute(count)).scalar_one()) >= MAX_MESSAGES_PER_ENQUIRY:
            raise InvalidInput({"enquiryId": f"Holds at most {MAX_MESSAGES_PER_ENQUIRY} notes and replies."})
        message = EnquiryMessage(
            tenant_id=enquiry.tenant_id,
            enquiry_id=enquiry.id,
            kind=kind,
            text=text.strip(),
            author_id=caller.user_id,
            created_at=utcnow(),
        )
        session.add(message)
        await session.flush()
        return message


def items_as_lines(enquiry: Enquiry) -> list[LineRequest]:
    """The enquiry's items as reservation lines (their ids were checked when it was sent)."""
    return [
        LineRequest(
            field=f"lines.{index}", equipment_id=uuid.UUID(item["equipment_id"]), quantity=item["quantity"]
        )
        for index, item in enumerate(enquiry.items)
    ]


async def convert_enquiry(
    transactions: Transactions,
    caller: TenantCaller,
    settings: Settings,
    enquiry_id: uuid.UUID | None,
    draft: ReservationDraft,
    *,
    lines_given: bool,
    expected_version: int | None = None,
) -> tuple[Enquiry, Reservation]:
    """Book the enquiry as a reservation and mark it WON, in one transaction: all of it, or nothing.

    The enquiry's row is locked before the equipment (every converter takes the
    same order): a second converter waits, then finds it WON and is refused.
    """
    _staff_only(caller)
    async with transactions.transaction() as session:
        enquiry = await _lock_enquiry(session, caller, enquiry_id)
        _check_version(enquiry, expected_version)
        if enquiry.status not in CONVERTIBLE or enquiry.reservation_id is not None:
            raise Conflict(
                f"The enquiry is {enquiry.status}; only NEW, IN_PROGRESS or QUOTED ones are converted."
            )
        draft = replace(
            draft,
            title=draft.title if draft.title.strip() else f"Enquiry from {enquiry.name}"[:200],
            customer_id=enquiry.customer_id,
            customer_given=enquiry.customer_id is not None,
            lines=draft.lines if lines_given else items_as_lines(enquiry),
        )
        validate_draft(caller, settings, draft)
        reservation = await book(session, caller, draft)
        await _swap(session, enquiry, status=E.WON, reservation_id=reservation.id)
        return enquiry, reservation
