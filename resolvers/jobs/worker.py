"""The worker: claims due jobs, runs their handlers, plans the schedules, stops gracefully.

One ``Worker`` runs up to ``concurrency`` jobs at once as tasks of one event loop.
It claims only as many jobs as it has free slots, and only of the kinds it has
handlers for, under a lease it renews while the jobs run (``db/queue.py``). It looks
for due jobs when woken (PostgreSQL ``LISTEN rigbook_jobs``; in this process, any
commit that added jobs; a job of its own ending) and otherwise every
``poll_interval`` seconds, so a missed notification delays a job, never loses it. A
wake that comes while it claims is kept for the next look, and a listening
connection that dies wakes the loop, which listens again on a new one.

An attempt that outlasts its kind's ``timeout`` (``resolvers/jobs/registry.py``) is
cancelled and counted as failed, so a hung handler cannot hold a slot for good.

Stopping (SIGTERM) stops claiming, lets running jobs finish for ``shutdown_grace``
seconds, then cancels the rest and gives their jobs back unrun, due at once for the
next worker. A worker that dies without stopping (``kill -9``) leaves its jobs
claimed until their leases end; then any worker runs them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from auth.services import Services
from db import queue
from db.clock import utcnow
from db.listening import listen_connection
from db.queue import Claimed, clean_error, error_text
from db.tables.job import JobStatus
from resolvers.jobs.registry import HANDLERS, Handler, JobRun, LeaseLost
from resolvers.jobs.schedules import SCHEDULES, Schedule, plan

log = logging.getLogger("rigbook.worker")
Clock = Callable[[], datetime]
CANCEL_WAIT = 5.0  # seconds a cancelled job may take to unwind before its job is given back anyway


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs jobs for one process until told to stop."""

    def __init__(
        self,
        services: Services,
        *,
        concurrency: int | None = None,
        clock: Clock = utcnow,
        handlers: dict[str, Handler] | None = None,
        schedules: list[Schedule] | None = None,
        heartbeat: Path | None = None,
    ) -> None:
        settings = services.settings
        self.services = services
        self.concurrency = concurrency or settings.worker_concurrency
        self.clock = clock
        self.handlers = HANDLERS if handlers is None else handlers
        self.schedules = SCHEDULES if schedules is None else schedules
        self.lease = timedelta(seconds=settings.job_lease)
        self.poll_interval = settings.worker_poll_interval
        self.shutdown_grace = settings.worker_shutdown_grace
        self.worker_id = new_worker_id()
        self.heartbeat = heartbeat  # touched on every turn of the loop (a container's health check)
        self._running: dict[asyncio.Task[None], Claimed] = {}
        self._wake = asyncio.Event()
        self._planned_at: datetime | None = None
        self._listen_failing = False  # say so once per outage, not on every turn

    # -- running everything that is due, once (the CLI, tests on a controlled clock) --

    async def run_due(self, *, limit: int = 10_000) -> int:
        """Plan the schedules, then run due jobs until none is left; returns how many ran."""
        await plan(self.services.database, self.clock(), self.schedules)
        ran = 0
        while ran < limit:
            claimed = await queue.claim(
                self.services.database,
                self.worker_id,
                min(self.concurrency, limit - ran),
                self.lease,
                self.clock(),
                self.handlers,
            )
            if not claimed:
                return ran
            await asyncio.gather(*(self._run(job) for job in claimed))
            ran += len(claimed)
        return ran

    # -- the long-running loop --

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then shut down gracefully."""
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._wake.set)

        undo_local = queue.on_local_commit(wake)
        listener: asyncpg.Connection | None = None
        renewer = asyncio.create_task(self._renew_leases(stop))
        log.info("worker %s started (concurrency %d)", self.worker_id, self.concurrency)
        try:
            while not stop.is_set():
                # Cleared before looking, not after: a wake that comes while this turn
                # claims (a job committed just after the claim's snapshot) ends the next idle.
                self._wake.clear()
                self._beat()
                if listener is None or listener.is_closed():
                    listener = await self._listen(wake)
                await self._plan_if_due()
                free = self.concurrency - len(self._running)
                claimed: list[Claimed] = []
                if free > 0:
                    claimed = await self._claim(free)
                    for job in claimed:
                        task = asyncio.create_task(self._run(job))
                        self._running[task] = job
                        task.add_done_callback(self._finished)
                if claimed and len(claimed) == free:
                    continue  # more may be due: look again as soon as a slot frees
                await self._idle(stop)
        finally:
            undo_local()
            await self._shut_down()
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            if listener is not None and not listener.is_closed():
                with contextlib.suppress(Exception):
                    await listener.close(timeout=2)
            log.info("worker %s stopped", self.worker_id)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._wake.set()

    async def _idle(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _beat(self) -> None:
        if self.heartbeat is not None:
            with contextlib.suppress(OSError):
                self.heartbeat.touch()

    async def _claim(self, free: int) -> list[Claimed]:
        try:
            return await queue.claim(
                self.services.database, self.worker_id, free, self.lease, self.clock(), self.handlers
            )
        except Exception as error:  # the database is away: wait a poll interval and look again
            log.warning("could not claim jobs: %s", error_text(error))
            return []

    async def _plan_if_due(self) -> None:
        now = self.clock()
        if self._planned_at is not None and now - self._planned_at < timedelta(seconds=self.poll_interval):
            return
        try:
            await plan(self.services.database, now, self.schedules)
            self._planned_at = now
        except Exception as error:
            log.warning("could not plan schedules: %s", error_text(error))

    async def _listen(self, wake: Callable[[], None]) -> asyncpg.Connection | None:
        """A connection listening on ``rigbook_jobs`` (PostgreSQL), or None (SQLite, or unreachable).

        Its loss wakes the loop, which opens another: notifications sent meanwhile are
        lost, but the turn that listens again also claims whatever is due.
        """
        database = self.services.database
        if database.is_sqlite:
            return None
        connection: asyncpg.Connection | None = None
        try:
            connection = await listen_connection(database, "rigbook worker")
            connection.add_termination_listener(lambda _connection: wake())
            await connection.add_listener(queue.NOTIFY_CHANNEL, lambda *_args: wake())
        except Exception as error:
            if not self._listen_failing:
                log.warning("cannot listen for jobs, polling instead: %s", error_text(error))
            self._listen_failing = True
            if connection is not None:
                connection.terminate()
            return None
        if self._listen_failing:
            log.info("listening for jobs again")
        self._listen_failing = False
        return connection

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        every = max(self.lease.total_seconds() / 3, 0.5)
        while True:
            await asyncio.sleep(every)
            jobs = list(self._running.values())
            try:
                await queue.extend(self.services.database, jobs, self.lease, self.clock())
            except Exception as error:
                log.warning("could not renew leases: %s", error_text(error))

    async def _shut_down(self) -> None:
        if not self._running:
            return
        _done, pending = await asyncio.wait(list(self._running), timeout=self.shutdown_grace)
        unfinished = [self._running[task] for task in pending if task in self._running]
        for task in pending:
            task.cancel()
        if pending:
            # A handler that ignores its cancellation must not hold the exit: its job is
            # given back, and its late completion is refused (the claim is no longer its).
            await asyncio.wait(pending, timeout=CANCEL_WAIT)
        if unfinished:
            with contextlib.suppress(Exception):
                await queue.release(self.services.database, unfinished)
            log.info("worker %s gave back %d unfinished jobs", self.worker_id, len(unfinished))

    # -- one job --

    async def _run(self, job: Claimed) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:  # claims ask for known kinds only; given back should one slip through
            await queue.release(self.services.database, [job])
            return
        job = replace(job, max_attempts=handler.max_attempts)
        if job.attempts > job.max_attempts:  # claimed again after its last attempt's lease ran out
            await self._fail(job, handler, "its last attempt never ended")
            return
        run = JobRun(self.services, job, self.clock(), clock=self.clock)
        limit = asyncio.timeout(handler.timeout.total_seconds())
        try:
            async with limit:
                await handler.run(run)
        except asyncio.CancelledError:
            raise
        except LeaseLost:
            log.warning("job %s (%s) lost its lease; another worker runs it", job.id, job.kind)
            return
        except Exception as error:
            if limit.expired():
                reason = f"TimeoutError: did not finish within {handler.timeout.total_seconds():g} seconds"
            else:
                reason = error_text(error)
            await self._fail(job, handler, reason)
            return
        if not run.finished:
            try:
                done = await queue.finish(self.services.database, job, self.clock())
            except Exception as error:
                log.warning("could not mark job %s done: %s", job.id, error_text(error))
                return
            if not done:
                log.warning("job %s (%s) lost its lease before it was marked done", job.id, job.kind)

    async def _fail(self, job: Claimed, handler: Handler, error: str) -> None:
        error = clean_error(error)
        try:
            status = await queue.fail(self.services.database, job, error, self.clock(), handler.backoff)
        except Exception as failure:
            log.warning("could not record the failure of job %s: %s", job.id, error_text(failure))
            return
        if status is JobStatus.DEAD:
            log.error(
                "job %s (%s) is dead after %d attempts: %s", job.id, job.kind, job.attempts, error[:300]
            )
        elif status is JobStatus.QUEUED:
            log.warning("job %s (%s) failed (attempt %d): %s", job.id, job.kind, job.attempts, error[:300])


async def run_until_signalled(
    services: Services, concurrency: int | None = None, heartbeat: Path | None = None
) -> None:
    """``rigbook worker``: run until SIGTERM or SIGINT."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await Worker(services, concurrency=concurrency, heartbeat=heartbeat).run(stop)


def describe(job: Any) -> str:
    """One line of ``rigbook jobs list``: who holds (or ran) it, and its last error."""
    holder = f"  by={job.locked_by}" if job.locked_by and job.status != JobStatus.QUEUED else ""
    lease = (
        f" until={job.locked_until.isoformat(timespec='seconds')}"
        if job.status == JobStatus.RUNNING and job.locked_until
        else ""
    )
    error = f"  {clean_error(job.last_error)[:80]}" if job.last_error else ""
    return (
        f"{job.id}  {job.status:<7} {job.kind:<24} {job.attempts}/{job.max_attempts}  "
        f"run_at={job.run_at.isoformat(timespec='seconds')}{holder}{lease}{error}"
    )
