"""The worker's loop: woken by commits and by PostgreSQL notifications, never losing a wake,
renewing its leases, stopping gracefully; and the worker inside ``rigbook serve``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app import create_app
from auth.services import Services
from db import queue
from db.clock import utcnow
from db.tables import Job, JobStatus
from resolvers.jobs import worker as worker_module
from resolvers.jobs.registry import JobRun
from resolvers.jobs.schedules import plan
from resolvers.jobs.upkeep import PROBE_KIND
from resolvers.jobs.worker import Worker
from settings import Settings
from tests.conftest import settings_for
from tests.databases import with_role
from tests.jobs import T0, Clock, Recorder, all_jobs, enqueue, job, until
from tests.test_job_schedules import FIVE_MINUTES

IDLE = 300.0  # seconds between polls: far longer than any test waits, so only a wake gets work done


@pytest.fixture
async def make_services(database_url: str) -> AsyncIterator[Callable[..., Services]]:
    made: list[Services] = []

    def make(url: str | None = None, **overrides: Any) -> Services:
        values: dict[str, Any] = {"worker_poll_interval": IDLE}
        values.update(overrides)
        services = Services.create(settings_for(url or database_url, **values))
        made.append(services)
        return services

    yield make
    for services in made:
        await services.database.dispose()


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Event]:
    """``worker.run`` as a task until the block ends (then stopped, gracefully)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _status(services: Services, job_id: uuid.UUID) -> str:
    return (await job(services.database, job_id)).status


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def on_claim(services: Services, action: Callable[[], None]) -> Iterator[None]:
    """Call ``action`` once, while the worker's first claim statement is in flight."""
    engine = services.database.engine.sync_engine
    done: list[bool] = []

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not done and "UPDATE job SET status" in statement:
            done.append(True)
            action()

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", after)


# -- waking --


async def test_a_commit_that_adds_jobs_wakes_the_worker_at_once(
    make_services: Callable[..., Services],
) -> None:
    services = make_services()
    recorder = Recorder()
    worker = Worker(services, clock=Clock(), handlers=recorder.handlers(), schedules=[])
    async with running(worker):
        [job_id] = await enqueue(services.database, recorder.kind)
        await until(lambda: _done(services, job_id), 10, "the job to run without a poll")
    assert recorder.runs == [(job_id, 1)]


async def _done(services: Services, job_id: uuid.UUID) -> bool:
    return await _status(services, job_id) == JobStatus.DONE


async def test_a_wake_that_comes_while_the_worker_claims_is_not_lost(
    make_services: Callable[..., Services],
) -> None:
    """A job that becomes due (or is announced) during a claim that missed it is claimed next."""
    services = make_services()
    recorder = Recorder()
    clock = Clock()
    [job_id] = await enqueue(services.database, recorder.kind, run_at=T0 + timedelta(seconds=1))

    def due_now() -> None:
        clock.advance(timedelta(seconds=1))
        queue.wake_local()  # as a notification arriving mid-claim would

    worker = Worker(services, clock=clock, handlers=recorder.handlers(), schedules=[])
    with on_claim(services, due_now):
        async with running(worker):
            await until(lambda: _done(services, job_id), 10, "the job announced mid-claim to run")


async def test_a_notification_wakes_a_worker_without_polling(
    postgres_only: None, make_services: Callable[..., Services], database_url: str
) -> None:
    services = make_services()
    recorder = Recorder()
    worker = Worker(services, clock=Clock(), handlers=recorder.handlers(), schedules=[])
    async with running(worker):
        await until(lambda: _listeners(database_url, 1), 10, "the worker to listen")
        job_id = await _insert_from_elsewhere(database_url, recorder.kind)
        await until(lambda: _done(services, job_id), 10, "a notified job to run")


async def _insert_from_elsewhere(database_url: str, kind: str) -> uuid.UUID:
    """A job committed by another process: no local wake, only PostgreSQL's notification."""
    job_id = uuid.uuid4()
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        await connection.execute(
            "INSERT INTO job (id, kind, payload, status, attempts, max_attempts, run_at, created_at) "
            "VALUES ($1, $2, '{}', 'QUEUED', 0, 3, now(), now())",
            job_id,
            kind,
        )
    finally:
        await connection.close()
    return job_id


async def _listener_pids(database_url: str) -> list[int]:
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


async def _listeners(database_url: str, count: int) -> bool:
    return len(await _listener_pids(database_url)) == count


async def test_a_worker_listens_with_the_connect_options_of_its_url(
    postgres_only: None, make_services: Callable[..., Services], database_url: str
) -> None:
    """Options in the URL (``ssl``, PgBouncer's ``prepared_statement_cache_size``) are the
    driver's, not server settings: the listening connection opens as the pool's do."""
    url = f"{database_url}?ssl=disable&prepared_statement_cache_size=0"
    services = make_services(url)
    recorder = Recorder()
    worker = Worker(services, clock=Clock(), handlers=recorder.handlers(), schedules=[])
    async with running(worker):
        await until(lambda: _listeners(database_url, 1), 10, "the worker to listen")
        job_id = await _insert_from_elsewhere(database_url, recorder.kind)
        await until(lambda: _done(services, job_id), 10, "a notified job to run")


async def test_a_worker_whose_listening_connection_dies_listens_again(
    postgres_only: None, make_services: Callable[..., Services], database_url: str
) -> None:
    services = make_services()
    recorder = Recorder()
    worker = Worker(services, clock=Clock(), handlers=recorder.handlers(), schedules=[])
    async with running(worker):
        await until(lambda: _listeners(database_url, 1), 10, "the worker to listen")
        [first] = await _listener_pids(database_url)
        admin = await asyncpg.connect(_dsn(with_role(database_url, "postgres")))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()

        async def listening_again() -> bool:
            pids = await _listener_pids(database_url)
            return len(pids) == 1 and pids[0] != first

        await until(listening_again, 10, "a new listening connection")
        job_id = await _insert_from_elsewhere(database_url, recorder.kind)
        await until(lambda: _done(services, job_id), 10, "a job notified on the new connection to run")


async def test_an_insert_that_adds_no_job_notifies_nobody(postgres_only: None, services: Services) -> None:
    """Three workers planning the same slot every few seconds must not wake every worker each time."""
    heard: list[str] = []
    sentinel = asyncio.Event()
    connection = await asyncpg.connect(_dsn(services.database.url))
    try:
        await connection.add_listener(queue.NOTIFY_CHANNEL, lambda *_args: heard.append("job"))
        await connection.add_listener("rigbook_test_done", lambda *_args: sentinel.set())
        assert await plan(services.database, T0, [FIVE_MINUTES]) == 1
        assert await plan(services.database, T0, [FIVE_MINUTES]) == 0
        async with services.database.transaction(None) as session:
            queue.add(session, Job(kind="test.record"))
        assert await plan(services.database, T0, [FIVE_MINUTES]) == 0
        other = await asyncpg.connect(_dsn(services.database.url))
        try:
            await other.execute("NOTIFY rigbook_test_done")  # delivered after the commits before it
        finally:
            await other.close()
        await asyncio.wait_for(sentinel.wait(), 10)
    finally:
        await connection.close()
    assert heard == ["job", "job"]


# -- leases and stopping --


async def test_leases_are_renewed_while_a_job_runs(make_services: Callable[..., Services]) -> None:
    services = make_services(job_lease=1)
    recorder = Recorder()
    recorder.proceed = asyncio.Event()
    clock = Clock()
    [job_id] = await enqueue(services.database, recorder.kind)
    worker = Worker(services, clock=clock, handlers=recorder.handlers(), schedules=[])
    async with running(worker):
        await asyncio.wait_for(recorder.started.wait(), 10)
        clock.advance(timedelta(minutes=10))  # far past the first lease

        async def renewed() -> bool:
            return (await job(services.database, job_id)).locked_until == clock.now + timedelta(seconds=1)

        await until(renewed, 10, "the lease to be renewed")
        assert await queue.claim(services.database, "other", 10, timedelta(seconds=1), clock.now) == []
        recorder.proceed.set()
        await until(lambda: _done(services, job_id), 10, "the job to finish")
    assert recorder.runs == [(job_id, 1)]


async def test_a_stopping_worker_lets_running_jobs_finish_within_the_grace(
    make_services: Callable[..., Services],
) -> None:
    services = make_services(worker_shutdown_grace=30)
    recorder = Recorder()
    recorder.proceed = asyncio.Event()
    [job_id] = await enqueue(services.database, recorder.kind)
    worker = Worker(services, clock=Clock(), handlers=recorder.handlers(), schedules=[])
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(recorder.started.wait(), 10)
    stop.set()
    [later] = await enqueue(services.database, recorder.kind)  # a stopping worker claims nothing new
    await asyncio.sleep(0)
    recorder.proceed.set()
    await asyncio.wait_for(task, 10)
    assert await _status(services, job_id) == JobStatus.DONE
    untouched = await job(services.database, later)
    assert (untouched.status, untouched.attempts) == (JobStatus.QUEUED, 0)


async def test_a_stopping_worker_gives_back_what_outlasts_the_grace(
    make_services: Callable[..., Services],
) -> None:
    services = make_services(worker_shutdown_grace=0)
    recorder = Recorder()
    recorder.proceed = asyncio.Event()  # never set: the job would run forever
    [job_id] = await enqueue(services.database, recorder.kind)
    worker = Worker(services, clock=Clock(), handlers=recorder.handlers(), schedules=[])
    async with running(worker):
        await asyncio.wait_for(recorder.started.wait(), 10)
    released = await job(services.database, job_id)
    assert (released.status, released.attempts, released.locked_by, released.locked_until) == (
        JobStatus.QUEUED,
        0,
        None,
        None,
    )
    # The next worker runs it at once.
    recorder.proceed.set()
    assert await Worker(services, clock=Clock(), handlers=recorder.handlers(), schedules=[]).run_due() == 1
    assert await _status(services, job_id) == JobStatus.DONE


async def test_a_job_that_ignores_its_cancellation_does_not_hold_the_exit(
    make_services: Callable[..., Services], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(worker_module, "CANCEL_WAIT", 0.2)
    services = make_services(worker_shutdown_grace=0)
    recorder = Recorder()
    stubborn_done = asyncio.Event()
    never = asyncio.Event()

    async def stubborn(_run: JobRun) -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            await stubborn_done.wait()  # goes on regardless

    recorder.work = stubborn
    [job_id] = await enqueue(services.database, recorder.kind)
    worker = Worker(services, clock=Clock(), handlers=recorder.handlers(), schedules=[])
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(recorder.started.wait(), 10)
    stop.set()
    await asyncio.wait_for(task, 10)  # returns though the job's task still runs
    given_back = await job(services.database, job_id)
    assert (given_back.status, given_back.attempts) == (JobStatus.QUEUED, 0)
    stubborn_done.set()

    async def refused() -> bool:
        return "lost its lease before it was marked done" in caplog.text

    await until(refused, 10, "the late completion to be refused")
    assert (await job(services.database, job_id)).status == JobStatus.QUEUED


async def test_a_job_that_hangs_is_failed_after_its_kinds_time_limit(
    make_services: Callable[..., Services],
) -> None:
    """A hung handler (a peer that never answers) must not hold a worker's slot, its lease renewed, for good."""
    services = make_services()
    recorder = Recorder()
    recorder.proceed = asyncio.Event()  # never set: the job would run forever
    recorder.handler = replace(recorder.handler, timeout=timedelta(seconds=0.2))
    [job_id] = await enqueue(services.database, recorder.kind)
    worker = Worker(services, clock=Clock(), handlers=recorder.handlers(), schedules=[])
    assert await asyncio.wait_for(worker.run_due(), 10) == 1
    failed = await job(services.database, job_id)
    assert (failed.status, failed.attempts, failed.locked_by) == (JobStatus.QUEUED, 1, None)
    assert failed.last_error == "TimeoutError: did not finish within 0.2 seconds"


# -- the worker in ``rigbook serve`` --


def test_where_the_worker_runs_by_default() -> None:
    def mode(**values: Any) -> bool:
        return Settings(_env_file=None, jwt_secret="j" * 40, **values).worker_inline

    postgres = "postgresql+asyncpg://rigbook@db/rigbook"
    assert mode() is True  # development on SQLite
    assert mode(env="production") is True  # production on SQLite: one process does everything
    assert mode(env="production", database_url=postgres) is False  # run `rigbook worker` beside it
    assert mode(database_url=postgres) is True
    assert mode(env="production", database_url=postgres, worker="inline") is True
    assert mode(worker="off") is False


async def test_the_app_runs_jobs_in_its_own_process(database_url: str) -> None:
    settings = settings_for(database_url, worker_poll_interval=IDLE)
    app = create_app(settings, worker=True)
    async with app.router.lifespan_context(app):
        assert app.state.worker is not None
        services: Services = app.state.services
        [job_id] = await enqueue(services.database, PROBE_KIND, run_at=utcnow(), payload={"seconds": 0})
        await until(lambda: _done(services, job_id), 10, "the inline worker to run the probe")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            assert (await client.get("/health/live")).status_code == 200
    assert app.state.worker is None  # stopped with the app


async def test_an_app_with_the_worker_off_runs_no_jobs(database_url: str) -> None:
    settings = settings_for(database_url, worker="off")
    assert settings.worker_inline is False
    app = create_app(settings)
    services: Services = app.state.services
    [job_id] = await enqueue(services.database, PROBE_KIND, run_at=utcnow(), payload={"seconds": 0})
    async with app.router.lifespan_context(app):
        assert app.state.worker is None
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            assert (await client.get("/health/live")).status_code == 200
        probe = await job(services.database, job_id)
    assert (probe.status, probe.attempts) == (JobStatus.QUEUED, 0)


async def test_an_app_given_services_runs_no_worker_unless_asked(services: Services) -> None:
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        assert app.state.worker is None
    assert await all_jobs(services.database) == []
