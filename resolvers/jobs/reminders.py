"""Pickup reminders and overdue notices, every fifteen minutes, in every tenant.

Each is a mark on the reservation whose setting announces its domain event
(``db/events.py``), from which the customer's mail follows:

* ``pickup_reminded_at``: a CONFIRMED reservation starting within the next
  ``RIGBOOK_PICKUP_REMINDER_HOURS`` (24 by default) that has had no reminder yet
  announces ``reservation.pickup_reminder`` — once.
* ``overdue_notified_at``: a CHECKED_OUT reservation whose window has ended
  announces ``reservation.overdue`` when first found, then again once a day while it
  stays out. "Once a day" allows half a slot of slack, so that a run a few seconds
  earlier than yesterday's still counts as a day later and the notice keeps its
  slot instead of moving a slot later every day.

Marks are bookkeeping of what the customer was told, not changes to the booking:
they do not bump ``version`` (a client's ``expectedVersion`` stays good) or
``updatedAt``. Moving a reservation's window clears its pickup reminder
(``resolvers/reservations.py``), so the new start is reminded of too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_
from sqlmodel import col

from db.tables import Reservation, ReservationStatus
from resolvers.jobs.registry import JobRun, handler
from resolvers.jobs.schedules import every
from resolvers.jobs.sweeps import complete, each_tenant, sweep
from resolvers.reservation_queries import overdue_condition

KIND = "reservations.remind"
PERIOD = timedelta(minutes=15)
SCHEDULE = every(KIND, PERIOD)
OVERDUE_REPEAT = timedelta(hours=24)
REPEAT_SLACK = PERIOD / 2


def pickup_due(now: datetime, hours: int) -> list[ColumnElement[bool]]:
    """CONFIRMED, not reminded yet, starting after ``now`` and within ``hours``."""
    return [
        col(Reservation.status) == ReservationStatus.CONFIRMED,
        col(Reservation.pickup_reminded_at).is_(None),
        col(Reservation.starts_at) > now,
        col(Reservation.starts_at) <= now + timedelta(hours=hours),
    ]


def overdue_due(now: datetime) -> list[ColumnElement[bool]]:
    """Overdue (CHECKED_OUT past its end), and never told so or told a day ago."""
    return [
        overdue_condition(now),
        or_(
            col(Reservation.overdue_notified_at).is_(None),
            col(Reservation.overdue_notified_at) <= now - OVERDUE_REPEAT + REPEAT_SLACK,
        ),
    ]


@handler(KIND, max_attempts=3)  # the next slot does the same work anyway
async def send_reminders(run: JobRun) -> None:
    def remind(reservation: Reservation) -> None:
        reservation.pickup_reminded_at = run.now

    def notify(reservation: Reservation) -> None:
        reservation.overdue_notified_at = run.now

    settings = run.services.settings
    batch = settings.reservation_job_batch
    async for tenant in each_tenant(run.services.database):
        await sweep(run, tenant.id, pickup_due(run.now, settings.pickup_reminder_hours), remind, batch)
        await sweep(run, tenant.id, overdue_due(run.now), notify, batch)
    await complete(run)
