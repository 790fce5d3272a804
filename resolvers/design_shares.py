"""Share links: a random token shown once, stored as a SHA-256, revocable, optionally expiring.

A token reads ``<tenant hex>.<share id hex>.<secret>`` (the shape of refresh tokens), so the
public look-up opens a session for that one tenant and finds the share by tenant, id and
hash: it can never reach another tenant's rows, and a wrong part anywhere finds nothing.

A share may name a recipient, a user of the same tenant the caller sees: the link is
mailed to them in the transaction that makes the share (sealed at rest like every
queued body), since only that transaction holds the token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth.tokens import RefreshTokenParts, hash_secret, new_refresh_secret
from db.clock import utcnow
from db.database import Database
from db.scoped import in_tenant, same_tenant, scoped, scoped_records
from db.tables import (
    Attachment,
    Design,
    DesignItem,
    DesignShare,
    DesignStatus,
    DesignVersion,
    Equipment,
    OwnerKind,
    Tenant,
    User,
)
from resolvers.caller import TenantCaller
from resolvers.design_rules import find_design, refuse_archived
from resolvers.errors import InvalidInput, NotFound
from resolvers.instants import instant_problem
from resolvers.notices import RULES, Facts, display_name, queue_notices
from resolvers.transactions import Transactions
from settings import Settings


def share_token(tenant_id: uuid.UUID, share_id: uuid.UUID, secret: str) -> str:
    return RefreshTokenParts(tenant_id, share_id, secret).encode()


def new_share(
    tenant_id: uuid.UUID,
    design_id: uuid.UUID,
    created_by: uuid.UUID | None,
    expires_at: datetime | None,
    *,
    secret: str | None = None,
    share_id: uuid.UUID | None = None,
) -> tuple[DesignShare, str]:
    """A share row and its token; ``secret``/``share_id`` are fixed only by the demo seed."""
    secret = secret or new_refresh_secret()  # 256 bits
    share = DesignShare(
        tenant_id=tenant_id,
        design_id=design_id,
        token_hash=hash_secret(secret),
        created_by_id=created_by,
        expires_at=expires_at,
    )
    if share_id is not None:
        share.id = share_id
    return share, share_token(tenant_id, share.id, secret)


async def share_design(
    transactions: Transactions,
    caller: TenantCaller,
    settings: Settings,
    design_id: uuid.UUID | None,
    expires_at: datetime | None,
    recipient_id: uuid.UUID | None = None,
    *,
    recipient_given: bool = False,
    share_id: uuid.UUID | None = None,
    secret: str | None = None,
) -> tuple[DesignShare, str]:
    """A share link to a design the caller sees, mailed to ``recipient_id`` when one is named.

    ``recipient_given`` with no id is an id that named no user; ``share_id``/``secret``
    are fixed only by the demo seed.
    """
    if expires_at is not None:
        problem = instant_problem(expires_at)
        if problem is not None:
            raise InvalidInput({"expiresAt": problem})
        if expires_at <= utcnow():
            raise InvalidInput({"expiresAt": "Must be in the future."})
    if recipient_given and recipient_id is None:
        raise NotFound("user", field="recipientId")
    async with transactions.transaction() as session:
        design = await find_design(session, caller, design_id, field="designId")
        refuse_archived(design, "share it")
        recipient = await _recipient(session, caller, recipient_id) if recipient_id is not None else None
        share, token = new_share(
            caller.tenant_id, design.id, caller.user_id, expires_at, secret=secret, share_id=share_id
        )
        share.recipient_id = recipient.id if recipient is not None else None
        session.add(share)
        await session.flush()
        if recipient is not None:
            await _mail_link(session, settings, caller, design, share, token, recipient)
        return share, token


async def _recipient(session: AsyncSession, caller: TenantCaller, user_id: uuid.UUID) -> User:
    """The active user of the caller's tenant, whom the caller sees, that a link is made for."""
    user = await session.get(User, (caller.tenant_id, user_id))
    if user is None or not user.is_active or not caller.visibility.may_see(User, user):
        raise NotFound("user", field="recipientId")
    return user


async def _mail_link(
    session: AsyncSession,
    settings: Settings,
    caller: TenantCaller,
    design: Design,
    share: DesignShare,
    token: str,
    recipient: User,
) -> None:
    """Queue the ``design.shared`` mail with the link, worthless (and dropped) once the link expires."""
    tenant = await session.get(Tenant, caller.tenant_id)
    if tenant is None:
        raise NotFound("tenant")
    sharer = await session.get(User, (caller.tenant_id, caller.user_id)) if caller.user_id else None
    template = settings.design_share_url
    facts = Facts(
        tenant,
        values={
            "design": design.name,
            "sharer": display_name(sharer) or tenant.name,
            "link": template.format(token=token) if template else None,
            "token": token,
            "expires_at": share.expires_at,
        },
        recipient=recipient,
    )
    await queue_notices(session, settings, facts, RULES["design.shared"].notices, expires_at=share.expires_at)


async def revoke_share(
    transactions: Transactions, caller: TenantCaller, share_id: uuid.UUID | None
) -> DesignShare:
    """Revoke at once; revoking a revoked link changes nothing."""
    tenant_id = caller.tenant_id
    async with transactions.transaction() as session:
        share = None
        if share_id is not None:
            statement = (
                scoped(DesignShare, tenant_id).where(col(DesignShare.id) == share_id).with_for_update()
            )
            share = (await session.scalars(statement)).first()
        design = await session.get(Design, (tenant_id, share.design_id)) if share is not None else None
        if share is None or design is None or not caller.visibility.may_see(Design, design):
            raise NotFound("share", field="shareId")
        if share.revoked_at is None:
            share.revoked_at = utcnow()
            await session.flush()
        return share


def is_active(share: DesignShare, now: datetime) -> bool:
    return share.revoked_at is None and (share.expires_at is None or share.expires_at > now)


@dataclass(frozen=True)
class SharedItem:
    equipment_name: str
    category: str
    quantity: int
    notes: str


@dataclass(frozen=True)
class SharedVersion:
    number: int
    configuration: dict[str, Any]
    note: str
    saved_at: datetime


@dataclass(frozen=True)
class SharedView:
    """Everything a share link reveals — deliberately no ids, stock, reservations or people."""

    name: str
    description: str
    tenant_name: str
    version: SharedVersion | None
    items: list[SharedItem]
    images: list[Any] = field(default_factory=list)
    """Image attachments of the design and of its current version (rows; served through signed links)."""


async def shared_design(database: Database, token: str) -> SharedView | None:
    """What ``token`` shows; ``None`` alike for malformed, unknown, revoked and expired tokens."""
    parts = RefreshTokenParts.decode(token)
    if parts is None or parts.tenant_id is None:
        return None
    tenant_id = parts.tenant_id
    async with database.session(tenant_id) as session:
        statement = scoped(DesignShare, tenant_id).where(
            col(DesignShare.id) == parts.token_id,
            col(DesignShare.token_hash) == hash_secret(parts.secret),
        )
        share = (await session.scalars(statement)).first()
        if share is None or not is_active(share, utcnow()):
            return None
        design = await session.get(Design, (tenant_id, share.design_id))
        tenant = await session.get(Tenant, tenant_id)
        if design is None or tenant is None or design.status == DesignStatus.ARCHIVED:
            return None
        version: SharedVersion | None = None
        items: list[SharedItem] = []
        version_id: uuid.UUID | None = None
        if design.status == DesignStatus.PUBLISHED and design.current_version_number > 0:
            version, items, version_id = await _current_version(session, design)
        return SharedView(
            name=design.name,
            description=design.description,
            tenant_name=tenant.name,
            version=version,
            items=items,
            images=await _images(session, design, version_id),
        )


MAX_SHARED_IMAGES = 100


async def _images(session: AsyncSession, design: Design, version_id: uuid.UUID | None) -> list[Any]:
    """The design's images, then its current version's, each by position."""
    owned = (col(Attachment.owner_kind) == OwnerKind.DESIGN) & (col(Attachment.owner_id) == design.id)
    if version_id is not None:
        owned = owned | (
            (col(Attachment.owner_kind) == OwnerKind.DESIGN_VERSION)
            & (col(Attachment.owner_id) == version_id)
        )
    statement = (
        scoped_records(Attachment, design.tenant_id)
        .where(owned, col(Attachment.width).is_not(None))
        .order_by(
            col(Attachment.owner_kind),
            col(Attachment.position),
            col(Attachment.created_at),
            col(Attachment.id),
        )
        .limit(MAX_SHARED_IMAGES)
    )
    return list((await session.execute(statement)).all())


async def _current_version(
    session: AsyncSession, design: Design
) -> tuple[SharedVersion | None, list[SharedItem], uuid.UUID | None]:
    statement = scoped(DesignVersion, design.tenant_id).where(
        col(DesignVersion.design_id) == design.id,
        col(DesignVersion.number) == design.current_version_number,
    )
    version = (await session.scalars(statement)).first()
    if version is None:
        return None, [], None
    rows = await session.execute(
        select(Equipment.name, Equipment.category, DesignItem.quantity, DesignItem.notes)
        .join(
            Equipment,
            and_(
                same_tenant(Equipment, DesignItem),
                col(Equipment.id) == col(DesignItem.equipment_id),
            ),
        )
        .where(in_tenant(DesignItem, design.tenant_id), col(DesignItem.version_id) == version.id)
        .order_by(col(DesignItem.position))
    )
    items = [SharedItem(name, category, quantity, notes) for name, category, quantity, notes in rows.all()]
    shown = SharedVersion(version.number, version.configuration, version.note, version.created_at)
    return shown, items, version.id
