"""Password reset by mail: a single-use, expiring token; using it ends every session."""

from __future__ import annotations

from sqlmodel import col

from auth.passwords import password_problem
from db.clock import utcnow
from db.scoped import records, scoped
from db.tables import Tenant, TokenPurpose, User
from resolvers import account_tokens, throttle
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
        reset, token = account_tokens.issue(
            session,
            tenant_id=tenant_row.id,
            user_id=user.id,
            purpose=TokenPurpose.PASSWORD_RESET,
            ttl=services.settings.password_reset_ttl,
        )
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
    parts = account_tokens.parse(token)
    if parts is None or parts.tenant_id is None:
        raise InvalidToken()
    attempt = await throttle.take(context, throttle.anonymous(context))
    tenant_id = parts.tenant_id
    async with context.services.database.session(tenant_id) as session:
        reset = await account_tokens.find(session, parts, TokenPurpose.PASSWORD_RESET)
        if reset is None:
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
        reset = await account_tokens.find(session, parts, TokenPurpose.PASSWORD_RESET, lock=True)
        user = await session.get(User, (tenant_id, reset.user_id), with_for_update=True) if reset else None
        # Spent by a concurrent request, or the account deactivated, since the first read.
        if reset is None or user is None or not user.is_active:
            raise InvalidToken()
        now = utcnow()
        user.password_hash = new_hash
        user.updated_at = now
        # Any other outstanding reset links for this user stop working too.
        await account_tokens.spend(session, reset, now)
        revoked = await revoke_subject_sessions(session, tenant_id, user.id)
    await throttle.succeeded(context, attempt)
    return revoked
