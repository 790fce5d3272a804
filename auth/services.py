"""Process-wide services, built once in the lifespan and shared by every request."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from auth.passwords import Passwords
from auth.rate_limit import FailureLimiter, MemoryFailureLimiter, PostgresFailureLimiter, RedisFailureLimiter
from auth.tokens import AccessTokens
from db.database import Database
from settings import Settings


@dataclass
class Services:
    settings: Settings
    database: Database
    passwords: Passwords
    access_tokens: AccessTokens
    failures_by_email: FailureLimiter
    failures_by_address: FailureLimiter
    reset_requests: FailureLimiter
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` after the response, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for background work (at shutdown), then release the database."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @classmethod
    def create(cls, settings: Settings, database: Database | None = None) -> Services:
        database = database or Database(
            settings.database_url,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.pool_timeout,
        )
        by_email, by_address, resets = _failure_limiters(settings, database)
        return cls(
            settings=settings,
            database=database,
            passwords=Passwords(
                time_cost=settings.password_hash_time_cost,
                memory_kib=settings.password_hash_memory_kib,
                parallelism=settings.password_hash_parallelism,
            ),
            access_tokens=AccessTokens(
                secret=settings.signing_key,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl=timedelta(seconds=settings.access_token_ttl),
            ),
            failures_by_email=by_email,
            failures_by_address=by_address,
            reset_requests=resets,
        )


# Reset mails per tenant+email and window: enough for a typo, too few to flood a mailbox.
RESET_REQUESTS_PER_WINDOW = 3


def _failure_limiters(
    settings: Settings, database: Database
) -> tuple[FailureLimiter, FailureLimiter, FailureLimiter]:
    """Shared between workers through Redis or PostgreSQL; in memory for SQLite."""
    window = settings.login_failure_window
    limits = {
        "email": settings.login_max_failures_per_email,
        "address": settings.login_max_failures_per_address,
        "reset": RESET_REQUESTS_PER_WINDOW,
    }
    limiters: list[FailureLimiter]
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        limiters = [
            RedisFailureLimiter(redis, scope=scope, limit=limit, window=window)
            for scope, limit in limits.items()
        ]
    elif not database.is_sqlite:
        limiters = [
            PostgresFailureLimiter(database.engine, scope=scope, limit=limit, window=window)
            for scope, limit in limits.items()
        ]
    else:
        limiters = [MemoryFailureLimiter(limit=limit, window=window) for limit in limits.values()]
    return limiters[0], limiters[1], limiters[2]
