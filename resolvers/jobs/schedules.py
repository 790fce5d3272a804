"""Periodic jobs: each slot of a schedule runs exactly once, however many workers there are.

A slot is a period's start (every five minutes, every day, every month). Each
worker, now and then, adds the current slot's job of every schedule with the slot
in its ``unique_key`` (``db/queue.add_once``): the first insert wins and the others
do nothing, so three workers create one job, and the queue then hands it to one of
them. A slot missed while no worker ran is not made up, except that the current
slot of a monthly schedule lasts the whole month. Slots are UTC periods; a slot's
job is due at the slot's start, and purging finished jobs keeps each schedule's
latest slot (``db/queue.purge``), so a period's slot is made once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from db.database import Database
from db.queue import SCHEDULE_KEY_PREFIX, add_once
from db.tables.job import Job

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """A job of ``kind`` at the start of every ``every`` (from 2000-01-01 UTC), or monthly."""

    kind: str
    every: timedelta | None = None
    monthly: bool = False

    def slot(self, now: datetime) -> datetime:
        """The start of the period ``now`` falls in."""
        if self.monthly:
            return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if self.every is None:
            raise ValueError(f"schedule {self.kind!r} has no period")
        periods = (now - EPOCH) // self.every
        return EPOCH + self.every * periods


SCHEDULES: list[Schedule] = []


def every(kind: str, period: timedelta) -> Schedule:
    """Run ``kind`` once per ``period``."""
    found = Schedule(kind, every=period)
    SCHEDULES.append(found)
    return found


def monthly(kind: str) -> Schedule:
    """Run ``kind`` once per calendar month (UTC), as early in it as a worker runs."""
    found = Schedule(kind, monthly=True)
    SCHEDULES.append(found)
    return found


def slot_key(schedule: Schedule, slot: datetime) -> str:
    return f"{SCHEDULE_KEY_PREFIX}{schedule.kind}:{slot.isoformat()}"


async def plan(database: Database, now: datetime, schedules: list[Schedule] | None = None) -> int:
    """Add the current slot's job of every schedule that has none; returns how many were added."""
    planned = SCHEDULES if schedules is None else schedules
    if not planned:
        return 0
    added = 0
    async with database.transaction(None) as session:
        for schedule in planned:
            slot = schedule.slot(now)
            job = Job(
                kind=schedule.kind,
                unique_key=slot_key(schedule, slot),
                run_at=slot,
                payload={"slot": slot.isoformat()},
            )
            added += await add_once(session, job)
    return added
