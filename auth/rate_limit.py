"""Counting failed sign-ins in a sliding window, shared by every worker process.

Backends: Redis (when configured), PostgreSQL (the production database), or
in-process memory (the single-process SQLite default). Keys are hashed, so
emails and addresses are not stored by the limiter.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import deque
from datetime import timedelta
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.clock import utcnow


def hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class FailureLimiter(Protocol):
    """``limit`` failures of a key within ``window`` seconds block that key."""

    limit: int
    window: float

    async def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again; 0 when it may now."""

    async def record_failure(self, key: str) -> None: ...

    async def reset(self, key: str) -> None: ...


class MemoryFailureLimiter:
    def __init__(self, *, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    async def retry_after(self, key: str) -> int:
        failures = self._recent(hashed(key))
        if len(failures) < self.limit:
            return 0
        return max(1, int(failures[-self.limit] + self.window - time.monotonic()) + 1)

    async def record_failure(self, key: str) -> None:
        if len(self._failures) >= self._max_keys:
            for stale in [name for name in self._failures if not self._recent(name)]:
                del self._failures[stale]
        self._failures.setdefault(hashed(key), deque()).append(time.monotonic())

    async def reset(self, key: str) -> None:
        self._failures.pop(hashed(key), None)

    def _recent(self, name: str) -> deque[float]:
        failures = self._failures.get(name)
        if failures is None:
            return deque()
        horizon = time.monotonic() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures


class PostgresFailureLimiter:
    """Failures as rows of ``login_failure``; old rows are pruned as new ones arrive."""

    def __init__(self, engine: AsyncEngine, *, scope: str, limit: int, window: float) -> None:
        self.engine = engine
        self.scope = scope
        self.limit = limit
        self.window = window

    async def retry_after(self, key: str) -> int:
        now = utcnow()
        async with self.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT failed_at FROM login_failure WHERE key = :key AND failed_at > :since "
                        "ORDER BY failed_at DESC LIMIT :limit"
                    ),
                    {
                        "key": self._key(key),
                        "since": now - timedelta(seconds=self.window),
                        "limit": self.limit,
                    },
                )
            ).all()
        if len(rows) < self.limit:
            return 0
        oldest = rows[-1][0]
        return max(1, int((oldest + timedelta(seconds=self.window) - now).total_seconds()) + 1)

    async def record_failure(self, key: str) -> None:
        now = utcnow()
        async with self.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO login_failure (key, failed_at) VALUES (:key, :at)"),
                {"key": self._key(key), "at": now},
            )
            if random.random() < 0.02:
                await connection.execute(
                    text("DELETE FROM login_failure WHERE failed_at < :before"),
                    {"before": now - timedelta(seconds=self.window * 2)},
                )

    async def reset(self, key: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM login_failure WHERE key = :key"), {"key": self._key(key)}
            )

    def _key(self, key: str) -> str:
        return hashed(f"{self.scope}\x00{key}")


class RedisFailureLimiter:
    """Failures as a sorted set per key, scored by time; the set expires with the window."""

    def __init__(self, redis: Redis, *, scope: str, limit: int, window: float) -> None:
        self.redis = redis
        self.scope = scope
        self.limit = limit
        self.window = window

    async def retry_after(self, key: str) -> int:
        name = self._key(key)
        now = time.time()
        await self.redis.zremrangebyscore(name, "-inf", now - self.window)
        scores = await self.redis.zrange(name, -self.limit, -1, withscores=True)
        if len(scores) < self.limit:
            return 0
        oldest = float(scores[0][1])
        return max(1, int(oldest + self.window - now) + 1)

    async def record_failure(self, key: str) -> None:
        name = self._key(key)
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(name, {f"{now}:{random.random()}": now})
            pipe.expire(name, int(self.window) + 1)
            await pipe.execute()

    async def reset(self, key: str) -> None:
        await self.redis.delete(self._key(key))

    def _key(self, key: str) -> str:
        return f"rigbook:login-failures:{self.scope}:{hashed(key)}"
