"""Requests nobody answered in time become EXPIRED, every five minutes, in every tenant.

A customer's request (REQUESTED) waits for staff for its tenant's
``requestExpiryHours`` (``resolvers/tenant_settings.py``, 72 h by default), counted
from when it was made, and never past the start of its window: then it is EXPIRED.
It held no stock as a request and holds none now. The change goes through the unit
of work as a compare-and-swap (status checked under the row lock, version bumped),
so the audit trail records the system as the actor, and the status change announces
``reservation.expired`` (``db/events.py``), from which the customer hears of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_
from sqlmodel import col

from db.tables import Reservation, ReservationStatus
from resolvers.jobs.registry import JobRun, handler
from resolvers.jobs.schedules import every
from resolvers.jobs.sweeps import complete, each_tenant, sweep
from resolvers.tenant_settings import request_expiry_hours

KIND = "reservations.expire"
SCHEDULE = every(KIND, timedelta(minutes=5))


def unanswered(now: datetime, hours: int) -> list[ColumnElement[bool]]:
    """Requests made ``hours`` or more before ``now``, or whose window has begun."""
    return [
        col(Reservation.status) == ReservationStatus.REQUESTED,
        or_(
            col(Reservation.created_at) <= now - timedelta(hours=hours),
            col(Reservation.starts_at) <= now,
        ),
    ]


@handler(KIND, max_attempts=3)  # the next slot does the same work anyway
async def expire_requests(run: JobRun) -> None:
    def expire(reservation: Reservation) -> None:
        reservation.status = ReservationStatus.EXPIRED
        reservation.version += 1
        reservation.updated_at = run.now

    batch = run.services.settings.reservation_job_batch
    async for tenant in each_tenant(run.services.database):
        await sweep(run, tenant.id, unanswered(run.now, request_expiry_hours(tenant.settings)), expire, batch)
    await complete(run)
