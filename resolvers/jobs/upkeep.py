"""The queue's own job: the probe that shows a worker answers.

(Finished jobs are purged by the daily housekeeping, ``resolvers/housekeeping.py``,
with the other rows whose work is over.) A probe (``rigbook jobs probe``) is a job that does nothing, or waits ``seconds``
(at most ``MAX_PROBE_SECONDS``): that some worker runs it, and which, is the answer.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from db import queue
from db.database import Database
from db.tables.job import Job
from resolvers.jobs.registry import JobRun, handler

PROBE_KIND = "probe"
MAX_PROBE_SECONDS = 30.0


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
