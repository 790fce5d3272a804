"""Inputs and results for enquiries."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

import strawberry

from db.tables import EnquiryStatus as StatusValue
from resolvers.enquiries import MAX_ITEMS, EnquiryDraft, ItemRequest
from resolvers.enquiry_queries import MAX_SEARCH, EnquirySort
from resolvers.enquiry_queries import EnquiryFilter as EnquiryFilterValue
from schema.errors import ConflictError, ForbiddenError, NotFoundError, RateLimitedError, ValidationError
from schema.limits.lists import MaxItems
from schema.node import pk_of
from schema.types.common import SortDirection
from schema.types.enquiry import Enquiry, EnquiryMessage, EnquiryMessageKind, EnquiryStatus
from schema.types.reservation import Reservation
from schema.types.reservation_inputs import MAX_LINES, ReservationLineInput


@strawberry.input(description="An equipment to ask about.")
class EnquiryItemInput:
    equipment_id: strawberry.ID = strawberry.field(description="The equipment, of the company asked.")
    quantity: int = strawberry.field(default=1, description="How many (1 to 100000).")


@strawberry.input(
    description="An enquiry. Guests name the company with `tenant` and give `name` and `email`; a signed-in "
    "customer's enquiry is linked to them (their tenant, and by default their name and address)."
)
class SubmitEnquiryInput:
    tenant: str | None = strawberry.field(
        default=None,
        description="The company's slug. Required for guests; signed in, it must be your own company's if given.",
    )
    name: str | None = strawberry.field(default=None, description="Your name, at most 200 characters.")
    email: str | None = strawberry.field(default=None, description="Where replies are mailed.")
    phone: str = strawberry.field(default="", description="A phone number, at most 40 characters.")
    event_date: date | None = strawberry.field(
        default=None, description="The day the event starts: from yesterday to 5 years ahead."
    )
    event_end_date: date | None = strawberry.field(
        default=None, description="The day it ends (not before `eventDate`)."
    )
    venue: str = strawberry.field(default="", description="Where the event is, at most 300 characters.")
    guest_count: int | None = strawberry.field(default=None, description="Expected guests, 1 to 100000.")
    message: str = strawberry.field(default="", description="What you have in mind, at most 5000 characters.")
    design_share_token: str | None = strawberry.field(
        default=None, description="A design's share link token of this company, to enquire about that design."
    )
    items: list[EnquiryItemInput] = strawberry.field(
        default_factory=list,
        description=f"Equipment to ask about; optional. At most {MAX_ITEMS}.",
        directives=[MaxItems(count=MAX_ITEMS)],
    )
    website: str | None = strawberry.field(
        default=None,
        description="Leave empty. A form keeps this field hidden from people; an enquiry with it filled in is "
        "answered as usual and not kept.",
    )

    def to_draft(self) -> EnquiryDraft:
        return EnquiryDraft(
            tenant=self.tenant,
            name=self.name,
            email=self.email,
            phone=self.phone,
            event_date=self.event_date,
            event_end_date=self.event_end_date,
            venue=self.venue,
            guest_count=self.guest_count,
            message=self.message,
            design_share_token=self.design_share_token,
            items=[
                ItemRequest(
                    field=f"items.{index}",
                    equipment_id=pk_of(item.equipment_id, "Equipment"),
                    quantity=item.quantity,
                )
                for index, item in enumerate(self.items)
            ],
            website=self.website,
        )


@strawberry.type(description="The enquiry was received.")
class SubmitEnquirySuccess:
    message: str = strawberry.field(description="A confirmation to show the enquirer.")
    enquiry: Enquiry | None = strawberry.field(
        description="The enquiry, for a signed-in caller; always null for guests (they see nothing stored)."
    )


@strawberry.input(description="A status change of one enquiry.")
class SetEnquiryStatusInput:
    id: strawberry.ID = strawberry.field(description="The enquiry.")
    status: EnquiryStatus = strawberry.field(
        description="Where to move it. NEW → IN_PROGRESS, QUOTED, LOST, CLOSED; IN_PROGRESS → QUOTED, LOST, "
        "CLOSED; QUOTED → IN_PROGRESS, WON, LOST, CLOSED; LOST and CLOSED → IN_PROGRESS; WON is final."
    )
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with a ConflictError unless the enquiry is still at this version."
    )


@strawberry.input(description="Who works on an enquiry.")
class AssignEnquiryInput:
    id: strawberry.ID = strawberry.field(description="The enquiry.")
    assignee_id: strawberry.ID | None = strawberry.field(
        description="A member of staff (STAFF, MANAGER or ADMIN) of your company; null to unassign."
    )
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with a ConflictError unless the enquiry is still at this version."
    )


@strawberry.input(description="A message in an enquiry's thread.")
class AddEnquiryMessageInput:
    enquiry_id: strawberry.ID = strawberry.field(description="The enquiry.")
    kind: EnquiryMessageKind = strawberry.field(
        description="NOTE: internal to staff. REPLY: mailed to the enquirer's address."
    )
    text: str = strawberry.field(description="What to say, 1 to 5000 characters.")


@strawberry.type(description="The message was added (a reply is on its way to the enquirer).")
class EnquiryMessageSuccess:
    enquiry_message: EnquiryMessage = strawberry.field(description="The new message.")


@strawberry.input(
    description="Turn an enquiry into a CONFIRMED reservation, all lines or nothing, and mark it WON."
)
class ConvertEnquiryInput:
    enquiry_id: strawberry.ID = strawberry.field(description="The enquiry (NEW, IN_PROGRESS or QUOTED).")
    starts_at: datetime = strawberry.field(description="Start (inclusive), ISO 8601 with an offset.")
    ends_at: datetime = strawberry.field(description="End (exclusive), ISO 8601 with an offset.")
    lines: list[ReservationLineInput] | None = strawberry.field(
        default=None,
        description=f"What to book; null books the enquiry's items. At most {MAX_LINES}, "
        "and no more than the server allows (100 by default).",
        directives=[MaxItems(count=MAX_LINES)],
    )
    title: str | None = strawberry.field(
        default=None, description="The reservation's title; by default `Enquiry from <name>`."
    )
    notes: str = strawberry.field(default="", description="The reservation's notes.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with a ConflictError unless the enquiry is still at this version."
    )


@strawberry.type(description="The enquiry is WON and its reservation made.")
class ConvertEnquirySuccess:
    enquiry: Enquiry = strawberry.field(description="The enquiry, now WON and linked to its reservation.")
    reservation: Reservation = strawberry.field(description="The new reservation.")


@strawberry.type(description="The enquiry as it is now.")
class EnquirySuccess:
    enquiry: Enquiry = strawberry.field(description="The enquiry after the change.")


@strawberry.enum(description="What to sort enquiries by.")
class EnquiryOrderField(Enum):
    CREATED_AT = strawberry.enum_value(EnquirySort.CREATED_AT, description="When it was received.")
    UPDATED_AT = strawberry.enum_value(EnquirySort.UPDATED_AT, description="When it last changed.")


@strawberry.input(description="Order of an enquiry list.")
class EnquiryOrder:
    field: EnquiryOrderField = strawberry.field(
        default=EnquiryOrderField.CREATED_AT, description="What to sort by."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="Which way; newest first by default."
    )


@strawberry.input(description="Narrow an enquiry list; all given conditions must hold.")
class EnquiryFilter:
    status: list[EnquiryStatus] | None = strawberry.field(
        default=None,
        description=f"Any of these statuses. At most {len(EnquiryStatus)}.",
        directives=[MaxItems(count=len(EnquiryStatus))],
    )
    assigned_to: strawberry.ID | None = strawberry.field(
        default=None, description="Only those assigned to this user."
    )
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Received at or after this instant."
    )
    to: datetime | None = strawberry.field(default=None, description="Received before this instant.")
    search: str | None = strawberry.field(
        default=None,
        description=f"Text in the name, email, venue or message (case-insensitive). At most {MAX_SEARCH} characters.",
    )

    def to_value(self) -> EnquiryFilterValue:
        return EnquiryFilterValue(
            statuses=[StatusValue[status.name] for status in self.status] if self.status else None,
            assigned_to_id=pk_of(self.assigned_to, "User") if self.assigned_to is not None else None,
            assigned_given=self.assigned_to is not None,
            received_from=self.from_,
            received_to=self.to,
            search=self.search,
        )


SubmitEnquiryResult = Annotated[
    SubmitEnquirySuccess | ValidationError | NotFoundError | ForbiddenError | RateLimitedError,
    strawberry.union("SubmitEnquiryResult", description="The outcome of `submitEnquiry`."),
]
EnquiryResult = Annotated[
    EnquirySuccess | ConflictError | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("EnquiryResult", description="The outcome of an enquiry change."),
]
EnquiryMessageResult = Annotated[
    EnquiryMessageSuccess | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("EnquiryMessageResult", description="The outcome of `addEnquiryMessage`."),
]
ConvertEnquiryResult = Annotated[
    ConvertEnquirySuccess | ConflictError | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("ConvertEnquiryResult", description="The outcome of `convertEnquiry`."),
]
