"""How ``rigbook serve`` runs uvicorn, so that slow clients cannot hold a worker.

uvicorn bounds the idle time between requests (keep-alive) but not the time a
request's headers take to arrive: a client that connects and says nothing, or
sends a byte now and then, holds its connection for as long as it likes. The
protocols here close a connection whose next request's headers are not complete
``RIGBOOK_HEADER_TIMEOUT`` seconds after the connection opened or the request's
first byte came. The body then has ``RIGBOOK_BODY_TIMEOUT`` (``web/middleware.py``),
and past ``RIGBOOK_MAX_CONNECTIONS`` open connections requests and WebSocket
upgrades get uvicorn's 503.

A WebSocket whose peer reads nothing is let go of once the app is done with it
(``LingerLimit``): uvicorn would wait for ever to flush what is buffered for it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from db.caches import bounded
from settings import Settings

# Once the app is done with a WebSocket, this long for what is buffered to reach the peer
# (past uvicorn's 10 s wait for the peer's reply to a close).
CLOSED_WEBSOCKET_LINGER = 15.0


@bounded(maxsize=1)
def header_timeout() -> float:
    # uvicorn builds protocols itself, in each worker process, from a pickled config
    # that has no room for our settings: each worker reads them from the environment.
    return Settings().header_timeout


class HeaderTimeout(asyncio.Protocol):
    """Mixed into a uvicorn HTTP protocol: a deadline for each request's headers.

    uvicorn's protocols (httptools and h11 alike) set ``cycle`` once a request's
    headers are complete; a timer that finds the ``cycle`` it started with has
    seen no new request.
    """

    cycle: Any
    transport: asyncio.Transport
    _header_timer: asyncio.TimerHandle | None = None
    _timed_cycle: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._start_header_timer()

    def data_received(self, data: bytes) -> None:
        # The first bytes of a request after the last one was answered: its headers are due.
        if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._start_header_timer()
        super().data_received(data)
        if self._header_timer is not None and self.cycle is not self._timed_cycle:
            self._stop_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        self._timed_cycle = self.cycle
        self._header_timer = asyncio.get_running_loop().call_later(header_timeout(), self._headers_late)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.get_protocol() is not self:
            return  # upgraded to a WebSocket: the socket is the app's now (``web/live_socket.py``)
        if self.cycle is self._timed_cycle and not self.transport.is_closing():
            # No request to answer yet: closing is all HTTP leaves us.
            self.transport.close()


# uvicorn's own refusal past ``limit_concurrency``, as bytes: an upgrade never reaches its check.
SERVICE_UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 19\r\nconnection: close\r\n\r\nService Unavailable"
)


class HttpToolsWithHeaderTimeout(HeaderTimeout, HttpToolsProtocol):
    """uvicorn's default protocol (httptools), with a deadline for headers.

    uvicorn checks ``limit_concurrency`` for requests only; a WebSocket upgrade is
    checked here, so that sockets count against ``RIGBOOK_MAX_CONNECTIONS`` too.
    """

    def handle_websocket_upgrade(self) -> None:
        # ``connections`` still holds this one, as it does when uvicorn checks a request.
        if self.limit_concurrency is not None and len(self.connections) >= self.limit_concurrency:
            self.logger.warning("Exceeded concurrency limit.")
            self.transport.write(SERVICE_UNAVAILABLE)
            self.transport.close()
            return
        super().handle_websocket_upgrade()


class LingerLimit(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, which lets go of a socket whose peer reads nothing.

    When the app is done, uvicorn closes the transport, and asyncio sends what is still
    buffered before it lets the socket go; a peer that stops reading (after filling the
    server's buffers, so that not even the close frame fits) would hold the connection,
    its descriptor, megabytes of buffers and a place under the connection limit for as
    long as it keeps the socket open. So the socket is aborted if it is still there
    ``CLOSED_WEBSOCKET_LINGER`` seconds after the app returned.
    """

    async def run_asgi(self) -> None:
        await super().run_asgi()
        self.loop.call_later(CLOSED_WEBSOCKET_LINGER, self._abort_if_open)

    def _abort_if_open(self) -> None:
        if not self.disconnected:
            self.transport.abort()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options that follow from ``settings``."""
    return {
        "http": HttpToolsWithHeaderTimeout,
        "ws": LingerLimit,
        # uvicorn refuses once connections, counting the one asking, reach the limit.
        "limit_concurrency": settings.max_connections + 1,
        "timeout_keep_alive": settings.keep_alive_timeout,
        # A WebSocket message past this closes the connection (1009); GraphQL documents are far smaller.
        "ws_max_size": settings.ws_max_message_size,
        # Live updates are small JSON messages, each sent to many sockets: compressing each
        # one for each socket cost more CPU than anything else in delivering it.
        "ws_per_message_deflate": False,
    }
