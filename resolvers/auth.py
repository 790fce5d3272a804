"""Sign-in, token refresh, sign-out and password change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth.passwords import MAX_PASSWORD_LENGTH, password_problem
from auth.principal import Principal
from auth.rate_limit import Attempt
from auth.tokens import RefreshTokenParts
from db.audit import record
from db.clock import utcnow
from db.ids import new_id
from db.scoped import in_tenant, records, tenant_of
from db.tables import Operator, Role, Tenant, User
from resolvers import throttle
from resolvers.caller import platform_operator, signed_in
from resolvers.context import Context
from resolvers.errors import InvalidCredentials, InvalidToken, NotFound, Validator
from resolvers.sessions import (
    SignedIn,
    find_token,
    revoke_families,
    revoke_subject_sessions,
    rotate,
    start_session,
)
from resolvers.validation import MAX_EMAIL_LENGTH, normalize_email


async def login(context: Context, *, tenant: str | None, email: str, password: str) -> SignedIn:
    email = normalize_email(email)
    if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidCredentials()  # refused before any work, so nothing to throttle
    attempt = await throttle.take(context, throttle.sign_in(context, throttle.account_key(tenant, email)))
    services = context.services
    account = await _account(context, tenant, email)
    # No connection is held while argon2 runs.
    stored = account.password_hash if account is not None and account.is_active else None
    verdict = await services.passwords.verify(stored, password)
    if not verdict.ok or account is None:
        raise InvalidCredentials()
    async with context.transaction(account.tenant_id) as session:
        subject = await locked_subject(session, account.tenant_id, account.id, stored)
        if verdict.new_hash is not None:
            subject.password_hash = verdict.new_hash
        if isinstance(subject, User):
            signed_in = await start_session(session, services, user=subject)
        else:
            signed_in = await start_session(session, services, operator=subject)
    await throttle.succeeded(context, attempt)
    return signed_in


@dataclass(frozen=True)
class Account:
    """What sign-in reads of a user (``tenant_id`` set) or an operator before verifying."""

    tenant_id: uuid.UUID | None
    id: uuid.UUID
    password_hash: str
    is_active: bool


async def _account(context: Context, tenant: str | None, email: str) -> Account | None:
    """The account signing in, read in transactions that end before the password is verified."""
    database = context.services.database
    if tenant is None:
        statement = select(Operator.id, Operator.password_hash, Operator.is_active).where(
            col(Operator.email) == email
        )
        async with database.session(None) as session:
            row = (await session.execute(statement)).first()
        return Account(None, row.id, row.password_hash, row.is_active) if row is not None else None
    tenant_id = await context.scalar(
        records(Tenant, ["id"]).where(col(Tenant.slug) == tenant.strip().lower())
    )
    await context.end_read()
    if tenant_id is None:
        return None
    statement = select(User.id, User.password_hash, User.is_active).where(
        in_tenant(User, tenant_id), col(User.email) == email
    )
    async with database.session(tenant_id) as session:
        row = (await session.execute(statement)).first()
    return Account(tenant_id, row.id, row.password_hash, row.is_active) if row is not None else None


async def locked_subject(
    session: AsyncSession, tenant_id: uuid.UUID | None, subject_id: uuid.UUID, verified_hash: str | None
) -> User | Operator:
    """The account, locked for this write, if it still has the hash that was verified."""
    subject: User | Operator | None
    if tenant_id is None:
        subject = await session.get(Operator, subject_id, with_for_update=True)
    else:
        subject = await session.get(User, (tenant_id, subject_id), with_for_update=True)
    # Changed or deactivated since it was read: the verified password is no longer the key.
    if subject is None or not subject.is_active or subject.password_hash != verified_hash:
        raise InvalidCredentials()
    return subject


async def refresh(context: Context, token: str) -> SignedIn:
    parts = RefreshTokenParts.decode(token)
    if parts is None:
        raise InvalidToken()
    attempt = await throttle.take(context, throttle.anonymous(context))
    async with context.transaction(parts.tenant_id) as session:
        signed_in = await rotate(session, context.services, token)
    if signed_in is None:
        raise InvalidToken()
    await throttle.succeeded(context, attempt)
    return signed_in


async def logout(context: Context, token: str) -> int:
    """End the session a refresh token belongs to (already ended is fine)."""
    parts = RefreshTokenParts.decode(token)
    if parts is None:
        raise InvalidToken()
    attempt = await throttle.take(context, throttle.anonymous(context))
    async with context.transaction(parts.tenant_id) as session:
        found = await find_token(session, token)
        if found is None:
            raise InvalidToken()
        revoked = await revoke_families(session, parts.tenant_id, [found[1].family_id])
    await throttle.succeeded(context, attempt)
    return 1 if revoked else 0


async def logout_all(context: Context) -> int:
    principal = signed_in(context.principal, context.token_error)
    async with context.transaction() as session:
        return await revoke_subject_sessions(session, principal.tenant_id, principal.subject_id)


async def change_password(context: Context, *, current_password: str, new_password: str) -> int:
    """Set a new password and end every other session; returns how many ended.

    Read, verify and hash with no connection held, then a short write that
    changes the hash only if it is still the one that was verified.
    """
    principal = signed_in(context.principal, context.token_error)
    services = context.services
    subject, attempt = await confirm_own_password(context, principal, current_password)
    email, account = subject.email, subject.account
    problems = Validator()
    problems.add("newPassword", password_problem(new_password, email=email))
    problems.check(new_password != current_password, "newPassword", "Must differ from the current password.")
    problems.raise_if_any()
    new_hash = await services.passwords.hash(new_password)
    async with context.transaction() as session:
        changed = await locked_subject(
            session, principal.tenant_id, principal.subject_id, account.password_hash
        )
        changed.password_hash = new_hash
        if isinstance(changed, User):
            changed.updated_at = utcnow()
        revoked = await revoke_subject_sessions(
            session, principal.tenant_id, principal.subject_id, keep_family=principal.session_id
        )
    await throttle.succeeded(context, attempt)
    return revoked


async def confirm_own_password(
    context: Context, principal: Principal, password: str
) -> tuple[SignedInAccount, Attempt]:
    """The caller's account once ``password`` is proven to be its own; ``InvalidCredentials`` if not.

    Spends the sign-in budgets of the account, as ``login`` does; the caller gives the
    attempt back (``throttle.succeeded``) once its work is done. No connection is held
    while the password is verified.
    """
    subject = await _signed_in_account(context, principal)
    if subject is None or not subject.is_active:
        raise InvalidCredentials()
    attempt = await throttle.take(
        context, throttle.sign_in(context, throttle.account_key(subject.tenant_slug, subject.email))
    )
    if not (await context.services.passwords.verify(subject.account.password_hash, password)).ok:
        raise InvalidCredentials()
    return subject, attempt


@dataclass(frozen=True)
class SignedInAccount:
    account: Account
    email: str
    tenant_slug: str | None

    @property
    def is_active(self) -> bool:
        return self.account.is_active


async def _signed_in_account(context: Context, principal: Principal) -> SignedInAccount | None:
    """The caller's own account, through the request's read (ended before anything waits)."""
    tenant_id = principal.tenant_id
    if tenant_id is None:
        row = await context.first(
            select(Operator.id, Operator.password_hash, Operator.is_active, Operator.email).where(
                col(Operator.id) == principal.subject_id
            )
        )
        slug = None
    else:
        row = await context.first(
            select(col(User.id), col(User.password_hash), col(User.is_active), col(User.email))
            .add_columns(col(Tenant.slug))
            .join(Tenant, tenant_of(User))
            .where(in_tenant(User, tenant_id), col(User.id) == principal.subject_id)
        )
        slug = row.slug if row is not None else None
    await context.end_read()
    if row is None:
        return None
    return SignedInAccount(Account(tenant_id, row.id, row.password_hash, row.is_active), row.email, slug)


MIN_REASON = 3
MAX_REASON = 500


async def assume_tenant(
    context: Context, tenant_id: uuid.UUID | None, reason: str
) -> tuple[str, int, Tenant]:
    """A short-lived ADMIN token inside one tenant for a platform operator, recorded in its audit trail."""
    principal = platform_operator(context.principal, context.token_error)
    problems = Validator()
    problems.check(
        MIN_REASON <= len(reason.strip()) <= MAX_REASON,
        "reason",
        f"Say why, in {MIN_REASON} to {MAX_REASON} characters.",
    )
    problems.raise_if_any()
    tenant = (
        await context.first(records(Tenant).where(col(Tenant.id) == tenant_id))
        if tenant_id is not None
        else None
    )
    if tenant is None:
        raise NotFound("tenant", field="tenantId")
    settings = context.services.settings
    ttl = timedelta(seconds=min(settings.assumed_token_ttl, settings.access_token_ttl))
    now = utcnow()
    assumed = Principal(
        subject_id=principal.subject_id,
        session_id=new_id(),
        tenant_id=tenant.id,
        role=Role.ADMIN,
        operator_id=principal.subject_id,
    )
    token = context.services.access_tokens.issue(assumed, now=now, ttl=ttl)
    async with context.transaction(tenant.id) as session:
        record(
            session.sync_session,
            tenant_id=tenant.id,
            action="operator.assumed_tenant",
            target_type="tenant",
            target_id=tenant.id,
            changes={
                "reason": [None, reason.strip()],
                "expiresAt": [None, now + ttl],
                "session": [None, assumed.session_id],
            },
        )
    return token, int(ttl.total_seconds()), tenant
