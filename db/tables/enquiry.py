"""Enquiries: what a guest or customer asks a company for, its status, and its thread of messages."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKeyConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from db.tables.base import check_in, created_at_field, id_field, tenant_key_field


class EnquiryStatus(StrEnum):
    NEW = "NEW"
    IN_PROGRESS = "IN_PROGRESS"
    QUOTED = "QUOTED"
    WON = "WON"
    LOST = "LOST"
    CLOSED = "CLOSED"


class MessageKind(StrEnum):
    # Seen by staff only (``resolvers/visibility.py``: INTERNAL_ROWS).
    NOTE = "NOTE"
    # Mailed to the enquirer, and seen by a customer who made the enquiry.
    REPLY = "REPLY"


class Enquiry(SQLModel, table=True):
    """A request for an event, from a guest (no account) or one of the tenant's customers."""

    __tablename__ = "enquiry"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["app_user.tenant_id", "app_user.id"], name="fk_enquiry_customer"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "assigned_to_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_enquiry_assigned_to",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "design_id"], ["design.tenant_id", "design.id"], name="fk_enquiry_design"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "reservation_id"],
            ["reservation.tenant_id", "reservation.id"],
            name="fk_enquiry_reservation",
        ),
        # One enquiry becomes at most one reservation, and a reservation comes from at most one.
        UniqueConstraint("tenant_id", "reservation_id", name="uq_enquiry_reservation"),
        CheckConstraint(check_in("status", EnquiryStatus), name="ck_enquiry_status"),
        CheckConstraint("version >= 1", name="ck_enquiry_version"),
        CheckConstraint("guest_count IS NULL OR guest_count >= 1", name="ck_enquiry_guest_count"),
        # The list's filters: by status, by assignee, by customer, all by arrival.
        Index("ix_enquiry_status", "tenant_id", "status", "created_at"),
        Index("ix_enquiry_assigned_to", "tenant_id", "assigned_to_id", "created_at"),
        Index("ix_enquiry_customer", "tenant_id", "customer_id", "created_at"),
        Index("ix_enquiry_created", "tenant_id", "created_at", "id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    status: str = Field(default=EnquiryStatus.NEW, max_length=16, nullable=False)
    name: str = Field(max_length=200, nullable=False)
    email: str = Field(max_length=254, nullable=False)
    phone: str = Field(default="", max_length=40, nullable=False)
    event_date: date | None = Field(default=None)
    event_end_date: date | None = Field(default=None)
    venue: str = Field(default="", max_length=300, nullable=False)
    guest_count: int | None = Field(default=None)
    message: str = Field(default="", max_length=5000, nullable=False)
    # What was asked for: ``[{"equipment_id": "<uuid>", "quantity": n}, ...]``, checked within
    # the tenant when submitted; a request of interest, it holds no stock.
    items: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default=text("'[]'"))
    )
    # The signed-in customer who sent it (``None``: a guest, or staff entering it for someone).
    customer_id: uuid.UUID | None = Field(default=None)
    assigned_to_id: uuid.UUID | None = Field(default=None)
    # The design a share link sent with it shows.
    design_id: uuid.UUID | None = Field(default=None)
    # The reservation it became (``convertEnquiry``).
    reservation_id: uuid.UUID | None = Field(default=None)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class EnquiryMessage(SQLModel, table=True):
    """One message of an enquiry's thread: a staff note, or a reply mailed to the enquirer."""

    __tablename__ = "enquiry_message"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "enquiry_id"],
            ["enquiry.tenant_id", "enquiry.id"],
            name="fk_enquiry_message_enquiry",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "author_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_enquiry_message_author",
        ),
        CheckConstraint(check_in("kind", MessageKind), name="ck_enquiry_message_kind"),
        Index("ix_enquiry_message_enquiry", "tenant_id", "enquiry_id", "created_at"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    enquiry_id: uuid.UUID = Field(nullable=False)
    kind: str = Field(max_length=16, nullable=False)
    text: str = Field(max_length=5000, nullable=False)
    author_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = created_at_field()
