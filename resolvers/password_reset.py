"""Password reset by mail: a single-use, expiring token; using it ends every session."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, update

from auth.passwords import password_problem
from auth.tokens import RefreshTokenParts, hash_secret, new_refresh_secret, secret_matches
from db.clock import utcnow
from db.ids import new_id
from db.scoped import in_tenant, records, scoped
from db.tables import PasswordReset, Tenant, User
from resolvers import throttle
from resolvers.context import Context
from resolvers.errors import InvalidToken, RateLimited, Validator
from resolvers.mail import enqueue
from resolvers.mail_render import render
from resolvers.sessions import revoke_subject_sessions
from resolvers.validation import MAX_EMAIL_LENGTH, normalize_email


async def request_password_reset(context: Context, *, tenant: str, email: str) -> None:
    """Queue a reset mail if the account exists; the caller learns nothing either way.

    Over a budget (per address, or per account) nothing is sent, and the answer
    stays the same: it must not tell which accounts exist.
    """
    email = normalize_email(email)
    services = context.services
    if len(email) > MAX_EMAIL_LENGTH:
        return
    try:
        await throttle.take(context, throttle.reset_mail(context, throttle.account_key(tenant, email)))
    except RateLimited:
        return
    tenant_row = await context.first(records(Tenant).where(col(Tenant.slug) == tenant.strip().lower()))
    if tenant_row is None:
        return
    async with context.transaction(tenant_row.id) as session:
        user = (await session.scalars(scoped(User, tenant_row.id).where(col(User.email) == email))).first()
        if user is None or not user.is_active:
            return
        secret = new_refresh_secret()
        reset = PasswordReset(
            tenant_id=tenant_row.id,
            id=new_id(),
            user_id=user.id,
            token_hash=hash_secret(secret),
            expires_at=utcnow() + timedelta(seconds=services.settings.password_reset_ttl),
        )
        session.add(reset)
        token = RefreshTokenParts(tenant_row.id, reset.id, secret).encode()
        template = services.settings.password_reset_url
        letter = render(
            "password_reset",
            tenant=tenant_row.name,
            recipient=user.name or user.email,
            preference=None,  # always sent: no preference turns it off
            email=user.email,
            link=template.format(token=token) if template else None,
            token=token,
            minutes=services.settings.password_reset_ttl // 60,
        )
        # The mail and its job commit with the reset; the worker sends it.
        enqueue(
            session,
            services.settings,
            tenant_id=tenant_row.id,
            to=user.email,
            letter=letter,
            expires_at=reset.expires_at,
        )


async def reset_password(context: Context, *, token: str, new_password: str) -> int:
    """Set the new password; returns how many sessions were ended.

    Read and check the reset, hash with no connection held, then a short write
    that spends the reset only if it is still unused.
    """
    parts = RefreshTokenParts.decode(token)
    if parts is None or parts.tenant_id is None:
        raise InvalidToken()
    attempt = await throttle.take(context, throttle.anonymous(context))
    tenant_id = parts.tenant_id
    async with context.services.database.session(tenant_id) as session:
        reset = await session.get(PasswordReset, (tenant_id, parts.token_id))
        if reset is None or not secret_matches(parts.secret, reset.token_hash) or not _usable(reset):
            raise InvalidToken()
        user = await session.get(User, (tenant_id, reset.user_id))
        if user is None or not user.is_active:
            raise InvalidToken()
        email = user.email
    problems = Validator()
    problems.add("newPassword", password_problem(new_password, email=email))
    problems.raise_if_any()
    new_hash = await context.services.passwords.hash(new_password)
    async with context.transaction(tenant_id) as session:
        reset = await session.get(PasswordReset, (tenant_id, parts.token_id), with_for_update=True)
        user = await session.get(User, (tenant_id, reset.user_id), with_for_update=True) if reset else None
        # Spent by a concurrent request, or the account deactivated, since the first read.
        if reset is None or not _usable(reset) or user is None or not user.is_active:
            raise InvalidToken()
        now = utcnow()
        user.password_hash = new_hash
        user.updated_at = now
        reset.used_at = now
        # Any other outstanding reset links for this user stop working too.
        await session.execute(
            update(PasswordReset)
            .where(
                in_tenant(PasswordReset, tenant_id),
                col(PasswordReset.user_id) == user.id,
                col(PasswordReset.used_at).is_(None),
            )
            .values(used_at=now)
        )
        revoked = await revoke_subject_sessions(session, tenant_id, user.id)
    await throttle.succeeded(context, attempt)
    return revoked


def _usable(reset: PasswordReset) -> bool:
    return reset.used_at is None and reset.expires_at > utcnow()
