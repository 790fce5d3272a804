"""Sign-in, token refresh, sign-out and password change."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import col, select

from auth.context import Context
from auth.passwords import MAX_PASSWORD_LENGTH, password_problem
from auth.principal import Principal
from auth.tokens import RefreshTokenParts
from db.audit import record
from db.clock import utcnow
from db.ids import new_id
from db.scoped import records
from db.tables import Operator, Role, Tenant, User
from resolvers.errors import InvalidCredentials, InvalidToken, NotFound, RateLimited, Validator
from resolvers.sessions import (
    SignedIn,
    find_token,
    revoke_families,
    revoke_subject_sessions,
    rotate,
    start_session,
)
from resolvers.validation import MAX_EMAIL_LENGTH, normalize_email


async def _check_rate_limit(context: Context, email_key: str) -> None:
    services = context.services
    wait = max(
        await services.failures_by_email.retry_after(email_key),
        await services.failures_by_address.retry_after(context.client_address),
    )
    if wait:
        raise RateLimited(wait)


async def _record_failure(context: Context, email_key: str) -> None:
    await context.services.failures_by_email.record_failure(email_key)
    await context.services.failures_by_address.record_failure(context.client_address)


async def login(context: Context, *, tenant: str | None, email: str, password: str) -> SignedIn:
    email = normalize_email(email)
    email_key = f"{(tenant or '').strip().lower()}\x00{email}"
    await _check_rate_limit(context, email_key)
    services = context.services
    if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        await _record_failure(context, email_key)
        raise InvalidCredentials()

    if tenant is None:
        async with services.database.session(None) as session:
            operator = (await session.scalars(select(Operator).where(Operator.email == email))).first()
        stored = operator.password_hash if operator is not None and operator.is_active else None
        verdict = await services.passwords.verify(stored, password)
        if not verdict.ok or operator is None:
            await _record_failure(context, email_key)
            raise InvalidCredentials()
        async with context.transaction() as session:
            operator = await session.merge(operator)
            if verdict.new_hash is not None:
                operator.password_hash = verdict.new_hash
            signed_in = await start_session(session, services, operator=operator)
        await services.failures_by_email.reset(email_key)
        return signed_in

    tenant_row = await context.first(records(Tenant).where(col(Tenant.slug) == tenant.strip().lower()))
    user: User | None = None
    if tenant_row is not None:
        async with services.database.session(tenant_row.id) as session:
            user = (
                await session.scalars(
                    select(User).where(User.tenant_id == tenant_row.id, User.email == email)
                )
            ).first()
    stored = user.password_hash if user is not None and user.is_active else None
    verdict = await services.passwords.verify(stored, password)
    if not verdict.ok or user is None or tenant_row is None:
        await _record_failure(context, email_key)
        raise InvalidCredentials()
    async with context.transaction(tenant_row.id) as session:
        user = await session.merge(user)
        if verdict.new_hash is not None:
            user.password_hash = verdict.new_hash
        signed_in = await start_session(session, services, user=user)
    await services.failures_by_email.reset(email_key)
    return signed_in


async def refresh(context: Context, token: str) -> SignedIn:
    parts = RefreshTokenParts.decode(token)
    if parts is None:
        raise InvalidToken()
    async with context.transaction(parts.tenant_id) as session:
        signed_in = await rotate(session, context.services, token)
    if signed_in is None:
        raise InvalidToken()
    return signed_in


async def logout(context: Context, token: str) -> int:
    """End the session a refresh token belongs to (already ended is fine)."""
    parts = RefreshTokenParts.decode(token)
    if parts is None:
        raise InvalidToken()
    async with context.transaction(parts.tenant_id) as session:
        found = await find_token(session, token)
        if found is None:
            raise InvalidToken()
        revoked = await revoke_families(session, parts.tenant_id, [found[1].family_id])
    return 1 if revoked else 0


async def logout_all(context: Context) -> int:
    principal = context.principal
    assert principal is not None
    async with context.transaction() as session:
        return await revoke_subject_sessions(session, principal.tenant_id, principal.subject_id)


async def change_password(context: Context, *, current_password: str, new_password: str) -> int:
    """Set a new password and end every other session; returns how many ended."""
    principal = context.principal
    assert principal is not None
    services = context.services
    async with context.transaction() as session:
        subject: User | Operator | None
        if principal.tenant_id is None:
            subject = await session.get(Operator, principal.subject_id)
        else:
            subject = await session.get(User, (principal.tenant_id, principal.subject_id))
        if subject is None or not subject.is_active:
            raise InvalidCredentials()
        verdict = await services.passwords.verify(subject.password_hash, current_password)
        if not verdict.ok:
            raise InvalidCredentials()
        problems = Validator()
        problems.add("newPassword", password_problem(new_password, email=subject.email))
        problems.check(
            new_password != current_password, "newPassword", "Must differ from the current password."
        )
        problems.raise_if_any()
        subject.password_hash = await services.passwords.hash(new_password)
        if isinstance(subject, User):
            subject.updated_at = utcnow()
        return await revoke_subject_sessions(
            session, principal.tenant_id, principal.subject_id, keep_family=principal.session_id
        )


MIN_REASON = 3
MAX_REASON = 500


async def assume_tenant(
    context: Context, tenant_id: uuid.UUID | None, reason: str
) -> tuple[str, int, Tenant]:
    """A short-lived ADMIN token inside one tenant for a platform operator, recorded in its audit trail."""
    principal = context.principal
    assert principal is not None and principal.is_operator, "operator_only guarantees an operator"
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
