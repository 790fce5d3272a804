"""Housekeeping deletes what is past its retention and keeps the rest, in bounded batches.

Every kind of row is written twice around its cut-off (just past it, just inside
it), in two tenants, and the daily job runs on a controlled clock. The audit trail
and monthly reports, however old, stay.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

import resolvers.jobs  # noqa: F401  (registers every job kind)
from auth.services import Budgets, Services
from db.tables import (
    AuditEvent,
    Design,
    DesignShare,
    Job,
    JobStatus,
    LoginFailure,
    MonthlyReport,
    Operator,
    OperatorRefreshToken,
    OperatorSignInSession,
    OutboxEmail,
    PasswordReset,
    RefreshToken,
    SignInSession,
    WebhookDelivery,
    WebhookEndpoint,
)
from db.tables.webhook import DeliveryStatus
from resolvers.housekeeping import Retention, housekeep
from resolvers.jobs import housekeeping
from resolvers.jobs.worker import Worker
from resolvers.mail_delivery import MAX_ATTEMPTS as MAIL_ATTEMPTS
from tests.api import TenantUsers
from tests.conftest import settings_for

# A throttle slot counts until the longest of the budgets' windows has passed (the
# enquiry budget's hour, beside sign-in's quarter of an hour).
LONGEST_WINDOW = Budgets.from_settings(settings_for("sqlite+aiosqlite://")).longest_window

NOW = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HASH = "0" * 64


def ago(days: float = 0, *, seconds: float = 0) -> datetime:
    return NOW - timedelta(days=days, seconds=seconds)


def tenant_rows(users: TenantUsers) -> tuple[list[SQLModel], list[SQLModel]]:
    """Rows of one tenant past their retention (default settings), and rows within it."""
    tenant_id, user_id = users.tenant.id, users.admin.id

    def token(**times: Any) -> RefreshToken:
        values = {"expires_at": NOW + DAY, "session_expires_at": NOW + 10 * DAY, **times}
        return RefreshToken(
            tenant_id=tenant_id, user_id=user_id, family_id=uuid.uuid4(), token_hash=HASH, **values
        )

    def session(**times: Any) -> SignInSession:
        return SignInSession(
            tenant_id=tenant_id, id=uuid.uuid4(), user_id=user_id, **{"expires_at": NOW + DAY, **times}
        )

    def reset(**times: Any) -> PasswordReset:
        return PasswordReset(
            tenant_id=tenant_id, user_id=user_id, token_hash=HASH, **{"expires_at": NOW + DAY, **times}
        )

    design = Design(tenant_id=tenant_id, name="Stage", owner_id=user_id)

    def share(**times: Any) -> DesignShare:
        return DesignShare(tenant_id=tenant_id, design_id=design.id, token_hash=HASH, **times)

    endpoint = WebhookEndpoint(
        tenant_id=tenant_id, url="https://hooks.example/in", events=["*"], signing_secret="sealed"
    )

    entries: list[SQLModel] = []  # the audit trail stays, whatever goes

    def delivery(status: DeliveryStatus, created_at: datetime) -> WebhookDelivery:
        """A delivery of an audit entry of its own (one entry reaches an endpoint once)."""
        entry = AuditEvent(
            tenant_id=tenant_id, actor_kind="system", action="x.updated", target_type="x", changes={}
        )
        entries.append(entry)
        return WebhookDelivery(
            tenant_id=tenant_id,
            endpoint_id=endpoint.id,
            audit_event_id=entry.id,
            event="reservation.changed",
            payload={"type": "reservation.changed"},
            status=status,
            created_at=created_at,
        )

    gone: list[SQLModel] = [
        delivery(DeliveryStatus.DELIVERED, ago(31)),
        delivery(DeliveryStatus.FAILED, ago(31)),
        token(expires_at=ago(31)),
        token(revoked_at=ago(31)),
        session(expires_at=ago(31)),
        session(revoked_at=ago(30, seconds=1)),
        reset(used_at=ago(1, seconds=1)),
        reset(expires_at=ago(2)),
        share(expires_at=ago(91)),
        share(revoked_at=ago(91)),
    ]
    kept: list[SQLModel] = [
        design,
        endpoint,
        delivery(DeliveryStatus.DELIVERED, ago(29)),
        delivery(DeliveryStatus.PENDING, ago(40)),  # still being tried: never purged
        token(expires_at=ago(29)),
        token(used_at=ago(40)),  # spent but not expired: reuse detection needs it
        token(revoked_at=ago(29)),
        session(expires_at=ago(29)),
        session(),
        reset(used_at=ago(0.5)),
        reset(),
        share(expires_at=ago(89)),
        share(revoked_at=ago(10)),
        share(),
        AuditEvent(
            tenant_id=tenant_id,
            actor_kind="system",
            action="x.created",
            target_type="x",
            changes={},
            created_at=ago(3000),
        ),
        MonthlyReport(tenant_id=tenant_id, month="2019-01", data={}, created_at=ago(3000)),
    ]
    return gone, [*entries, *kept]


def platform_rows(operator: Operator) -> tuple[list[SQLModel], list[SQLModel]]:
    def token(**times: Any) -> OperatorRefreshToken:
        values = {"expires_at": NOW + DAY, "session_expires_at": NOW + DAY, **times}
        return OperatorRefreshToken(
            operator_id=operator.id, family_id=uuid.uuid4(), token_hash=HASH, **values
        )

    def session(**times: Any) -> OperatorSignInSession:
        return OperatorSignInSession(
            id=uuid.uuid4(), operator_id=operator.id, **{"expires_at": NOW + DAY, **times}
        )

    def mail(**values: Any) -> OutboxEmail:
        return OutboxEmail(
            to_address="a@example.com", subject="Hi", **{"body": "sealed", "created_at": ago(20), **values}
        )

    def job(status: JobStatus, finished: datetime | None, **values: Any) -> Job:
        return Job(kind="probe", status=status, finished_at=finished, **values)

    gone: list[SQLModel] = [
        token(expires_at=ago(31)),
        session(revoked_at=ago(31)),
        LoginFailure(key="k", failed_at=ago(seconds=LONGEST_WINDOW + 1)),
        mail(sent_at=ago(15), body=""),
        mail(expires_at=ago(15)),
        mail(body=""),  # dropped: its body would not open
        mail(attempts=MAIL_ATTEMPTS),  # given up
        job(JobStatus.DONE, ago(7, seconds=1)),
        job(JobStatus.DEAD, ago(31)),
    ]
    kept: list[SQLModel] = [
        token(expires_at=ago(29)),
        session(),
        LoginFailure(key="k", failed_at=ago(seconds=LONGEST_WINDOW - 1)),
        mail(sent_at=ago(13), body=""),
        mail(expires_at=ago(13)),
        mail(),  # still to be sent
        mail(attempts=MAIL_ATTEMPTS, created_at=ago(1)),
        job(JobStatus.DONE, ago(6)),
        job(JobStatus.DEAD, ago(29)),
        job(JobStatus.QUEUED, None, run_at=NOW + DAY),
    ]
    return gone, kept


async def remaining(services: Services, tenant_id: uuid.UUID | None, rows: Sequence[SQLModel]) -> list[str]:
    """Which of ``rows`` are still there, by table."""
    found = []
    async with services.database.session(tenant_id) as session:
        for row in rows:
            table = row.__table__  # type: ignore[attr-defined]
            key = [getattr(row, column.name) for column in table.primary_key]
            if await session.get(type(row), key[0] if len(key) == 1 else tuple(key)) is not None:
                found.append(table.name)
    return found


def names(rows: Sequence[SQLModel]) -> list[str]:
    return [row.__table__.name for row in rows]  # type: ignore[attr-defined]


async def write(services: Services, tenant_id: uuid.UUID | None, rows: Sequence[SQLModel]) -> None:
    async with services.database.transaction(tenant_id) as session:
        for row in rows:  # in order: a design before its share links
            session.add(row)
            await session.flush()


async def test_the_daily_job_purges_what_is_past_retention(
    services: Services, esr: TenantUsers, cmh: TenantUsers
) -> None:
    operator = Operator(email="ops@example.com", password_hash="x")
    await write(services, None, [operator])
    platform_gone, platform_kept = platform_rows(operator)
    await write(services, None, [*platform_gone, *platform_kept])
    tenants = {}
    for users in (esr, cmh):
        gone, kept = tenant_rows(users)
        await write(services, users.tenant.id, [*kept, *gone])
        tenants[users.tenant.id] = (gone, kept)

    assert await remaining(services, None, platform_gone) == names(platform_gone)
    for tenant_id, (gone, _) in tenants.items():
        assert await remaining(services, tenant_id, gone) == names(gone)

    await Worker(services, clock=lambda: NOW, schedules=[housekeeping.SCHEDULE]).run_due()

    assert await remaining(services, None, platform_gone) == []
    assert await remaining(services, None, platform_kept) == names(platform_kept)
    for tenant_id, (gone, kept) in tenants.items():
        assert await remaining(services, tenant_id, gone) == []
        assert await remaining(services, tenant_id, kept) == names(kept)
    async with services.database.session(None) as session:
        (run,) = (await session.scalars(select(Job).where(Job.kind == housekeeping.KIND))).all()  # type: ignore[arg-type]
    assert (run.status, run.finished_at) == (JobStatus.DONE, NOW)

    # Run again, nothing more goes: everything kept is still inside its retention.
    totals = await housekeep(services.database, Retention.of(services.settings), NOW)
    assert set(totals.values()) == {0}


async def test_each_run_deletes_in_bounded_batches(database_url: str, services: Services) -> None:
    bounded = Retention.of(settings_for(database_url, housekeeping_batch_size=2, housekeeping_max_batches=2))
    failures = [LoginFailure(key=f"k{n}", failed_at=ago(1)) for n in range(5)]
    await write(services, None, failures)
    assert (await housekeep(services.database, bounded, NOW))["login_failure"] == 4
    assert len(await remaining(services, None, failures)) == 1
    assert (await housekeep(services.database, bounded, NOW))["login_failure"] == 1
    assert await remaining(services, None, failures) == []
