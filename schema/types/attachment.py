"""Attached files as GraphQL: ``Attachment``, with signed links to the file and its thumbnails."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from db.tables import Attachment as AttachmentRow
from db.tables import ThumbnailState
from resolvers.attachments import public_url, signed_url
from resolvers.uploads import THUMBNAIL_SIZES
from schema.context import Info
from schema.error_codes import bad_user_input
from schema.fetches import USERS
from schema.node import Node
from schema.relations import relation
from schema.rows import FromRow, row_type
from schema.types.user import User

SIZES = ", ".join(map(str, THUMBNAIL_SIZES))


@strawberry.enum(description="Whether an image's thumbnails are made.")
class ThumbnailStatus(Enum):
    NONE = strawberry.enum_value(ThumbnailState.NONE.value, description="Not an image: no thumbnails.")
    PENDING = strawberry.enum_value(
        ThumbnailState.PENDING.value, description="Being made by the worker; `thumbnailUrl` serves the image."
    )
    READY = strawberry.enum_value(ThumbnailState.READY.value, description="Made: `thumbnailUrl` serves them.")
    FAILED = strawberry.enum_value(
        ThumbnailState.FAILED.value, description="Could not be made; `thumbnailUrl` serves the image."
    )


@row_type(AttachmentRow, thumbnails=ThumbnailStatus)
@strawberry.type(
    description="A file attached to equipment, a unit, a design, a version, a reservation or the gallery. "
    "Images are stored re-encoded, without their metadata (EXIF, GPS)."
)
class Attachment(FromRow[AttachmentRow], Node):
    filename: str = strawberry.field(description="Its name, cleaned, with the extension of its type.")
    content_type: str = strawberry.field(
        description="What it is, from its bytes: image/jpeg, image/png, image/webp or application/pdf."
    )
    size: int = strawberry.field(description="Bytes stored (of the re-encoded image, for an image).")
    sha256: str = strawberry.field(description="SHA-256 of the stored bytes, in hex.")
    width: int | None = strawberry.field(description="Pixels across, for an image; null otherwise.")
    height: int | None = strawberry.field(description="Pixels down, for an image; null otherwise.")
    caption: str = strawberry.field(description="A caption; may be empty.")
    position: int = strawberry.field(description="Where it stands among its owner's files (ascending).")
    is_public: bool = strawberry.field(
        description="A gallery item anyone may view through `publicUrl`, signed in or not."
    )
    thumbnails: ThumbnailStatus = strawberry.field(description="Whether its thumbnails are made.")
    created_at: datetime = strawberry.field(description="When it was uploaded.")
    row: strawberry.Private[AttachmentRow]

    @strawberry.field(description="Who uploaded it; null when that was not a user of the tenant.")
    @relation(key="created_by_id", fetch=USERS)
    async def created_by(self, info: Info) -> User | None: ...

    @strawberry.field(
        description="A link to the file (relative to this server) that works without a bearer header "
        "until it expires (RIGBOOK_FILE_LINK_TTL); ask again for a fresh one."
    )
    def url(self, info: Info) -> str:
        return signed_url(info.context.services.settings, self.row)

    @strawberry.field(
        description=f"A signed link to a thumbnail fitting a square of `size` pixels ({SIZES}), as WebP; "
        "the image itself until the thumbnails are made; null for a file that is not an image."
    )
    def thumbnail_url(
        self,
        info: Info,
        size: Annotated[int, strawberry.argument(description=f"Pixels: one of {SIZES}.")],
    ) -> str | None:
        if size not in THUMBNAIL_SIZES:
            raise bad_user_input(f"`size` must be one of {SIZES}.")
        if self.row.width is None:
            return None
        return signed_url(info.context.services.settings, self.row, size)

    @strawberry.field(
        description="A link that never expires, for a public gallery item (served while it stays public); "
        "null for every other file."
    )
    def public_url(self) -> str | None:
        return public_url(self.row)
