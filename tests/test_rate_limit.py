"""Failed sign-ins are counted across worker processes (PostgreSQL or Redis), not per process."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from redis.asyncio import Redis

from auth.rate_limit import FailureLimiter, MemoryFailureLimiter, PostgresFailureLimiter, RedisFailureLimiter
from auth.services import Services
from db.database import Database
from tests.conftest import settings_for

REDIS_ENV = "RIGBOOK_TEST_REDIS_URL"


async def exercise(first: FailureLimiter, second: FailureLimiter) -> None:
    """Failures recorded through one limiter block the key in the other."""
    key = f"esr\x00{uuid.uuid4().hex}@esr.example"
    for _ in range(first.limit - 1):
        await first.record_failure(key)
    assert await second.retry_after(key) == 0
    await second.record_failure(key)
    wait = await first.retry_after(key)
    assert 0 < wait <= first.window + 1
    assert await second.retry_after("someone-else") == 0
    await first.reset(key)
    assert await second.retry_after(key) == 0


async def test_memory_limiter_blocks_then_forgets() -> None:
    limiter = MemoryFailureLimiter(limit=3, window=60)
    await exercise(limiter, limiter)
    short = MemoryFailureLimiter(limit=1, window=0.01)
    await short.record_failure("k")
    await asyncio.sleep(0.05)
    assert await short.retry_after("k") == 0


async def test_two_workers_share_failures_through_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the SQLite default counts in memory (one process)")
    workers = [Database(database_url), Database(database_url)]
    try:
        first, second = (
            PostgresFailureLimiter(db.engine, scope="email", limit=4, window=300) for db in workers
        )
        await exercise(first, second)
    finally:
        for database in workers:
            await database.dispose()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"set {REDIS_ENV} to test the Redis limiter")
    return url


async def test_two_workers_share_failures_through_redis(redis_url: str) -> None:
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    try:
        first, second = (
            RedisFailureLimiter(client, scope=f"test-{uuid.uuid4().hex}", limit=4, window=300)
            for client in clients
        )
        second.scope = first.scope
        await exercise(first, second)
    finally:
        for client in clients:
            await client.aclose()


async def test_services_pick_the_shared_backend(database_url: str) -> None:
    services = Services.create(settings_for(database_url))
    try:
        expected = MemoryFailureLimiter if database_url.startswith("sqlite") else PostgresFailureLimiter
        assert isinstance(services.failures_by_email, expected)
    finally:
        await services.database.dispose()
