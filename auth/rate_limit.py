"""Attempt budgets: a slot is taken, atomically, before the work it pays for.

A ``Budget`` allows ``limit`` attempts per key in a sliding window. ``acquire``
takes one slot of every charge at once, or none of them when any budget is spent
(the answer then says how long to wait). Checking first and recording after the
work let parallel requests all pass the check; taking the slot first does not.
Work that succeeded gives its slots back (``forgive``); failures keep theirs
until they age out of the window (a success does not wipe earlier failures: in
a burst of guesses, that would let the guesses still in flight try again).

Backends, shared by every worker process:

* Redis (when configured): one Lua script checks and adds to every key.
* The database's ``login_failure`` table otherwise: PostgreSQL serializes each key
  with a transaction-level advisory lock, SQLite every writer with ``BEGIN IMMEDIATE``.

Keys are hashed with their budget's scope, so no email or address is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy import Select, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from db.clock import utcnow
from db.database import POOL_SIZE, Database
from db.tables import LoginFailure


def hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` attempts per key within ``window`` seconds."""

    scope: str
    limit: int
    window: float

    def charge(self, key: str) -> Charge:
        return Charge(self, hashed(f"{self.scope}\x00{key}"))


@dataclass(frozen=True)
class Charge:
    """One slot of ``budget`` for one (already hashed) key."""

    budget: Budget
    key: str


@dataclass(frozen=True)
class Attempt:
    """The outcome of ``acquire``: the slots taken, or how long to wait for them."""

    retry_after: int = 0
    slots: tuple[tuple[str, str], ...] = ()  # (hashed key, slot id)

    @property
    def granted(self) -> bool:
        return self.retry_after == 0


class AttemptLimiter(Protocol):
    async def acquire(self, charges: Sequence[Charge]) -> Attempt:
        """Take a slot of every charge, all or none; refused (``retry_after`` > 0) when any is spent."""
        ...

    async def forgive(self, attempt: Attempt) -> None:
        """Give back the slots of an attempt whose work succeeded."""
        ...

    async def close(self) -> None:
        """Release what the limiter holds of its own (at shutdown)."""
        ...


def _seconds(delta: float, window: float) -> int:
    """A wait as whole seconds: never 0 (that means "granted"), never past the window (clock skew)."""
    return max(1, min(math.ceil(delta), math.ceil(window)))


def _lock_id(key: str) -> int:
    """A signed 64-bit advisory lock id for a hashed key."""
    return int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)


_FAILURES = SQLModel.metadata.tables[LoginFailure.__tablename__]


def _recent(key: str, since: datetime, limit: int) -> Select[datetime]:
    """The newest ``limit`` slots of ``key`` still inside the window."""
    return (
        select(_FAILURES.c.failed_at)
        .where(_FAILURES.c.key == key, _FAILURES.c.failed_at > since)
        .order_by(_FAILURES.c.failed_at.desc())
        .limit(limit)
    )


# Old rows are pruned by every fiftieth acquisition rather than by a scheduled job.
PRUNE_CHANCE = 0.02
MAX_LIMITER_CONNECTIONS = POOL_SIZE // 2


class DatabaseAttemptLimiter:
    """Attempts as rows of ``login_failure`` (one per slot), in short transactions of their own."""

    def __init__(self, database: Database, *, retention: float) -> None:
        self.database = database
        self.retention = retention  # the longest window of any budget: older rows are dead
        # Attempts on one key queue on its lock with a connection each; a flood of them
        # may use this many of the pool's connections, never all of them.
        self._connections = asyncio.Semaphore(MAX_LIMITER_CONNECTIONS)

    async def acquire(self, charges: Sequence[Charge]) -> Attempt:
        async with self._connections:
            return await self._acquire(charges)

    async def _acquire(self, charges: Sequence[Charge]) -> Attempt:
        async with self.database.transaction(None) as session:
            if not self.database.is_sqlite:
                # A fixed order, so that two attempts sharing keys never wait on each other in a cycle.
                for lock in sorted({_lock_id(charge.key) for charge in charges}):
                    await session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})
            # Read the clock once the keys are ours: slots are then stored in the order they were taken.
            now = utcnow()
            waits = [await self._wait(session, charge, now) for charge in charges]
            if any(waits):
                return Attempt(retry_after=max(waits))
            slots = []
            for charge in charges:
                inserted = insert(_FAILURES).values(key=charge.key, failed_at=now).returning(_FAILURES.c.id)
                slots.append((charge.key, str((await session.execute(inserted)).scalar_one())))
            if random.random() < PRUNE_CHANCE:
                before = now - timedelta(seconds=self.retention)
                await session.execute(delete(_FAILURES).where(_FAILURES.c.failed_at < before))
        return Attempt(slots=tuple(slots))

    @staticmethod
    async def _wait(session: AsyncSession, charge: Charge, now: datetime) -> int:
        window = timedelta(seconds=charge.budget.window)
        recent = _recent(charge.key, now - window, charge.budget.limit)
        times = list((await session.execute(recent)).scalars())
        if len(times) < charge.budget.limit:
            return 0
        # The oldest of the last ``limit`` attempts must leave the window first.
        return _seconds((times[-1] + window - now).total_seconds(), charge.budget.window)

    async def forgive(self, attempt: Attempt) -> None:
        if not attempt.slots:
            return
        slots = [int(slot) for _, slot in attempt.slots]
        async with self._connections, self.database.transaction(None) as session:
            await session.execute(delete(_FAILURES).where(_FAILURES.c.id.in_(slots)))

    async def close(self) -> None:
        """The database is the caller's to dispose of."""


# KEYS: one sorted set per charge, scored by milliseconds. ARGV: the slot's member,
# then each key's limit and window (ms). Returns 0 when every slot was taken, else
# the milliseconds until all of them could be. Redis runs a script alone, so no
# other attempt can slip in between the counts and the adds.
_ACQUIRE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, -limit, -limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, ARGV[2 * i + 1])
end
return 0
"""


class RedisAttemptLimiter:
    """Attempts as members of one sorted set per key; each set expires with its window."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._acquire = redis.register_script(_ACQUIRE_SCRIPT)

    def _name(self, key: str) -> str:
        return f"{self.prefix}:attempts:{key}"

    async def acquire(self, charges: Sequence[Charge]) -> Attempt:
        member = secrets.token_hex(8)
        arguments: list[str | int] = [member]
        for charge in charges:
            arguments += [charge.budget.limit, math.ceil(charge.budget.window * 1000)]
        wait_ms = int(
            await self._acquire(keys=[self._name(charge.key) for charge in charges], args=arguments)
        )
        if wait_ms:
            longest = max(charge.budget.window for charge in charges)
            return Attempt(retry_after=_seconds(wait_ms / 1000, longest))
        return Attempt(slots=tuple((charge.key, member) for charge in charges))

    async def forgive(self, attempt: Attempt) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, member in attempt.slots:
                pipe.zrem(self._name(key), member)
            await pipe.execute()

    async def close(self) -> None:
        await self.redis.aclose()
