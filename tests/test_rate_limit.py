"""Attempt slots are taken atomically and shared by every worker: in the database or in Redis."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import event

from auth.rate_limit import (
    MAX_LIMITER_CONNECTIONS,
    AttemptLimiter,
    Budget,
    DatabaseAttemptLimiter,
    RedisAttemptLimiter,
)
from auth.services import Services
from db.database import Database
from resolvers.throttle import address_key
from tests.conftest import settings_for

REDIS_ENV = "RIGBOOK_TEST_REDIS_URL"


@pytest.fixture(params=["database", "redis"])
async def two_workers(
    request: pytest.FixtureRequest, database_url: str
) -> AsyncIterator[tuple[AttemptLimiter, AttemptLimiter]]:
    """Two limiters as two worker processes would build them, sharing one store."""
    if request.param == "database":
        databases = [Database(database_url), Database(database_url)]
        try:
            yield (
                DatabaseAttemptLimiter(databases[0], retention=300),
                DatabaseAttemptLimiter(databases[1], retention=300),
            )
        finally:
            for database in databases:
                await database.dispose()
        return
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"set {REDIS_ENV} to test the Redis limiter")
    clients = [Redis.from_url(url), Redis.from_url(url)]
    prefix = f"rigbook-test-{uuid.uuid4().hex}"
    try:
        yield RedisAttemptLimiter(clients[0], prefix=prefix), RedisAttemptLimiter(clients[1], prefix=prefix)
    finally:
        for client in clients:
            await client.aclose()


async def test_slots_are_shared_taken_all_or_none_and_given_back(
    two_workers: tuple[AttemptLimiter, AttemptLimiter],
) -> None:
    first, second = two_workers
    tight = Budget("tight", 3, 300)
    loose = Budget("loose", 10, 300)
    key = uuid.uuid4().hex
    for _ in range(2):
        assert (await first.acquire([tight.charge(key), loose.charge(key)])).granted
    kept = await second.acquire([tight.charge(key), loose.charge(key)])
    assert kept.granted
    refused = await first.acquire([loose.charge(key), tight.charge(key)])
    assert 0 < refused.retry_after <= 301
    assert refused.slots == ()
    # The refused attempt took nothing from the looser budget: 3 of 10 are used.
    for _ in range(7):
        assert (await second.acquire([loose.charge(key)])).granted
    assert not (await first.acquire([loose.charge(key)])).granted
    # Another key, or another scope, has its own count.
    assert (await second.acquire([tight.charge("someone-else")])).granted
    # A slot given back can be taken again (once); a refused attempt has nothing to give back.
    await first.forgive(kept)
    await second.forgive(refused)
    assert (await second.acquire([tight.charge(key)])).granted
    assert not (await first.acquire([tight.charge(key)])).granted


async def test_parallel_acquisitions_grant_exactly_the_limit(
    two_workers: tuple[AttemptLimiter, AttemptLimiter],
) -> None:
    budget = Budget("race", 5, 300)
    key = uuid.uuid4().hex
    attempts = await asyncio.gather(
        *(two_workers[number % 2].acquire([budget.charge(key)]) for number in range(24))
    )
    assert sum(attempt.granted for attempt in attempts) == 5


async def test_slots_leave_the_window(two_workers: tuple[AttemptLimiter, AttemptLimiter]) -> None:
    first, second = two_workers
    budget = Budget("short", 1, 0.3)
    key = uuid.uuid4().hex
    assert (await first.acquire([budget.charge(key)])).granted
    assert (await second.acquire([budget.charge(key)])).retry_after == 1
    await asyncio.sleep(0.6)
    assert (await second.acquire([budget.charge(key)])).granted


async def test_services_pick_the_shared_backend(database_url: str) -> None:
    redis_url = os.environ.get(REDIS_ENV)
    services = Services.create(settings_for(database_url))
    with_redis = Services.create(settings_for(database_url, redis_url=redis_url)) if redis_url else None
    try:
        assert isinstance(services.attempts, DatabaseAttemptLimiter)
        if with_redis is not None:
            assert isinstance(with_redis.attempts, RedisAttemptLimiter)
    finally:
        await services.close()
        if with_redis is not None:
            await with_redis.close()


def test_addresses_are_counted_by_subscriber() -> None:
    assert address_key("203.0.113.7") == "203.0.113.7"
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("unknown") == "unknown"


async def test_a_flood_of_attempts_leaves_most_of_the_pool_free(database_url: str) -> None:
    database = Database(database_url)
    pool = database.engine.sync_engine.pool
    most: list[int] = []

    def on_checkout(*_args: object) -> None:
        most.append(pool.checkedout())  # type: ignore[attr-defined]

    event.listen(pool, "checkout", on_checkout)
    try:
        limiter = DatabaseAttemptLimiter(database, retention=300)
        budget = Budget("flood", 3, 300)
        key = uuid.uuid4().hex
        attempts = await asyncio.gather(*(limiter.acquire([budget.charge(key)]) for _ in range(40)))
    finally:
        event.remove(pool, "checkout", on_checkout)
        await database.dispose()
    assert sum(attempt.granted for attempt in attempts) == 3
    assert max(most) <= MAX_LIMITER_CONNECTIONS
