"""Mailed one-time tokens of an account: issued, checked and spent in one way for every purpose.

A token is ``tenant.row id.secret`` (``auth/tokens.py``'s ``RefreshTokenParts``); its
row in ``password_reset`` keeps only a SHA-256 of the secret, an expiry and what it
proves (``TokenPurpose``): a password reset (``resolvers/password_reset.py``), an
address after sign-up, or a new address (``resolvers/self_service.py``). A token is
spent once; spending one spends every other open token of the same purpose for the user.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, update

from auth.tokens import RefreshTokenParts, hash_secret, new_refresh_secret, secret_matches
from db.clock import utcnow
from db.ids import new_id
from db.scoped import in_tenant
from db.tables import PasswordReset, TokenPurpose


def issue(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    purpose: TokenPurpose,
    ttl: int,
    new_email: str | None = None,
) -> tuple[PasswordReset, str]:
    """A new token for ``user_id``, valid ``ttl`` seconds, added to ``session``; the row and the token."""
    secret = new_refresh_secret()
    row = PasswordReset(
        tenant_id=tenant_id,
        id=new_id(),
        user_id=user_id,
        token_hash=hash_secret(secret),
        purpose=purpose,
        new_email=new_email,
        expires_at=utcnow() + timedelta(seconds=ttl),
    )
    session.add(row)
    return row, RefreshTokenParts(tenant_id, row.id, secret).encode()


def parse(token: str) -> RefreshTokenParts | None:
    """The parts of a token of a tenant's user, or ``None`` for anything else."""
    parts = RefreshTokenParts.decode(token)
    return parts if parts is not None and parts.tenant_id is not None else None


async def find(
    session: AsyncSession, parts: RefreshTokenParts, *purposes: TokenPurpose, lock: bool = False
) -> PasswordReset | None:
    """The token's row, if it matches, is for one of ``purposes``, and is neither spent nor expired."""
    if parts.tenant_id is None:
        return None
    row = await session.get(PasswordReset, (parts.tenant_id, parts.token_id), with_for_update=lock)
    if row is None or row.purpose not in purposes or not secret_matches(parts.secret, row.token_hash):
        return None
    return row if usable(row) else None


def usable(row: PasswordReset) -> bool:
    return row.used_at is None and row.expires_at > utcnow()


async def spend(session: AsyncSession, row: PasswordReset, now: datetime) -> None:
    """Spend ``row``, and with it every other open token of its purpose for its user."""
    row.used_at = now
    await session.execute(
        update(PasswordReset)
        .where(
            in_tenant(PasswordReset, row.tenant_id),
            col(PasswordReset.user_id) == row.user_id,
            col(PasswordReset.purpose) == row.purpose,
            col(PasswordReset.used_at).is_(None),
        )
        .values(used_at=now)
    )
