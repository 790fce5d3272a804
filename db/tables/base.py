"""Shared column helpers for tables."""

from __future__ import annotations

from typing import Any

from sqlmodel import Field

from db.clock import utcnow
from db.ids import new_id
from db.types import UtcDateTime


def id_field() -> Any:
    return Field(default_factory=new_id, primary_key=True)


def tenant_key_field() -> Any:
    """``tenant_id`` as the first half of a composite primary key."""
    return Field(primary_key=True, foreign_key="tenant.id", ondelete="CASCADE")


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


def timestamp_field(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UtcDateTime, nullable=nullable)


def check_in(column: str, values: type[Any]) -> str:
    """SQL for a CHECK that a text column holds one of an enum's values."""
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({quoted})"
