"""Platform operators: accounts that create and list tenants and belong to none."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from db.tables.base import created_at_field, id_field


class Operator(SQLModel, table=True):
    """A platform operator: creates and lists tenants, belongs to none."""

    __tablename__ = "operator"
    __table_args__ = (CheckConstraint("email = lower(email)", name="ck_operator_email_lower"),)

    id: uuid.UUID = id_field()
    email: str = Field(max_length=254, unique=True, nullable=False)
    name: str = Field(default="", max_length=200, nullable=False)
    password_hash: str = Field(max_length=255, nullable=False)
    is_active: bool = Field(default=True, nullable=False)
    created_at: datetime = created_at_field()
