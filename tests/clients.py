"""Clients at chosen addresses, services built from overrides, and spies on real calls."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app import create_app
from auth.services import Services
from tests.api import Api
from tests.conftest import settings_for


@asynccontextmanager
async def api_at(services: Services, address: str) -> AsyncIterator[Api]:
    """An API client whose requests come from ``address`` (the throttles key on it)."""
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
        yield Api(client)


@asynccontextmanager
async def services_for(database_url: str, **overrides: Any) -> AsyncIterator[Services]:
    """Services of one worker process, on a database other workers may share."""
    overrides.setdefault("redis_key_prefix", f"rigbook-test-{uuid.uuid4().hex}")
    services = Services.create(settings_for(database_url, **overrides))
    try:
        yield services
    finally:
        await services.close()


class Calls:
    """Counts the calls of a real method and lets each through (a spy, not a fake)."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        owner: object,
        name: str,
        before: Callable[[], None] | None = None,
    ) -> None:
        self.count = 0
        self.results: list[Any] = []
        real: Callable[..., Awaitable[Any]] = getattr(owner, name)

        async def spy(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            if before is not None:
                before()
            result = await real(*args, **kwargs)
            self.results.append(result)
            return result

        monkeypatch.setattr(owner, name, spy)
