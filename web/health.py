"""Liveness (the process answers), readiness (the database answers), and detail for operators.

Readiness asks the database on a connection of its own, not one from the pool: a
pool that requests have exhausted is overload (they get a fast 503 of their own),
not a database that is down, and a probe queued behind it would time out and take
every busy worker out of the load balancer at once. Probes are public, so one runs
at a time per worker and its answer serves every probe for the next second: a
flood of them costs the database one connection a second.

``/health/detailed`` tells operators what they check first when something is off:
version and commit, uptime, the database's latency and migration against the
code's, the pool, the job queue, the worker and live connections. It needs
``RIGBOOK_OPS_TOKEN`` as a bearer token (in production, always: without the setting
the page is closed), and is likewise computed at most once a second.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from auth.services import Services
from db import queue
from db.database import Database
from db.migrate import head

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


def _installed_version() -> str:
    try:
        return version("rigbook")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class LiveCounts:
    """What the process's live-update socket holds now."""

    connections: Callable[[], int]
    subscriptions: Callable[[], int]


class Detailed:
    """``GET /health/detailed``: 200 when the database answers at the code's migration, 503 otherwise."""

    def __init__(self, services: Services, live: LiveCounts, worker_running: Callable[[], bool]) -> None:
        self.services = services
        self.live = live
        self.worker_running = worker_running
        self.started = time.monotonic()
        self.version = _installed_version()
        self._answer: asyncio.Task[tuple[int, dict[str, Any]]] | None = None
        self._answered_at = float("-inf")

    def _allowed(self, request: Request) -> bool:
        token = self.services.settings.ops_token
        if token is None:
            return not self.services.settings.is_production
        given = request.headers.get("authorization", "")
        scheme, _, credential = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), token.encode())

    async def endpoint(self, request: Request) -> JSONResponse:
        if not self._allowed(request):
            return JSONResponse(
                {
                    "error": "send RIGBOOK_OPS_TOKEN as a bearer token (in production the page is closed without one)"
                },
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        loop = asyncio.get_running_loop()
        answer = self._answer
        if answer is None or (answer.done() and loop.time() - self._answered_at > READY_ANSWER_KEPT_SECONDS):
            answer = self._answer = loop.create_task(self._gather())
        status, body = await asyncio.shield(answer)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    async def _gather(self) -> tuple[int, dict[str, Any]]:
        database = self.services.database
        settings = self.services.settings
        loop = asyncio.get_running_loop()
        body: dict[str, Any] = {
            "version": self.version,
            "commit": settings.build_commit,
            "uptimeSeconds": round(time.monotonic() - self.started, 1),
            "pool": database.pool_use(),
            "live": {"connections": self.live.connections(), "subscriptions": self.live.subscriptions()},
        }
        healthy = True
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                began = loop.time()
                await database.ping()
                latency = (loop.time() - began) * 1000
                revision = await database.revision()
                jobs = await queue.counts(database)
            body["database"] = {
                "status": "ok",
                "latencyMs": round(latency, 2),
                "revision": revision,
                "codeRevision": head(),
            }
            # A database behind or ahead of the code is the usual half-finished deploy.
            healthy = revision == head()
            body["jobs"] = {status: jobs.get(status, 0) for status in ("queued", "running", "done", "dead")}
        except Exception as error:  # any failure is reported, the reason logged
            log.warning("detailed health check failed: %s: %s", type(error).__name__, error)
            body["database"] = {"status": "unreachable", "codeRevision": head()}
            healthy = False
        finally:
            self._answered_at = loop.time()
        body["worker"] = self._worker()
        body["status"] = "ok" if healthy else "degraded"
        return (200 if healthy else 503), body

    def _worker(self) -> dict[str, Any]:
        heartbeat = self.services.settings.worker_heartbeat_file
        worker: dict[str, Any] = {"inline": self.worker_running()}
        if heartbeat is not None:
            try:
                worker["heartbeatAgeSeconds"] = round(time.time() - heartbeat.stat().st_mtime, 1)
            except OSError:
                worker["heartbeatAgeSeconds"] = None
        return worker
