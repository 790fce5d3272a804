"""The job queue's storage: enqueue, claim under a lease, finish, retry, bury.

Jobs are rows of ``job`` (``db/tables/job.py``), written in the transaction that
asks for the work, so a rollback leaves none and a commit loses none.

* **Claiming.** One statement moves due jobs of the kinds the claimer knows to
  ``RUNNING`` with a lease (``locked_until``) and the claimer's id (a worker of an
  older release leaves a newer kind to the workers that know it). On PostgreSQL the
  candidates are picked ``FOR UPDATE SKIP LOCKED``, so any number of workers on any
  number of hosts claim disjoint jobs without waiting on each other; on SQLite the
  claim runs in a ``BEGIN IMMEDIATE`` transaction, which serialises it with every
  other writer.
* **Leases.** A job whose lease has passed is due again: a worker killed mid-job
  loses nothing, its jobs run again after the lease. Every later write of a claimed
  job names the claimer and the attempt, so a worker that lost its lease cannot
  finish or fail a job another worker now runs.
* **Retries.** A failed attempt is due again after an exponential back-off with
  jitter; after ``max_attempts`` the job is ``DEAD``, kept for ``rigbook jobs``. The
  error kept is one line, bounded, without SQL parameters or URL passwords.
* **Exactly once per key.** ``unique_key`` (a schedule's slot) is unique;
  ``add_once`` inserts with ``ON CONFLICT DO NOTHING``, so three workers creating
  the same slot create one job. ``purge`` keeps each schedule's latest slot, which
  a worker would otherwise make (and run) again.
* **Bounds.** A payload is at most ``MAX_PAYLOAD_BYTES`` of JSON (checked when the
  job is written); a listing at most ``MAX_LISTED`` jobs; a purge deletes in batches.
* **Waking.** On PostgreSQL an insert that adds jobs notifies ``rigbook_jobs`` at
  commit (a trigger, migration 0010); a worker in this process is also woken
  directly when a session that added jobs commits (``wake_local``), which is all
  SQLite has.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, delete, event, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from db.database import Database, TenantSession
from db.tables.job import Job, JobStatus

NOTIFY_CHANNEL = "rigbook_jobs"
ERROR_KEPT = 1000
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_LISTED = 1000
PURGE_BATCH = 5000
# A schedule's slot job: ``schedule:<kind>:<slot start>`` (``resolvers/jobs/schedules.py``).
SCHEDULE_KEY_PREFIX = "schedule:"
_ADDED_INFO_KEY = "jobs_added"
_local_wakers: set[Callable[[], None]] = set()


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt ``n + 1``: ``base · 2^(n-1)``, at most ``cap``, times a jitter in [½, 1]."""

    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)

    def after(self, attempts: int, jitter: float | None = None) -> timedelta:
        share = random.uniform(0.5, 1.0) if jitter is None else jitter
        exponent = min(max(attempts - 1, 0), 60)
        # In float seconds: ``base * 2**n`` as a timedelta overflows long before the cap.
        seconds = min(self.cap.total_seconds(), self.base.total_seconds() * 2.0**exponent)
        return timedelta(seconds=seconds * share)


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


_CREDENTIALS = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]*@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean_error(text: str) -> str:
    """``text`` fit to keep and log: one line, no password of a URL, at most ``ERROR_KEPT`` long."""
    return _CONTROL.sub(" ", _CREDENTIALS.sub(r"\1***@", text[: ERROR_KEPT * 4]))[:ERROR_KEPT]


def error_text(error: BaseException) -> str:
    """What went wrong, for ``last_error`` and the log.

    A database error says the driver's first line only: SQLAlchemy's text repeats the
    statement and its parameters, which may hold anything a handler wrote.
    """
    if isinstance(error, StatementError) and error.orig is not None:
        lines = str(error.orig).splitlines()
        return clean_error(f"{type(error).__name__}: {lines[0] if lines else type(error.orig).__name__}")
    return clean_error(f"{type(error).__name__}: {error}")


def check_payload(job: Job) -> None:
    """Refuse a payload past ``MAX_PAYLOAD_BYTES``: a job names its work, it does not carry it."""
    size = len(orjson.dumps(job.payload))
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"job {job.kind!r}: payload of {size} bytes is over {MAX_PAYLOAD_BYTES}")


def add(session: AsyncSession | Session, job: Job) -> Job:
    """Queue ``job`` in the session's transaction (it runs only if that commits)."""
    check_payload(job)
    session.add(job)
    return job


async def add_once(session: AsyncSession, job: Job) -> bool:
    """Insert ``job`` unless a job with its ``unique_key`` exists; True when this call added it."""
    check_payload(job)
    values = {column.key: getattr(job, column.key) for column in Job.__table__.columns}  # type: ignore[attr-defined]
    connection = await session.connection()
    build = postgres_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = build(Job).values(**values).on_conflict_do_nothing(index_elements=["unique_key"])
    result = await session.execute(statement.returning(col(Job.id)))
    added = result.first() is not None
    if added:
        session.info[_ADDED_INFO_KEY] = True
    return added


def claim_statement(
    worker_id: str, limit: int, lease: timedelta, now: datetime, kinds: Collection[str] | None = None
) -> Any:
    """The UPDATE … RETURNING that claims up to ``limit`` due jobs (``kinds`` only, if given)."""
    conditions = [
        col(Job.run_at) <= now,
        or_(
            col(Job.status) == JobStatus.QUEUED,
            and_(col(Job.status) == JobStatus.RUNNING, col(Job.locked_until) < now),
        ),
    ]
    if kinds is not None:
        conditions.append(col(Job.kind).in_(sorted(kinds)))
    due = (
        select(col(Job.id))
        .where(*conditions)
        .order_by(col(Job.run_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
        # A CTE, not a subquery: PostgreSQL evaluates it once. A subquery the planner
        # put on the inner side of a nested loop could be scanned again, and each scan
        # skips the rows the last one locked: a claim of more than ``limit`` jobs.
        .cte("due")
    )
    return (
        update(Job)
        .where(col(Job.id).in_(select(due.c.id)))
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


async def claim(
    database: Database,
    worker_id: str,
    limit: int,
    lease: timedelta,
    now: datetime,
    kinds: Collection[str] | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due jobs (oldest due first) under a lease ending at ``now + lease``.

    ``kinds``: only jobs of these kinds (a worker's handlers); None takes any kind.
    """
    statement = claim_statement(worker_id, limit, lease, now, kinds)
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
        "last_error": clean_error(error),
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
    """Renew the leases of jobs still running (long work keeps its claim); one statement."""
    if not jobs:
        return
    async with database.transaction(None) as session:
        await session.execute(
            update(Job).where(or_(*(job.owned() for job in jobs))).values(locked_until=now + lease)
        )


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


async def _latest_slots(session: AsyncSession) -> list[uuid.UUID]:
    """The job of each schedule's latest slot (the one ``plan`` would make again)."""
    scheduled = col(Job.unique_key).startswith(SCHEDULE_KEY_PREFIX)
    latest = (
        select(col(Job.kind), func.max(col(Job.run_at)).label("run_at"))
        .where(scheduled)
        .group_by(col(Job.kind))
        .subquery()
    )
    statement = select(col(Job.id)).join(
        latest, and_(col(Job.kind) == latest.c.kind, col(Job.run_at) == latest.c.run_at)
    )
    return list((await session.scalars(statement.where(scheduled))).all())


async def purge(
    database: Database, statuses: Sequence[JobStatus], finished_before: datetime, *, batch: int = PURGE_BATCH
) -> int:
    """Delete finished jobs (``DONE``/``DEAD``) that finished before ``finished_before``.

    Each schedule's latest slot stays: deleted, it would free its unique key, and the
    next ``plan`` in the same period would make the slot, and run it, again. Deletes
    ``batch`` jobs per transaction, so a large purge never holds the queue for long.
    """
    finished = [status for status in statuses if status in (JobStatus.DONE, JobStatus.DEAD)]
    if not finished:
        return 0
    async with database.session(None) as session:
        kept = await _latest_slots(session)
    doomed = (
        select(col(Job.id))
        .where(
            col(Job.status).in_(finished),
            col(Job.finished_at) < finished_before,
            col(Job.id).not_in(kept),
        )
        .limit(batch)
    )
    deleted = 0
    while True:
        async with database.transaction(None) as session:
            ids = list((await session.scalars(doomed)).all())
            if ids:
                await session.execute(delete(Job).where(col(Job.id).in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


async def listing(database: Database, status: JobStatus | None, kind: str | None, limit: int) -> list[Job]:
    """Jobs, newest first, optionally of one status and kind; at most ``MAX_LISTED``."""
    if not 1 <= limit <= MAX_LISTED:
        raise ValueError(f"limit must be 1 to {MAX_LISTED}")
    statement = select(Job).order_by(col(Job.created_at).desc()).limit(limit)
    if status is not None:
        statement = statement.where(col(Job.status) == status)
    if kind is not None:
        statement = statement.where(col(Job.kind) == kind)
    async with database.session(None) as session:
        return list((await session.scalars(statement)).all())


async def find(database: Database, job_id: uuid.UUID) -> Job | None:
    """The job of ``job_id``, if it (still) exists."""
    async with database.session(None) as session:
        return await session.get(Job, job_id)


async def cancel(database: Database, ids: Sequence[uuid.UUID]) -> int:
    """Delete jobs of ``ids`` that no worker has claimed yet; how many."""
    async with database.transaction(None) as session:
        result = await session.execute(
            delete(Job).where(col(Job.id).in_(list(ids)), col(Job.status) == JobStatus.QUEUED)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


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
    # other before-flush hooks (the audit trail's) included. A job added with
    # ``session.add`` rather than ``add`` has its payload checked here.
    jobs = [row for row in session.new if isinstance(row, Job)]
    for job in jobs:
        check_payload(job)
    if jobs:
        session.info[_ADDED_INFO_KEY] = True


@event.listens_for(TenantSession, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_ADDED_INFO_KEY, False):
        wake_local()


@event.listens_for(TenantSession, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_ADDED_INFO_KEY, None)


def note_added(session: AsyncSession) -> None:
    """Say that ``session`` wrote jobs past the unit of work (``db/inserts.py``)."""
    session.info[_ADDED_INFO_KEY] = True


def wake_local() -> None:
    for waker in list(_local_wakers):
        waker()
