"""The job queue: one row per piece of work to run outside a request."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

from db.tables.base import check_in, created_at_field, id_field, timestamp_field


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    DEAD = "DEAD"


class Job(SQLModel, table=True):
    """Work to run at or after ``run_at``, written in the transaction that asks for it.

    A platform-level queue (``tenant_id`` only notes whose work it is) so that one
    worker serves every tenant. A claimed job is ``RUNNING`` with a lease
    (``locked_until``): a worker that dies loses its jobs only until the lease ends.
    ``unique_key`` makes a job exist at most once (a schedule's slot, one mail per
    event and recipient).
    """

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint(check_in("status", JobStatus), name="ck_job_status"),
        Index("ix_job_due", "status", "run_at"),
        Index("ix_job_finished", "status", "finished_at"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenant.id", ondelete="CASCADE")
    kind: str = Field(max_length=64, nullable=False)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    unique_key: str | None = Field(default=None, max_length=200, unique=True)
    status: str = Field(default=JobStatus.QUEUED, max_length=16, nullable=False)
    attempts: int = Field(default=0, nullable=False)
    max_attempts: int = Field(default=10, nullable=False)
    run_at: datetime = created_at_field()
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = timestamp_field()
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = created_at_field()
    finished_at: datetime | None = timestamp_field()
