"""``tenant.export``: an export an admin asked for, written to the object store and mailed as a link.

The handler writes the ZIP to a temporary file (``resolvers/exports/writer.py``:
one snapshot, constant memory), streams it to the store under
``t/<tenant>/exports/<id>.zip``, then, in ``run.transaction`` (audited as the
system, and marking the job done), sets the export ``READY`` with its counts,
records ``tenant.exported`` and queues the mail with a signed download link to the
admin who asked. The link exists only there, so the mail is queued by the change
itself, sealed at rest like every queued body (``resolvers/mail.py``).

An export over ``RIGBOOK_EXPORT_MAX_BYTES`` fails at once; any other error is
retried, and the last attempt's failure marks the export ``FAILED`` so that the
tenant may ask again. An attempt runs for at most ``EXPORT_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import IO

from db.queue import Backoff
from db.tables import ExportStatus, Tenant, TenantExport, User
from db.tables.tenant_export import UNDER_WAY
from resolvers.exports.command import record_export
from resolvers.exports.formats import ExportFormat
from resolvers.exports.requests import EXPORT_JOB, download_url, export_key
from resolvers.exports.tables import chosen
from resolvers.exports.writer import ExportTooLarge, write_export
from resolvers.jobs.registry import JobRun, handler
from resolvers.mail import enqueue
from resolvers.mail_render import render
from resolvers.notices import display_name

log = logging.getLogger("rigbook.exports")
EXPORT_TIMEOUT = timedelta(minutes=30)
UPLOAD_CHUNK = 1024 * 1024


async def _chunks(spool: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(spool.read, UPLOAD_CHUNK):
        yield chunk


async def _set_status(run: JobRun, tenant_id: uuid.UUID, export_id: uuid.UUID, status: ExportStatus,
                      error: str | None = None, *, completes: bool) -> None:  # fmt: skip
    async with run.transaction(tenant_id, completes=completes) as session:
        row = await session.get(TenantExport, (tenant_id, export_id), with_for_update=True)
        if row is not None and row.status in UNDER_WAY:
            row.status = status
            if error is not None:
                row.error = error[:500]
                row.finished_at = run.clock()


@handler(
    EXPORT_JOB,
    max_attempts=3,
    backoff=Backoff(base=timedelta(minutes=1), cap=timedelta(minutes=10)),
    timeout=EXPORT_TIMEOUT,
)
async def run_export(run: JobRun) -> None:
    tenant_id = run.job.tenant_id
    if tenant_id is None:
        return
    export_id = uuid.UUID(run.job.payload["export_id"])
    services = run.services
    settings = services.settings
    async with services.database.session(tenant_id) as session:
        row = await session.get(TenantExport, (tenant_id, export_id))
    if row is None or row.status not in UNDER_WAY:
        async with run.transaction(tenant_id):
            return  # gone, or finished by an earlier attempt: done
    await _set_status(run, tenant_id, export_id, ExportStatus.RUNNING, completes=False)
    try:
        with tempfile.TemporaryFile() as spool:
            manifest = await write_export(
                services.database, tenant_id, spool, tables=chosen(row.groups), form=ExportFormat(row.format),
                now=run.now, max_bytes=settings.export_max_bytes,
            )  # fmt: skip
            await asyncio.to_thread(spool.seek, 0)
            stored = await services.storage.put(
                export_key(tenant_id, export_id), _chunks(spool), content_type="application/zip"
            )
    except ExportTooLarge as error:
        await _set_status(run, tenant_id, export_id, ExportStatus.FAILED, str(error), completes=True)
        return
    except Exception:
        if run.job.attempts < run.job.max_attempts:
            raise
        log.exception("export %s of tenant %s failed for good", export_id, tenant_id)
        await _set_status(run, tenant_id, export_id, ExportStatus.FAILED, "the export failed", completes=True)
        return
    async with run.transaction(tenant_id) as session:
        row = await session.get(TenantExport, (tenant_id, export_id), with_for_update=True)
        if row is None or row.status not in UNDER_WAY:
            return
        finished = run.clock()
        row.status = ExportStatus.READY
        row.counts = {entry["name"]: entry["rows"] for entry in manifest["files"]}
        row.size_bytes = stored.size
        row.finished_at = finished
        row.expires_at = finished + timedelta(hours=settings.export_keep_hours)
        record_export(session, tenant_id, manifest)
        tenant = await session.get(Tenant, tenant_id)
        requester = (
            await session.get(User, (tenant_id, row.requested_by_id))
            if row.requested_by_id is not None
            else None
        )
        link = download_url(settings, row, finished)
        if tenant is None or requester is None or not requester.is_active or link is None:
            return
        expires_at = _link_expiry(row.expires_at, finished, settings.export_link_ttl)
        letter = render(
            "export_ready",
            tenant=tenant.name,
            timezone=tenant.timezone,
            recipient=display_name(requester),
            preference=None,
            link=link,
            expires_at=expires_at,
            rows=sum(row.counts.values()),
            files=len(row.counts),
            format=row.format,
        )
        enqueue(
            session, settings, tenant_id=tenant_id, to=requester.email, letter=letter, expires_at=expires_at
        )


def _link_expiry(kept_until: datetime, now: datetime, ttl: int) -> datetime:
    return min(kept_until, now + timedelta(seconds=ttl))
