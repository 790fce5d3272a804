"""Housekeeping: deleting rows whose work is over, in short bounded batches.

What goes, each counted from when it ended (``RIGBOOK_RETENTION_DAYS_*``):

* refresh tokens and sign-in sessions (of users and of operators) past their expiry
  or revocation plus ``retention_days_sessions``; a token that was used but has not
  expired stays, as reuse detection needs it until then;
* password-reset tokens used or expired ``retention_days_password_resets`` ago;
* design share links expired or revoked ``retention_days_shares`` ago;
* sign-in throttle slots older than the longest throttle window (they count for nothing);
* outbox mail sent, expired, dropped or given up ``retention_days_mail`` ago;
* webhook deliveries delivered or failed, made ``retention_days_webhook_deliveries``
  ago (each holds its payload; one still being tried stays);
* DONE jobs after ``retention_days_jobs``, DEAD ones after ``retention_days_dead_jobs``
  (each schedule's latest slot stays, ``db/queue.purge``).

The audit trail is append-only and never purged, and neither are monthly reports.

Each statement deletes at most ``housekeeping_batch_size`` rows in its own short
transaction, and a run stops after ``housekeeping_max_batches`` batches of a table
(per tenant for tenant-owned ones): what is left waits for the next run. Tenant-owned
tables are behind row-level security on PostgreSQL, so they are purged tenant by
tenant, each in a transaction scoped to that tenant; platform tables in one scope.
Deletes are bulk statements outside the unit of work: nothing is audited, as nothing
a user did changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlmodel import col

from auth.services import Budgets
from db import queue
from db.database import Database
from db.scoped import in_tenant
from db.tables import (
    DeliveryStatus,
    DesignShare,
    JobStatus,
    LoginFailure,
    OperatorRefreshToken,
    OperatorSignInSession,
    OutboxEmail,
    PasswordReset,
    RefreshToken,
    SignInSession,
    WebhookDelivery,
)
from db.tenant_pages import each_tenant
from resolvers.mail_delivery import MAX_ATTEMPTS
from settings import Settings

Condition = Callable[["Retention", datetime], ColumnElement[bool]]


@dataclass(frozen=True)
class Retention:
    """How long each kind of finished row is kept, and how much one run deletes."""

    sessions: timedelta
    password_resets: timedelta
    shares: timedelta
    mail: timedelta
    webhook_deliveries: timedelta
    jobs_done: timedelta
    jobs_dead: timedelta
    login_failures: timedelta
    batch_size: int
    max_batches: int

    @classmethod
    def of(cls, settings: Settings) -> Retention:
        return cls(
            sessions=timedelta(days=settings.retention_days_sessions),
            password_resets=timedelta(days=settings.retention_days_password_resets),
            shares=timedelta(days=settings.retention_days_shares),
            mail=timedelta(days=settings.retention_days_mail),
            webhook_deliveries=timedelta(days=settings.retention_days_webhook_deliveries),
            jobs_done=timedelta(days=settings.retention_days_jobs),
            jobs_dead=timedelta(days=settings.retention_days_dead_jobs),
            # A slot older than every window counts against no budget any more.
            login_failures=timedelta(seconds=Budgets.from_settings(settings).longest_window),
            batch_size=settings.housekeeping_batch_size,
            max_batches=settings.housekeeping_max_batches,
        )


def _ended(model: type[Any], ends: tuple[str, ...], before: datetime) -> ColumnElement[bool]:
    """Any of the ``ends`` columns of ``model`` lies before ``before``."""
    return or_(*(col(getattr(model, name)) < before for name in ends))


TENANT_PURGES: dict[str, tuple[type[Any], Condition]] = {
    "refresh_token": (
        RefreshToken,
        lambda keep, now: _ended(RefreshToken, ("expires_at", "revoked_at"), now - keep.sessions),
    ),
    "sign_in_session": (
        SignInSession,
        lambda keep, now: _ended(SignInSession, ("expires_at", "revoked_at"), now - keep.sessions),
    ),
    "password_reset": (
        PasswordReset,
        lambda keep, now: _ended(PasswordReset, ("expires_at", "used_at"), now - keep.password_resets),
    ),
    "design_share": (
        DesignShare,
        lambda keep, now: _ended(DesignShare, ("expires_at", "revoked_at"), now - keep.shares),
    ),
    "webhook_delivery": (
        WebhookDelivery,
        # Made over the retention ago: a delivery ends within about a day and a half of it.
        lambda keep, now: and_(
            col(WebhookDelivery.status) != DeliveryStatus.PENDING,
            col(WebhookDelivery.created_at) < now - keep.webhook_deliveries,
        ),
    ),
}
"""Tenant-owned tables: purged tenant by tenant."""


def _spent_mail(keep: Retention, now: datetime) -> ColumnElement[bool]:
    before = now - keep.mail
    unsent = col(OutboxEmail.sent_at).is_(None)
    return or_(
        col(OutboxEmail.sent_at) < before,
        and_(unsent, col(OutboxEmail.expires_at) < before),
        # Dropped (its body would not open) or given up after the last attempt.
        and_(
            unsent,
            col(OutboxEmail.created_at) < before,
            or_(col(OutboxEmail.body) == "", col(OutboxEmail.attempts) >= MAX_ATTEMPTS),
        ),
    )


PLATFORM_PURGES: dict[str, tuple[type[Any], Condition]] = {
    "operator_refresh_token": (
        OperatorRefreshToken,
        lambda keep, now: _ended(OperatorRefreshToken, ("expires_at", "revoked_at"), now - keep.sessions),
    ),
    "operator_sign_in_session": (
        OperatorSignInSession,
        lambda keep, now: _ended(OperatorSignInSession, ("expires_at", "revoked_at"), now - keep.sessions),
    ),
    "login_failure": (
        LoginFailure,
        lambda keep, now: col(LoginFailure.failed_at) < now - keep.login_failures,
    ),
    "outbox_email": (OutboxEmail, _spent_mail),
}
"""Platform tables (no tenant's rows, no row-level security): purged in one scope."""


async def _delete_batch(
    database: Database,
    tenant_id: uuid.UUID | None,
    model: type[Any],
    condition: ColumnElement[bool],
    size: int,
) -> int:
    """Delete at most ``size`` rows of ``model`` meeting ``condition``, in one short transaction."""
    scope = [] if tenant_id is None else [in_tenant(model, tenant_id)]
    chosen = select(col(model.id)).where(*scope, condition).limit(size)
    async with database.transaction(tenant_id) as session:
        result = await session.execute(delete(model).where(*scope, col(model.id).in_(chosen)))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _purge(
    database: Database,
    tenant_id: uuid.UUID | None,
    purges: dict[str, tuple[type[Any], Condition]],
    keep: Retention,
    now: datetime,
    totals: dict[str, int],
) -> None:
    for name, (model, condition) in purges.items():
        for _ in range(keep.max_batches):
            deleted = await _delete_batch(database, tenant_id, model, condition(keep, now), keep.batch_size)
            totals[name] = totals.get(name, 0) + deleted
            if deleted < keep.batch_size:
                break


async def _purge_jobs(database: Database, keep: Retention, now: datetime, totals: dict[str, int]) -> None:
    for status, kept in ((JobStatus.DONE, keep.jobs_done), (JobStatus.DEAD, keep.jobs_dead)):
        # The queue's purge keeps each schedule's latest slot (deleted, it would run again).
        deleted = await queue.purge(database, [status], now - kept, batch=keep.batch_size)
        totals[f"job.{status.value.lower()}"] = deleted


async def housekeep(database: Database, keep: Retention, now: datetime) -> dict[str, int]:
    """Delete what is past its retention at ``now``; how many rows went, by table."""
    totals: dict[str, int] = {}
    await _purge(database, None, PLATFORM_PURGES, keep, now, totals)
    await _purge_jobs(database, keep, now, totals)
    async for tenant in each_tenant(database):
        await _purge(database, tenant.id, TENANT_PURGES, keep, now, totals)
    return totals
