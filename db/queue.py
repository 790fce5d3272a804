"""The job queue's storage: enqueue, claim under a lease, finish, retry, bury.

Jobs are rows of ``job`` (``db/tables/job.py``), written in the transaction that
asks for the work, so a rollback leaves none and a commit loses none.

* **Claiming.** One statement moves due jobs to ``RUNNING`` with a lease
  (``locked_until``) and the claimer's id. On PostgreSQL the candidates are picked
  ``FOR UPDATE SKIP LOCKED``, so any number of workers on any number of hosts claim
  disjoint jobs without waiting on each other; on SQLite the claim runs in a
  ``BEGIN IMMEDIATE`` transaction, which serialises it with every other writer.
* **Leases.** A job whose lease has passed is due again: a worker killed mid-job
  loses nothing, its jobs run again after the lease. Every later write of a claimed
  job names the claimer and the attempt, so a worker that lost its lease cannot
  finish or fail a job another worker now runs.
* **Retries.** A failed attempt is due again after an exponential back-off with
  jitter; after ``max_attempts`` the job is ``DEAD``, kept for ``rigbook jobs``.
* **Exactly once per key.** ``unique_key`` (a schedule's slot) is unique;
  ``add_once`` inserts with ``ON CONFLICT DO NOTHING``, so three workers creating
  the same slot create one job.
* **Waking.** On PostgreSQL an insert notifies ``rigbook_jobs`` at commit (a trigger,
  migration 0010); a worker in this process is also woken directly when a session
  that added jobs commits (``wake_local``), which is all SQLite has.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, event, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from db.database import Database, TenantSession
from db.tables.job import Job, JobStatus

NOTIFY_CHANNEL = "rigbook_jobs"
ERROR_KEPT = 1000
_ADDED_INFO_KEY = "jobs_added"
_local_wakers: set[Callable[[], None]] = set()


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt ``n + 1``: ``base · 2^(n-1)``, at most ``cap``, times a jitter in [½, 1]."""

    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)

    def after(self, attempts: int, jitter: float | None = None) -> timedelta:
        share = random.uniform(0.5, 1.0) if jitter is None else jitter
        exponent = min(max(attempts - 1, 0), 40)
        delay: timedelta = min(self.cap, self.base * (2**exponent)) * share
        return delay


@dataclass(frozen=True)
class Claimed:
    """A job this worker holds the lease of, for this attempt."""

    id: uuid.UUID
    kind: str
    tenant_id: uuid.UUID | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    worker_id: str

    def owned(self) -> Any:
        """The condition that this claim still holds the job (same claimer, same attempt)."""
        return and_(
            col(Job.id) == self.id,
            col(Job.status) == JobStatus.RUNNING,
            col(Job.locked_by) == self.worker_id,
            col(Job.attempts) == self.attempts,
        )


def add(session: AsyncSession | Session, job: Job) -> Job:
    """Queue ``job`` in the session's transaction (it runs only if that commits)."""
    session.add(job)
    return job


async def add_once(session: AsyncSession, job: Job) -> bool:
    """Insert ``job`` unless a job with its ``unique_key`` exists; True when this call added it."""
    values = {column.key: getattr(job, column.key) for column in Job.__table__.columns}  # type: ignore[attr-defined]
    connection = await session.connection()
    build = postgres_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = build(Job).values(**values).on_conflict_do_nothing(index_elements=["unique_key"])
    result = await session.execute(statement.returning(col(Job.id)))
    added = result.first() is not None
    if added:
        session.info[_ADDED_INFO_KEY] = True
    return added


async def claim(
    database: Database, worker_id: str, limit: int, lease: timedelta, now: datetime
) -> list[Claimed]:
    """Take up to ``limit`` due jobs (oldest due first) under a lease ending at ``now + lease``."""
    due = (
        select(col(Job.id))
        .where(
            col(Job.run_at) <= now,
            or_(
                col(Job.status) == JobStatus.QUEUED,
                and_(col(Job.status) == JobStatus.RUNNING, col(Job.locked_until) < now),
            ),
        )
        .order_by(col(Job.run_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(Job)
        .where(col(Job.id).in_(due))
        .values(
            status=JobStatus.RUNNING,
            attempts=col(Job.attempts) + 1,
            locked_by=worker_id,
            locked_until=now + lease,
        )
        .returning(
            col(Job.id),
            col(Job.kind),
            col(Job.tenant_id),
            col(Job.payload),
            col(Job.attempts),
            col(Job.max_attempts),
        )
    )
    async with database.transaction(None) as session:
        rows = (await session.execute(statement)).all()
    return [
        Claimed(row.id, row.kind, row.tenant_id, row.payload, row.attempts, row.max_attempts, worker_id)
        for row in rows
    ]


def finish_statement(job: Claimed, now: datetime) -> Any:
    """The UPDATE marking ``job`` done; run it in the transaction that did the job's work."""
    return (
        update(Job)
        .where(job.owned())
        .values(status=JobStatus.DONE, finished_at=now, locked_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


async def finish(database: Database, job: Claimed, now: datetime) -> bool:
    """Mark ``job`` done; False when the lease was lost (another worker holds it now)."""
    async with database.transaction(None) as session:
        result = await session.execute(finish_statement(job, now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def fail(
    database: Database, job: Claimed, error: str, now: datetime, backoff: Backoff
) -> JobStatus | None:
    """Record a failed attempt: due again after the back-off, or ``DEAD`` after the last attempt.

    Returns the job's new status, or None when the lease was lost.
    """
    dead = job.attempts >= job.max_attempts
    values: dict[str, Any] = {
        "last_error": error[:ERROR_KEPT],
        "locked_until": None,
        "locked_by": None,
        "max_attempts": job.max_attempts,
    }
    if dead:
        values.update(status=JobStatus.DEAD, finished_at=now)
    else:
        values.update(status=JobStatus.QUEUED, run_at=now + backoff.after(job.attempts))
    async with database.transaction(None) as session:
        result = await session.execute(update(Job).where(job.owned()).values(**values))
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return JobStatus.DEAD if dead else JobStatus.QUEUED


async def release(database: Database, jobs: Sequence[Claimed]) -> None:
    """Give jobs back unrun (a worker shutting down): due now, the attempt not counted."""
    async with database.transaction(None) as session:
        for job in jobs:
            await session.execute(
                update(Job)
                .where(job.owned())
                .values(
                    status=JobStatus.QUEUED,
                    attempts=col(Job.attempts) - 1,
                    locked_by=None,
                    locked_until=None,
                )
            )


async def extend(database: Database, jobs: Sequence[Claimed], lease: timedelta, now: datetime) -> None:
    """Renew the leases of jobs still running (long work keeps its claim)."""
    if not jobs:
        return
    async with database.transaction(None) as session:
        for job in jobs:
            await session.execute(update(Job).where(job.owned()).values(locked_until=now + lease))


async def retry(database: Database, ids: Sequence[uuid.UUID] | None, now: datetime) -> int:
    """Make dead jobs due now with a fresh count of attempts: ``ids``, or every dead job."""
    condition = col(Job.status) == JobStatus.DEAD
    if ids is not None:
        condition = and_(condition, col(Job.id).in_(list(ids)))
    async with database.transaction(None) as session:
        result = await session.execute(
            update(Job)
            .where(condition)
            .values(status=JobStatus.QUEUED, attempts=0, run_at=now, finished_at=None, locked_by=None)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def purge(
    database: Database, statuses: Sequence[JobStatus], finished_before: datetime, *, limit: int | None = None
) -> int:
    """Delete finished jobs (``DONE``/``DEAD``) that finished before ``finished_before``.

    With ``limit``, at most that many (housekeeping deletes in short batches).
    """
    finished = [status for status in statuses if status in (JobStatus.DONE, JobStatus.DEAD)]
    if not finished:
        return 0
    condition = and_(col(Job.status).in_(finished), col(Job.finished_at) < finished_before)
    if limit is not None:
        condition = col(Job.id).in_(select(col(Job.id)).where(condition).limit(limit))
    async with database.transaction(None) as session:
        result = await session.execute(delete(Job).where(condition))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def listing(database: Database, status: JobStatus | None, kind: str | None, limit: int) -> list[Job]:
    """Jobs, newest first, optionally of one status and kind."""
    statement = select(Job).order_by(col(Job.created_at).desc()).limit(limit)
    if status is not None:
        statement = statement.where(col(Job.status) == status)
    if kind is not None:
        statement = statement.where(col(Job.kind) == kind)
    async with database.session(None) as session:
        return list((await session.scalars(statement)).all())


async def counts(database: Database) -> dict[str, int]:
    """How many jobs are in each status."""
    async with database.session(None) as session:
        rows = (await session.execute(select(col(Job.status), func.count()).group_by(col(Job.status)))).all()
    return {row[0]: int(row[1]) for row in rows}


def on_local_commit(waker: Callable[[], None]) -> Callable[[], None]:
    """Call ``waker`` whenever a session of this process that added jobs commits; returns the undo."""
    _local_wakers.add(waker)
    return lambda: _local_wakers.discard(waker)


@event.listens_for(TenantSession, "after_flush")
def _note_new_jobs(session: Session, _context: object) -> None:
    # After the flush ``session.new`` still lists what it inserted, jobs added by
    # other before-flush hooks (the audit trail's) included.
    if any(isinstance(row, Job) for row in session.new):
        session.info[_ADDED_INFO_KEY] = True


@event.listens_for(TenantSession, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_ADDED_INFO_KEY, False):
        wake_local()


def note_added(session: AsyncSession) -> None:
    """Say that ``session`` wrote jobs past the unit of work (``db/inserts.py``)."""
    session.info[_ADDED_INFO_KEY] = True


def wake_local() -> None:
    for waker in list(_local_wakers):
        waker()
