"""Reservation fields: the list, booking and changing reservations, and each step of their lifecycle."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.tables import Role
from resolvers import reservations as resolve
from resolvers.pagination import PageArgs
from resolvers.reservation_queries import ReservationFilter as ReservationFilterValue
from resolvers.reservation_queries import ReservationSort, list_reservations
from schema.context import Info
from schema.errors import errors_as_data
from schema.node import pk_of
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least, signed_in_user
from schema.types.common import SortDirection
from schema.types.reservation import Reservation
from schema.types.reservation_inputs import (
    CreateReservationInput,
    CreateReservationResult,
    CreateReservationSuccess,
    ReservationFilter,
    ReservationOrder,
    ReservationResult,
    ReservationSuccess,
    ReservationTransitionInput,
    UpdateReservationInput,
)

InputArg = strawberry.argument(description="What to do; see the input type.")
TransitionArg = Annotated[
    ReservationTransitionInput, strawberry.argument(description="The reservation, and the version you saw.")
]


async def _transition(info: Info, action: str, input: ReservationTransitionInput) -> ReservationSuccess:
    context = info.context
    row = await resolve.transition(
        context, context.caller(), action, pk_of(input.id, "Reservation"), input.expected_version
    )
    return ReservationSuccess(reservation=Reservation.from_row(row))


@strawberry.type
class ReservationQuery:
    @strawberry.field(
        description="Reservations of your tenant; customers see only their own.", extensions=signed_in_user()
    )
    @paginated
    async def reservations(
        self,
        info: Info,
        paging: PageArgs,
        filter: Annotated[
            ReservationFilter | None, strawberry.argument(description="Conditions to meet.")
        ] = None,
        order_by: Annotated[
            ReservationOrder | None, strawberry.argument(description="Sort order; default by start.")
        ] = None,
    ) -> Connection[Reservation]:
        order = order_by or ReservationOrder()
        context = info.context
        page = await list_reservations(
            context,
            context.caller(),
            filter=filter.to_value() if filter is not None else ReservationFilterValue(),
            sort=ReservationSort[order.field.name],
            descending=order.direction is SortDirection.DESC,
            args=paging,
        )
        return to_connection(page, Reservation.from_row)


@strawberry.type
class ReservationMutation:
    @strawberry.mutation(
        description="Book equipment for a window — all lines or nothing. Fails with a ConflictError listing what is "
        "short when stock does not suffice.",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def create_reservation(
        self, info: Info, input: Annotated[CreateReservationInput, InputArg]
    ) -> CreateReservationResult:
        context = info.context
        row = await resolve.create_reservation(
            context, context.caller(), context.services.settings, input.to_draft()
        )
        return CreateReservationSuccess(reservation=Reservation.from_row(row))

    @strawberry.mutation(
        description="Change the window, lines, title or notes of a REQUESTED or CONFIRMED reservation; stock is re-checked.",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def update_reservation(
        self, info: Info, input: Annotated[UpdateReservationInput, InputArg]
    ) -> ReservationResult:
        context = info.context
        row = await resolve.update_reservation(
            context,
            context.caller(),
            context.services.settings,
            pk_of(input.id, "Reservation"),
            input.to_changes(),
        )
        return ReservationSuccess(reservation=Reservation.from_row(row))

    @strawberry.mutation(
        description="REQUESTED → CONFIRMED, re-checking stock (STAFF and up).",
        extensions=role_at_least(Role.STAFF),
    )
    @errors_as_data
    async def confirm_reservation(self, info: Info, input: TransitionArg) -> ReservationResult:
        return await _transition(info, "confirm", input)

    @strawberry.mutation(
        description="REQUESTED → DECLINED (STAFF and up).", extensions=role_at_least(Role.STAFF)
    )
    @errors_as_data
    async def decline_reservation(self, info: Info, input: TransitionArg) -> ReservationResult:
        return await _transition(info, "decline", input)

    @strawberry.mutation(
        description="REQUESTED or CONFIRMED → CANCELED, freeing its stock at once (customers: their own requests).",
        extensions=signed_in_user(),
    )
    @errors_as_data
    async def cancel_reservation(self, info: Info, input: TransitionArg) -> ReservationResult:
        return await _transition(info, "cancel", input)

    @strawberry.mutation(
        description="CONFIRMED → CHECKED_OUT (STAFF and up).", extensions=role_at_least(Role.STAFF)
    )
    @errors_as_data
    async def check_out_reservation(self, info: Info, input: TransitionArg) -> ReservationResult:
        return await _transition(info, "check_out", input)

    @strawberry.mutation(
        description="CHECKED_OUT → RETURNED, freeing its stock (STAFF and up).",
        extensions=role_at_least(Role.STAFF),
    )
    @errors_as_data
    async def return_reservation(self, info: Info, input: TransitionArg) -> ReservationResult:
        return await _transition(info, "return", input)
