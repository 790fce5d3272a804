"""Liveness (the process answers) and readiness (the database answers)."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from auth.services import Services

log = logging.getLogger("rigbook.health")
READY_TIMEOUT_SECONDS = 2.0


async def live(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    try:
        await asyncio.wait_for(services.database.ping(), READY_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness check failed: %s", error)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
