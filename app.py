"""The Starlette application: routes, middleware and lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from auth.services import Services
from resolvers.jobs.inline import InlineWorker
from settings import Settings
from web.exports import ExportDownload
from web.files import Files
from web.graphql import GraphQLView
from web.health import Detailed, LiveCounts, Readiness, live
from web.live_socket import LiveSocket
from web.middleware import BodySizeLimit, Deadline, RequestId, SecurityHeaders
from web.reports import ReportDownload


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    *,
    freeze_heap: bool = False,
    projection: bool = True,
    worker: bool | None = None,
) -> Starlette:
    """Build the ASGI app; pass ``services`` to share a database with the caller (tests).

    ``freeze_heap`` (set by ``rigbook serve``) moves everything alive at start-up into
    the collector's permanent generation: the schema, the ORM metadata and the loaded
    modules live as long as the worker, and full collections walking them on every
    burst of allocations cost a large response ~25 ms. ``projection=False`` completes
    every field through graphql-core (``schema/projection.py``; the tests compare both).
    ``worker`` runs the job worker in this process (default: ``RIGBOOK_WORKER`` decides
    for an app that owns its services; an app given services runs none unless asked);
    ``app.state.worker`` is that worker while the app runs, else None.
    """
    settings = settings or (services.settings if services is not None else Settings())
    settings.validate_for_start()
    owns_services = services is None
    app_services = services or Services.create(settings)

    run_worker = worker if worker is not None else owns_services and settings.worker_inline

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if freeze_heap:
            gc.collect()
            gc.freeze()
        inline = InlineWorker(app_services) if run_worker else None
        app.state.worker = inline
        try:
            yield
        finally:
            await live_socket.close()
            if inline is not None:
                await inline.stop()
                app.state.worker = None
            if owns_services:
                await app_services.close()

    middleware = [
        Middleware(RequestId),
        Middleware(SecurityHeaders, hsts=settings.is_production),
        Middleware(BodySizeLimit, timeout=settings.body_timeout, streamed=frozenset({("POST", "/files")})),
        Middleware(Deadline, seconds=settings.request_timeout),
    ]
    if settings.cors_origins:
        middleware.insert(
            1,
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                max_age=600,
            ),
        )
    view = GraphQLView(app_services, projection=projection)
    files = Files(app_services)
    live_socket = LiveSocket(app_services, view.pipeline)
    detailed = Detailed(
        app_services,
        LiveCounts(
            connections=lambda: len(live_socket.connections), subscriptions=lambda: len(live_socket.fanout)
        ),
        worker_running=lambda: app.state.worker is not None,
    )
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", live_socket),
            Route("/health", live, methods=["GET"]),
            Route("/health/live", live, methods=["GET"]),
            Route("/health/ready", Readiness(app_services.database).endpoint, methods=["GET"]),
            Route("/health/detailed", detailed.endpoint, methods=["GET"]),
            Route("/reports/{month}.csv", ReportDownload(app_services).endpoint, methods=["GET"]),
            Route("/files", files.upload, methods=["POST"]),
            Route("/files/public/{tenant}/{id}", files.public, methods=["GET"]),
            Route("/files/{tenant}/{id}", files.signed, methods=["GET"]),
            Route("/exports/{tenant}/{export}.zip", ExportDownload(app_services).endpoint, methods=["GET"]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.services = app_services
    app.state.worker = None
    return app


def serve_app() -> Starlette:
    """The app one ``rigbook serve`` worker runs."""
    return create_app(freeze_heap=True)
