"""Taken slots of attempt budgets: sign-in throttling shared by every worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from db.tables.base import timestamp_field


class LoginFailure(SQLModel, table=True):
    """One slot of an attempt budget (``auth/rate_limit.py``), by hashed key; shared by all workers."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_time", "key", "failed_at"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(
            # SQLite assigns ids only to an INTEGER primary key (its row id).
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    key: str = Field(max_length=64, nullable=False)
    failed_at: datetime = timestamp_field(nullable=False)
