"""``rigbook jobs``: list, retry, purge and probe, with their bounds, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest

from cli import main
from db.clock import utcnow
from db.database import Database
from db.tables import Job, JobStatus

T = TypeVar("T")


@pytest.fixture
def jobs_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("RIGBOOK_ENV", "RIGBOOK_WORKER", "RIGBOOK_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RIGBOOK_DATABASE_URL", database_url)
    return database_url


def on_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        database = Database(url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


def seed(url: str) -> dict[str, uuid.UUID]:
    now = utcnow()
    jobs = {
        "queued": Job(kind="mail.send", run_at=now),
        "running": Job(
            kind="webhook.deliver",
            status=JobStatus.RUNNING,
            attempts=1,
            locked_by="host:42:abcd",
            locked_until=now + timedelta(minutes=1),
        ),
        "dead": Job(
            kind="mail.send",
            status=JobStatus.DEAD,
            attempts=10,
            last_error="SMTPRecipientsRefused: mailbox unavailable",
            finished_at=now - timedelta(days=10),
        ),
        "done": Job(kind="event", status=JobStatus.DONE, attempts=1, finished_at=now - timedelta(days=10)),
        "done_recently": Job(kind="event", status=JobStatus.DONE, attempts=1, finished_at=now),
    }

    async def write(database: Database) -> None:
        async with database.transaction(None) as session:
            session.add_all(jobs.values())

    on_database(url, write)
    return {name: job.id for name, job in jobs.items()}


def statuses(url: str) -> dict[uuid.UUID, tuple[str, int]]:
    async def read(database: Database) -> dict[uuid.UUID, tuple[str, int]]:
        from sqlmodel import select

        async with database.session(None) as session:
            return {job.id: (job.status, job.attempts) for job in (await session.scalars(select(Job))).all()}

    return on_database(url, read)


def test_list_shows_the_newest_jobs_who_holds_them_and_the_totals(
    jobs_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(jobs_env)
    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 6
    assert out[-1] == "DEAD: 1  DONE: 2  QUEUED: 1  RUNNING: 1"
    [running] = [row for row in out if str(ids["running"]) in row]
    assert "RUNNING" in running and "by=host:42:abcd" in running and "until=" in running
    [dead] = [row for row in out if str(ids["dead"]) in row]
    assert "10/10" in dead and "SMTPRecipientsRefused: mailbox unavailable" in dead

    assert main(["jobs", "list", "--status", "dead"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2 and str(ids["dead"]) in rows[0]
    assert main(["jobs", "list", "--kind", "event", "--limit", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "many"])
def test_list_refuses_a_limit_out_of_bounds(
    jobs_env: str, limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["jobs", "list", "--limit", limit])
    assert exit_.value.code == 2
    assert "--limit" in capsys.readouterr().err


def test_retry_brings_dead_jobs_back(jobs_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    ids = seed(jobs_env)
    assert main(["jobs", "retry"]) == 2
    assert "--dead" in capsys.readouterr().err
    assert main(["jobs", "retry", "not-a-uuid"]) == 2
    assert main(["jobs", "retry", str(ids["queued"])]) == 0  # not dead: untouched
    assert "0 jobs queued again" in capsys.readouterr().out
    assert main(["jobs", "retry", str(ids["dead"])]) == 0
    assert "1 jobs queued again" in capsys.readouterr().out
    assert statuses(jobs_env)[ids["dead"]] == (JobStatus.QUEUED, 0)


def test_retry_dead_brings_every_dead_job_back(jobs_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    ids = seed(jobs_env)
    assert main(["jobs", "retry", "--dead"]) == 0
    assert "1 jobs queued again" in capsys.readouterr().out
    assert statuses(jobs_env)[ids["dead"]] == (JobStatus.QUEUED, 0)


def test_purge_deletes_finished_jobs_older_than_asked(
    jobs_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(jobs_env)
    assert main(["jobs", "purge", "--status", "running"]) == 2
    assert "only finished jobs" in capsys.readouterr().err
    assert main(["jobs", "purge", "--status", "done"]) == 0
    assert "1 jobs purged" in capsys.readouterr().out
    assert set(statuses(jobs_env)) == {ids[name] for name in ("queued", "running", "dead", "done_recently")}
    assert main(["jobs", "purge", "--older-than-days", "0"]) == 0
    assert "2 jobs purged" in capsys.readouterr().out
    assert set(statuses(jobs_env)) == {ids["queued"], ids["running"]}


@pytest.mark.parametrize("days", ["-1", "nan", "1e9"])
def test_purge_refuses_an_age_out_of_bounds(jobs_env: str, days: str) -> None:
    with pytest.raises(SystemExit):
        main(["jobs", "purge", "--older-than-days", days])


def test_a_probe_no_worker_runs_fails_and_is_withdrawn(
    jobs_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "probe", "--wait", "0.3"]) == 1
    assert "no worker ran probe" in capsys.readouterr().err
    assert statuses(jobs_env) == {}


@pytest.mark.parametrize("argument", [["--seconds", "31"], ["--seconds", "-1"], ["--wait", "0"]])
def test_a_probe_out_of_bounds_is_refused(jobs_env: str, argument: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(["jobs", "probe", *argument])
