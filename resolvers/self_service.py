"""Customers serve themselves: sign-up into a tenant, address verification, their own profile and address.

* ``signUp`` creates a CUSTOMER in a tenant whose admins allow it
  (``allowCustomerSignUp``, ``resolvers/tenant_settings.py``). The answer is the same
  whether the tenant exists, allows sign-up, or already has an account with the
  address: the address is told by mail what happened (a link to confirm it, or that
  it already has an account). The password is hashed in every case, so the answer
  also takes about as long.
* A user who signed up is unverified until they follow the mailed link
  (``verifyEmail``). They can sign in and look around, but not reserve:
  ``createReservation`` and ``reserveDesign`` refuse with ``EMAIL_NOT_VERIFIED``
  (``resolvers/reservations.py``). Users an admin creates are vouched for.
* ``changeEmail`` proves the password, then mails a link to the new address (and tells
  the old one); the address changes only when that link is followed.

The links are the one-time tokens of ``resolvers/account_tokens.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth.passwords import MAX_PASSWORD_LENGTH, password_problem
from db.clock import utcnow
from db.scoped import records, scoped
from db.tables import Role, Tenant, TokenPurpose, User
from resolvers import account_tokens, throttle
from resolvers.auth import confirm_own_password, locked_subject
from resolvers.caller import TenantCaller
from resolvers.context import Context
from resolvers.errors import Conflict, Forbidden, InvalidInput, InvalidToken, Validator
from resolvers.mail import enqueue
from resolvers.mail_render import render
from resolvers.tenant_settings import allow_customer_sign_up
from resolvers.transactions import Transactions
from resolvers.users import anonymize_in
from resolvers.validation import email_problem, name_problem, normalize_email, phone_problem

SIGN_UP_ANSWER = (
    "Check your mail: if this company takes sign-ups, a message to that address says how to go on."
)
CHANGE_EMAIL_ANSWER = "Check your mail at the new address: the change takes effect once you confirm it there."
MAX_SLUG_INPUT = 40


@dataclass(frozen=True)
class SignUp:
    tenant: str
    email: str
    password: str
    name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ProfileChanges:
    """What to change of your own profile; ``None`` keeps a field."""

    name: str | None = None
    phone: str | None = None


def _sign_up_problems(new: SignUp, email: str) -> None:
    problems = Validator()
    problems.check(
        len(new.tenant) <= MAX_SLUG_INPUT, "tenant", f"Must be at most {MAX_SLUG_INPUT} characters."
    )
    problems.add("email", email_problem(email))
    problems.add("password", password_problem(new.password, email=email))
    problems.add("name", name_problem(new.name.strip(), required=False))
    problems.add("phone", phone_problem(new.phone.strip()))
    problems.raise_if_any()


async def sign_up(context: Context, new: SignUp) -> str:
    """Create an unverified CUSTOMER if the tenant allows it; the answer never says whether it did."""
    email = normalize_email(new.email)
    _sign_up_problems(new, email)
    slug = new.tenant.strip().lower()
    # Spent whatever follows, and never given back: each sign-up costs a hash and a mail.
    await throttle.take(context, throttle.sign_up(context, throttle.account_key(slug, email)))
    password_hash = await context.services.passwords.hash(new.password)
    tenant = await context.first(records(Tenant).where(col(Tenant.slug) == slug))
    await context.end_read()
    if tenant is None or not allow_customer_sign_up(tenant.settings):
        return SIGN_UP_ANSWER
    try:
        async with context.transaction(tenant.id) as session:
            existing = (
                await session.scalars(scoped(User, tenant.id).where(col(User.email) == email))
            ).first()
            if existing is not None:
                if existing.is_active:
                    _mail_account_exists(
                        session, context, tenant, existing.name or email, email, change=False
                    )
                return SIGN_UP_ANSWER
            user = User(
                tenant_id=tenant.id,
                email=email,
                name=new.name.strip(),
                phone=new.phone.strip(),
                role=Role.CUSTOMER,
                password_hash=password_hash,
                email_verified_at=None,  # until the mailed link is followed
            )
            session.add(user)
            await session.flush()
            _mail_verification(session, context, tenant, user, email, change=False)
    except IntegrityError:  # a concurrent sign-up with the same address won; it mails the address
        pass
    return SIGN_UP_ANSWER


def _mail_verification(
    session: AsyncSession, context: Context, tenant: Tenant, user: User, email: str, *, change: bool
) -> None:
    """A one-time link proving ``email`` is ``user``'s (after sign-up, or for a change of address)."""
    settings = context.services.settings
    row, token = account_tokens.issue(
        session,
        tenant_id=tenant.id,
        user_id=user.id,
        purpose=TokenPurpose.CHANGE_EMAIL if change else TokenPurpose.VERIFY_EMAIL,
        ttl=settings.email_verification_ttl,
        new_email=email if change else None,
    )
    template = settings.email_verification_url
    letter = render(
        "verify_email",
        tenant=tenant.name,
        recipient=user.name or email,
        preference=None,  # asked for: no preference turns it off
        email=email,
        change=change,
        link=template.format(token=token) if template else None,
        token=token,
        hours=settings.email_verification_ttl // 3600,
    )
    enqueue(session, settings, tenant_id=tenant.id, to=email, letter=letter, expires_at=row.expires_at)


def _mail_account_exists(
    session: AsyncSession, context: Context, tenant: Tenant, recipient: str, email: str, *, change: bool
) -> None:
    letter = render(
        "account_exists", tenant=tenant.name, recipient=recipient, preference=None, email=email, change=change
    )
    enqueue(session, context.services.settings, tenant_id=tenant.id, to=email, letter=letter)


async def verify_email(context: Context, token: str) -> str:
    """Spend a mailed link: the account's address is verified, or changed to the new one. Returns it."""
    parts = account_tokens.parse(token)
    if parts is None or parts.tenant_id is None:
        raise InvalidToken()
    attempt = await throttle.take(context, throttle.anonymous(context))
    tenant_id = parts.tenant_id
    try:
        async with context.transaction(tenant_id) as session:
            row = await account_tokens.find(
                session, parts, TokenPurpose.VERIFY_EMAIL, TokenPurpose.CHANGE_EMAIL, lock=True
            )
            user = await session.get(User, (tenant_id, row.user_id), with_for_update=True) if row else None
            if row is None or user is None or not user.is_active or user.anonymized_at is not None:
                raise InvalidToken()
            now = utcnow()
            if row.purpose == TokenPurpose.CHANGE_EMAIL and row.new_email is not None:
                taken = (
                    await session.scalars(
                        scoped(User, tenant_id).where(
                            col(User.email) == row.new_email, col(User.id) != user.id
                        )
                    )
                ).first()
                if taken is not None:
                    raise Conflict("That address has an account of its own now; nothing was changed.")
                user.email = row.new_email
                user.email_verified_at = now
            elif user.email_verified_at is None:
                user.email_verified_at = now
            user.updated_at = now
            await account_tokens.spend(session, row, now)
            await session.flush()
            email = user.email
    except IntegrityError as error:  # the new address was taken in the meantime
        raise Conflict("That address has an account of its own now; nothing was changed.") from error
    await throttle.succeeded(context, attempt)
    return email


def _own_user_id(caller: TenantCaller) -> None:
    if caller.user_id is None:
        raise Forbidden("An operator acting in a tenant has no profile of their own there.")


async def update_me(transactions: Transactions, caller: TenantCaller, changes: ProfileChanges) -> User:
    """Change the caller's own name or phone."""
    _own_user_id(caller)
    problems = Validator()
    if changes.name is not None:
        problems.add("name", name_problem(changes.name.strip(), required=False))
    if changes.phone is not None:
        problems.add("phone", phone_problem(changes.phone.strip()))
    problems.raise_if_any()
    async with transactions.transaction() as session:
        user = await session.get(User, (caller.tenant_id, caller.user_id), with_for_update=True)
        if user is None:  # the session check read the caller's user just now
            raise RuntimeError("the caller's user is gone")
        if changes.name is not None:
            user.name = changes.name.strip()
        if changes.phone is not None:
            user.phone = changes.phone.strip()
        if session.is_modified(user):
            user.updated_at = utcnow()
        await session.flush()
        return user


async def change_email(context: Context, *, new_email: str, password: str) -> str:
    """Mail a link to ``new_email`` that moves the caller's account there; the old address is told."""
    caller = context.caller()
    _own_user_id(caller)
    email = normalize_email(new_email)
    problems = Validator()
    problems.add("newEmail", email_problem(email))
    problems.check(len(password) <= MAX_PASSWORD_LENGTH, "password", "Is too long.")
    problems.raise_if_any()
    subject, attempt = await confirm_own_password(context, caller.principal, password)
    if email == subject.email:
        raise InvalidInput({"newEmail": "Is already your address."})
    # The new address is mailed unasked: its own budget bounds how often.
    await throttle.take(
        context, throttle.account_mail(context, throttle.account_key(subject.tenant_slug, email))
    )
    async with context.transaction() as session:
        user = await locked_subject(
            session, caller.tenant_id, caller.subject_id, subject.account.password_hash
        )
        if not isinstance(user, User):
            raise RuntimeError("a tenant caller is a user")
        tenant = await session.get(Tenant, caller.tenant_id)
        if tenant is None:
            raise RuntimeError("the caller's tenant is gone")
        taken = (
            await session.scalars(scoped(User, caller.tenant_id).where(col(User.email) == email))
        ).first()
        if taken is not None:
            # As for sign-up: the caller learns nothing of other accounts; the address is told.
            _mail_account_exists(session, context, tenant, taken.name or email, email, change=True)
        else:
            _mail_verification(session, context, tenant, user, email, change=True)
        letter = render(
            "email_change_requested",
            tenant=tenant.name,
            recipient=user.name or user.email,
            preference=None,
            email=user.email,
            new_email=email,
        )
        enqueue(session, context.services.settings, tenant_id=tenant.id, to=user.email, letter=letter)
    await throttle.succeeded(context, attempt)
    return CHANGE_EMAIL_ANSWER


async def delete_me(context: Context, *, password: str) -> User:
    """Anonymise the caller's own account once ``password`` proves it is them (``resolvers/users.py``)."""
    caller = context.caller()
    _own_user_id(caller)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput({"password": "Is too long."})
    subject, attempt = await confirm_own_password(context, caller.principal, password)
    async with context.transaction() as session:
        await locked_subject(session, caller.tenant_id, caller.subject_id, subject.account.password_hash)
        user = await anonymize_in(session, caller.tenant_id, caller.subject_id)
    await throttle.succeeded(context, attempt)
    return user
