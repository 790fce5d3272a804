"""The worker's part of files: thumbnails of a new image, and removing a deleted file's objects.

``attachment.thumbnails`` reads the stored (already cleaned) image, makes each size in
a thread (``resolvers/uploads.py``), writes them, and marks the row READY in the
transaction that completes the job; an image that no longer decodes is marked FAILED
rather than retried. If the attachment was deleted meanwhile, the thumbnails just
written are removed again (the purge job may have run before them).

``attachment.purge`` is queued by the deletion's own transaction, so it runs only for
a deletion that committed; deleting a missing object is no error, so a retry is harmless.
"""

from __future__ import annotations

import uuid

from sqlmodel import col, update

from db.scoped import in_tenant
from db.tables import Attachment, ThumbnailState
from resolvers.attachments import (
    PURGE_KIND,
    THUMBNAILS_KIND,
    file_type_of,
    original_key,
    purge_keys,
    served_attachment,
    thumbnail_key,
)
from resolvers.jobs.registry import JobRun, handler
from resolvers.uploads import ImageRefused, in_image_thread, make_thumbnails


def _attachment_id(run: JobRun) -> uuid.UUID:
    return uuid.UUID(str(run.job.payload["id"]))


async def _mark(run: JobRun, tenant_id: uuid.UUID, attachment_id: uuid.UUID, state: ThumbnailState) -> bool:
    """Set the row's thumbnail state as the job completes; False when the row is gone."""
    async with run.transaction(tenant_id) as session:
        result = await session.execute(
            update(Attachment)
            .where(in_tenant(Attachment, tenant_id), col(Attachment.id) == attachment_id)
            .values(thumbnails=state)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


@handler(THUMBNAILS_KIND, max_attempts=5)
async def make_attachment_thumbnails(run: JobRun) -> None:
    tenant_id = run.job.tenant_id
    if tenant_id is None:
        return
    attachment_id = _attachment_id(run)
    services = run.services
    row = await served_attachment(services, tenant_id, attachment_id)
    file_type = file_type_of(row) if row is not None else None
    if row is None or file_type is None or file_type.pillow_format is None:
        return
    data = await services.storage.read(original_key(tenant_id, attachment_id), max_bytes=max(row.size, 1))
    try:
        thumbnails = await in_image_thread(
            services.image_limiter, make_thumbnails, data, file_type, services.settings.max_image_pixels
        )
    except ImageRefused:
        await _mark(run, tenant_id, attachment_id, ThumbnailState.FAILED)
        return
    for size, image in thumbnails.items():
        await services.storage.put(
            thumbnail_key(tenant_id, attachment_id, size), image, content_type="image/webp"
        )
    if not await _mark(run, tenant_id, attachment_id, ThumbnailState.READY):
        for size in thumbnails:
            await services.storage.delete(thumbnail_key(tenant_id, attachment_id, size))


@handler(PURGE_KIND)
async def purge_attachment(run: JobRun) -> None:
    tenant_id = run.job.tenant_id
    if tenant_id is None:
        return
    for key in purge_keys(tenant_id, _attachment_id(run)):
        await run.services.storage.delete(key)
