"""The queue's own jobs: the daily purge of finished jobs, and the probe that shows a worker answers.

Without the purge the queue would keep a row for every event forever; it keeps done
jobs ``RIGBOOK_JOB_RETENTION_DAYS`` and dead ones ``RIGBOOK_DEAD_JOB_RETENTION_DAYS``.
A probe (``rigbook jobs probe``) is a job that does nothing, or waits ``seconds``
(at most ``MAX_PROBE_SECONDS``): that some worker runs it, and which, is the answer.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from db import queue
from db.database import Database
from db.tables.job import Job, JobStatus
from resolvers.jobs.registry import JobRun, handler
from resolvers.jobs.schedules import every

PURGE_KIND = "jobs.purge"
PROBE_KIND = "probe"
MAX_PROBE_SECONDS = 30.0

every(PURGE_KIND, timedelta(days=1))


@handler(PURGE_KIND, max_attempts=3)
async def purge_finished(run: JobRun) -> None:
    settings = run.services.settings
    database = run.services.database
    await queue.purge(database, [JobStatus.DONE], run.now - timedelta(days=settings.job_retention_days))
    await queue.purge(database, [JobStatus.DEAD], run.now - timedelta(days=settings.dead_job_retention_days))


def probe_seconds(payload: dict[str, Any]) -> float:
    """How long a probe waits; refuses anything but a number from 0 to ``MAX_PROBE_SECONDS``."""
    value = payload.get("seconds", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_PROBE_SECONDS:
        raise ValueError(f"a probe waits 0 to {MAX_PROBE_SECONDS:g} seconds, not {value!r}")
    return float(value)


@handler(
    PROBE_KIND, max_attempts=3, backoff=queue.Backoff(base=timedelta(seconds=1), cap=timedelta(seconds=10))
)
async def probe(run: JobRun) -> None:
    seconds = probe_seconds(run.job.payload)
    if seconds:
        await asyncio.sleep(seconds)


async def send_probe(database: Database, seconds: float, now: datetime) -> uuid.UUID:
    """Queue a probe due at ``now``; its id."""
    job = Job(
        kind=PROBE_KIND, payload={"seconds": probe_seconds({"seconds": seconds})}, run_at=now, created_at=now
    )
    async with database.transaction(None) as session:
        queue.add(session, job)
    return job.id
