"""Users of a tenant: listing, creation, updates, deactivation, anonymisation.

Anonymising a user (an admin's ``anonymizeUser``, or the user's own ``deleteMe``)
erases their personal data and keeps the row: reservations, designs and the audit
trail keep pointing at it. The email becomes a placeholder unique to the row, name
and phone go, the password hash becomes one no password matches, the account is
inactive (so it can neither sign in nor refresh), its sessions end, its mailed tokens
and the mail still addressed to it go, and the audit trail's values of its email,
name and phone become ``[erased]`` (``db/audit.py``'s ``erase_user_values``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth.passwords import Passwords
from db.audit import erase_user_values
from db.clock import utcnow
from db.scoped import escape_like, in_tenant, scoped
from db.tables import OutboxEmail, PasswordReset, Role, Tenant, User
from resolvers.caller import TenantCaller
from resolvers.errors import Conflict, Forbidden, InvalidInput, NotFound, Validator
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.sessions import revoke_subject_sessions
from resolvers.transactions import Snapshot, Transactions
from resolvers.validation import email_problem, name_problem, new_account, normalize_email


class UserSort(StrEnum):
    EMAIL = "email"
    NAME = "name"
    CREATED_AT = "created_at"


@dataclass(frozen=True)
class UserFilter:
    search: str | None = None
    role: Role | None = None
    is_active: bool | None = None


@dataclass(frozen=True)
class UserChanges:
    email: str | None = None
    name: str | None = None
    role: Role | None = None
    is_active: bool | None = None


async def list_users(
    snapshot: Snapshot,
    caller: TenantCaller,
    *,
    filter: UserFilter,
    sort: UserSort,
    descending: bool,
    args: PageArgs,
) -> Page[User]:
    statement = scoped(User, caller.tenant_id)
    if filter.search:
        pattern = f"%{escape_like(filter.search.strip().lower())}%"
        statement = statement.where(
            or_(
                User.email.like(pattern, escape="\\"),  # type: ignore[attr-defined]
                func.lower(User.name).like(pattern, escape="\\"),
            )
        )
    if filter.role is not None:
        statement = statement.where(User.role == filter.role)
    if filter.is_active is not None:
        statement = statement.where(User.is_active == filter.is_active)
    sort_column = getattr(User, sort.value)
    return await paginate(snapshot, statement, sort=[sort_column, User.id], descending=descending, args=args)  # type: ignore[list-item]


async def _email_taken(
    session: AsyncSession, tenant_id: uuid.UUID, email: str, *, other_than: uuid.UUID | None = None
) -> bool:
    statement = select(User.id).where(in_tenant(User, tenant_id), User.email == email)
    if other_than is not None:
        statement = statement.where(User.id != other_than)
    return (await session.scalars(statement)).first() is not None


async def create_user(
    transactions: Transactions,
    caller: TenantCaller,
    passwords: Passwords,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
) -> User:
    tenant_id = caller.tenant_id
    email = new_account(email, name, password)
    password_hash = await passwords.hash(password)
    async with transactions.transaction() as session:
        if await _email_taken(session, tenant_id, email):
            raise InvalidInput({"email": "Is already used by another user of this tenant."})
        user = User(
            tenant_id=tenant_id, email=email, name=name.strip(), role=role, password_hash=password_hash
        )
        session.add(user)
        await session.flush()
        return user


async def _lock_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Serialise admin-count changes within a tenant (SQLite: the write lock does it)."""
    # FOR NO KEY UPDATE: serialises admin changes without blocking the foreign-key
    # checks (KEY SHARE) that every insert in the tenant takes on this row.
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True))


async def _active_admins(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    statement = (
        select(func.count())
        .select_from(User)
        .where(in_tenant(User, tenant_id), col(User.role) == Role.ADMIN, col(User.is_active).is_(True))
    )
    return int((await session.execute(statement)).scalar_one())


async def update_user(
    transactions: Transactions, caller: TenantCaller, user_id: uuid.UUID | None, changes: UserChanges
) -> User:
    tenant_id = caller.tenant_id
    problems = Validator()
    email = normalize_email(changes.email) if changes.email is not None else None
    if email is not None:
        problems.add("email", email_problem(email))
    if changes.name is not None:
        problems.add("name", name_problem(changes.name, required=False))
    problems.raise_if_any()
    if user_id is None:
        raise NotFound("user", field="id")
    async with transactions.transaction() as session:
        await _lock_tenant(session, tenant_id)
        user = await session.get(User, (tenant_id, user_id))
        if user is None:
            raise NotFound("user", field="id")
        loses_admin = (
            user.role == Role.ADMIN
            and user.is_active
            and ((changes.role is not None and changes.role != Role.ADMIN) or changes.is_active is False)
        )
        if loses_admin and await _active_admins(session, tenant_id) <= 1:
            raise Conflict("This is the tenant's last active admin; make another admin first.")
        if email is not None and email != user.email:
            if await _email_taken(session, tenant_id, email, other_than=user.id):
                raise InvalidInput({"email": "Is already used by another user of this tenant."})
            user.email = email
        if changes.name is not None:
            user.name = changes.name.strip()
        # Access tokens carry the role: a new role, like deactivation, ends the user's
        # sessions, so the old role's token is refused at its next request.
        ends_sessions = changes.is_active is False or (changes.role is not None and changes.role != user.role)
        if changes.role is not None:
            user.role = changes.role
        if changes.is_active is not None:
            user.is_active = changes.is_active
        if ends_sessions:
            await revoke_subject_sessions(session, tenant_id, user.id)
        user.updated_at = utcnow()
        await session.flush()
        return user


async def deactivate_user(
    transactions: Transactions, caller: TenantCaller, user_id: uuid.UUID | None
) -> User:
    return await update_user(transactions, caller, user_id, UserChanges(is_active=False))


# No argon2 hash: no password verifies against it, and it names no parameters to rehash.
ANONYMIZED_PASSWORD_HASH = "!anonymized"


def anonymized_email(user_id: uuid.UUID) -> str:
    """The placeholder address of an anonymised user: unique per user, deliverable nowhere."""
    return f"anonymized-{user_id.hex}@invalid"


async def anonymize_user(transactions: Transactions, caller: TenantCaller, user_id: uuid.UUID | None) -> User:
    """Erase a user's personal data (ADMIN; any user of the tenant, themselves included)."""
    if not caller.principal.has_role_at_least(Role.ADMIN):
        raise Forbidden("Only admins may anonymise users.")
    if user_id is None:
        raise NotFound("user", field="id")
    async with transactions.transaction() as session:
        return await anonymize_in(session, caller.tenant_id, user_id)


async def anonymize_in(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    """Anonymise ``user_id`` in ``session``'s transaction; already anonymised is fine."""
    await _lock_tenant(session, tenant_id)
    user = await session.get(User, (tenant_id, user_id), with_for_update=True)
    if user is None:
        raise NotFound("user", field="id")
    if user.anonymized_at is not None:
        return user
    if user.role == Role.ADMIN and user.is_active and await _active_admins(session, tenant_id) <= 1:
        raise Conflict("This is the tenant's last active admin; make another admin first.")
    old_email = user.email
    now = utcnow()
    user.email = anonymized_email(user.id)
    user.name = ""
    user.phone = ""
    user.password_hash = ANONYMIZED_PASSWORD_HASH
    user.is_active = False
    user.email_verified_at = None
    user.notification_preferences = {}
    user.anonymized_at = now
    user.updated_at = now
    await revoke_subject_sessions(session, tenant_id, user.id)
    # Mailed tokens (a pending change names an address) and mail not yet purged to the old address.
    await session.execute(
        delete(PasswordReset).where(
            in_tenant(PasswordReset, tenant_id), col(PasswordReset.user_id) == user.id
        )
    )
    await session.execute(
        delete(OutboxEmail).where(in_tenant(OutboxEmail, tenant_id), col(OutboxEmail.to_address) == old_email)
    )
    # The change above is in the trail once flushed; then its values, and the older ones, are erased.
    await session.flush()
    await erase_user_values(session, tenant_id, user.id)
    return user
