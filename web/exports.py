"""``GET /exports/{tenant}/{export}.zip?token=…``: a tenant export's ZIP, through its signed link.

The link carries its own grant (``auth/signed_links.py``), so a mail client or a
browser needs no bearer header: the signature binds the tenant and the export, and
the row is read within that tenant only. A tampered, expired or foreign link is 403
(all alike, so a refusal says nothing about what exists); an export that is not ready
or no longer kept is 404. The ZIP is streamed from the object store as an attachment.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from auth.services import Services
from auth.signed_links import InvalidLink, LinkSubject, verify
from db.clock import utcnow
from db.storage import ObjectNotFound
from db.tables import ExportStatus, TenantExport
from resolvers.exports.requests import LINK_PURPOSE, export_key

REFUSED = "This link is not valid (it may have expired)."
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


class ExportDownload:
    """The endpoint; one per app."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def endpoint(self, request: Request) -> Response:
        try:
            tenant_id = uuid.UUID(request.path_params["tenant"])
            export_id = uuid.UUID(request.path_params["export"])
        except ValueError:
            return PlainTextResponse(REFUSED, 403, headers=HEADERS)
        token = request.query_params.get("token", "")[:100]
        now = utcnow()
        try:
            verify(
                self.services.settings.signing_key,
                LINK_PURPOSE,
                LinkSubject(tenant_id, str(export_id)),
                token,
                now=now,
            )
        except InvalidLink:
            return PlainTextResponse(REFUSED, 403, headers=HEADERS)
        async with self.services.database.session(tenant_id) as session:
            row = await session.get(TenantExport, (tenant_id, export_id))
        if row is None or row.status != ExportStatus.READY or row.expires_at is None or row.expires_at <= now:
            return PlainTextResponse("This export is not available.", 404, headers=HEADERS)
        try:
            opened = await self.services.storage.open(export_key(tenant_id, export_id))
        except ObjectNotFound:
            return PlainTextResponse("This export is not available.", 404, headers=HEADERS)
        name = f"export-{row.created_at:%Y%m%d-%H%M%S}.zip"
        return StreamingResponse(
            opened.chunks,
            media_type="application/zip",
            headers={
                **HEADERS,
                "Content-Disposition": f'attachment; filename="{name}"',
                "Content-Length": str(opened.size),
            },
        )
