"""The GraphQL endpoint: Strawberry's ASGI view with Rigbook's context and policies."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from auth.context import Context, build_context
from auth.services import Services
from schema import build_schema
from schema.limits import QueryLimits

_CONTEXT_KEY = "rigbook_context"


class GraphQLView(GraphQL[Context, None]):
    """POST-only JSON GraphQL; the request's context is closed when the response is sent."""

    def __init__(self, services: Services, *, projection: bool = True) -> None:
        settings = services.settings
        super().__init__(
            build_schema(
                introspection=settings.introspection_enabled,
                limits=QueryLimits(
                    max_depth=settings.max_query_depth,
                    max_aliases=settings.max_aliases,
                    max_tokens=settings.max_tokens,
                    max_directives=settings.max_directives,
                    max_cost=settings.max_query_cost,
                ),
                # Hints would spell out the schema that production hides from introspection.
                suggestions=not settings.is_production,
                projection=projection,
            ),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=False,
            multipart_uploads_enabled=False,
        )
        self.services = services

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert isinstance(request, Request)
        context = build_context(self.services, request)
        request.state.__setattr__(_CONTEXT_KEY, context)
        return context

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})
        try:
            await super().__call__(scope, receive, send)
        finally:
            context = scope["state"].get(_CONTEXT_KEY)
            if context is not None:
                await context.close()
