"""Liveness (the process answers) and readiness (the database answers).

Readiness asks the database on a connection of its own, not one from the pool: a
pool that requests have exhausted is overload (they get a fast 503 of their own),
not a database that is down, and a probe queued behind it would time out and take
every busy worker out of the load balancer at once. Probes are public, so one runs
at a time per worker and its answer serves every probe for the next second: a
flood of them costs the database one connection a second.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from db.database import Database

log = logging.getLogger("rigbook.health")
READY_TIMEOUT_SECONDS = 2.0
READY_ANSWER_KEPT_SECONDS = 1.0


async def live(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


class Readiness:
    """``GET /health/ready``: 200 while the database answers, 503 when it does not."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._probe: asyncio.Task[bool] | None = None
        self._answered_at = float("-inf")

    async def endpoint(self, _request: Request) -> JSONResponse:
        probe = self._probe
        loop = asyncio.get_running_loop()
        if probe is None or (probe.done() and loop.time() - self._answered_at > READY_ANSWER_KEPT_SECONDS):
            probe = self._probe = loop.create_task(self._ask())
        # Shielded: a caller that goes away does not cancel the answer others wait for.
        if await asyncio.shield(probe):
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)

    async def _ask(self) -> bool:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await self.database.ping()
        except Exception as error:  # any failure means "not ready"; the reason goes to the log
            log.warning("readiness check failed: %s: %s", type(error).__name__, error)
            return False
        finally:
            self._answered_at = asyncio.get_running_loop().time()
        return True
