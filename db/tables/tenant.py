"""Tenants: the rental companies, each the root of the rows it owns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from db.tables.base import created_at_field, id_field


class Tenant(SQLModel, table=True):
    """A rental company. The root of everything tenant-owned."""

    __tablename__ = "tenant"

    id: uuid.UUID = id_field()
    slug: str = Field(max_length=40, unique=True, nullable=False)
    name: str = Field(max_length=200, nullable=False)
    timezone: str = Field(default="UTC", max_length=64, nullable=False)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Last reservation number handed out; incremented under a row lock.
    reservation_counter: int = Field(default=0, nullable=False)
    created_at: datetime = created_at_field()
