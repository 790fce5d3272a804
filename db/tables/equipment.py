"""Equipment and its serialized units: stock counted as a quantity (BULK) or in units (SERIALIZED)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKeyConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.tables.base import check_in, created_at_field, id_field, tenant_key_field


class Tracking(StrEnum):
    """How stock is counted: a quantity, or individual units with serial numbers."""

    BULK = "BULK"
    SERIALIZED = "SERIALIZED"


class EquipmentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    RETIRED = "RETIRED"


class UnitStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    MAINTENANCE = "MAINTENANCE"
    RETIRED = "RETIRED"


class Equipment(SQLModel, table=True):
    """A rentable item. ``quantity`` is the bookable stock (for SERIALIZED, AVAILABLE units)."""

    __tablename__ = "equipment"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code", name="uq_equipment_tenant_code"),
        CheckConstraint(check_in("tracking", Tracking), name="ck_equipment_tracking"),
        CheckConstraint(check_in("status", EquipmentStatus), name="ck_equipment_status"),
        CheckConstraint("quantity >= 0", name="ck_equipment_quantity"),
        CheckConstraint("buffer_before >= 0 AND buffer_after >= 0", name="ck_equipment_buffers"),
        Index("ix_equipment_tenant_name", "tenant_id", "name", "id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    name: str = Field(max_length=200, nullable=False)
    code: str = Field(max_length=64, nullable=False)
    category: str = Field(default="", max_length=100, nullable=False)
    description: str = Field(default="", max_length=5000, nullable=False)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tracking: str = Field(max_length=16, nullable=False)
    quantity: int = Field(default=0, nullable=False)
    buffer_before: int = Field(default=0, nullable=False, description="minutes")
    buffer_after: int = Field(default=0, nullable=False, description="minutes")
    status: str = Field(default=EquipmentStatus.ACTIVE, max_length=16, nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class EquipmentUnit(SQLModel, table=True):
    """One serialized unit of an equipment."""

    __tablename__ = "equipment_unit"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "equipment_id"],
            ["equipment.tenant_id", "equipment.id"],
            name="fk_equipment_unit_equipment",
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "equipment_id", "serial_number", name="uq_equipment_unit_serial"),
        CheckConstraint(check_in("status", UnitStatus), name="ck_equipment_unit_status"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    equipment_id: uuid.UUID = Field(nullable=False)
    serial_number: str = Field(max_length=100, nullable=False)
    status: str = Field(default=UnitStatus.AVAILABLE, max_length=16, nullable=False)
    notes: str = Field(default="", max_length=2000, nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
