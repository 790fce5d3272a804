"""Schedules: where a slot begins, each slot made and run once however many workers plan it,
and finished jobs purged without letting a current slot run twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from auth.services import Services
from db import queue
from db.tables import Job, JobStatus
from resolvers.jobs.housekeeping import KIND as PURGE_KIND
from resolvers.jobs.schedules import SCHEDULES, Schedule, plan, slot_key
from resolvers.jobs.worker import Worker
from tests.jobs import Clock, Recorder, all_jobs

FIVE_MINUTES = Schedule("test.five", every=timedelta(minutes=5))
DAILY = Schedule("test.daily", every=timedelta(days=1))
MONTHLY = Schedule("test.monthly", monthly=True)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "now", "slot"),
    [
        (FIVE_MINUTES, utc(2031, 5, 1, 12, 0), utc(2031, 5, 1, 12, 0)),
        (FIVE_MINUTES, utc(2031, 5, 1, 12, 4, 59, microsecond=999_999), utc(2031, 5, 1, 12, 0)),
        (FIVE_MINUTES, utc(2031, 5, 1, 12, 5), utc(2031, 5, 1, 12, 5)),
        (FIVE_MINUTES, utc(2031, 12, 31, 23, 59, 59), utc(2031, 12, 31, 23, 55)),
        (DAILY, utc(2031, 5, 1, 0, 0), utc(2031, 5, 1)),
        (DAILY, utc(2031, 5, 1, 23, 59, 59, microsecond=999_999), utc(2031, 5, 1)),
        (DAILY, utc(2032, 2, 29, 13, 0), utc(2032, 2, 29)),
        (MONTHLY, utc(2031, 5, 1, 0, 0), utc(2031, 5, 1)),
        (MONTHLY, utc(2031, 5, 31, 23, 59, 59, microsecond=999_999), utc(2031, 5, 1)),
        (MONTHLY, utc(2031, 12, 31, 23, 59), utc(2031, 12, 1)),
        (MONTHLY, utc(2032, 1, 1, 0, 0), utc(2032, 1, 1)),
        (MONTHLY, utc(2032, 2, 29, 12, 0), utc(2032, 2, 1)),
    ],
)
def test_a_slot_is_the_start_of_the_period_now_is_in(
    schedule: Schedule, now: datetime, slot: datetime
) -> None:
    assert schedule.slot(now) == slot
    assert schedule.slot(now).tzinfo is not None


def test_slots_are_the_same_instant_whatever_the_offset_of_now() -> None:
    tokyo = timezone(timedelta(hours=9))
    # 08:30 on the 1st in Tokyo is still the last day of the previous month in UTC.
    now = datetime(2031, 6, 1, 8, 30, tzinfo=tokyo)
    assert MONTHLY.slot(now) == utc(2031, 5, 1)
    assert DAILY.slot(now) == utc(2031, 5, 31)
    assert slot_key(DAILY, DAILY.slot(now)) == slot_key(DAILY, DAILY.slot(now.astimezone(UTC)))
    assert FIVE_MINUTES.slot(datetime(2031, 6, 1, 8, 33, tzinfo=tokyo)) == utc(2031, 5, 31, 23, 30)


async def test_many_workers_planning_one_slot_make_one_job_that_runs_once(services: Services) -> None:
    recorder = Recorder("test.five")
    clock = Clock(utc(2031, 5, 1, 12, 2))
    workers = [
        Worker(services, clock=clock, handlers=recorder.handlers(), schedules=[FIVE_MINUTES])
        for _ in range(3)
    ]
    added = await asyncio.gather(*(plan(services.database, clock(), [FIVE_MINUTES]) for _ in range(6)))
    assert sum(added) == 1
    ran = await asyncio.gather(*(worker.run_due() for worker in workers))
    assert sum(ran) == 1
    [slot_job] = await all_jobs(services.database, "test.five")
    assert slot_job.unique_key == "schedule:test.five:2031-05-01T12:00:00+00:00"
    assert slot_job.run_at == utc(2031, 5, 1, 12, 0)
    assert slot_job.payload == {"slot": "2031-05-01T12:00:00+00:00"}
    assert (slot_job.status, slot_job.attempts) == (JobStatus.DONE, 1)
    assert len(recorder.runs) == 1

    clock.now = utc(2031, 5, 1, 12, 4, 59)  # the same slot: nothing new
    assert sum(await asyncio.gather(*(worker.run_due() for worker in workers))) == 0
    clock.now = utc(2031, 5, 1, 12, 5)  # the next one
    assert sum(await asyncio.gather(*(worker.run_due() for worker in workers))) == 1
    assert len(await all_jobs(services.database, "test.five")) == 2


async def test_purging_finished_jobs_never_lets_a_current_slot_run_again(services: Services) -> None:
    monthly = Recorder("test.monthly")
    daily = Recorder("test.daily")
    clock = Clock(utc(2031, 5, 2, 9, 0))
    worker = Worker(services, clock=clock, handlers=monthly.handlers(daily), schedules=[MONTHLY, DAILY])
    assert await worker.run_due() == 2
    # A week on, still in May: the purge takes everything finished before now.
    clock.now = utc(2031, 5, 9, 9, 0)
    assert await worker.run_due() == 1  # the day's slot
    await queue.purge(services.database, [JobStatus.DONE, JobStatus.DEAD], clock.now)
    assert await worker.run_due() == 0
    assert len(monthly.runs) == 1
    assert len(daily.runs) == 2
    kept = await all_jobs(services.database)
    assert {job.unique_key for job in kept} == {
        "schedule:test.monthly:2031-05-01T00:00:00+00:00",
        "schedule:test.daily:2031-05-09T00:00:00+00:00",
    }
    # A later slot frees the earlier one: June's job replaces May's.
    clock.now = utc(2031, 6, 1, 0, 5)
    assert await worker.run_due() == 2
    await queue.purge(services.database, [JobStatus.DONE], clock.now + timedelta(seconds=1))
    assert {job.unique_key for job in await all_jobs(services.database)} == {
        "schedule:test.monthly:2031-06-01T00:00:00+00:00",
        "schedule:test.daily:2031-06-01T00:00:00+00:00",
    }


async def test_purge_deletes_only_finished_jobs_finished_before_the_cut(services: Services) -> None:
    clock = Clock()
    database = services.database
    recorder = Recorder(max_attempts=1)
    recorder.failures = 1  # the first of three dies at once
    async with database.transaction(None) as session:
        for _ in range(3):
            queue.add(session, Job(kind=recorder.kind, run_at=clock.now))
        queue.add(session, Job(kind=recorder.kind, run_at=clock.now + timedelta(days=30)))
    worker = Worker(services, clock=clock, handlers=recorder.handlers(), schedules=[])
    assert await worker.run_due() == 3
    statuses = sorted(job.status for job in await all_jobs(database))
    assert statuses == [JobStatus.DEAD, JobStatus.DONE, JobStatus.DONE, JobStatus.QUEUED]
    assert await queue.purge(database, [JobStatus.DONE], clock.now) == 0  # finished at, not before
    assert await queue.purge(database, [JobStatus.DONE], clock.now + timedelta(seconds=1)) == 2
    assert (
        await queue.purge(database, [JobStatus.QUEUED, JobStatus.RUNNING], clock.now + timedelta(days=99))
        == 0
    )
    assert await queue.purge(database, [JobStatus.DEAD], clock.now + timedelta(seconds=1)) == 1
    assert [job.status for job in await all_jobs(database)] == [JobStatus.QUEUED]


async def test_purge_works_through_many_jobs_in_batches(services: Services) -> None:
    clock = Clock()
    database = services.database
    async with database.transaction(None) as session:
        for _ in range(23):
            queue.add(session, Job(kind="test.record", status=JobStatus.DONE, finished_at=clock.now))
    assert await queue.purge(database, [JobStatus.DONE], clock.now + timedelta(seconds=1), batch=10) == 23
    assert await all_jobs(database) == []


async def test_housekeeping_purges_the_queue_once_a_day(services: Services) -> None:
    """The daily ``housekeeping`` schedule keeps ``RIGBOOK_RETENTION_DAYS_JOBS`` of done jobs
    and ``RIGBOOK_RETENTION_DAYS_DEAD_JOBS`` of dead ones."""
    settings = services.settings
    assert any(schedule.kind == PURGE_KIND for schedule in SCHEDULES)
    [purge] = [schedule for schedule in SCHEDULES if schedule.kind == PURGE_KIND]
    assert purge.every == timedelta(days=1)
    clock = Clock(utc(2031, 5, 20, 3, 0))
    database = services.database
    done_days, dead_days = settings.retention_days_jobs, settings.retention_days_dead_jobs
    async with database.transaction(None) as session:
        for status, age in [
            (JobStatus.DONE, done_days + 1),
            (JobStatus.DONE, done_days - 1),
            (JobStatus.DEAD, done_days + 1),
            (JobStatus.DEAD, dead_days + 1),
        ]:
            queue.add(
                session,
                Job(
                    kind="test.record",
                    status=status,
                    finished_at=clock.now - timedelta(days=age),
                    unique_key=f"{status}{age}",
                ),
            )
    worker = Worker(services, clock=clock, schedules=[purge])
    assert await worker.run_due() == 1
    left = {job.unique_key for job in await all_jobs(database) if job.kind == "test.record"}
    assert left == {f"DONE{done_days - 1}", f"DEAD{done_days + 1}"}
    [ran] = await all_jobs(database, PURGE_KIND)
    assert (ran.status, ran.attempts) == (JobStatus.DONE, 1)
