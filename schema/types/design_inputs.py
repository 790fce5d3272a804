"""Inputs, filters and results for designs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from db.tables import DesignStatus as StatusValue
from resolvers.design_queries import DesignFilter as DesignFilterValue
from resolvers.design_queries import DesignReservationRequest, DesignSort
from resolvers.design_rules import ItemRequest
from resolvers.designs import DesignChanges, DesignDraft, VersionDraft
from schema.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from schema.limits.lists import MaxItems
from schema.node import pk_of
from schema.types.common import SortDirection
from schema.types.design import Design, DesignShare, DesignStatus, DesignVersion
from schema.types.reservation_inputs import MAX_LINES, CreateReservationSuccess


@strawberry.input(description="One equipment item of a design version.")
class DesignItemInput:
    equipment_id: strawberry.ID = strawberry.field(description="The equipment (of your tenant).")
    quantity: int = strawberry.field(default=1, description="How many (at least 1).")
    notes: str = strawberry.field(default="", description="Notes for this item, e.g. where it goes.")


def to_items(items: list[DesignItemInput]) -> list[ItemRequest]:
    return [
        ItemRequest(
            field=f"items.{index}",
            equipment_id=pk_of(item.equipment_id, "Equipment"),
            quantity=item.quantity,
            notes=item.notes,
        )
        for index, item in enumerate(items)
    ]


@strawberry.input(description="A new design; give `configuration` and/or `items` to save version 1 as well.")
class CreateDesignInput:
    name: str = strawberry.field(description="Name of the design.")
    description: str = strawberry.field(default="", description="Free-form description.")
    configuration: JSON | None = strawberry.field(
        default=None,
        description="Version 1's setup: a JSON object of at most 64 KiB, nested at most 64 levels.",
    )
    items: list[DesignItemInput] | None = strawberry.field(
        default=None,
        description=f"Version 1's equipment. At most {MAX_LINES}, "
        "and no more than the server allows on a reservation (100 by default).",
        directives=[MaxItems(count=MAX_LINES)],
    )
    note: str = strawberry.field(default="", description="Version 1's note.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Any unique string; retrying with the same key returns the first result."
    )

    def to_draft(self) -> DesignDraft:
        return DesignDraft(
            name=self.name,
            description=self.description,
            configuration=self.configuration,
            items=to_items(self.items) if self.items is not None else None,
            note=self.note,
            idempotency_key=self.idempotency_key,
        )


@strawberry.input(description="A new version of a design. Versions are never edited; each save adds one.")
class SaveDesignVersionInput:
    design_id: strawberry.ID = strawberry.field(description="The design.")
    configuration: JSON = strawberry.field(
        description="The setup: a JSON object of at most 64 KiB, nested at most 64 levels."
    )
    items: list[DesignItemInput] = strawberry.field(
        description=f"The equipment this version needs. At most {MAX_LINES}, "
        "and no more than the server allows on a reservation (100 by default).",
        directives=[MaxItems(count=MAX_LINES)],
    )
    note: str = strawberry.field(default="", description="What changed.")
    expected_version: int | None = strawberry.field(
        default=None,
        description="The current version number you saw (null or 0: none yet). If someone saved since, "
        "nothing is saved and a ConflictError says so.",
    )

    def to_draft(self) -> VersionDraft:
        return VersionDraft(configuration=self.configuration, items=to_items(self.items), note=self.note)


@strawberry.input(description="Changes to a design; omitted fields stay as they are.")
class UpdateDesignInput:
    id: strawberry.ID = strawberry.field(description="The design.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    status: DesignStatus | None = strawberry.field(
        default=None, description="New status; PUBLISHED needs a saved version."
    )

    def to_changes(self) -> DesignChanges:
        return DesignChanges(
            name=self.name,
            description=self.description,
            status=StatusValue[self.status.name] if self.status is not None else None,
        )


@strawberry.input(description="The design to archive.")
class ArchiveDesignInput:
    id: strawberry.ID = strawberry.field(description="The design.")


@strawberry.input(description="What to copy into a new DRAFT design owned by you.")
class CloneDesignInput:
    design_id: strawberry.ID = strawberry.field(description="The design to copy.")
    version: int | None = strawberry.field(
        default=None, description="Which version to copy; default: the current one."
    )
    name: str | None = strawberry.field(default=None, description="Name of the copy; default: “Copy of …”.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Any unique string; retrying with the same key returns the first result."
    )


@strawberry.input(description="A new share link for a design.")
class ShareDesignInput:
    design_id: strawberry.ID = strawberry.field(description="The design to share.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the link stops working (future, with an offset); null: never."
    )
    recipient_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A user of your tenant (one you can see, and active) to mail the link to, unless they "
        "turned off DESIGN_SHARES mail; null: mail nobody.",
    )


@strawberry.input(description="The share link to revoke.")
class RevokeDesignShareInput:
    share_id: strawberry.ID = strawberry.field(description="The share (`DesignShare.id`).")


@strawberry.input(description="Reserve a design version's items as one reservation — all or nothing.")
class ReserveDesignInput:
    design_id: strawberry.ID = strawberry.field(description="The design.")
    version: int | None = strawberry.field(
        default=None, description="Which version; default: the current one."
    )
    title: str = strawberry.field(description="Event or job title of the reservation.")
    starts_at: datetime = strawberry.field(description="Start (inclusive), ISO 8601 with an offset.")
    ends_at: datetime = strawberry.field(description="End (exclusive), ISO 8601 with an offset.")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who it is for (staff only; customers always book for themselves)."
    )
    notes: str = strawberry.field(default="", description="Notes for the reservation.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Any unique string; retrying with the same key returns the first result."
    )

    def to_request(self) -> DesignReservationRequest:
        return DesignReservationRequest(
            design_id=pk_of(self.design_id, "Design"),
            version=self.version,
            title=self.title,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            customer_id=pk_of(self.customer_id, "User") if self.customer_id is not None else None,
            customer_given=self.customer_id is not None,
            notes=self.notes,
            idempotency_key=self.idempotency_key,
        )


@strawberry.enum(description="What to sort designs by.")
class DesignOrderField(Enum):
    NAME = strawberry.enum_value(DesignSort.NAME, description="Name.")
    CREATED_AT = strawberry.enum_value(DesignSort.CREATED_AT, description="Creation time.")
    UPDATED_AT = strawberry.enum_value(
        DesignSort.UPDATED_AT, description="Last change (a new version counts)."
    )


@strawberry.input(description="Order of a design list.")
class DesignOrder:
    field: DesignOrderField = strawberry.field(default=DesignOrderField.NAME, description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Which way.")


@strawberry.input(description="Narrow a design list; all given conditions must hold.")
class DesignFilter:
    search: str | None = strawberry.field(default=None, description="Text in the name or description.")
    status: list[DesignStatus] | None = strawberry.field(
        default=None,
        description=f"Any of these statuses. At most {len(DesignStatus)}.",
        directives=[MaxItems(count=len(DesignStatus))],
    )
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Only this user's designs.")

    def to_value(self) -> DesignFilterValue:
        return DesignFilterValue(
            search=self.search,
            statuses=[StatusValue[status.name] for status in self.status] if self.status else None,
            owner_id=pk_of(self.owner_id, "User") if self.owner_id is not None else None,
            owner_given=self.owner_id is not None,
        )


@strawberry.type(description="The design as it is now.")
class DesignSuccess:
    design: Design = strawberry.field(description="The design after the change.")


@strawberry.type(description="The version was saved.")
class SaveDesignVersionSuccess:
    design: Design = strawberry.field(description="The design; its `currentVersion` is the new version.")
    version: DesignVersion = strawberry.field(description="The version just saved.")


@strawberry.type(description="The share link was made. Copy the token now: it is never shown again.")
class ShareDesignSuccess:
    token: str = strawberry.field(
        description="Pass to `sharedDesign(token:)`; anyone holding it can read the design."
    )
    share: DesignShare = strawberry.field(description="The share, for listing and revoking.")


@strawberry.type(description="The share link as it is now.")
class DesignShareSuccess:
    share: DesignShare = strawberry.field(description="The share after the change.")


DesignResult = Annotated[
    DesignSuccess | ValidationError | NotFoundError | ConflictError | ForbiddenError,
    strawberry.union("DesignResult", description="The outcome of a design mutation."),
]
SaveDesignVersionResult = Annotated[
    SaveDesignVersionSuccess | ConflictError | ValidationError | NotFoundError,
    strawberry.union("SaveDesignVersionResult", description="The outcome of `saveDesignVersion`."),
]
ShareDesignResult = Annotated[
    ShareDesignSuccess | ValidationError | NotFoundError | ConflictError,
    strawberry.union("ShareDesignResult", description="The outcome of `shareDesign`."),
]
DesignShareResult = Annotated[
    DesignShareSuccess | NotFoundError,
    strawberry.union("DesignShareResult", description="The outcome of `revokeDesignShare`."),
]
ReserveDesignResult = Annotated[
    CreateReservationSuccess | ConflictError | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("ReserveDesignResult", description="The outcome of `reserveDesign`."),
]
