"""Files attached to a tenant's rows (equipment, units, designs, versions, reservations) or to its gallery."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKeyConstraint, Index
from sqlmodel import Field, SQLModel

from db.tables.base import check_in, created_at_field, id_field, tenant_key_field


class OwnerKind(StrEnum):
    """What an attachment belongs to; ``GALLERY`` is the tenant's own gallery (no owner row)."""

    EQUIPMENT = "EQUIPMENT"
    EQUIPMENT_UNIT = "EQUIPMENT_UNIT"
    DESIGN = "DESIGN"
    DESIGN_VERSION = "DESIGN_VERSION"
    RESERVATION = "RESERVATION"
    GALLERY = "GALLERY"


class ThumbnailState(StrEnum):
    NONE = "NONE"  # not an image
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"


class Attachment(SQLModel, table=True):
    """One stored file: its object in the store (``storage_key``), what it is and what it belongs to.

    The owner is polymorphic (``owner_kind`` + ``owner_id``), so no foreign key names
    it; ``resolvers/attachments.py`` checks the owner exists in the tenant when a file
    is attached. The bytes are the ones served: images are re-encoded without their
    metadata before they are stored, ``sha256`` and ``size`` describe those bytes.
    """

    __tablename__ = "attachment"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_attachment_created_by",
        ),
        CheckConstraint(check_in("owner_kind", OwnerKind), name="ck_attachment_owner_kind"),
        CheckConstraint(check_in("thumbnails", ThumbnailState), name="ck_attachment_thumbnails"),
        CheckConstraint("(owner_kind = 'GALLERY') = (owner_id IS NULL)", name="ck_attachment_owner"),
        Index("ix_attachment_owner", "tenant_id", "owner_kind", "owner_id", "position", "created_at"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    owner_kind: str = Field(max_length=24, nullable=False)
    owner_id: uuid.UUID | None = Field(default=None)
    filename: str = Field(max_length=255, nullable=False)
    content_type: str = Field(max_length=100, nullable=False)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64, nullable=False)
    storage_key: str = Field(max_length=300, nullable=False)
    width: int | None = Field(default=None)
    height: int | None = Field(default=None)
    caption: str = Field(default="", max_length=500, nullable=False)
    position: int = Field(default=0, nullable=False)
    is_public: bool = Field(default=False, nullable=False)
    thumbnails: str = Field(default=ThumbnailState.NONE, max_length=16, nullable=False)
    created_by_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = created_at_field()
