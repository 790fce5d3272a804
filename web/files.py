"""Files over HTTP: ``POST /files`` uploads one, ``GET /files/…`` serves one through its link.

Uploading takes the file's bytes as the raw request body, with the target in the
query (``owner``: a global id of an Equipment, EquipmentUnit, Design, DesignVersion or
Reservation, or ``gallery``; ``filename``, ``caption``, ``position``, ``public``) and
``Authorization: Bearer`` required. A browser sends that header cross-site only
after a CORS preflight, and a plain HTML form can send neither it nor a raw body:
form encodings (``multipart/form-data``, ``application/x-www-form-urlencoded``,
``text/plain``) are refused outright, so no cross-site form can upload, whatever
credentials a browser might hold. The body is read in chunks and refused as soon
as it passes ``RIGBOOK_MAX_UPLOAD_SIZE``; it never waits in memory beyond that.

Serving needs no header, so that ``<img src>`` works: ``/files/<tenant>/<id>?sig=…``
(and ``&size=`` for a thumbnail) opens only with a valid, unexpired signature for
exactly that tenant, file and variant (403 otherwise), and ``/files/public/<tenant>/<id>``
only while the file is a public gallery item. Responses carry the stored content type,
``X-Content-Type-Options: nosniff``, a ``Content-Disposition`` (inline for images,
attachment otherwise) and ``Content-Security-Policy: default-src 'none'; sandbox``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from graphql import GraphQLError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from auth.services import Services
from auth.signed_links import ExpiredLink, InvalidLink
from db.storage import ObjectNotFound
from db.tables import OwnerKind, ThumbnailState
from resolvers.attachments import (
    Upload,
    attach,
    original_key,
    served_attachment,
    signed_url,
    thumbnail_key,
    verify_link,
)
from resolvers.caller import CallerRefused
from resolvers.errors import Conflict, DomainError, InvalidInput, NotFound
from resolvers.global_ids import from_global_id, to_global_id
from resolvers.uploads import THUMBNAIL_SIZES
from web.context import bearer_token, build_context

OWNER_OF_TYPE = {
    "Equipment": OwnerKind.EQUIPMENT,
    "EquipmentUnit": OwnerKind.EQUIPMENT_UNIT,
    "Design": OwnerKind.DESIGN,
    "DesignVersion": OwnerKind.DESIGN_VERSION,
    "Reservation": OwnerKind.RESERVATION,
}
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "text/plain")
STATUS_OF_CODE = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}
SANDBOX = "default-src 'none'; sandbox"
MAX_QUERY_VALUE = 1000


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status, headers=headers)


class TooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused (``TooLarge``) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge()
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise TooLarge()
    return bytes(received)


def _owner(value: str | None) -> tuple[OwnerKind, uuid.UUID | None] | None:
    if value == "gallery":
        return OwnerKind.GALLERY, None
    decoded = from_global_id(value) if value else None
    if decoded is None or decoded[0] not in OWNER_OF_TYPE:
        return None
    return OWNER_OF_TYPE[decoded[0]], decoded[1]


def _upload_of(request: Request, data: bytes) -> Upload | JSONResponse:
    query = request.query_params
    if any(len(value) > MAX_QUERY_VALUE for value in query.values()):
        return _error(400, "BAD_REQUEST", f"Each query parameter is at most {MAX_QUERY_VALUE} characters.")
    owner = _owner(query.get("owner"))
    if owner is None:
        return _error(
            400,
            "BAD_REQUEST",
            "`owner` must be the id of an Equipment, EquipmentUnit, Design, DesignVersion or "
            "Reservation, or `gallery`.",
            fields={"owner": "unknown owner"},
        )
    position = query.get("position", "0")
    if not position.isdigit():
        return _error(
            400, "BAD_REQUEST", "`position` must be a whole number.", fields={"position": "not a number"}
        )
    public = query.get("public", "false").lower()
    if public not in ("true", "false"):
        return _error(
            400, "BAD_REQUEST", "`public` must be true or false.", fields={"public": "not a boolean"}
        )
    filename = query.get("filename") or _disposition_filename(request.headers.get("content-disposition"))
    return Upload(
        owner_kind=owner[0],
        owner_id=owner[1],
        filename=filename,
        data=data,
        caption=query.get("caption", ""),
        position=int(position),
        is_public=public == "true",
    )


def _disposition_filename(header: str | None) -> str | None:
    """``filename="…"`` of a ``Content-Disposition`` request header, if the client sent one."""
    if not header:
        return None
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "filename":
            return value.strip().strip('"')
    return None


def _domain_status(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 400


class Files:
    """The upload and serving endpoints; one per app."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def upload(self, request: Request) -> Response:
        # Refused before a byte of the body is read: no bearer header, or a form encoding.
        if bearer_token(request) is None:
            return _error(
                401, "UNAUTHENTICATED", "Send `Authorization: Bearer <accessToken>` with the upload."
            )
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type in FORM_TYPES:
            return _error(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "Send the file's bytes as the request body (e.g. `Content-Type: application/octet-stream`), "
                "not as a form.",
            )
        context = build_context(self.services, request)
        try:
            caller = context.caller()
            settings = self.services.settings
            try:
                data = await _body(request, settings.max_upload_size)
            except TooLarge:
                return _error(
                    413,
                    "PAYLOAD_TOO_LARGE",
                    f"The file is larger than {settings.max_upload_size} bytes.",
                    limit=settings.max_upload_size,
                )
            except ClientDisconnect:
                return _error(400, "BAD_REQUEST", "The upload was cut short.")
            upload = _upload_of(request, data)
            if isinstance(upload, JSONResponse):
                return upload
            row = await attach(self.services, caller, upload)
        except (CallerRefused, GraphQLError) as error:
            code = (error.extensions or {}).get("code")
            status = STATUS_OF_CODE.get(code if isinstance(code, str) else "", 403)
            return _error(status, str(code or "FORBIDDEN"), error.message)
        except DomainError as error:
            fields = error.fields if isinstance(error, InvalidInput) else {}
            return _error(_domain_status(error), type(error).__name__.upper(), error.message, fields=fields)
        finally:
            await context.close()
        return JSONResponse(
            {
                "id": to_global_id("Attachment", row.id),
                "filename": row.filename,
                "contentType": row.content_type,
                "size": row.size,
                "width": row.width,
                "height": row.height,
                "url": signed_url(self.services.settings, row),
            },
            201,
        )

    async def signed(self, request: Request) -> Response:
        return await self._serve(request, public=False)

    async def public(self, request: Request) -> Response:
        return await self._serve(request, public=True)

    async def _serve(self, request: Request, *, public: bool) -> Response:
        try:
            tenant_id = uuid.UUID(request.path_params["tenant"])
            attachment_id = uuid.UUID(request.path_params["id"])
        except ValueError:
            return _error(404, "NOT_FOUND", "No such file.")
        size_text = request.query_params.get("size")
        size: int | None = None
        if size_text is not None:
            if not size_text.isdigit() or int(size_text) not in THUMBNAIL_SIZES:
                sizes = ", ".join(map(str, THUMBNAIL_SIZES))
                return _error(400, "BAD_REQUEST", f"`size` is one of {sizes}.")
            size = int(size_text)
        if not public:
            try:
                verify_link(
                    self.services.settings,
                    tenant_id,
                    attachment_id,
                    size,
                    request.query_params.get("sig", ""),
                )
            except ExpiredLink:
                return _error(403, "FORBIDDEN", "The link has expired; ask for the file again.")
            except InvalidLink:
                return _error(403, "FORBIDDEN", "The link is not valid.")
        row = await served_attachment(self.services, tenant_id, attachment_id)
        if row is None or (public and public_link_closed(row)):
            return _error(404, "NOT_FOUND", "No such file.")
        return await self._stream(row, size, public=public)

    async def _stream(self, row: Any, size: int | None, *, public: bool) -> Response:
        key = original_key(row.tenant_id, row.id)
        content_type = row.content_type
        if size is not None:
            if row.width is None:
                return _error(404, "NOT_FOUND", "Only images have thumbnails.")
            if row.thumbnails == ThumbnailState.READY:
                key, content_type = thumbnail_key(row.tenant_id, row.id, size), "image/webp"
            # Not made yet (or not makeable): the original serves in its place.
        try:
            opened = await self.services.storage.open(key)
        except ObjectNotFound:
            return _error(404, "NOT_FOUND", "No such file.")
        image = content_type.startswith("image/")
        disposition = "inline" if image else "attachment"
        filename = row.filename
        ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
        headers = {
            "Content-Length": str(opened.size),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": SANDBOX,
            "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "public, max-age=300" if public else "private, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        return StreamingResponse(_chunks(opened.chunks), media_type=content_type, headers=headers)


def public_link_closed(row: Any) -> bool:
    return bool(row.owner_kind != OwnerKind.GALLERY or not row.is_public)


async def _chunks(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield chunk
