"""Real ``rigbook worker`` and ``rigbook serve`` processes sharing one queue.

Three workers (on either database) run every job once and a schedule's slot once; a worker
killed mid-job loses nothing (its jobs run again once its lease ends); a worker told
to stop finishes or gives back what it runs and exits within its grace. ``rigbook
serve`` on SQLite runs jobs itself, which ``rigbook jobs probe`` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from db import queue
from db.clock import utcnow
from db.database import Database
from db.tables import Job, JobStatus, MonthlyReport, Tenant
from resolvers.jobs.housekeeping import KIND as HOUSEKEEPING_KIND
from resolvers.jobs.reports import GENERATE_KIND, PLAN_KIND
from resolvers.jobs.upkeep import PROBE_KIND
from tests.jobs import until
from tests.reports import LONG_AGO

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.socket


class Process:
    """A ``rigbook`` command running in its own process, its log read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace").rstrip())

    async def logged(self, text: str, within: float = 30) -> None:
        async def seen() -> bool:
            assert self.process.returncode is None, "\n".join(self.log)
            return any(text in line for line in self.log)

        await until(seen, within, f"{text!r} in the log")

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    async def wait(self, within: float) -> int:
        code = await asyncio.wait_for(self.process.wait(), within)
        await self._reader
        return code


def _env(database_url: str, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RIGBOOK_")}
    env.update(
        RIGBOOK_ENV="production",
        RIGBOOK_JWT_SECRET="w" * 48,
        RIGBOOK_DATABASE_URL=database_url,
        RIGBOOK_WORKER_POLL_INTERVAL="0.5",
        **{f"RIGBOOK_{name.upper()}": value for name, value in settings.items()},
    )
    return env


@contextlib.asynccontextmanager
async def rigbook(database_url: str, *command: str, **settings: str) -> AsyncIterator[Process]:
    """``python -m cli <command>``; killed at the end if it still runs."""
    process = Process(
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            *command,
            cwd=ROOT,
            env=_env(database_url, **settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    )
    try:
        yield process
    finally:
        if process.process.returncode is None:
            process.signal(signal.SIGKILL)
            await process.wait(30)


async def _jobs(database: Database, kind: str) -> list[Job]:
    async with database.session(None) as session:
        return list((await session.scalars(select(Job).where(col(Job.kind) == kind))).all())


async def _probes(database: Database, seconds: float, count: int = 1) -> list[uuid.UUID]:
    now = utcnow()
    jobs = [Job(kind=PROBE_KIND, payload={"seconds": seconds}, run_at=now) for _ in range(count)]
    async with database.transaction(None) as session:
        for job in jobs:
            queue.add(session, job)
    return [job.id for job in jobs]


def previous_month(now: datetime) -> str:
    first = now.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def _pid(worker_id: str | None) -> int:
    assert worker_id is not None
    return int(worker_id.split(":")[1])


@pytest.fixture
async def shared(database_url: str) -> AsyncIterator[Database]:
    """The database the processes share (SQLite: one file; PostgreSQL: one database)."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def database(postgres_only: None, shared: Database) -> Database:
    return shared


async def _reports(database: Database, tenant_id: uuid.UUID) -> list[MonthlyReport]:
    async with database.session(tenant_id) as session:
        return list((await session.scalars(select(MonthlyReport))).all())


async def test_three_workers_run_every_job_once_and_a_slot_once(database_url: str, shared: Database) -> None:
    """On PostgreSQL the claims skip each other's locked rows; on SQLite they queue on the file.

    The month's report slot too: three workers plan it, one runs it, and the tenant
    gets last month's report once.
    """
    database = shared
    tenant = Tenant(slug="dated", name="Dated", created_at=LONG_AGO)
    async with database.transaction(tenant.id) as session:
        session.add(tenant)
    started = utcnow()
    async with contextlib.AsyncExitStack() as stack:
        workers = [
            await stack.enter_async_context(rigbook(database_url, "worker", worker_concurrency="4"))
            for _ in range(3)
        ]
        for worker in workers:
            await worker.logged("started")
        ids = set(await _probes(database, 0.02, 300))

        async def all_done() -> bool:
            return all(job.status == JobStatus.DONE for job in await _jobs(database, PROBE_KIND))

        await until(all_done, 120, "300 probes to run")

        async def reported() -> bool:
            return len(await _reports(database, tenant.id)) > 0

        await until(reported, 60, "last month's report")
        for worker in workers:
            worker.signal(signal.SIGTERM)
        assert [await worker.wait(30) for worker in workers] == [0, 0, 0]
    ended = utcnow()

    probes = await _jobs(database, PROBE_KIND)
    assert {job.id for job in probes} == ids
    assert {(job.status, job.attempts) for job in probes} == {(JobStatus.DONE, 1)}  # each claimed once
    pids = {worker.process.pid for worker in workers}
    assert {_pid(job.locked_by) for job in probes} == pids  # and all three took part

    # Every worker planned the day's housekeeping on start; one job exists per day, run once.
    slots = await _jobs(database, HOUSEKEEPING_KIND)
    days = (ended.date() - started.date()).days + 1
    assert len(slots) == days
    assert {(job.status, job.attempts) for job in slots} == {(JobStatus.DONE, 1)}
    monthly = await _jobs(database, PLAN_KIND)
    generated = await _jobs(database, GENERATE_KIND)
    assert len(monthly) == len({started.strftime("%Y-%m"), ended.strftime("%Y-%m")})
    assert {(job.status, job.attempts) for job in [*monthly, *generated]} == {(JobStatus.DONE, 1)}
    [report] = await _reports(database, tenant.id)
    assert [job.tenant_id for job in generated] == [tenant.id]
    assert report.month == previous_month(started)
    for worker in workers:
        assert not [line for line in worker.log if "ERROR" in line or "Traceback" in line], worker.log


async def test_a_killed_worker_loses_nothing(database_url: str, database: Database) -> None:
    settings = {"job_lease": "2", "worker_concurrency": "2"}
    async with rigbook(database_url, "worker", **settings) as doomed:
        await doomed.logged("started")
        ids = set(await _probes(database, 3, 2))

        async def both_running() -> bool:
            jobs = await _jobs(database, PROBE_KIND)
            return all(job.status == JobStatus.RUNNING for job in jobs)

        await until(both_running, 30, "the doomed worker to take both jobs")
        doomed.signal(signal.SIGKILL)
        assert await doomed.wait(10) == -signal.SIGKILL
    killed_at = utcnow()
    held = await _jobs(database, PROBE_KIND)
    assert {(job.status, _pid(job.locked_by)) for job in held} == {(JobStatus.RUNNING, doomed.process.pid)}

    async with rigbook(database_url, "worker", **settings) as heir:

        async def both_done() -> bool:
            return all(job.status == JobStatus.DONE for job in await _jobs(database, PROBE_KIND))

        await until(both_done, 60, "the next worker to run both jobs again")
        heir.signal(signal.SIGTERM)
        assert await heir.wait(30) == 0
    done = await _jobs(database, PROBE_KIND)
    assert {job.id for job in done} == ids
    assert {(job.attempts, _pid(job.locked_by)) for job in done} == {(2, heir.process.pid)}
    lease_end = max(job.locked_until or killed_at for job in held)
    for job in done:
        assert job.finished_at is not None
        # Not before the dead worker's lease ended, then the whole 3 s again.
        assert job.finished_at >= lease_end + timedelta(seconds=3)


async def test_sigterm_finishes_or_gives_back_running_jobs_within_the_grace(
    database_url: str, database: Database
) -> None:
    grace = 4.0
    settings = {"worker_concurrency": "2", "worker_shutdown_grace": str(grace), "job_lease": "30"}
    async with rigbook(database_url, "worker", **settings) as worker:
        await worker.logged("started")
        [short] = await _probes(database, 2)
        [long] = await _probes(database, 30)

        async def both_running() -> bool:
            return {job.status for job in await _jobs(database, PROBE_KIND)} == {JobStatus.RUNNING}

        await until(both_running, 30, "the worker to take both jobs")
        loop = asyncio.get_running_loop()
        signalled = loop.time()
        worker.signal(signal.SIGTERM)
        assert await worker.wait(grace + 10) == 0
        took = loop.time() - signalled
    assert took < grace + 5, took
    jobs = {job.id: job for job in await _jobs(database, PROBE_KIND)}
    assert jobs[short].status == JobStatus.DONE
    given_back = jobs[long]
    assert (given_back.status, given_back.attempts, given_back.locked_by) == (JobStatus.QUEUED, 0, None)
    assert any("gave back 1 unfinished jobs" in line for line in worker.log), worker.log


async def test_serve_on_sqlite_runs_jobs_and_the_probe_says_so(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"
    async with rigbook(url, "migrate") as migrate:
        assert await migrate.wait(60) == 0
    port = _free_port()
    async with rigbook(url, "serve", "--port", str(port), "--workers", "1") as server:
        await server.logged("started")  # the worker inside the server
        async with rigbook(url, "jobs", "probe", "--wait", "20") as probe:
            assert await probe.wait(30) == 0
        server.signal(signal.SIGTERM)
        assert await server.wait(60) in (0, -signal.SIGTERM)  # uvicorn ends by the signal it got
    assert any("rigbook.worker" in line and "stopped" in line for line in server.log), server.log


async def _health(env: dict[str, str]) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.healthcheck", cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    return await asyncio.wait_for(process.wait(), 30)


async def test_a_probe_names_the_worker_that_ran_it_and_its_heartbeat_says_it_lives(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    heartbeat = tmp_path / "worker.alive"
    async with rigbook(database_url, "worker", worker_heartbeat_file=str(heartbeat)) as worker:
        await worker.logged("started")
        env = _env(database_url, worker_heartbeat_file=str(heartbeat))
        assert heartbeat.exists()
        assert await _health(env) == 0
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            "jobs",
            "probe",
            "--wait",
            "20",
            cwd=ROOT,
            env=_env(database_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err
        assert f":{worker.process.pid}:" in out.decode()
        worker.signal(signal.SIGTERM)
        assert await worker.wait(30) == 0
    stale = heartbeat.stat().st_mtime - 3600
    os.utime(heartbeat, (stale, stale))  # a loop that stopped turning an hour ago
    assert await _health(env) == 1
    heartbeat.unlink()  # no heartbeat: a server container, and no server answers here
    assert await _health(env) == 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
