"""Process-wide services, built once in the lifespan and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import anyio
from redis.asyncio import Redis

from auth.passwords import Passwords
from auth.rate_limit import AttemptLimiter, Budget, DatabaseAttemptLimiter, RedisAttemptLimiter
from auth.tokens import AccessTokens
from db.database import Database
from db.live import LiveFeed
from db.storage import Storage
from settings import Settings


@dataclass
class Services:
    settings: Settings
    database: Database
    passwords: Passwords
    access_tokens: AccessTokens
    budgets: Budgets
    attempts: AttemptLimiter
    live: LiveFeed
    """Committed domain events of the tenants this process's subscribers follow (``db/live.py``)."""
    storage: Storage
    """The object store of uploaded files (``db/storage.py``)."""
    image_limiter: anyio.CapacityLimiter
    """How many images this process decodes at once, in threads (``resolvers/uploads.py``)."""

    async def close(self) -> None:
        """At shutdown: release the limiter, the live feed and the database.

        Nothing runs after a response: work outside a request is a job (``resolvers/jobs``).
        """
        await self.attempts.close()
        await self.live.close()
        await self.database.dispose()

    @classmethod
    def create(cls, settings: Settings, database: Database | None = None) -> Services:
        database = database or Database(
            settings.database_url,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.pool_timeout,
            listen_url=settings.listen_database_url,
        )
        budgets = Budgets.from_settings(settings)
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
            budgets=budgets,
            attempts=_attempt_limiter(settings, database, budgets),
            live=LiveFeed(database),
            storage=Storage.from_settings(settings),
            image_limiter=anyio.CapacityLimiter(settings.image_workers),
        )


# Reset mails per tenant+email and window: enough for a typo, too few to flood a mailbox.
RESET_REQUESTS_PER_WINDOW = 3


@dataclass(frozen=True)
class Budgets:
    """The attempt budgets of anonymous work (which mutation spends which: ``resolvers/throttle.py``)."""

    sign_in_per_address: Budget
    sign_in_per_account_and_address: Budget
    sign_in_per_account: Budget
    anonymous_per_address: Budget
    reset_mails_per_account: Budget
    enquiries_per_address: Budget
    enquiries_per_email: Budget

    @classmethod
    def from_settings(cls, settings: Settings) -> Budgets:
        window = settings.login_failure_window
        return cls(
            sign_in_per_address=Budget("address", settings.login_max_failures_per_address, window),
            sign_in_per_account_and_address=Budget(
                "account-address", settings.login_max_failures_per_email, window
            ),
            sign_in_per_account=Budget("account", settings.login_max_failures_per_account, window),
            anonymous_per_address=Budget(
                "anonymous-address", settings.anonymous_max_attempts_per_address, window
            ),
            reset_mails_per_account=Budget("reset", RESET_REQUESTS_PER_WINDOW, window),
            enquiries_per_address=Budget(
                "enquiry-address", settings.enquiry_max_per_address, settings.enquiry_window
            ),
            enquiries_per_email=Budget(
                "enquiry-email", settings.enquiry_max_per_email, settings.enquiry_window
            ),
        )

    @property
    def longest_window(self) -> float:
        budgets: tuple[Budget, ...] = tuple(vars(self).values())
        return max(budget.window for budget in budgets)


def _attempt_limiter(settings: Settings, database: Database, budgets: Budgets) -> AttemptLimiter:
    """Shared between workers through Redis when configured, else through the database."""
    if settings.redis_url:
        return RedisAttemptLimiter(Redis.from_url(settings.redis_url), prefix=settings.redis_key_prefix)
    return DatabaseAttemptLimiter(database, retention=budgets.longest_window)
