"""Job kinds and their handlers, and what a handler gets to work with.

A handler is an async function of one ``JobRun``, registered for a kind with
``@handler("kind")``. It runs at least once per job, so it must be idempotent. Work
that writes to the database should go through ``run.transaction(tenant_id)``: that
transaction also marks the job done, so the work and its completion commit together
(or, when the lease was lost to another worker, neither does). A handler that only
talks to the outside world (SMTP, HTTP) returns normally and the worker marks the
job done; an exception is a failed attempt, retried after the kind's back-off.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth.services import Services
from db.audit import ACTOR_INFO_KEY, Actor
from db.clock import utcnow
from db.queue import Backoff, Claimed, finish_statement

HandlerFunction = Callable[["JobRun"], Awaitable[None]]
# How long one attempt may run before the worker cancels it and counts it failed: a
# handler stuck on a peer that never answers would otherwise hold its slot, its lease
# renewed, for good. Far longer than any handler's own network timeouts.
DEFAULT_TIMEOUT = timedelta(minutes=30)


class LeaseLost(Exception):
    """Another worker holds the job now (this one's lease ran out): its work is rolled back."""


@dataclass(frozen=True)
class Handler:
    kind: str
    run: HandlerFunction
    max_attempts: int
    backoff: Backoff
    timeout: timedelta = DEFAULT_TIMEOUT


HANDLERS: dict[str, Handler] = {}


def handler(
    kind: str,
    *,
    max_attempts: int = 10,
    backoff: Backoff | None = None,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> Callable[[HandlerFunction], HandlerFunction]:
    """Register the decorated function as the handler of ``kind``; an attempt may run for ``timeout``."""

    def register(function: HandlerFunction) -> HandlerFunction:
        if kind in HANDLERS:
            raise ValueError(f"job kind {kind!r} has two handlers")
        HANDLERS[kind] = Handler(kind, function, max_attempts, backoff or Backoff(), timeout)
        return function

    return register


def system_actor(job_id: uuid.UUID) -> Actor:
    """Who the audit trail names for changes a job makes."""
    return Actor(None, "system", f"job:{job_id}")


@dataclass
class JobRun:
    """One attempt at one job: the services, the claim and the time it runs at.

    ``now`` is when the attempt began (what the work is about, e.g. which reminders are
    due); ``clock`` tells the time it completes at.
    """

    services: Services
    job: Claimed
    now: datetime
    clock: Callable[[], datetime] = utcnow
    finished: bool = field(default=False)

    @asynccontextmanager
    async def transaction(
        self, tenant_id: uuid.UUID | None, *, completes: bool = True
    ) -> AsyncIterator[AsyncSession]:
        """A write transaction in ``tenant_id``'s scope, audited as the system.

        With ``completes`` (the default) it also marks the job done, so the work and
        the completion commit together; ``LeaseLost`` rolls both back.
        """
        async with self.services.database.transaction(tenant_id) as session:
            session.info[ACTOR_INFO_KEY] = system_actor(self.job.id)
            yield session
            if completes:
                result = await session.execute(finish_statement(self.job, self.clock()))
                if not result.rowcount:  # type: ignore[attr-defined]
                    raise LeaseLost()
        if completes:
            self.finished = True
