"""Enquiry fields: sending one (anyone), the list, and staff's work on them up to a reservation."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.tables import EnquiryStatus as StatusValue
from db.tables import MessageKind, Role
from resolvers import enquiries as resolve
from resolvers.enquiry_queries import EnquiryFilter as EnquiryFilterValue
from resolvers.enquiry_queries import EnquirySort, list_enquiries
from resolvers.pagination import PageArgs
from resolvers.reservations import ReservationDraft
from schema.context import Info
from schema.errors import errors_as_data
from schema.node import pk_of
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least, signed_in_user
from schema.types.common import SortDirection
from schema.types.enquiry import Enquiry, EnquiryMessage
from schema.types.enquiry_inputs import (
    AddEnquiryMessageInput,
    AssignEnquiryInput,
    ConvertEnquiryInput,
    ConvertEnquiryResult,
    ConvertEnquirySuccess,
    EnquiryFilter,
    EnquiryMessageResult,
    EnquiryMessageSuccess,
    EnquiryOrder,
    EnquiryResult,
    EnquirySuccess,
    SetEnquiryStatusInput,
    SubmitEnquiryInput,
    SubmitEnquiryResult,
    SubmitEnquirySuccess,
)
from schema.types.reservation import Reservation
from schema.types.reservation_inputs import to_line_requests

InputArg = strawberry.argument(description="What to do; see the input type.")


@strawberry.type
class EnquiryQuery:
    @strawberry.field(
        description="Enquiries of your tenant (STAFF and up); a customer sees only their own.",
        extensions=signed_in_user(),
    )
    @paginated
    async def enquiries(
        self,
        info: Info,
        paging: PageArgs,
        filter: Annotated[
            EnquiryFilter | None, strawberry.argument(description="Conditions to meet.")
        ] = None,
        order_by: Annotated[
            EnquiryOrder | None, strawberry.argument(description="Sort order; default newest first.")
        ] = None,
    ) -> Connection[Enquiry]:
        order = order_by or EnquiryOrder()
        context = info.context
        page = await list_enquiries(
            context,
            context.caller(),
            filter=filter.to_value() if filter is not None else EnquiryFilterValue(),
            sort=EnquirySort[order.field.name],
            descending=order.direction is SortDirection.DESC,
            args=paging,
        )
        return to_connection(page, Enquiry.from_row)


@strawberry.type
class EnquiryMutation:
    @strawberry.mutation(
        description="Send an enquiry to a company: anyone, signed in or not. Guests are throttled per address "
        "and per email; the answer says nothing about the company's stock or customers, and is the same for a "
        "company that does not exist."
    )
    @errors_as_data
    async def submit_enquiry(
        self, info: Info, input: Annotated[SubmitEnquiryInput, InputArg]
    ) -> SubmitEnquiryResult:
        row = await resolve.submit_enquiry(info.context, input.to_draft())
        return SubmitEnquirySuccess(
            message=resolve.RECEIVED, enquiry=Enquiry.from_row(row) if row is not None else None
        )

    @strawberry.mutation(
        description="Move an enquiry along its statuses (STAFF and up); a move not allowed is a ConflictError.",
        extensions=role_at_least(Role.STAFF),
    )
    @errors_as_data
    async def set_enquiry_status(
        self, info: Info, input: Annotated[SetEnquiryStatusInput, InputArg]
    ) -> EnquiryResult:
        context = info.context
        row = await resolve.set_enquiry_status(
            context,
            context.caller(),
            pk_of(input.id, "Enquiry"),
            StatusValue[input.status.name],
            input.expected_version,
        )
        return EnquirySuccess(enquiry=Enquiry.from_row(row))

    @strawberry.mutation(
        description="Assign an enquiry to a member of staff of your tenant, or to nobody (STAFF and up).",
        extensions=role_at_least(Role.STAFF),
    )
    @errors_as_data
    async def assign_enquiry(
        self, info: Info, input: Annotated[AssignEnquiryInput, InputArg]
    ) -> EnquiryResult:
        context = info.context
        row = await resolve.assign_enquiry(
            context,
            context.caller(),
            pk_of(input.id, "Enquiry"),
            pk_of(input.assignee_id, "User") if input.assignee_id is not None else None,
            unassign=input.assignee_id is None,
            expected_version=input.expected_version,
        )
        return EnquirySuccess(enquiry=Enquiry.from_row(row))

    @strawberry.mutation(
        description="Add a staff note (internal) or a reply (mailed to the enquirer) to an enquiry's thread "
        "(STAFF and up).",
        extensions=role_at_least(Role.STAFF),
    )
    @errors_as_data
    async def add_enquiry_message(
        self, info: Info, input: Annotated[AddEnquiryMessageInput, InputArg]
    ) -> EnquiryMessageResult:
        context = info.context
        row = await resolve.add_enquiry_message(
            context,
            context.caller(),
            pk_of(input.enquiry_id, "Enquiry"),
            MessageKind[input.kind.name],
            input.text,
        )
        return EnquiryMessageSuccess(enquiry_message=EnquiryMessage.from_row(row))

    @strawberry.mutation(
        description="Turn an enquiry into a CONFIRMED reservation for its customer and mark it WON, in one "
        "transaction: if any line does not fit, nothing changes (a ConflictError lists what is short). Two "
        "conversions of one enquiry make one reservation (STAFF and up).",
        extensions=role_at_least(Role.STAFF),
    )
    @errors_as_data
    async def convert_enquiry(
        self, info: Info, input: Annotated[ConvertEnquiryInput, InputArg]
    ) -> ConvertEnquiryResult:
        context = info.context
        draft = ReservationDraft(
            title=input.title or "",
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            lines=to_line_requests(input.lines) if input.lines is not None else [],
            notes=input.notes,
        )
        enquiry, reservation = await resolve.convert_enquiry(
            context,
            context.caller(),
            context.services.settings,
            pk_of(input.enquiry_id, "Enquiry"),
            draft,
            lines_given=input.lines is not None,
            expected_version=input.expected_version,
        )
        return ConvertEnquirySuccess(
            enquiry=Enquiry.from_row(enquiry), reservation=Reservation.from_row(reservation)
        )
