"""Files attached to equipment, units, designs, versions, reservations, and the tenant's gallery.

Attaching (STAFF and up): the bytes are checked and cleaned (``resolvers/uploads.py``),
written to the store under the tenant's prefix, and then the row is inserted in one
transaction that also checks the owner exists in the tenant, holds the tenant's
quota (``RIGBOOK_TENANT_STORAGE_QUOTA``, serialised on the tenant row) and queues
the thumbnail job of an image. Should that transaction fail, the object is removed
again. Deleting removes the row and queues the ``attachment.purge`` job in the same
transaction, so the objects go only once the deletion committed.

Links: ``url`` and ``thumbnailUrl`` are signed (``auth/signed_links.py``) for the
tenant, the attachment and the variant, and expire after ``RIGBOOK_FILE_LINK_TTL``;
a public gallery item also has an unsigned ``publicUrl`` served only while it is public.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth.services import Services
from auth.signed_links import LinkSubject, sign, verify
from db.clock import utcnow
from db.queue import add
from db.scoped import in_tenant, scoped, scoped_records
from db.storage import ObjectKey, object_key
from db.tables import (
    Attachment,
    Design,
    DesignVersion,
    Equipment,
    EquipmentUnit,
    Job,
    OwnerKind,
    Reservation,
    Tenant,
    ThumbnailState,
)
from resolvers.caller import CallerRefused, TenantCaller
from resolvers.errors import Conflict, InvalidInput, NotFound, Validator
from resolvers.list_caps import MAX_ATTACHMENTS_PER_OWNER
from resolvers.loaders import Loaders
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.transactions import Snapshot, Transactions
from resolvers.uploads import (
    FILE_TYPES,
    THUMBNAIL_SIZES,
    ImageRefused,
    allowed_type,
    clean_filename,
    in_image_thread,
    process_image,
)
from resolvers.validation import unstorable
from settings import Settings

LINK_PURPOSE = "file"
THUMBNAILS_KIND = "attachment.thumbnails"
PURGE_KIND = "attachment.purge"
MAX_CAPTION_LENGTH = 500
MAX_POSITION = 1_000_000
STAFF_ONLY = "Only staff may change files."
OWNER_TABLES: dict[OwnerKind, type[Any]] = {
    OwnerKind.EQUIPMENT: Equipment,
    OwnerKind.EQUIPMENT_UNIT: EquipmentUnit,
    OwnerKind.DESIGN: Design,
    OwnerKind.DESIGN_VERSION: DesignVersion,
    OwnerKind.RESERVATION: Reservation,
}


def original_key(tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> ObjectKey:
    return object_key(tenant_id, "attachments", str(attachment_id), "original")


def thumbnail_key(tenant_id: uuid.UUID, attachment_id: uuid.UUID, size: int) -> ObjectKey:
    return object_key(tenant_id, "attachments", str(attachment_id), f"thumb-{size}")


def require_staff(caller: TenantCaller) -> None:
    """Files are written by the tenant's staff (also without the schema's check)."""
    if not caller.is_staff:
        raise CallerRefused(STAFF_ONLY, "FORBIDDEN")


def caption_problem(caption: str) -> str | None:
    if len(caption) > MAX_CAPTION_LENGTH:
        return f"Must be at most {MAX_CAPTION_LENGTH} characters long."
    if unstorable(caption):
        return "Must not contain NUL characters."
    return None


def position_problem(position: int) -> str | None:
    if not 0 <= position <= MAX_POSITION:
        return f"Must be between 0 and {MAX_POSITION}."
    return None


@dataclass(frozen=True)
class Upload:
    """What the upload route hands over: the target, the client's name for the file, its bytes."""

    owner_kind: OwnerKind
    owner_id: uuid.UUID | None
    filename: str | None
    data: bytes
    caption: str = ""
    position: int = 0
    is_public: bool = False


async def _lock_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Serialise uploads within a tenant, so that the quota holds under parallel uploads."""
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True))


async def used_bytes(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    total = select(func.coalesce(func.sum(Attachment.size), 0)).where(in_tenant(Attachment, tenant_id))
    return int((await session.execute(total)).scalar_one())


async def _attached_to(session: AsyncSession, tenant_id: uuid.UUID, owner_id: uuid.UUID) -> int:
    """How many files the owner has (counted under the tenant's upload lock)."""
    count = select(func.count()).where(in_tenant(Attachment, tenant_id), col(Attachment.owner_id) == owner_id)
    return int((await session.execute(count)).scalar_one())


async def _owner_exists(
    session: AsyncSession, tenant_id: uuid.UUID, kind: OwnerKind, owner_id: uuid.UUID
) -> bool:
    model = OWNER_TABLES[kind]
    found = select(col(model.id)).where(in_tenant(model, tenant_id), col(model.id) == owner_id)
    return (await session.execute(found)).first() is not None


def _check_upload(upload: Upload) -> None:
    problems = Validator()
    problems.add("caption", caption_problem(upload.caption))
    problems.add("position", position_problem(upload.position))
    if upload.is_public and upload.owner_kind is not OwnerKind.GALLERY:
        problems.add("public", "Only gallery items can be public.")
    if (upload.owner_kind is OwnerKind.GALLERY) != (upload.owner_id is None):
        problems.add("owner", "Name the object the file belongs to, or the gallery.")
    problems.raise_if_any()


async def attach(services: Services, caller: TenantCaller, upload: Upload) -> Attachment:
    """Check, clean and store the file, then record it; see the module's docstring."""
    require_staff(caller)
    settings = services.settings
    _check_upload(upload)
    file_type = allowed_type(upload.data, settings.upload_types)
    filename = clean_filename(upload.filename, file_type)
    data = upload.data
    width = height = None
    if file_type.pillow_format is not None:
        try:
            clean = await in_image_thread(
                services.image_limiter, process_image, data, file_type, settings.max_image_pixels
            )
        except ImageRefused as error:
            message = f"The image cannot be accepted: {error}."
            raise InvalidInput({"file": message}, message) from error
        data, width, height = clean.data, clean.width, clean.height
    tenant_id = caller.tenant_id
    attachment = Attachment(
        tenant_id=tenant_id,
        owner_kind=upload.owner_kind,
        owner_id=upload.owner_id,
        filename=filename,
        content_type=file_type.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key="",
        width=width,
        height=height,
        caption=upload.caption.strip(),
        position=upload.position,
        is_public=upload.is_public,
        thumbnails=ThumbnailState.PENDING if width is not None else ThumbnailState.NONE,
        created_by_id=caller.user_id,
    )
    key = original_key(tenant_id, attachment.id)
    attachment.storage_key = key.path
    await services.storage.put(key, data, content_type=file_type.content_type)
    try:
        async with services.database.transaction(tenant_id) as session:
            await _lock_tenant(session, tenant_id)
            if upload.owner_id is not None and not await _owner_exists(
                session, tenant_id, upload.owner_kind, upload.owner_id
            ):
                raise NotFound(upload.owner_kind.lower().replace("_", " "), field="owner")
            if upload.owner_id is not None and await _attached_to(session, tenant_id, upload.owner_id) >= (
                MAX_ATTACHMENTS_PER_OWNER
            ):
                raise Conflict(f"At most {MAX_ATTACHMENTS_PER_OWNER} files may be attached to one item.")
            used = await used_bytes(session, tenant_id)
            if used + attachment.size > settings.tenant_storage_quota:
                raise Conflict(
                    f"Storage quota exceeded: this file needs {attachment.size} bytes, and {used} of the "
                    f"tenant's {settings.tenant_storage_quota} bytes are in use. Delete files first."
                )
            session.add(attachment)
            if width is not None:
                add(
                    session,
                    Job(tenant_id=tenant_id, kind=THUMBNAILS_KIND, payload={"id": str(attachment.id)}),
                )
            await session.flush()
    except Exception:
        await services.storage.delete(key)
        raise
    return attachment


async def _locked(session: AsyncSession, caller: TenantCaller, attachment_id: uuid.UUID | None) -> Attachment:
    """The caller's tenant's attachment, locked for the change; anything else is NOT_FOUND."""
    attachment = None
    if attachment_id is not None:
        statement = (
            scoped(Attachment, caller.tenant_id).where(col(Attachment.id) == attachment_id).with_for_update()
        )
        attachment = (await session.scalars(statement)).first()
    if attachment is None:
        raise NotFound("attachment", field="id")
    return attachment


@dataclass(frozen=True)
class AttachmentChanges:
    """What ``update_attachment`` changes; None leaves a field as it is."""

    caption: str | None = None
    position: int | None = None
    is_public: bool | None = None


async def update_attachment(
    transactions: Transactions,
    caller: TenantCaller,
    attachment_id: uuid.UUID | None,
    changes: AttachmentChanges,
) -> Attachment:
    require_staff(caller)
    problems = Validator()
    if changes.caption is not None:
        problems.add("caption", caption_problem(changes.caption))
    if changes.position is not None:
        problems.add("position", position_problem(changes.position))
    problems.raise_if_any()
    async with transactions.transaction() as session:
        attachment = await _locked(session, caller, attachment_id)
        if changes.is_public is not None and attachment.owner_kind != OwnerKind.GALLERY:
            raise InvalidInput({"isPublic": "Only gallery items can be public."})
        if changes.caption is not None:
            attachment.caption = changes.caption.strip()
        if changes.position is not None:
            attachment.position = changes.position
        if changes.is_public is not None:
            attachment.is_public = changes.is_public
        await session.flush()
        return attachment


async def delete_attachment(
    transactions: Transactions, caller: TenantCaller, attachment_id: uuid.UUID | None
) -> uuid.UUID:
    """Delete the row now; its objects go by the ``attachment.purge`` job once this commits."""
    require_staff(caller)
    async with transactions.transaction() as session:
        attachment = await _locked(session, caller, attachment_id)
        deleted = attachment.id
        await session.delete(attachment)
        add(session, Job(tenant_id=caller.tenant_id, kind=PURGE_KIND, payload={"id": str(deleted)}))
        return deleted


def purge_keys(tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> list[ObjectKey]:
    """Every object an attachment may have: the original and each thumbnail."""
    return [
        original_key(tenant_id, attachment_id),
        *(thumbnail_key(tenant_id, attachment_id, size) for size in THUMBNAIL_SIZES),
    ]


async def list_gallery(snapshot: Snapshot, caller: TenantCaller, args: PageArgs) -> Page[Attachment]:
    """The tenant's gallery, by position then age: any user of the tenant sees it."""
    statement = scoped(Attachment, caller.tenant_id).where(col(Attachment.owner_kind) == OwnerKind.GALLERY)
    sort = [col(Attachment.position), col(Attachment.created_at), col(Attachment.id)]
    return await paginate(snapshot, statement, sort=sort, descending=False, args=args)


async def find_attachment(snapshot: Snapshot, caller: TenantCaller, attachment_id: uuid.UUID) -> Any:
    """The row of the caller's tenant's attachment, visibility of its owner not yet checked."""
    statement = scoped_records(Attachment, caller.tenant_id).where(col(Attachment.id) == attachment_id)
    rows = await snapshot.rows(statement)
    return rows[0] if rows else None


async def owner_visible(loaders: Loaders, row: Any) -> bool:
    """Whether the caller sees the attachment's owner: the owner's own loader applies the
    visibility policy (customers: their own reservations and designs), so a file is seen
    exactly with what it belongs to. Gallery items are seen by every user of the tenant."""
    kind = OwnerKind(row.owner_kind)
    owner_id = row.owner_id
    if kind is OwnerKind.GALLERY or owner_id is None:
        return kind is OwnerKind.GALLERY
    owner: Any
    if kind is OwnerKind.EQUIPMENT:
        owner = await loaders.equipment_by_id.load(owner_id)
    elif kind is OwnerKind.EQUIPMENT_UNIT:
        owner = await loaders.unit_by_id.load(owner_id)
    elif kind is OwnerKind.DESIGN:
        owner = await loaders.design_by_id.load(owner_id)
    elif kind is OwnerKind.DESIGN_VERSION:
        owner = await loaders.version_by_id.load(owner_id)
    else:
        owner = await loaders.reservation_by_id.load(owner_id)
    return owner is not None


async def served_attachment(services: Services, tenant_id: uuid.UUID, attachment_id: uuid.UUID) -> Any:
    """The row a verified link names, read in that tenant's scope; None when it is gone."""
    async with services.database.session(tenant_id) as session:
        statement = scoped_records(Attachment, tenant_id).where(col(Attachment.id) == attachment_id)
        return (await session.execute(statement)).first()


# Links: a path on this server, so that a client joins it to the API's own origin.
FILES_PATH = "/files"


def link_expiry(settings: Settings, now: datetime) -> datetime:
    """At least the TTL from now, rounded up to a whole minute: links made in one minute are equal,
    so a browser can cache an image across a page's refreshes."""
    seconds = math.ceil((now.timestamp() + settings.file_link_ttl) / 60) * 60
    return datetime.fromtimestamp(seconds, UTC)


def variant_of(size: int | None) -> str:
    return "" if size is None else f"thumb-{size}"


def signed_url(settings: Settings, row: Any, size: int | None = None, now: datetime | None = None) -> str:
    """A link to the attachment (``size``: one of its thumbnails) that works until it expires."""
    subject = LinkSubject(row.tenant_id, str(row.id), variant_of(size))
    token = sign(settings.signing_key, LINK_PURPOSE, subject, link_expiry(settings, now or utcnow()))
    query = {"size": str(size)} if size is not None else {}
    query["sig"] = token
    return f"{FILES_PATH}/{row.tenant_id}/{row.id}?{urlencode(query)}"


def public_url(row: Any, size: int | None = None) -> str | None:
    """The unsigned link of a public gallery item (and its thumbnails); None for any other file."""
    if row.owner_kind != OwnerKind.GALLERY or not row.is_public:
        return None
    suffix = f"?size={size}" if size is not None else ""
    return f"{FILES_PATH}/public/{row.tenant_id}/{row.id}{suffix}"


def verify_link(
    settings: Settings, tenant_id: uuid.UUID, attachment_id: uuid.UUID, size: int | None, token: str
) -> None:
    """``InvalidLink`` (or ``ExpiredLink``) unless ``token`` signs exactly this file and variant."""
    verify(
        settings.signing_key,
        LINK_PURPOSE,
        LinkSubject(tenant_id, str(attachment_id), variant_of(size)),
        token,
    )


def file_type_of(row: Any) -> Any:
    return FILE_TYPES.get(row.content_type)
