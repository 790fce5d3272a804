"""Designs, their immutable versions and items, and share links."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from db.clock import utcnow
from db.tables import Design as DesignRow
from db.tables import DesignItem as ItemRow
from db.tables import DesignShare as ShareRow
from db.tables import DesignStatus as StatusValue
from db.tables import DesignVersion as VersionRow
from resolvers.attachments import signed_url
from resolvers.design_shares import SharedItem, SharedVersion, SharedView, is_active
from resolvers.list_caps import MAX_DESIGN_SHARES_LISTED, MAX_DESIGN_VERSIONS_LISTED
from resolvers.uploads import THUMBNAIL_SIZES
from schema.context import Info
from schema.error_codes import bad_user_input
from schema.fetches import (
    ATTACHMENTS_OF_DESIGNS,
    ATTACHMENTS_OF_VERSIONS,
    CURRENT_VERSIONS,
    DESIGNS,
    EQUIPMENT,
    ITEMS_OF_VERSIONS,
    SHARES_OF_DESIGNS,
    USERS,
    VERSIONS_OF_DESIGNS,
)
from schema.node import Node
from schema.relations import relation
from schema.rows import FromRow, row_type
from schema.types.attachment import Attachment
from schema.types.equipment import Equipment
from schema.types.user import User

THUMBNAIL_SIZES_TEXT = ", ".join(map(str, THUMBNAIL_SIZES))


@strawberry.enum(description="Where a design stands.")
class DesignStatus(Enum):
    DRAFT = strawberry.enum_value(
        StatusValue.DRAFT.value, description="Being worked on; share links show no version."
    )
    PUBLISHED = strawberry.enum_value(
        StatusValue.PUBLISHED.value, description="Final for now; share links show the current version."
    )
    ARCHIVED = strawberry.enum_value(
        StatusValue.ARCHIVED.value,
        description="Put away: share links stop working, and it cannot be reserved or get new versions.",
    )


@row_type(DesignRow, status=DesignStatus)
@strawberry.type(
    description="A saved event setup (say, a marquee with its lighting and furniture) with versions."
)
class Design(FromRow[DesignRow], Node):
    name: str = strawberry.field(description="Name of the design.")
    description: str = strawberry.field(description="Free-form description.")
    status: DesignStatus = strawberry.field(description="DRAFT, PUBLISHED or ARCHIVED.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it or its versions last changed.")
    row: strawberry.Private[DesignRow]

    @strawberry.field(description="Who owns the design.")
    @relation(key="owner_id", fetch=USERS)
    async def owner(self, info: Info) -> User: ...

    # Before the first save there is no current version: the fetch finds none.
    @strawberry.field(
        description="The newest version; null before the first save. Pass its `number` as `expectedVersion`."
    )
    @relation(key="id", fetch=CURRENT_VERSIONS)
    async def current_version(self, info: Info) -> DesignVersion | None: ...

    @strawberry.field(
        description=f"The saved versions, newest first: at most {MAX_DESIGN_VERSIONS_LISTED} "
        "(older ones by `node(id:)`)."
    )
    @relation(key="id", fetch=VERSIONS_OF_DESIGNS)
    async def versions(self, info: Info) -> list[DesignVersion]: ...

    @strawberry.field(description="The design this one was cloned from; null if none or not visible to you.")
    @relation(key="cloned_from_id", fetch=DESIGNS)
    async def cloned_from(self, info: Info) -> Design | None: ...

    @strawberry.field(description="The version of `clonedFrom` that this design's version 1 copied.")
    async def cloned_from_version(self, info: Info) -> DesignVersion | None:
        if self.row.cloned_from_id is None:
            return None
        versions = await info.context.loaders.versions_by_design.load(self.row.id)
        first = next((version for version in versions if version.number == 1), None)
        if first is None or first.source_version_id is None:
            return None
        row = await info.context.loaders.version_by_id.load(first.source_version_id)
        return DesignVersion.from_row(row) if row is not None else None

    @strawberry.field(
        description=f"Share links made for this design, newest first: at most {MAX_DESIGN_SHARES_LISTED} "
        "(tokens are never shown again)."
    )
    @relation(key="id", fetch=SHARES_OF_DESIGNS)
    async def shares(self, info: Info) -> list[DesignShare]: ...

    @strawberry.field(description="Images and documents of this design, by position.")
    @relation(key="id", fetch=ATTACHMENTS_OF_DESIGNS)
    async def attachments(self, info: Info) -> list[Attachment]: ...


@row_type(VersionRow)
@strawberry.type(description="One saved state of a design. Versions never change; saving makes a new one.")
class DesignVersion(FromRow[VersionRow], Node):
    number: int = strawberry.field(description="1 for the first save of the design, then 2, 3, …")
    configuration: JSON = strawberry.field(
        description="The setup as a JSON object (layout, dimensions, options — whatever the client stores)."
    )
    note: str = strawberry.field(description="What changed in this version.")
    created_at: datetime = strawberry.field(description="When it was saved.")
    row: strawberry.Private[VersionRow]

    @strawberry.field(description="The equipment this version needs, in the order given.")
    @relation(key="id", fetch=ITEMS_OF_VERSIONS)
    async def items(self, info: Info) -> list[DesignItem]: ...

    @strawberry.field(description="Who saved it.")
    @relation(key="created_by_id", fetch=USERS)
    async def created_by(self, info: Info) -> User | None: ...

    @strawberry.field(description="The design it belongs to.")
    @relation(key="design_id", fetch=DESIGNS)
    async def design(self, info: Info) -> Design: ...

    @strawberry.field(description="Images and documents of this version, by position.")
    @relation(key="id", fetch=ATTACHMENTS_OF_VERSIONS)
    async def attachments(self, info: Info) -> list[Attachment]: ...


@row_type(ItemRow)
@strawberry.type(description="A quantity of one equipment in a design version.")
class DesignItem(FromRow[ItemRow]):
    quantity: int = strawberry.field(description="How many.")
    notes: str = strawberry.field(description="Notes for this item, e.g. where it goes.")
    row: strawberry.Private[ItemRow]

    @strawberry.field(description="The equipment needed.")
    @relation(key="equipment_id", fetch=EQUIPMENT)
    async def equipment(self, info: Info) -> Equipment: ...


@row_type(ShareRow)
@strawberry.type(description="A read-only link to a design. Its token is shown once, when it is made.")
class DesignShare(FromRow[ShareRow], Node):
    expires_at: datetime | None = strawberry.field(description="When the link stops working; null: never.")
    created_at: datetime = strawberry.field(description="When the link was made.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; null while not revoked.")
    row: strawberry.Private[ShareRow]

    @strawberry.field(description="The link works now: neither revoked nor expired.")
    def active(self) -> bool:
        return is_active(self.row, utcnow())

    @strawberry.field(description="The design it shows.")
    @relation(key="design_id", fetch=DESIGNS)
    async def design(self, info: Info) -> Design: ...

    @strawberry.field(
        description="The user the link was made for and mailed to; null if none was named or not visible to you."
    )
    @relation(key="recipient_id", fetch=USERS)
    async def recipient(self, info: Info) -> User | None: ...


@strawberry.type(description="An item as a share link shows it: what and how many, nothing about stock.")
class SharedDesignItem:
    equipment_name: str = strawberry.field(description="Name of the equipment.")
    category: str = strawberry.field(description="Category of the equipment.")
    quantity: int = strawberry.field(description="How many.")
    notes: str = strawberry.field(description="Notes for this item.")

    @classmethod
    def from_value(cls, value: SharedItem) -> SharedDesignItem:
        return cls(
            equipment_name=value.equipment_name,
            category=value.category,
            quantity=value.quantity,
            notes=value.notes,
        )


@strawberry.type(description="The current version of a shared, published design.")
class SharedDesignVersion:
    number: int = strawberry.field(description="Version number.")
    configuration: JSON = strawberry.field(description="The setup as a JSON object.")
    note: str = strawberry.field(description="What changed in this version.")
    saved_at: datetime = strawberry.field(description="When it was saved.")

    @classmethod
    def from_value(cls, value: SharedVersion) -> SharedDesignVersion:
        return cls(
            number=value.number,
            configuration=JSON(value.configuration),
            note=value.note,
            saved_at=value.saved_at,
        )


@strawberry.type(description="An image of a shared design, viewable by anyone holding the share link.")
class SharedDesignImage:
    filename: str = strawberry.field(description="Its name.")
    caption: str = strawberry.field(description="Its caption; may be empty.")
    width: int | None = strawberry.field(description="Pixels across.")
    height: int | None = strawberry.field(description="Pixels down.")
    row: strawberry.Private[Any]

    @strawberry.field(description="A signed link to the image, valid for a while (RIGBOOK_FILE_LINK_TTL).")
    def url(self, info: Info) -> str:
        return signed_url(info.context.services.settings, self.row)

    @strawberry.field(
        description=f"A signed link to a thumbnail fitting a square of `size` pixels ({THUMBNAIL_SIZES_TEXT})."
    )
    def thumbnail_url(
        self,
        info: Info,
        size: Annotated[int, strawberry.argument(description=f"Pixels: one of {THUMBNAIL_SIZES_TEXT}.")],
    ) -> str:
        if size not in THUMBNAIL_SIZES:
            raise bad_user_input(f"`size` must be one of {THUMBNAIL_SIZES_TEXT}.")
        return signed_url(info.context.services.settings, self.row, size)

    @classmethod
    def from_row(cls, row: Any) -> SharedDesignImage:
        return cls(filename=row.filename, caption=row.caption, width=row.width, height=row.height, row=row)


@strawberry.type(
    description="A design as its share link shows it to anyone: no ids, stock, reservations or people."
)
class SharedDesign:
    name: str = strawberry.field(description="Name of the design.")
    description: str = strawberry.field(description="Description of the design.")
    tenant_name: str = strawberry.field(description="The company that made the design.")
    current_version: SharedDesignVersion | None = strawberry.field(
        description="The current version — only while the design is PUBLISHED; null otherwise."
    )
    items: list[SharedDesignItem] = strawberry.field(
        description="The equipment of the current version (empty unless the design is PUBLISHED)."
    )
    images: list[SharedDesignImage] = strawberry.field(
        description="Images of the design, then of its current version (while PUBLISHED), by position."
    )

    @classmethod
    def from_view(cls, view: SharedView) -> SharedDesign:
        return cls(
            name=view.name,
            description=view.description,
            tenant_name=view.tenant_name,
            current_version=SharedDesignVersion.from_value(view.version)
            if view.version is not None
            else None,
            items=[SharedDesignItem.from_value(item) for item in view.items],
            images=[SharedDesignImage.from_row(row) for row in view.images],
        )
