"""The job queue's semantics on both databases: jobs commit with their change or not at all,
claims are disjoint under leases, failures back off and die, a lapsed claim cannot finish."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlmodel import col

from auth.services import Services
from db import queue
from db.audit import ACTOR_INFO_KEY, Actor
from db.events import EVENT_JOB
from db.tables import AuditEvent, Equipment, Job, JobStatus, Tracking
from resolvers.jobs.registry import JobRun, LeaseLost
from resolvers.jobs.worker import Worker
from tests.api import Api, TenantUsers
from tests.booking import line, reserve
from tests.jobs import T0, Clock, Recorder, all_jobs, enqueue, job

LEASE = timedelta(seconds=60)


async def _count(services: Services, table: Any, tenant_id: uuid.UUID | None = None) -> int:
    async with services.database.session(tenant_id) as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def _event_jobs(services: Services) -> list[Job]:
    return await all_jobs(services.database, EVENT_JOB)


# -- jobs commit with the change that asks for them --


async def test_a_rolled_back_transaction_leaves_no_job(services: Services) -> None:
    async def change_of_mind() -> None:
        async with services.database.transaction(None) as session:
            queue.add(session, Job(kind="test.record"))
            await session.flush()
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        await change_of_mind()
    assert await all_jobs(services.database) == []


async def test_a_change_rolled_back_after_its_flush_announces_nothing(
    services: Services, esr: TenantUsers
) -> None:
    tenant_id = esr.tenant.id
    before = await _count(services, AuditEvent, tenant_id)

    async def change_then_fail() -> None:
        async with services.database.transaction(tenant_id) as session:
            session.info[ACTOR_INFO_KEY] = Actor(esr.admin.id, "user", "req-1")
            session.add(
                Equipment(tenant_id=tenant_id, name="Hazer", code="HZ-1", quantity=2, tracking=Tracking.BULK)
            )
            await session.flush()  # the audit entry and its event job are written here
            assert await session.scalar(select(func.count()).select_from(Job)) == 1
            raise RuntimeError("after the change")

    with pytest.raises(RuntimeError):
        await change_then_fail()
    assert await _count(services, AuditEvent, tenant_id) == before
    assert await _event_jobs(services) == []


async def test_a_committed_change_queues_one_event_job_and_a_failed_one_none(
    api: Api, services: Services, staff_token: str, wall: dict[str, Any], esr: TenantUsers
) -> None:
    tenant_id = esr.tenant.id
    jobs_before = len(await _event_jobs(services))  # the wall's creation announced itself
    events_before = await _count(services, AuditEvent, tenant_id)

    refused = await reserve(api, staff_token, [line(wall, 7)])  # only 6 walls
    assert refused["__typename"] == "ConflictError"
    assert await _count(services, AuditEvent, tenant_id) == events_before
    assert len(await _event_jobs(services)) == jobs_before

    made = await reserve(api, staff_token, [line(wall, 2)])
    assert made["__typename"] == "CreateReservationSuccess"
    jobs = (await _event_jobs(services))[jobs_before:]
    assert len(jobs) == 1  # the reservation's lines announce nothing of their own
    async with services.database.session(tenant_id) as session:
        entry = await session.get(AuditEvent, (tenant_id, uuid.UUID(jobs[0].payload["audit_event_id"])))
    assert entry is not None
    assert entry.event == "reservation.created"
    assert jobs[0].tenant_id == tenant_id
    assert jobs[0].status == JobStatus.QUEUED


async def test_two_racing_bookings_with_one_key_announce_one_reservation(
    api: Api, services: Services, staff_token: str, wall: dict[str, Any]
) -> None:
    jobs_before = len(await _event_jobs(services))
    results = await asyncio.gather(
        *(reserve(api, staff_token, [line(wall)], idempotencyKey="once") for _ in range(4))
    )
    assert len({result["reservation"]["id"] for result in results}) == 1
    assert len(await _event_jobs(services)) == jobs_before + 1


async def test_the_event_job_runs_and_completes(
    api: Api, services: Services, staff_token: str, wall: dict[str, Any]
) -> None:
    await reserve(api, staff_token, [line(wall, 2)])
    ran = await Worker(services, schedules=[]).run_due()
    assert ran == len(await _event_jobs(services)) >= 2
    assert {(found.status, found.attempts) for found in await _event_jobs(services)} == {(JobStatus.DONE, 1)}


# -- claiming, finishing, failing --


async def test_a_claim_takes_due_jobs_oldest_first_and_finish_marks_them_done(services: Services) -> None:
    database = services.database
    later = await enqueue(database, "test.record", run_at=T0 + timedelta(minutes=1))
    early = await enqueue(database, "test.record", 2, run_at=T0)
    claimed = await queue.claim(database, "w1", 10, LEASE, T0)
    assert {each.id for each in claimed} == set(early)  # the later one is not due yet
    assert {each.attempts for each in claimed} == {1}
    running = await job(database, early[0])
    assert (running.status, running.locked_by, running.locked_until) == (JobStatus.RUNNING, "w1", T0 + LEASE)
    assert await queue.claim(database, "w2", 10, LEASE, T0) == []  # held under the lease

    assert await queue.finish(database, claimed[0], T0) is True
    done = await job(database, claimed[0].id)
    assert (done.status, done.finished_at, done.locked_until) == (JobStatus.DONE, T0, None)
    assert await queue.finish(database, claimed[0], T0) is False  # only once

    [then] = await queue.claim(database, "w1", 10, LEASE, T0 + timedelta(minutes=1))
    assert then.id == later[0]


async def test_a_claim_takes_only_the_kinds_asked_for(services: Services) -> None:
    database = services.database
    [known] = await enqueue(database, "test.known")
    [unknown] = await enqueue(database, "test.unknown")
    claimed = await queue.claim(database, "w1", 10, LEASE, T0, kinds=["test.known"])
    assert [each.id for each in claimed] == [known]
    assert (await job(database, unknown)).status == JobStatus.QUEUED


async def test_a_worker_leaves_kinds_it_does_not_know_to_workers_that_do(services: Services) -> None:
    """A worker of an older release must not bury the jobs of a kind only newer ones know."""
    recorder = Recorder()
    [mine] = await enqueue(services.database, recorder.kind)
    [newer] = await enqueue(services.database, "test.added_in_a_later_release")
    clock = Clock()
    assert await Worker(services, clock=clock, handlers=recorder.handlers(), schedules=[]).run_due() == 1
    assert recorder.runs == [(mine, 1)]
    untouched = await job(services.database, newer)
    assert (untouched.status, untouched.attempts, untouched.last_error) == (JobStatus.QUEUED, 0, None)


async def test_failures_back_off_with_jitter_then_the_job_is_dead(services: Services) -> None:
    database = services.database
    backoff = queue.Backoff(base=timedelta(seconds=10), cap=timedelta(seconds=30))
    recorder = Recorder(max_attempts=4, backoff=backoff)
    recorder.failures = 100
    [job_id] = await enqueue(database, recorder.kind)
    clock = Clock()
    worker = Worker(services, clock=clock, handlers=recorder.handlers(), schedules=[])
    for attempt in (1, 2, 3):
        assert await worker.run_due() == 1
        failed = await job(database, job_id)
        assert (failed.status, failed.attempts) == (JobStatus.QUEUED, attempt)
        assert failed.last_error == "RuntimeError: the test said so"
        assert failed.locked_by is None
        full = min(backoff.base * 2 ** (attempt - 1), backoff.cap)
        assert full / 2 <= failed.run_at - clock.now <= full
        assert await worker.run_due() == 0  # not before the back-off
        clock.now = failed.run_at
    assert await worker.run_due() == 1
    dead = await job(database, job_id)
    assert (dead.status, dead.attempts, dead.finished_at) == (JobStatus.DEAD, 4, clock.now)
    clock.advance(timedelta(days=1))
    assert await worker.run_due() == 0  # dead stays dead
    assert [attempt for _id, attempt in recorder.runs] == [1, 2, 3, 4]

    assert await queue.retry(database, [job_id], clock.now) == 1
    again = await job(database, job_id)
    assert (again.status, again.attempts, again.run_at) == (JobStatus.QUEUED, 0, clock.now)
    assert await queue.retry(database, [job_id], clock.now) == 0  # only dead jobs
    recorder.failures = 0
    assert await worker.run_due() == 1
    assert (await job(database, job_id)).status == JobStatus.DONE


def test_the_backoff_doubles_within_its_jitter_up_to_its_cap() -> None:
    backoff = queue.Backoff(base=timedelta(seconds=10), cap=timedelta(hours=1))
    for attempts, full in [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (1000, 3600)]:
        delays = [backoff.after(attempts).total_seconds() for _ in range(200)]
        assert all(full / 2 <= delay <= full for delay in delays), (attempts, min(delays), max(delays))
        assert max(delays) - min(delays) > full / 10  # jittered, not one fixed delay
    assert backoff.after(3, jitter=1.0) == timedelta(seconds=40)
    assert backoff.after(3, jitter=0.5) == timedelta(seconds=20)
    # Long bases and many attempts stay within the cap instead of overflowing timedelta.
    assert queue.Backoff(base=timedelta(days=1), cap=timedelta(days=2)).after(60, 1.0) == timedelta(days=2)


async def test_a_job_whose_last_attempt_never_ended_is_dead(services: Services) -> None:
    database = services.database
    recorder = Recorder(max_attempts=2)
    [job_id] = await enqueue(database, recorder.kind)
    for attempt in (1, 2):  # two workers die mid-job, one after the other
        [claimed] = await queue.claim(database, f"died-{attempt}", 1, LEASE, T0 + 2 * LEASE * attempt)
        assert claimed.attempts == attempt
    clock = Clock(T0 + 10 * LEASE)
    assert await Worker(services, clock=clock, handlers=recorder.handlers(), schedules=[]).run_due() == 1
    dead = await job(database, job_id)
    assert (dead.status, dead.attempts) == (JobStatus.DEAD, 3)
    assert dead.last_error == "its last attempt never ended"
    assert recorder.runs == []


# -- leases --


async def test_a_lapsed_lease_lets_another_worker_run_the_job_and_refuses_the_first(
    services: Services, esr: TenantUsers
) -> None:
    database = services.database
    [job_id] = await enqueue(database, "test.record", tenant_id=esr.tenant.id)
    [first] = await queue.claim(database, "w1", 1, LEASE, T0)
    assert await queue.claim(database, "w2", 1, LEASE, T0 + LEASE) == []  # the lease ends after, not at
    later = T0 + LEASE + timedelta(seconds=1)
    [second] = await queue.claim(database, "w2", 1, LEASE, later)
    assert (second.id, second.attempts, second.worker_id) == (job_id, 2, "w2")

    # The first worker wakes up and tries to report: every write of its claim is refused.
    assert await queue.finish(database, first, later) is False
    assert await queue.fail(database, first, "late", later, queue.Backoff()) is None
    await queue.extend(database, [first], LEASE, later)
    await queue.release(database, [first])
    # Its transactional work is rolled back with the completion it could not make.
    run = JobRun(services, first, later)
    with pytest.raises(LeaseLost):
        async with run.transaction(esr.tenant.id) as session:
            session.add(
                Equipment(
                    tenant_id=esr.tenant.id, name="Late", code="LATE", quantity=1, tracking=Tracking.BULK
                )
            )
    assert not run.finished
    async with database.session(esr.tenant.id) as session:
        assert (await session.scalars(select(Equipment).where(col(Equipment.code) == "LATE"))).first() is None

    still = await job(database, job_id)
    assert (still.status, still.locked_by, still.attempts, still.locked_until) == (
        JobStatus.RUNNING,
        "w2",
        2,
        later + LEASE,
    )
    run = JobRun(services, second, later)
    async with run.transaction(esr.tenant.id) as session:
        session.add(
            Equipment(
                tenant_id=esr.tenant.id, name="On time", code="ON-TIME", quantity=1, tracking=Tracking.BULK
            )
        )
    assert run.finished
    assert (await job(database, job_id)).status == JobStatus.DONE


async def test_extend_keeps_the_claim_and_release_gives_it_back_unrun(services: Services) -> None:
    database = services.database
    [job_id] = await enqueue(database, "test.record")
    [claimed] = await queue.claim(database, "w1", 1, LEASE, T0)
    await queue.extend(database, [claimed], LEASE, T0 + LEASE)
    assert await queue.claim(database, "w2", 1, LEASE, T0 + LEASE + timedelta(seconds=1)) == []
    await queue.release(database, [claimed])
    released = await job(database, job_id)
    assert (released.status, released.attempts, released.locked_by, released.locked_until) == (
        JobStatus.QUEUED,
        0,
        None,
        None,
    )
    [again] = await queue.claim(database, "w2", 1, LEASE, T0 + LEASE)
    assert again.attempts == 1


# -- many claimers at once --


async def test_parallel_claims_are_disjoint_and_cover_every_job(services: Services) -> None:
    database = services.database
    ids = await enqueue(database, "test.record", 200)
    claims: dict[str, list[uuid.UUID]] = {}

    async def claimer(name: str) -> None:
        taken = claims.setdefault(name, [])
        while batch := await queue.claim(database, name, 7, LEASE, T0):
            assert len(batch) <= 7
            taken.extend(each.id for each in batch)

    await asyncio.gather(*(claimer(f"w{number}") for number in range(8)))
    everything = [job_id for taken in claims.values() for job_id in taken]
    assert len(everything) == len(set(everything)) == 200
    assert set(everything) == set(ids)
    jobs = await all_jobs(database)
    assert {(found.status, found.attempts) for found in jobs} == {(JobStatus.RUNNING, 1)}
    assert all(found.id in claims[found.locked_by or ""] for found in jobs)


async def test_claims_held_open_at_once_are_disjoint(services: Services) -> None:
    """Five claims in flight together: on PostgreSQL each skips the rows the others hold
    (``SKIP LOCKED``, no waiting); on SQLite they queue on ``BEGIN IMMEDIATE``."""
    database = services.database
    await enqueue(database, "test.record", 200)
    taken: list[set[uuid.UUID]] = []
    both_open = asyncio.Barrier(5) if not database.is_sqlite else None

    async def claimer(name: str) -> None:
        async with database.transaction(None) as session:
            rows = (await session.execute(queue.claim_statement(name, 40, LEASE, T0))).all()
            taken.append({row.id for row in rows})
            if both_open is not None:
                await asyncio.wait_for(both_open.wait(), 20)  # every claim is still uncommitted

    await asyncio.gather(*(claimer(f"w{number}") for number in range(5)))
    assert [len(batch) for batch in taken] == [40] * 5
    assert len(set().union(*taken)) == 200


# -- bounds --


async def test_the_error_kept_is_bounded_and_names_no_secrets(services: Services) -> None:
    recorder = Recorder(max_attempts=5)

    async def leaky(run: JobRun) -> None:
        if run.job.attempts == 1:
            raise RuntimeError("cannot reach postgresql://rigbook:hunter2@db.internal:5432/rigbook\r\nx" * 50)
        async with run.services.database.transaction(None) as session:
            await session.execute(
                text("INSERT INTO job (id, kind) VALUES (:id, :kind)"), {"id": 1, "kind": "s3cret-token"}
            )

    recorder.work = leaky
    [job_id] = await enqueue(services.database, recorder.kind)
    clock = Clock()
    worker = Worker(services, clock=clock, handlers=recorder.handlers(), schedules=[])
    await worker.run_due()
    first = await job(services.database, job_id)
    assert first.last_error is not None
    assert len(first.last_error) <= queue.ERROR_KEPT
    assert "hunter2" not in first.last_error
    assert "postgresql://rigbook:***@db.internal" in first.last_error
    assert "\r" not in first.last_error and "\n" not in first.last_error
    clock.now = first.run_at
    await worker.run_due()
    second = await job(services.database, job_id)
    assert second.attempts == 2
    assert second.last_error is not None
    assert "s3cret-token" not in second.last_error  # SQL parameters are not kept
    assert second.last_error.startswith(
        ("IntegrityError", "DBAPIError", "StatementError", "ProgrammingError")
    )


async def test_a_payload_past_its_bound_is_refused(services: Services) -> None:
    with pytest.raises(ValueError, match="payload"):
        async with services.database.transaction(None) as session:
            queue.add(session, Job(kind="test.record", payload={"text": "x" * (queue.MAX_PAYLOAD_BYTES + 1)}))
    assert await all_jobs(services.database) == []
    with pytest.raises(ValueError, match="payload"):
        async with services.database.transaction(None) as session:
            session.add(Job(kind="test.record", payload={"text": "x" * (queue.MAX_PAYLOAD_BYTES + 1)}))
    with pytest.raises(ValueError, match="payload"):
        async with services.database.transaction(None) as session:
            await queue.add_once(
                session, Job(kind="test.record", unique_key="k", payload={"x": "y" * queue.MAX_PAYLOAD_BYTES})
            )
    assert await all_jobs(services.database) == []


async def test_listing_is_bounded(services: Services) -> None:
    await enqueue(services.database, "test.record", 5)
    assert len(await queue.listing(services.database, None, None, 3)) == 3
    with pytest.raises(ValueError, match="limit"):
        await queue.listing(services.database, None, None, queue.MAX_LISTED + 1)
    with pytest.raises(ValueError, match="limit"):
        await queue.listing(services.database, None, None, -1)
