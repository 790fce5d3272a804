"""Design fields: the list and shared links; creating, versioning, sharing, cloning and reserving designs."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import design_shares as shares
from resolvers import designs as resolve
from resolvers.design_queries import DesignFilter as DesignFilterValue
from resolvers.design_queries import DesignSort, list_designs, reserve_design
from resolvers.pagination import PageArgs
from schema.context import Info
from schema.errors import errors_as_data
from schema.node import pk_of
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import signed_in_user
from schema.types.common import SortDirection
from schema.types.design import Design, DesignShare, DesignVersion, SharedDesign
from schema.types.design_inputs import (
    ArchiveDesignInput,
    CloneDesignInput,
    CreateDesignInput,
    DesignFilter,
    DesignOrder,
    DesignResult,
    DesignShareResult,
    DesignShareSuccess,
    DesignSuccess,
    ReserveDesignInput,
    ReserveDesignResult,
    RevokeDesignShareInput,
    SaveDesignVersionInput,
    SaveDesignVersionResult,
    SaveDesignVersionSuccess,
    ShareDesignInput,
    ShareDesignResult,
    ShareDesignSuccess,
    UpdateDesignInput,
)
from schema.types.reservation import Reservation
from schema.types.reservation_inputs import CreateReservationSuccess

InputArg = strawberry.argument(description="What to do; see the input type.")
OWN = "Customers: only their own designs."


@strawberry.type
class DesignQuery:
    @strawberry.field(
        description="Designs of your tenant (STAFF and up); customers see only their own.",
        extensions=signed_in_user(),
    )
    @paginated
    async def designs(
        self,
        info: Info,
        paging: PageArgs,
        filter: Annotated[DesignFilter | None, strawberry.argument(description="Conditions to meet.")] = None,
        order_by: Annotated[
            DesignOrder | None, strawberry.argument(description="Sort order; default by name.")
        ] = None,
    ) -> Connection[Design]:
        order = order_by or DesignOrder()
        context = info.context
        page = await list_designs(
            context,
            context.caller(),
            filter=filter.to_value() if filter is not None else DesignFilterValue(),
            sort=DesignSort[order.field.name],
            descending=order.direction is SortDirection.DESC,
            args=paging,
        )
        # `clonedFrom` and versions' `design` often point back into the page.
        loader = context.loaders.design_by_id
        for row in page.rows:
            loader.prime(row.id, row)
        return to_connection(page, Design.from_row)

    @strawberry.field(
        description="A shared design, by the token of its share link; no sign-in needed. Null alike for "
        "malformed, unknown, revoked and expired tokens, and for archived designs."
    )
    async def shared_design(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="The token `shareDesign` returned.")],
    ) -> SharedDesign | None:
        view = await shares.shared_design(info.context.services.database, token)
        return SharedDesign.from_view(view) if view is not None else None


@strawberry.type
class DesignMutation:
    @strawberry.mutation(
        description="Create a design owned by you, with version 1 when a configuration or items are given.",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def create_design(self, info: Info, input: Annotated[CreateDesignInput, InputArg]) -> DesignResult:
        context = info.context
        row = await resolve.create_design(
            context, context.caller(), context.services.settings, input.to_draft()
        )
        return DesignSuccess(design=Design.from_row(row))

    @strawberry.mutation(
        description="Save the next version of a design. Fails with a ConflictError, saving nothing, when someone "
        f"saved since the `expectedVersion` you saw. {OWN}",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def save_design_version(
        self, info: Info, input: Annotated[SaveDesignVersionInput, InputArg]
    ) -> SaveDesignVersionResult:
        context = info.context
        design, version = await resolve.save_version(
            context,
            context.caller(),
            context.services.settings,
            pk_of(input.design_id, "Design"),
            input.to_draft(),
            input.expected_version,
        )
        return SaveDesignVersionSuccess(
            design=Design.from_row(design), version=DesignVersion.from_row(version)
        )

    @strawberry.mutation(
        description=f"Rename, describe, publish or un-archive a design. {OWN}", extensions=signed_in_user()
    )
    @errors_as_data
    async def update_design(self, info: Info, input: Annotated[UpdateDesignInput, InputArg]) -> DesignResult:
        context = info.context
        row = await resolve.update_design(
            context, context.caller(), pk_of(input.id, "Design"), input.to_changes()
        )
        return DesignSuccess(design=Design.from_row(row))

    @strawberry.mutation(
        description=f"Archive a design: its share links stop working and it can no longer be reserved. {OWN}",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def archive_design(
        self, info: Info, input: Annotated[ArchiveDesignInput, InputArg]
    ) -> DesignResult:
        context = info.context
        row = await resolve.archive_design(context, context.caller(), pk_of(input.id, "Design"))
        return DesignSuccess(design=Design.from_row(row))

    @strawberry.mutation(
        description=f"Copy a version of a design into a new DRAFT design owned by you. {OWN}",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def clone_design(self, info: Info, input: Annotated[CloneDesignInput, InputArg]) -> DesignResult:
        context = info.context
        row = await resolve.clone_design(
            context,
            context.caller(),
            pk_of(input.design_id, "Design"),
            input.version,
            input.name,
            input.idempotency_key,
        )
        return DesignSuccess(design=Design.from_row(row))

    @strawberry.mutation(
        description=f"Make a read-only share link; the token is shown only in this response. {OWN}",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def share_design(
        self, info: Info, input: Annotated[ShareDesignInput, InputArg]
    ) -> ShareDesignResult:
        context = info.context
        recipient = input.recipient_id
        row, token = await shares.share_design(
            context,
            context.caller(),
            context.services.settings,
            pk_of(input.design_id, "Design"),
            input.expires_at,
            pk_of(recipient, "User") if recipient is not None else None,
            recipient_given=recipient is not None,
        )
        return ShareDesignSuccess(token=token, share=DesignShare.from_row(row))

    @strawberry.mutation(
        description=f"Revoke a share link; it stops working at once. {OWN}", extensions=signed_in_user()
    )
    @errors_as_data
    async def revoke_design_share(
        self, info: Info, input: Annotated[RevokeDesignShareInput, InputArg]
    ) -> DesignShareResult:
        context = info.context
        row = await shares.revoke_share(context, context.caller(), pk_of(input.share_id, "DesignShare"))
        return DesignShareSuccess(share=DesignShare.from_row(row))

    @strawberry.mutation(
        description="Reserve a design version's items as one reservation — all or nothing, under the same "
        "no-overbooking rules as `createReservation` (staff: CONFIRMED; customers: REQUESTED, own designs only).",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def reserve_design(
        self, info: Info, input: Annotated[ReserveDesignInput, InputArg]
    ) -> ReserveDesignResult:
        context = info.context
        row = await reserve_design(context, context.caller(), context.services.settings, input.to_request())
        return CreateReservationSuccess(reservation=Reservation.from_row(row))
