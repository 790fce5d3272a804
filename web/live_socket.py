"""GraphQL over WebSocket at ``/graphql``: the ``graphql-transport-ws`` protocol, and nothing else.

The protocol (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md) is
served here rather than by Strawberry's handler so that every operation goes
through the same pipeline as HTTP (``schema/pipeline.py``: token budget, depth,
aliases, cost, masking) and each event is rendered in its own context. The legacy
``graphql-ws`` protocol, whose handlers skipped authentication in the past, is
refused (4406).

A connection must send ``connection_init`` within ``RIGBOOK_WS_INIT_TIMEOUT``
(4408) with ``{"Authorization": "Bearer <accessToken>"}`` in its payload, verified
as HTTP verifies it and checked against the database (4403 when invalid, ended, or
not a tenant user's). It then holds at most ``RIGBOOK_WS_MAX_SUBSCRIPTIONS``
operations; its user and tenant at most so many connections on this process
(1013, ``web/live_connections.py``). It is closed with 4403 when its token expires
or its grant ends, with 1008 when it reads so slowly that
``RIGBOOK_WS_SEND_BUFFER`` messages, or 16 MiB of them, wait for it. The server pings
every ``RIGBOOK_WS_PING_INTERVAL`` seconds and answers pings.

A ``subscribe`` is handled before the next message is read: a ``pong`` to a
``ping`` sent after it means the subscription hears every change committed from
then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType
from sqlalchemy import literal, select
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from auth.principal import Principal
from auth.services import Services
from auth.tokens import InvalidAccessToken
from db.queue import error_text
from db.session_check import ENDED_MESSAGE
from resolvers.context import Context
from resolvers.live.fanout import Fanout
from resolvers.live.subscription import LiveSubscription
from schema.masking import failure_code
from schema.pipeline import OperationNotFound, Pipeline
from web.live_connections import Connections, Member

log = logging.getLogger("rigbook.live")

PROTOCOL = "graphql-transport-ws"
LONGEST_ID = 128
# What may wait for a client besides ``RIGBOOK_WS_SEND_BUFFER`` messages: a few events of a
# wide selection (many lines, long texts, once for each subscription) are megabytes.
SEND_BUFFER_CHARACTERS = 16 * 1024 * 1024

# Close codes of graphql-transport-ws, and the two of RFC 6455 used besides.
BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INIT_TIMEOUT = 4408
SUBSCRIBER_EXISTS = 4409
TOO_MANY_INITS = 4429
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
INTERNAL_ERROR = 4500

TOKEN_EXPIRED = "The access token has expired."
UNAVAILABLE = "The service is unavailable right now; try again shortly."
SESSION_ENDED = ENDED_MESSAGE


class Refused(Exception):
    """The connection must close: ``code`` and ``reason`` say why."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class LiveSocket:
    """The ASGI WebSocket endpoint at ``/graphql``."""

    def __init__(self, services: Services, pipeline: Pipeline) -> None:
        self.services = services
        self.pipeline = pipeline
        self.connections = Connections(services)
        self.fanout = Fanout(services)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        if PROTOCOL not in scope.get("subprotocols", ()):
            await websocket.accept()
            await websocket.close(
                SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable: use graphql-transport-ws."
            )
            return
        await websocket.accept(subprotocol=PROTOCOL)
        await LiveConnection(self, websocket).run()

    async def close(self) -> None:
        await self.fanout.close()
        await self.connections.close()


class LiveConnection:
    """One client's socket: its grant, its operations, and what waits to be sent to it."""

    def __init__(self, endpoint: LiveSocket, websocket: WebSocket) -> None:
        self.endpoint = endpoint
        self.services = endpoint.services
        self.settings = endpoint.services.settings
        self.websocket = websocket
        client = websocket.client
        self.client_address = client.host if client else "unknown"
        self.principal: Principal | None = None
        # Queries and mutations being answered, and started subscriptions, by operation id.
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.subscriptions: dict[str, LiveSubscription] = {}
        self.outbox: asyncio.Queue[str] = asyncio.Queue(self.settings.ws_send_buffer)
        self.waiting = 0  # characters of the messages in the outbox and the one being sent
        self.closing: tuple[int, str] | None = None
        self._closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        member: Member | None = None
        try:
            principal, expires = await asyncio.wait_for(self._initialised(), self.settings.ws_init_timeout)
            tenant_id = principal.tenant_id
            if tenant_id is None:
                raise Refused(FORBIDDEN, "Only users of a tenant may subscribe.")
            self.principal = principal
            member = Member(principal, tenant_id, lambda: self.end(FORBIDDEN, SESSION_ENDED))
            refusal = self.endpoint.connections.join(member)
            if refusal is not None:
                member = None
                raise Refused(TRY_AGAIN_LATER, refusal)
            await self.websocket.send_text(_text({"type": "connection_ack"}))
            self._start(self._send_outbox())
            self._start(self._ping())
            self._start(self._expire(expires))
            reader = asyncio.get_running_loop().create_task(self._read())
            closed = asyncio.get_running_loop().create_task(self._closed.wait())
            await asyncio.wait({reader, closed}, return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, closed):
                task.cancel()
            try:
                await reader  # what ended the reading says how to close: a refusal has its code
            except asyncio.CancelledError:
                if not self._closed.is_set():
                    raise
        except TimeoutError:
            self.closing = self.closing or (INIT_TIMEOUT, "Connection initialisation timeout")
        except Refused as refused:
            self.closing = self.closing or (refused.code, refused.reason)
        except (WebSocketDisconnect, OSError):
            pass
        except Exception:
            # A bug: the protocol's own code for it, rather than a normal closure.
            log.exception("a live connection failed")
            self.closing = self.closing or (INTERNAL_ERROR, "Internal server error")
        finally:
            if member is not None:
                self.endpoint.connections.leave(member)
            await self._shut_down()

    async def end(self, code: int, reason: str) -> None:
        """Close the connection (from another task): stop reading, then say why."""
        if self.closing is None:
            self.closing = (code, reason)
        self._closed.set()

    # -- reading --------------------------------------------------------------

    async def _message(self) -> dict[str, Any]:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        raw = message.get("text")
        if raw is None:
            raise Refused(BAD_REQUEST, "Messages are JSON text.")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Refused(BAD_REQUEST, "Invalid message received") from None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise Refused(BAD_REQUEST, "Invalid message received")
        return data

    async def _initialised(self) -> tuple[Principal, int]:
        """Wait for ``connection_init``; the principal its token names, and when the token expires."""
        while True:
            data = await self._message()
            kind = data["type"]
            if kind == "ping":
                await self.websocket.send_text(_text({"type": "pong"}))
                continue
            if kind == "pong":
                continue
            if kind == "subscribe":
                raise Refused(UNAUTHORIZED, "Unauthorized")
            if kind != "connection_init":
                raise Refused(BAD_REQUEST, f"Unexpected message of type {kind[:40]!r}")
            return await self._authorised(data.get("payload"))

    async def _authorised(self, payload: Any) -> tuple[Principal, int]:
        header = None
        if isinstance(payload, dict):
            header = payload.get("Authorization", payload.get("authorization"))
        if not isinstance(header, str):
            raise Refused(
                FORBIDDEN, 'Forbidden: send {"Authorization": "Bearer <accessToken>"} in connection_init.'
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or len(token) > 4096:
            raise Refused(FORBIDDEN, "Forbidden: the Authorization value is `Bearer <accessToken>`.")
        try:
            principal, expires = self.services.access_tokens.verify_expiring(token.strip())
        except InvalidAccessToken:
            raise Refused(FORBIDDEN, "Forbidden: the access token is invalid or expired.") from None
        # The grant, checked as a request's first statement checks it.
        context = self._context(principal)
        try:
            await context.rows(select(literal(1)))
        except GraphQLError:
            raise Refused(FORBIDDEN, SESSION_ENDED) from None
        except Exception as error:
            if failure_code(error) is None:
                raise
            # The database is away (HTTP would answer 503): worth a retry, and no word on the grant.
            log.warning("could not check a live connection's grant: %s", error_text(error))
            raise Refused(TRY_AGAIN_LATER, UNAVAILABLE) from None
        finally:
            await context.close()
        return principal, expires

    async def _read(self) -> None:
        while True:
            data = await self._message()
            kind = data["type"]
            if kind == "ping":
                self._send({"type": "pong"})
            elif kind == "pong":
                pass
            elif kind == "connection_init":
                raise Refused(TOO_MANY_INITS, "Too many initialisation requests")
            elif kind == "subscribe":
                await self._subscribe(data)
            elif kind == "complete":
                operation_id = data.get("id")
                if isinstance(operation_id, str):
                    await self._stop(operation_id)
            else:
                raise Refused(BAD_REQUEST, f"Unexpected message of type {kind[:40]!r}")

    # -- operations -----------------------------------------------------------

    async def _subscribe(self, data: dict[str, Any]) -> None:
        operation_id = data.get("id")
        payload = data.get("payload")
        if not isinstance(operation_id, str) or not operation_id or len(operation_id) > LONGEST_ID:
            raise Refused(BAD_REQUEST, "A subscribe message needs an id of 1 to 128 characters.")
        if operation_id in self.operations or operation_id in self.subscriptions:
            raise Refused(SUBSCRIBER_EXISTS, f"Subscriber for {operation_id} already exists")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str) or not payload["query"]:
            raise Refused(BAD_REQUEST, "A subscribe message's payload needs a `query` string.")
        variables = payload.get("variables")
        operation_name = payload.get("operationName")
        if not isinstance(variables, dict | None) or not isinstance(operation_name, str | None):
            raise Refused(BAD_REQUEST, "`variables` is an object and `operationName` a string, if given.")
        if len(self.operations) + len(self.subscriptions) >= self.settings.ws_max_subscriptions:
            limit = self.settings.ws_max_subscriptions
            self._error(
                operation_id,
                [_coded(f"A connection holds at most {limit} operations.", "TOO_MANY_SUBSCRIPTIONS")],
            )
            return
        pipeline = self.endpoint.pipeline
        try:
            checked = pipeline.check(payload["query"], variables, operation_name)
        except OperationNotFound as error:
            self._error(operation_id, [_coded(error.reason, "BAD_REQUEST")])
            return
        if isinstance(checked, ExecutionResult):
            self._error(operation_id, checked.errors or [])
            return
        if checked.operation.operation is not OperationType.SUBSCRIPTION:
            self._run(
                operation_id, self._answer_once(operation_id, payload["query"], variables, operation_name)
            )
            return
        context = self._context(self._principal())
        try:
            started = await pipeline.subscribe(checked, operation_name, context)
        finally:
            await context.close()
        if isinstance(started, ExecutionResult):
            if _session_ended(started.errors):
                await self.end(FORBIDDEN, SESSION_ENDED)
                return
            self._error(operation_id, started.errors or [])
            return
        subscription = started.stream
        if not isinstance(subscription, LiveSubscription):
            raise TypeError(
                f"a subscription field gave {type(subscription).__name__}, not a LiveSubscription"
            )

        def send(result: ExecutionResult) -> None:
            self._send({"type": "next", "id": operation_id, "payload": _formatted(result)})

        subscription.attach(started.render, send, lambda: self.end(FORBIDDEN, SESSION_ENDED))
        if subscription.stateless:
            subscription.same_as = _same_as(payload["query"], operation_name, variables)
        self.subscriptions[operation_id] = subscription
        await self.endpoint.fanout.add(subscription)

    async def _stop(self, operation_id: str) -> None:
        """End an operation: the client completed it, or the connection closes."""
        task = self.operations.pop(operation_id, None)
        if task is not None:
            task.cancel()
        subscription = self.subscriptions.pop(operation_id, None)
        if subscription is not None:
            await self.endpoint.fanout.remove(subscription)

    def _run(self, operation_id: str, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            finally:
                # Only its own entry: the id may name a newer operation by now.
                if self.operations.get(operation_id) is task:
                    del self.operations[operation_id]

        task = asyncio.get_running_loop().create_task(run())
        self.operations[operation_id] = task

    async def _answer_once(
        self, operation_id: str, query: str, variables: dict[str, Any] | None, operation_name: str | None
    ) -> None:
        """A query or mutation over the socket: one ``next``, then ``complete``."""
        context = self._context(self._principal())
        try:
            async with asyncio.timeout(self.settings.request_timeout):
                result = await self.endpoint.pipeline.execute(
                    query, variables=variables, operation_name=operation_name, context=context
                )
        except TimeoutError:
            result = ExecutionResult(None, [_coded("The operation took too long.", "TIMEOUT")])
        finally:
            await context.close()
        self._send({"type": "next", "id": operation_id, "payload": _formatted(result)})
        self._send({"type": "complete", "id": operation_id})

    # -- writing --------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        if self.closing is not None:
            return
        text = _text(message)
        # One message however big may wait; a backlog is bounded in messages and in size.
        if self.outbox.full() or (self.waiting and self.waiting + len(text) > SEND_BUFFER_CHARACTERS):
            # A client this far behind is not reading: closing beats buffering without bound.
            self.closing = (POLICY_VIOLATION, "Too slow: messages backed up.")
            self._closed.set()
            return
        self.outbox.put_nowait(text)
        self.waiting += len(text)

    def _error(self, operation_id: str, errors: list[GraphQLError] | tuple[GraphQLError, ...]) -> None:
        self._send({"type": "error", "id": operation_id, "payload": [error.formatted for error in errors]})

    async def _send_outbox(self) -> None:
        while True:
            message = await self.outbox.get()
            await self.websocket.send_text(message)
            self.waiting -= len(message)

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self.settings.ws_ping_interval)
            self._send({"type": "ping"})

    async def _expire(self, expires: int) -> None:
        await asyncio.sleep(max(0.0, expires - time.time()))
        await self.end(FORBIDDEN, TOKEN_EXPIRED)

    # -- the end --------------------------------------------------------------

    def _start(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._closed.set()

        self._tasks.append(asyncio.get_running_loop().create_task(run()))

    async def _shut_down(self) -> None:
        tasks = [*self.operations.values(), *self._tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.operations.clear()
        for operation_id in list(self.subscriptions):
            await self._stop(operation_id)
        websocket = self.websocket
        if (
            websocket.client_state is WebSocketState.CONNECTED
            and websocket.application_state is WebSocketState.CONNECTED
        ):
            code, reason = self.closing or (1000, "")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(code, reason), 5)

    def _principal(self) -> Principal:
        if self.principal is None:
            raise Refused(UNAUTHORIZED, "Unauthorized")
        return self.principal

    def _context(self, principal: Principal) -> Context:
        return Context(services=self.services, principal=principal, client_address=self.client_address)


def _coded(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _session_ended(errors: list[GraphQLError] | None) -> bool:
    """The caller's grant ended while the connection was open (``resolvers/context.py``)."""
    return any(
        (error.extensions or {}).get("code") == "UNAUTHENTICATED" and error.message == ENDED_MESSAGE
        for error in errors or ()
    )


def _same_as(query: str, operation_name: str | None, variables: dict[str, Any] | None) -> Any:
    """What makes two subscriptions of one principal give the same results."""
    try:
        given = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
    except orjson.JSONEncodeError:
        return None
    return (query, operation_name, given)


def _text(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def _formatted(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    return body
