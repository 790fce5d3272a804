"""Helpers for job queue tests: a controlled clock, test-only handlers, and reading the queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from db import queue
from db.database import Database
from db.tables.job import Job
from resolvers.jobs.registry import Handler, JobRun

T0 = datetime(2031, 5, 1, 10, 0, tzinfo=UTC)


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class Recorder:
    """A test-only job kind whose handler notes every run (and can be told to fail or wait)."""

    def __init__(
        self, kind: str = "test.record", *, max_attempts: int = 3, backoff: queue.Backoff | None = None
    ):
        self.kind = kind
        self.runs: list[tuple[uuid.UUID, int]] = []
        self.failures = 0  # how many of the next runs raise
        self.started = asyncio.Event()
        self.proceed: asyncio.Event | None = None  # when set, a run waits for it
        self.work: Callable[[JobRun], Awaitable[None]] | None = None
        self.handler = Handler(kind, self._run, max_attempts, backoff or queue.Backoff())

    async def _run(self, run: JobRun) -> None:
        self.runs.append((run.job.id, run.job.attempts))
        self.started.set()
        if self.proceed is not None:
            await self.proceed.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the test said so")
        if self.work is not None:
            await self.work(run)

    def handlers(self, *others: Recorder) -> dict[str, Handler]:
        return {each.kind: each.handler for each in (self, *others)}


async def enqueue(
    database: Database, kind: str, count: int = 1, *, run_at: datetime = T0, **fields: Any
) -> list[uuid.UUID]:
    """Queue ``count`` jobs of ``kind`` due at ``run_at``; their ids."""
    jobs = [Job(kind=kind, run_at=run_at, created_at=run_at, **fields) for _ in range(count)]
    async with database.transaction(None) as session:
        for job in jobs:
            queue.add(session, job)
    return [job.id for job in jobs]


async def all_jobs(database: Database, kind: str | None = None) -> list[Job]:
    statement = select(Job).order_by(col(Job.created_at), col(Job.id))
    if kind is not None:
        statement = statement.where(col(Job.kind) == kind)
    async with database.session(None) as session:
        return list((await session.scalars(statement)).all())


async def job(database: Database, job_id: uuid.UUID) -> Job:
    async with database.session(None) as session:
        found = await session.get(Job, job_id)
    assert found is not None
    return found


async def until(condition: Callable[[], Awaitable[bool]], within: float = 20.0, what: str = "") -> None:
    """Wait for ``condition`` to hold (a bounded wait for work another task or process does)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or condition}")
        await asyncio.sleep(0.05)
