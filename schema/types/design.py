"""Designs, their immutable versions and items, and share links."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from db.clock import utcnow
from db.tables import Design as DesignRow
from db.tables import DesignItem as ItemRow
from db.tables import DesignShare as ShareRow
from db.tables import DesignStatus as StatusValue
from db.tables import DesignVersion as VersionRow
from resolvers.design_shares import SharedItem, SharedVersion, SharedView, is_active
from resolvers.list_caps import MAX_DESIGN_SHARES_LISTED, MAX_DESIGN_VERSIONS_LISTED
from schema.context import Info
from schema.node import Node, to_global_id
from schema.types.equipment import Equipment
from schema.types.user import User


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


@strawberry.type(
    description="A saved event setup (say, a marquee with its lighting and furniture) with versions."
)
class Design(Node):
    name: str = strawberry.field(description="Name of the design.")
    description: str = strawberry.field(description="Free-form description.")
    status: DesignStatus = strawberry.field(description="DRAFT, PUBLISHED or ARCHIVED.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it or its versions last changed.")
    row: strawberry.Private[DesignRow]

    @classmethod
    def from_row(cls, row: DesignRow) -> Design:
        return cls(
            id=to_global_id("Design", row.id),
            row=row,
            name=row.name,
            description=row.description,
            status=DesignStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="Who owns the design.")
    async def owner(self, info: Info) -> User:
        row = await info.context.loaders.user_by_id.load(self.row.owner_id)
        assert row is not None, "the owner is a user of the same tenant (foreign key)"
        return User.from_row(row)

    @strawberry.field(
        description="The newest version; null before the first save. Pass its `number` as `expectedVersion`."
    )
    async def current_version(self, info: Info) -> DesignVersion | None:
        if self.row.current_version_number == 0:
            return None
        row = await info.context.loaders.current_version_by_design.load(self.row.id)
        return DesignVersion.from_row(row) if row is not None else None

    @strawberry.field(
        description=f"The saved versions, newest first: at most {MAX_DESIGN_VERSIONS_LISTED} "
        "(older ones by `node(id:)`)."
    )
    async def versions(self, info: Info) -> list[DesignVersion]:
        rows = await info.context.loaders.versions_by_design.load(self.row.id)
        return [DesignVersion.from_row(row) for row in rows[:MAX_DESIGN_VERSIONS_LISTED]]

    @strawberry.field(description="The design this one was cloned from; null if none or not visible to you.")
    async def cloned_from(self, info: Info) -> Design | None:
        if self.row.cloned_from_id is None:
            return None
        row = await info.context.loaders.design_by_id.load(self.row.cloned_from_id)
        return Design.from_row(row) if row is not None else None

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
    async def shares(self, info: Info) -> list[DesignShare]:
        rows = await info.context.loaders.shares_by_design.load(self.row.id)
        return [DesignShare.from_row(row) for row in rows[:MAX_DESIGN_SHARES_LISTED]]


@strawberry.type(description="One saved state of a design. Versions never change; saving makes a new one.")
class DesignVersion(Node):
    number: int = strawberry.field(description="1 for the first save of the design, then 2, 3, …")
    configuration: JSON = strawberry.field(
        description="The setup as a JSON object (layout, dimensions, options — whatever the client stores)."
    )
    note: str = strawberry.field(description="What changed in this version.")
    created_at: datetime = strawberry.field(description="When it was saved.")
    row: strawberry.Private[VersionRow]

    @classmethod
    def from_row(cls, row: VersionRow) -> DesignVersion:
        return cls(
            id=to_global_id("DesignVersion", row.id),
            row=row,
            number=row.number,
            configuration=JSON(row.configuration),
            note=row.note,
            created_at=row.created_at,
        )

    @strawberry.field(description="The equipment this version needs, in the order given.")
    async def items(self, info: Info) -> list[DesignItem]:
        rows = await info.context.loaders.items_by_version.load(self.row.id)
        return [DesignItem.from_row(row) for row in rows]

    @strawberry.field(description="Who saved it.")
    async def created_by(self, info: Info) -> User | None:
        if self.row.created_by_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.row.created_by_id)
        return User.from_row(row) if row is not None else None

    @strawberry.field(description="The design it belongs to.")
    async def design(self, info: Info) -> Design:
        row = await info.context.loaders.design_by_id.load(self.row.design_id)
        assert row is not None, "a visible version belongs to a visible design"
        return Design.from_row(row)


@strawberry.type(description="A quantity of one equipment in a design version.")
class DesignItem:
    quantity: int = strawberry.field(description="How many.")
    notes: str = strawberry.field(description="Notes for this item, e.g. where it goes.")
    row: strawberry.Private[ItemRow]

    @classmethod
    def from_row(cls, row: ItemRow) -> DesignItem:
        return cls(quantity=row.quantity, notes=row.notes, row=row)

    @strawberry.field(description="The equipment needed.")
    async def equipment(self, info: Info) -> Equipment:
        row = await info.context.loaders.equipment_by_id.load(self.row.equipment_id)
        assert row is not None, "items reference the tenant's equipment (foreign key)"
        return Equipment.from_row(row)


@strawberry.type(description="A read-only link to a design. Its token is shown once, when it is made.")
class DesignShare(Node):
    expires_at: datetime | None = strawberry.field(description="When the link stops working; null: never.")
    created_at: datetime = strawberry.field(description="When the link was made.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; null while not revoked.")
    row: strawberry.Private[ShareRow]

    @classmethod
    def from_row(cls, row: ShareRow) -> DesignShare:
        return cls(
            id=to_global_id("DesignShare", row.id),
            row=row,
            expires_at=row.expires_at,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )

    @strawberry.field(description="The link works now: neither revoked nor expired.")
    def active(self) -> bool:
        return is_active(self.row, utcnow())

    @strawberry.field(description="The design it shows.")
    async def design(self, info: Info) -> Design:
        row = await info.context.loaders.design_by_id.load(self.row.design_id)
        assert row is not None, "a visible share belongs to a visible design"
        return Design.from_row(row)


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
        )
