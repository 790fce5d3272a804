"""The GraphQL endpoint: JSON POSTs run through the pipeline; GET serves GraphiQL.

Requests are read and answered here rather than by Strawberry's HTTP view, which
parses the content type and the body with the standard library and wraps every
request in its extension machinery; the rules are the same: JSON POSTs only, one
operation per request, ``query`` a string, ``variables`` and ``extensions`` objects.
Failures of the request itself are plain-text 400s, as Strawberry's are.

Executed operations answer 200, errors or not, except when the request came to
nothing because the database timed out or could not be reached: then 503, with
``Retry-After`` when it was unreachable, so that load balancers and clients retry.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from graphql import ExecutionResult
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from auth.services import Services
from resolvers.context import Context
from schema import schema
from schema.limits import QueryLimits
from schema.masking import RETRYABLE_CODES, SERVICE_UNAVAILABLE
from schema.pipeline import OperationNotFound, Pipeline
from web.context import build_context

# Long enough for a burst to drain from the pool or a database to restart, short
# enough that a client does not give up.
RETRY_AFTER_SECONDS = 5


class BadRequest(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class GraphiQL(GraphQL[Context, None]):
    """Strawberry's view, for the GraphiQL page only (it never executes an operation here)."""

    def __init__(self) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=False)


class GraphQLView:
    """``POST /graphql`` with a JSON body; ``GET /graphql`` for GraphiQL where it is enabled."""

    def __init__(self, services: Services, *, projection: bool = True) -> None:
        settings = services.settings
        self.services = services
        self.pipeline = Pipeline(
            schema,
            limits=QueryLimits.of(settings),
            introspection=settings.introspection_enabled,
            # Hints would spell out the schema that production hides from introspection.
            suggestions=not settings.is_production,
            projection=projection,
        )
        self.graphiql = GraphiQL() if settings.graphiql_enabled else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "POST":
            context = build_context(self.services, request)
            try:
                response = await self.post(request, context)
                await response(scope, receive, send)
            finally:
                # After the response: ending the read transaction is no reason to wait.
                await context.close()
            return
        accept = request.headers.get("accept", "")
        # Only the page itself: a GET carrying a document would be parsed and validated by
        # the IDE's view, past every limit of the pipeline.
        page_only = not request.url.query
        if self.graphiql is not None and page_only and ("text/html" in accept or "*/*" in accept):
            await self.graphiql(scope, receive, send)
            return
        response = PlainTextResponse(
            "Send GraphQL operations as POST with a JSON body.", 405, headers={"Allow": "POST"}
        )
        await response(scope, receive, send)

    async def post(self, request: Request, context: Context) -> Response:
        try:
            query, variables, operation_name = await read_operation(request)
            result = await self.pipeline.execute(
                query, variables=variables, operation_name=operation_name, context=context
            )
        except BadRequest as error:
            return plain_text(error.reason, error.status)
        except OperationNotFound as error:
            return plain_text(error.reason, 400)
        status, headers = http_status(result)
        return Response(
            orjson.dumps(response_body(result)), status, headers=headers, media_type="application/json"
        )


async def read_operation(request: Request) -> tuple[str, dict[str, Any] | None, str | None]:
    """``query``, ``variables`` and ``operationName`` of a JSON POST, checked."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest("Send the operation as application/json.", 415)
    body = await request.body()
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses escaped unpaired surrogates ("\ud800"), which JSON allows; the
        # standard parser reads them, and the pipeline then refuses them as bad input.
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:
            raise BadRequest("Unable to parse request body as JSON") from error
    if isinstance(data, list):
        raise BadRequest("Batching is not enabled")
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    query = data.get("query")
    if query is None or query == "":
        raise BadRequest("No GraphQL query found in the request")
    if not isinstance(query, str):
        raise BadRequest("The GraphQL operation's `query` must be a string or null, if provided.")
    variables = data.get("variables")
    if not isinstance(variables, dict | None):
        raise BadRequest("The GraphQL operation's `variables` must be an object or null, if provided.")
    if not isinstance(data.get("extensions"), dict | None):
        raise BadRequest("The GraphQL operation's `extensions` must be an object or null, if provided.")
    operation_name = data.get("operationName")
    if not isinstance(operation_name, str | None):
        raise BadRequest("The GraphQL operation's `operationName` must be a string or null, if provided.")
    return query, variables, operation_name


def plain_text(reason: str, status: int) -> Response:
    """A plain-text refusal; a name echoed from the request may hold unpaired surrogates."""
    return Response(reason.encode("utf-8", "backslashreplace"), status, media_type="text/plain")


def http_status(result: ExecutionResult) -> tuple[int, dict[str, str]]:
    """503 when a timeout or an unreachable database left the response without any data.

    A response with some data answers 200 even so, the failed fields carrying their
    codes: a 503 tells clients and load balancers that nothing came of the request,
    and a client retrying all of it would repeat what did work (GraphQL over HTTP
    also wants 2xx whenever ``data`` holds something).
    """
    codes = {error.extensions.get("code") for error in result.errors or () if error.extensions}
    if not codes & RETRYABLE_CODES or _has_data(result.data):
        return 200, {}
    return 503, {"Retry-After": str(RETRY_AFTER_SECONDS)} if SERVICE_UNAVAILABLE in codes else {}


def _has_data(data: dict[str, Any] | None) -> bool:
    return data is not None and any(value is not None for value in data.values())


def response_body(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return body
