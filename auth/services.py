"""Process-wide services, built once in the lifespan and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from auth.passwords import Passwords
from auth.rate_limit import FailureLimiter
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

    @classmethod
    def create(cls, settings: Settings, database: Database | None = None) -> Services:
        return cls(
            settings=settings,
            database=database or Database(settings.database_url),
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
            failures_by_email=FailureLimiter(
                limit=settings.login_max_failures_per_email, window=settings.login_failure_window
            ),
            failures_by_address=FailureLimiter(
                limit=settings.login_max_failures_per_address, window=settings.login_failure_window
            ),
        )
