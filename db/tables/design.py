"""Event designs: a named setup whose versions (configuration + equipment items) never change once saved."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKeyConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.tables.base import check_in, created_at_field, id_field, tenant_key_field, timestamp_field


class DesignStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


class Design(SQLModel, table=True):
    """A design. ``current_version_number`` (0 = none yet) is the compare-and-swap guard for saves."""

    __tablename__ = "design"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_design_idempotency_key"),
        ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["app_user.tenant_id", "app_user.id"], name="fk_design_owner"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "cloned_from_id"], ["design.tenant_id", "design.id"], name="fk_design_cloned_from"
        ),
        CheckConstraint(check_in("status", DesignStatus), name="ck_design_status"),
        CheckConstraint("current_version_number >= 0", name="ck_design_current_version"),
        Index("ix_design_tenant_name", "tenant_id", "name", "id"),
        Index("ix_design_owner", "tenant_id", "owner_id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    name: str = Field(max_length=200, nullable=False)
    description: str = Field(default="", max_length=5000, nullable=False)
    owner_id: uuid.UUID = Field(nullable=False)
    status: str = Field(default=DesignStatus.DRAFT, max_length=16, nullable=False)
    current_version_number: int = Field(default=0, nullable=False)
    cloned_from_id: uuid.UUID | None = Field(default=None)
    idempotency_key: str | None = Field(default=None, max_length=128)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class DesignVersion(SQLModel, table=True):
    """One saved, immutable state of a design, numbered 1, 2, … per design."""

    __tablename__ = "design_version"
    __table_args__ = (
        # With the compare-and-swap on the design row: a number is never handed out twice.
        UniqueConstraint("tenant_id", "design_id", "number", name="uq_design_version_number"),
        ForeignKeyConstraint(
            ["tenant_id", "design_id"],
            ["design.tenant_id", "design.id"],
            name="fk_design_version_design",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_design_version_created_by",
        ),
        # Version 1 of a clone points at the version it copied.
        ForeignKeyConstraint(
            ["tenant_id", "source_version_id"],
            ["design_version.tenant_id", "design_version.id"],
            name="fk_design_version_source",
        ),
        CheckConstraint("number >= 1", name="ck_design_version_number"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    design_id: uuid.UUID = Field(nullable=False)
    number: int = Field(nullable=False)
    configuration: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=2000, nullable=False)
    created_by_id: uuid.UUID | None = Field(default=None)
    source_version_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = created_at_field()


class DesignItem(SQLModel, table=True):
    """A quantity of one equipment in a design version."""

    __tablename__ = "design_item"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["design_version.tenant_id", "design_version.id"],
            name="fk_design_item_version",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "equipment_id"],
            ["equipment.tenant_id", "equipment.id"],
            name="fk_design_item_equipment",
        ),
        CheckConstraint("quantity >= 1", name="ck_design_item_quantity"),
        Index("ix_design_item_version", "tenant_id", "version_id"),
        Index("ix_design_item_equipment", "tenant_id", "equipment_id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    version_id: uuid.UUID = Field(nullable=False)
    position: int = Field(default=0, nullable=False)
    equipment_id: uuid.UUID = Field(nullable=False)
    quantity: int = Field(nullable=False)
    notes: str = Field(default="", max_length=1000, nullable=False)


class DesignShare(SQLModel, table=True):
    """A read-only link to a design. Only a SHA-256 of the token's secret is stored."""

    __tablename__ = "design_share"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "design_id"],
            ["design.tenant_id", "design.id"],
            name="fk_design_share_design",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_design_share_created_by",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "recipient_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_design_share_recipient",
        ),
        Index("ix_design_share_design", "tenant_id", "design_id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    design_id: uuid.UUID = Field(nullable=False)
    token_hash: str = Field(max_length=64, nullable=False)
    created_by_id: uuid.UUID | None = Field(default=None)
    # The user the link was made for, mailed the link when it was made; None: nobody named.
    recipient_id: uuid.UUID | None = Field(default=None)
    expires_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
