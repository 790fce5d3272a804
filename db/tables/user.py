"""Users of a tenant and their roles (ADMIN, MANAGER, STAFF, CUSTOMER)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from db.clock import utcnow
from db.tables.base import check_in, created_at_field, id_field, tenant_key_field, timestamp_field
from db.types import UtcDateTime


class Role(StrEnum):
    """A user's role inside their tenant, from most to least powerful."""

    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    STAFF = "STAFF"
    CUSTOMER = "CUSTOMER"


class User(SQLModel, table=True):
    """A person signing in to one tenant. ``email`` is stored lower-cased.

    ``email_verified_at``: when the address was last proven to be the user's (a user an
    admin creates is vouched for at once; one who signed up is not, until they follow
    the mailed link). ``anonymized_at``: when the user's personal data was erased; the
    row stays so that reservations and the audit trail keep pointing at it.
    """

    __tablename__ = "app_user"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email", name="uq_app_user_tenant_email"),
        CheckConstraint(check_in("role", Role), name="ck_app_user_role"),
        CheckConstraint("email = lower(email)", name="ck_app_user_email_lower"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    email: str = Field(max_length=254, nullable=False)
    name: str = Field(default="", max_length=200, nullable=False)
    role: str = Field(max_length=16, nullable=False)
    password_hash: str = Field(max_length=255, nullable=False)
    phone: str = Field(default="", max_length=40, nullable=False, sa_column_kwargs={"server_default": ""})
    is_active: bool = Field(default=True, nullable=False)
    # Set when the row is made (no column default: that would also fill in an explicit None).
    email_verified_at: datetime | None = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=True)
    )
    anonymized_at: datetime | None = timestamp_field()
    # Notification mail categories the user chose, category → on/off; a category not
    # named is on (``resolvers/notification_prefs.py``).
    notification_preferences: dict[str, bool] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default=text("'{}'"))
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
