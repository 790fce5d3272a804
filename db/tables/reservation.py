"""Reservations and their lines: a window, a lifecycle, and the equipment or units booked."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.tables.base import check_in, created_at_field, id_field, tenant_key_field, timestamp_field


class ReservationStatus(StrEnum):
    REQUESTED = "REQUESTED"
    CONFIRMED = "CONFIRMED"
    CHECKED_OUT = "CHECKED_OUT"
    RETURNED = "RETURNED"
    CANCELED = "CANCELED"
    DECLINED = "DECLINED"
    # A request staff did not answer in time, or whose window began first (``resolvers/jobs/expiry.py``).
    EXPIRED = "EXPIRED"


# Only these hold stock; every other status (EXPIRED included) frees what it booked.
HOLDING_STATUSES = (ReservationStatus.CONFIRMED, ReservationStatus.CHECKED_OUT)


class Reservation(SQLModel, table=True):
    """A booking of equipment for the half-open window ``[starts_at, ends_at)``."""

    __tablename__ = "reservation"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number", name="uq_reservation_tenant_number"),
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_reservation_idempotency_key"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_reservation_customer",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_reservation_created_by",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "design_version_id"],
            ["design_version.tenant_id", "design_version.id"],
            name="fk_reservation_design_version",
        ),
        CheckConstraint("ends_at > starts_at", name="ck_reservation_window"),
        CheckConstraint(check_in("status", ReservationStatus), name="ck_reservation_status"),
        CheckConstraint("version >= 1", name="ck_reservation_version"),
        Index("ix_reservation_window", "tenant_id", "starts_at", "ends_at"),
        Index("ix_reservation_customer", "tenant_id", "customer_id"),
        # The expiry and reminder jobs look for one status's rows by start.
        Index("ix_reservation_status", "tenant_id", "status", "starts_at"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    number: int = Field(nullable=False)
    title: str = Field(max_length=200, nullable=False)
    customer_id: uuid.UUID | None = Field(default=None)
    created_by_id: uuid.UUID | None = Field(default=None)
    starts_at: datetime = timestamp_field(nullable=False)
    ends_at: datetime = timestamp_field(nullable=False)
    status: str = Field(max_length=16, nullable=False)
    notes: str = Field(default="", max_length=5000, nullable=False)
    version: int = Field(default=1, nullable=False)
    idempotency_key: str | None = Field(default=None, max_length=128)
    # The design version it was made from (reserveDesign), if any.
    design_version_id: uuid.UUID | None = Field(default=None)
    # When the customer was reminded of the pickup, and last told the return is overdue
    # (``resolvers/jobs/reminders.py``); setting either announces its event (``db/events.py``).
    pickup_reminded_at: datetime | None = timestamp_field()
    overdue_notified_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class ReservationLine(SQLModel, table=True):
    """A quantity of one equipment (or one specific unit) on a reservation."""

    __tablename__ = "reservation_line"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "reservation_id"],
            ["reservation.tenant_id", "reservation.id"],
            name="fk_reservation_line_reservation",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "equipment_id"],
            ["equipment.tenant_id", "equipment.id"],
            name="fk_reservation_line_equipment",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "unit_id"],
            ["equipment_unit.tenant_id", "equipment_unit.id"],
            name="fk_reservation_line_unit",
        ),
        CheckConstraint("quantity >= 1", name="ck_reservation_line_quantity"),
        CheckConstraint("unit_id IS NULL OR quantity = 1", name="ck_reservation_line_unit_quantity"),
        Index("ix_reservation_line_reservation", "tenant_id", "reservation_id"),
        Index("ix_reservation_line_equipment", "tenant_id", "equipment_id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    reservation_id: uuid.UUID = Field(nullable=False)
    position: int = Field(default=0, nullable=False)
    equipment_id: uuid.UUID = Field(nullable=False)
    unit_id: uuid.UUID | None = Field(default=None)
    quantity: int = Field(nullable=False)
