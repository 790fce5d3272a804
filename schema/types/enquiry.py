"""Enquiries and their threads of messages, as GraphQL types."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

import strawberry

from db.tables import Enquiry as EnquiryRow
from db.tables import EnquiryMessage as MessageRow
from db.tables import EnquiryStatus as StatusValue
from db.tables import MessageKind as KindValue
from schema.context import Info
from schema.fetches import DESIGNS, MESSAGES_OF_ENQUIRIES, RESERVATIONS, USERS
from schema.node import Node
from schema.relations import relation
from schema.rows import FromRow, row_type
from schema.types.design import Design
from schema.types.equipment import Equipment
from schema.types.reservation import Reservation
from schema.types.user import User


@strawberry.enum(
    description="Where an enquiry stands: NEW → IN_PROGRESS → QUOTED → WON | LOST | CLOSED "
    "(`setEnquiryStatus` says which moves are allowed)."
)
class EnquiryStatus(Enum):
    NEW = strawberry.enum_value(StatusValue.NEW.value, description="Received; nobody has taken it on yet.")
    IN_PROGRESS = strawberry.enum_value(StatusValue.IN_PROGRESS.value, description="Being worked on.")
    QUOTED = strawberry.enum_value(StatusValue.QUOTED.value, description="An offer was made.")
    WON = strawberry.enum_value(
        StatusValue.WON.value, description="It became business (`convertEnquiry`: a reservation). Final."
    )
    LOST = strawberry.enum_value(StatusValue.LOST.value, description="It went elsewhere; may be reopened.")
    CLOSED = strawberry.enum_value(
        StatusValue.CLOSED.value, description="Closed without an outcome (spam, duplicate); may be reopened."
    )


@strawberry.enum(description="What a message of an enquiry's thread is.")
class EnquiryMessageKind(Enum):
    NOTE = strawberry.enum_value(
        KindValue.NOTE.value, description="A staff note: internal, never shown or mailed to the enquirer."
    )
    REPLY = strawberry.enum_value(
        KindValue.REPLY.value,
        description="A reply, mailed to the enquirer's address and shown to a customer who sent the enquiry.",
    )


@dataclass(frozen=True, slots=True)
class ItemValue:
    equipment_id: uuid.UUID | None
    quantity: int


@strawberry.type(description="An equipment asked for in an enquiry (an interest: it holds no stock).")
class EnquiryItem:
    quantity: int = strawberry.field(description="How many.")
    row: strawberry.Private[ItemValue]

    @strawberry.field(description="What was asked for; null if it has left the catalogue since.")
    async def equipment(self, info: Info) -> Equipment | None:
        if self.row.equipment_id is None:
            return None
        found = await info.context.loaders.equipment_by_id.load(self.row.equipment_id)
        return Equipment.from_row(found) if found is not None else None


def _item(stored: dict[str, object]) -> EnquiryItem:
    try:
        equipment_id: uuid.UUID | None = uuid.UUID(str(stored.get("equipment_id")))
    except ValueError:
        equipment_id = None
    quantity = stored.get("quantity")
    amount = quantity if isinstance(quantity, int) else 0
    return EnquiryItem(quantity=amount, row=ItemValue(equipment_id, amount))


@row_type(EnquiryRow, status=EnquiryStatus)
@strawberry.type(
    description="What a guest or customer asked the company for, with its status and thread. "
    "Staff see their tenant's; a customer sees their own (with the replies, not the staff notes)."
)
class Enquiry(FromRow[EnquiryRow], Node):
    status: EnquiryStatus = strawberry.field(description="Where it stands.")
    name: str = strawberry.field(description="The enquirer's name.")
    email: str = strawberry.field(description="The enquirer's address; replies are mailed there.")
    phone: str = strawberry.field(description="The enquirer's phone number; empty if not given.")
    event_date: date | None = strawberry.field(description="The day the event starts, if given.")
    event_end_date: date | None = strawberry.field(description="The day the event ends, if given.")
    venue: str = strawberry.field(description="Where the event is; empty if not given.")
    guest_count: int | None = strawberry.field(description="How many guests are expected, if given.")
    message: str = strawberry.field(description="What the enquirer wrote.")
    version: int = strawberry.field(
        description="Increases with every change; pass it as `expectedVersion` to change only what you saw."
    )
    created_at: datetime = strawberry.field(description="When it was received.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    row: strawberry.Private[EnquiryRow]

    @strawberry.field(description="The equipment asked for, in the order given.")
    def items(self) -> list[EnquiryItem]:
        return [_item(stored) for stored in self.row.items]

    @strawberry.field(description="The customer who sent it; null for a guest (or one not yours to see).")
    @relation(key="customer_id", fetch=USERS)
    async def customer(self, info: Info) -> User | None: ...

    @strawberry.field(
        description="The member of staff it is assigned to; null if nobody (or not yours to see)."
    )
    @relation(key="assigned_to_id", fetch=USERS)
    async def assigned_to(self, info: Info) -> User | None: ...

    @strawberry.field(
        description="The design whose share link came with it; null if none (or not yours to see)."
    )
    @relation(key="design_id", fetch=DESIGNS)
    async def design(self, info: Info) -> Design | None: ...

    @strawberry.field(description="The reservation it became (`convertEnquiry`); null until then.")
    @relation(key="reservation_id", fetch=RESERVATIONS)
    async def reservation(self, info: Info) -> Reservation | None: ...

    @strawberry.field(
        description="The thread, oldest first: staff notes and replies for staff; replies only for a customer."
    )
    @relation(key="id", fetch=MESSAGES_OF_ENQUIRIES)
    async def messages(self, info: Info) -> list[EnquiryMessage]: ...


@row_type(MessageRow, kind=EnquiryMessageKind)
@strawberry.type(description="One message of an enquiry's thread.")
class EnquiryMessage(FromRow[MessageRow], Node):
    kind: EnquiryMessageKind = strawberry.field(description="A staff note or a reply.")
    text: str = strawberry.field(description="What was written.")
    created_at: datetime = strawberry.field(description="When it was written.")
    row: strawberry.Private[MessageRow]

    @strawberry.field(description="Who wrote it; null for operators (or one not yours to see).")
    @relation(key="author_id", fetch=USERS)
    async def author(self, info: Info) -> User | None: ...
