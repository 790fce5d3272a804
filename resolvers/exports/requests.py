"""Exports through the API: an admin asks, the ``tenant.export`` job writes, a signed link downloads.

``request_export`` validates the choice, then in one transaction gives up exports
under way for longer than ``STALE_AFTER`` (their worker is gone), inserts the
export and queues its job: a rollback leaves neither. A tenant has one export under
way at a time (a partial unique index behind the check), so a second request is
refused with a ``Conflict`` instead of piling work onto the worker.

A download link is signed (``auth/signed_links.py``) for the tenant and the export,
and expires at the export's own ``expires_at`` at the latest: a link of one tenant
names its tenant, so it never opens another tenant's export, and changing any
part of it breaks its signature.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from auth.signed_links import LinkSubject, sign
from db import queue
from db.scoped import in_tenant, scoped
from db.storage import ObjectKey, object_key
from db.tables import ExportStatus, Job, TenantExport
from db.tables.tenant_export import UNDER_WAY
from resolvers.caller import CallerRefused, TenantCaller
from resolvers.errors import Conflict, InvalidInput
from resolvers.exports.formats import ExportFormat
from resolvers.exports.tables import UnknownGroup, chosen
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.transactions import Snapshot, Transactions
from resolvers.visibility import may_export
from settings import Settings

EXPORT_JOB = "tenant.export"
LINK_PURPOSE = "tenant export"
# An export under way this long has lost its worker (the job's attempts are far shorter).
STALE_AFTER = timedelta(hours=3)
ADMINS_ONLY = "Only admins may export the tenant's data."
UNDER_WAY_MESSAGE = "An export of this tenant is already under way; wait for it to finish."


def admin(caller: TenantCaller) -> TenantCaller:
    """``caller``, if they may export the tenant; FORBIDDEN otherwise."""
    if not may_export(caller.principal):
        raise CallerRefused(ADMINS_ONLY, "FORBIDDEN")
    return caller


def export_key(tenant_id: uuid.UUID, export_id: uuid.UUID) -> ObjectKey:
    return object_key(tenant_id, "exports", f"{export_id}.zip")


def download_path(tenant_id: uuid.UUID, export_id: uuid.UUID, token: str) -> str:
    return f"/exports/{tenant_id}/{export_id}.zip?token={token}"


def download_url(settings: Settings, row: TenantExport, now: datetime) -> str | None:
    """A signed link to the export's ZIP, or None while it is not ready (or no longer kept)."""
    if row.status != ExportStatus.READY or row.expires_at is None or row.expires_at <= now:
        return None
    expires = min(row.expires_at, now + timedelta(seconds=settings.export_link_ttl))
    token = sign(settings.signing_key, LINK_PURPOSE, LinkSubject(row.tenant_id, str(row.id)), expires)
    return settings.public_url.rstrip("/") + download_path(row.tenant_id, row.id, token)


async def request_export(
    transactions: Transactions,
    caller: TenantCaller,
    only: Sequence[str] | None,
    form: ExportFormat,
    now: datetime,
) -> TenantExport:
    """Queue an export of the caller's tenant (ADMIN only); ``Conflict`` while one is under way."""
    tenant_id = admin(caller).tenant_id
    try:
        tables = chosen(only)
    except UnknownGroup as error:
        raise InvalidInput({"only": str(error)}) from None
    groups = list(dict.fromkeys(table.group for table in tables))
    row = TenantExport(
        tenant_id=tenant_id, requested_by_id=caller.user_id, format=form.value, groups=groups, created_at=now
    )
    try:
        async with transactions.transaction() as session:
            await session.execute(
                update(TenantExport)
                .where(
                    in_tenant(TenantExport, tenant_id),
                    col(TenantExport.status).in_(UNDER_WAY),
                    col(TenantExport.created_at) < now - STALE_AFTER,
                )
                .values(status=ExportStatus.FAILED, error="abandoned: its worker stopped", finished_at=now)
            )
            under_way = scoped(TenantExport, tenant_id).where(col(TenantExport.status).in_(UNDER_WAY))
            if (await session.scalars(under_way.limit(1))).first() is not None:
                raise Conflict(UNDER_WAY_MESSAGE)
            session.add(row)
            await session.flush()
            queue.add(
                session,
                Job(tenant_id=tenant_id, kind=EXPORT_JOB, payload={"export_id": str(row.id)}, max_attempts=3),
            )
    except IntegrityError:  # another request won the race for the one slot
        raise Conflict(UNDER_WAY_MESSAGE) from None
    return row


async def list_exports(snapshot: Snapshot, caller: TenantCaller, args: PageArgs) -> Page[TenantExport]:
    """The tenant's exports, newest first (ADMIN only)."""
    statement = scoped(TenantExport, admin(caller).tenant_id)
    sort = [col(TenantExport.created_at), col(TenantExport.id)]
    return await paginate(snapshot, statement, sort=sort, descending=True, args=args)


async def export_by_id(snapshot: Snapshot, caller: TenantCaller, export_id: uuid.UUID) -> TenantExport | None:
    statement = scoped(TenantExport, admin(caller).tenant_id).where(col(TenantExport.id) == export_id)
    rows = await snapshot.rows(statement)
    return rows[0] if rows else None
