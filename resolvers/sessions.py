"""Sign-in sessions: refresh-token families, rotation with reuse detection, revocation.

Each sign-in is a ``sign_in_session`` row (operators: ``operator_sign_in_session``)
whose id is the family of its refresh tokens and the ``sid`` of its access tokens.
Revoking a session marks that row as well as its tokens: the row is what every
authenticated request checks (``db/session_check.py``), so an ended session's
access tokens are refused at their next request, not when they expire.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from auth.principal import Principal
from auth.services import Services
from auth.tokens import RefreshTokenParts, hash_secret, new_refresh_secret, secret_matches
from db.audit import ACTOR_INFO_KEY, Actor, record
from db.clock import utcnow
from db.ids import new_id
from db.scoped import in_tenant
from db.tables import (
    Operator,
    OperatorRefreshToken,
    OperatorSignInSession,
    RefreshToken,
    Role,
    SignInSession,
    User,
)


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User | None
    operator: Operator | None


def _act_as(session: AsyncSession, subject_id: uuid.UUID, kind: str) -> None:
    """Sign-ins are made by anonymous callers; the trail names the account instead."""
    actor: Actor | None = session.info.get(ACTOR_INFO_KEY)
    if actor is not None:
        session.info[ACTOR_INFO_KEY] = Actor(subject_id, kind, actor.request_id)


def _token_model(tenant_id: uuid.UUID | None) -> type[RefreshToken] | type[OperatorRefreshToken]:
    return OperatorRefreshToken if tenant_id is None else RefreshToken


def _scope(tenant_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    if tenant_id is None:
        return []
    return [in_tenant(RefreshToken, tenant_id)]


def _owner_column(tenant_id: uuid.UUID | None) -> Any:
    return OperatorRefreshToken.operator_id if tenant_id is None else RefreshToken.user_id


def _session_model(tenant_id: uuid.UUID | None) -> type[SignInSession] | type[OperatorSignInSession]:
    return OperatorSignInSession if tenant_id is None else SignInSession


async def _revoke_sessions(
    session: AsyncSession, tenant_id: uuid.UUID | None, *conditions: ColumnElement[bool]
) -> None:
    """End the sign-in sessions matching ``conditions``: their access tokens stop working now."""
    model = _session_model(tenant_id)
    scope = [in_tenant(SignInSession, tenant_id)] if tenant_id is not None else []
    await session.execute(
        update(model).where(*conditions, *scope, col(model.revoked_at).is_(None)).values(revoked_at=utcnow())
    )


async def _insert_token(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID | None,
    subject_id: uuid.UUID,
    family_id: uuid.UUID,
    session_expires_at: datetime,
    services: Services,
    now: datetime,
) -> str:
    secret = new_refresh_secret()
    token_id = new_id()
    expires_at = min(now + timedelta(seconds=services.settings.refresh_token_ttl), session_expires_at)
    common: dict[str, Any] = {
        "id": token_id,
        "family_id": family_id,
        "token_hash": hash_secret(secret),
        "expires_at": expires_at,
        "session_expires_at": session_expires_at,
        "created_at": now,
    }
    if tenant_id is None:
        session.add(OperatorRefreshToken(operator_id=subject_id, **common))
    else:
        session.add(RefreshToken(tenant_id=tenant_id, user_id=subject_id, **common))
    await session.flush()
    return RefreshTokenParts(tenant_id, token_id, secret).encode()


def _signed_in(
    services: Services,
    *,
    refresh_token: str,
    family_id: uuid.UUID,
    user: User | None,
    operator: Operator | None,
    now: datetime,
) -> SignedIn:
    if user is not None:
        principal = Principal(user.id, family_id, user.tenant_id, Role(user.role))
    elif operator is not None:
        principal = Principal(operator.id, family_id, None, None)
    else:
        raise ValueError("a session signs in a user or an operator")
    return SignedIn(
        access_token=services.access_tokens.issue(principal, now=now),
        refresh_token=refresh_token,
        expires_in=services.settings.access_token_ttl,
        user=user,
        operator=operator,
    )


async def start_session(
    session: AsyncSession, services: Services, *, user: User | None = None, operator: Operator | None = None
) -> SignedIn:
    """Open a new token family for a successful sign-in."""
    now = utcnow()
    tenant_id = user.tenant_id if user is not None else None
    subject = user or operator
    if subject is None:
        raise ValueError("a session signs in a user or an operator")
    _act_as(session, subject.id, "user" if user is not None else "operator")
    family_id = new_id()
    expires_at = now + timedelta(seconds=services.settings.session_max_age)
    if user is not None:
        session.add(
            SignInSession(
                tenant_id=user.tenant_id, id=family_id, user_id=user.id, expires_at=expires_at, created_at=now
            )
        )
    else:
        session.add(
            OperatorSignInSession(id=family_id, operator_id=subject.id, expires_at=expires_at, created_at=now)
        )
    refresh = await _insert_token(
        session,
        tenant_id=tenant_id,
        subject_id=subject.id,
        family_id=family_id,
        session_expires_at=expires_at,
        services=services,
        now=now,
    )
    return _signed_in(
        services, refresh_token=refresh, family_id=family_id, user=user, operator=operator, now=now
    )


async def find_token(
    session: AsyncSession, token: str
) -> tuple[RefreshTokenParts, RefreshToken | OperatorRefreshToken] | None:
    """The stored row for a presented token, or ``None`` when it is unknown or forged."""
    parts = RefreshTokenParts.decode(token)
    if parts is None:
        return None
    model = _token_model(parts.tenant_id)
    statement = select(model).where(col(model.id) == parts.token_id, *_scope(parts.tenant_id))
    row = (await session.scalars(statement)).first()
    if not isinstance(row, RefreshToken | OperatorRefreshToken) or not secret_matches(
        parts.secret, row.token_hash
    ):
        return None
    return parts, row


async def rotate(session: AsyncSession, services: Services, token: str) -> SignedIn | None:
    """Spend ``token`` and issue its successor; ``None`` when it may not be used.

    A token that was already spent revokes its whole family (a stolen token was
    replayed, or a client raced itself); the caller must commit that revocation.
    """
    found = await find_token(session, token)
    if found is None:
        return None
    parts, row = found
    now = utcnow()
    model = type(row)
    claimed = await session.execute(
        update(model)
        .where(col(model.id) == row.id, *_scope(parts.tenant_id))
        .where(col(model.used_at).is_(None), col(model.revoked_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        if row.revoked_at is None:
            await revoke_families(session, parts.tenant_id, [row.family_id])
        return None
    if row.expires_at <= now or row.session_expires_at <= now:
        return None

    user: User | None = None
    operator: Operator | None = None
    if isinstance(row, OperatorRefreshToken):  # the model ``find_token`` read for no tenant
        operator = await session.get(Operator, row.operator_id)
    else:
        user = await session.get(User, (parts.tenant_id, row.user_id))
    subject = user or operator
    if subject is None or not subject.is_active:
        await revoke_families(session, parts.tenant_id, [row.family_id])
        return None
    _act_as(session, subject.id, "user" if user is not None else "operator")
    refresh = await _insert_token(
        session,
        tenant_id=parts.tenant_id,
        subject_id=subject.id,
        family_id=row.family_id,
        session_expires_at=row.session_expires_at,
        services=services,
        now=now,
    )
    return _signed_in(
        services, refresh_token=refresh, family_id=row.family_id, user=user, operator=operator, now=now
    )


async def revoke_families(
    session: AsyncSession, tenant_id: uuid.UUID | None, family_ids: list[uuid.UUID]
) -> int:
    model = _token_model(tenant_id)
    result = await session.execute(
        update(model)
        .where(col(model.family_id).in_(family_ids), col(model.revoked_at).is_(None), *_scope(tenant_id))
        .values(revoked_at=utcnow())
    )
    # Tokens, then sessions: the order every revocation locks rows in.
    await _revoke_sessions(session, tenant_id, col(_session_model(tenant_id).id).in_(family_ids))
    revoked = int(result.rowcount)  # type: ignore[attr-defined]
    _audit_revocation(session, tenant_id, family_ids, revoked)
    return revoked


def _audit_revocation(
    session: AsyncSession, tenant_id: uuid.UUID | None, family_ids: list[uuid.UUID], tokens: int
) -> None:
    if tenant_id is not None and tokens:
        record(
            session.sync_session,
            tenant_id=tenant_id,
            action="session.revoked",
            target_type="refresh_token",
            target_id=None,
            changes={"sessions": [[str(family), None] for family in family_ids]},
        )


async def revoke_subject_sessions(
    session: AsyncSession,
    tenant_id: uuid.UUID | None,
    subject_id: uuid.UUID,
    *,
    keep_family: uuid.UUID | None = None,
) -> int:
    """Revoke every live session of a user or operator; returns how many were live."""
    model = _token_model(tenant_id)
    conditions: list[ColumnElement[bool]] = [_owner_column(tenant_id) == subject_id, *_scope(tenant_id)]
    if keep_family is not None:
        conditions.append(col(model.family_id) != keep_family)
    families = (
        await session.scalars(
            select(model.family_id)
            .where(*conditions, col(model.revoked_at).is_(None), col(model.used_at).is_(None))
            .distinct()
        )
    ).all()
    result = await session.execute(
        update(model).where(*conditions, col(model.revoked_at).is_(None)).values(revoked_at=utcnow())
    )
    sessions = _session_model(tenant_id)
    owner = OperatorSignInSession.operator_id if tenant_id is None else SignInSession.user_id
    kept = [col(sessions.id) != keep_family] if keep_family is not None else []
    await _revoke_sessions(session, tenant_id, col(owner) == subject_id, *kept)
    _audit_revocation(session, tenant_id, list(families), int(result.rowcount))  # type: ignore[attr-defined]
    return len(families)
