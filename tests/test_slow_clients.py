"""Slow clients against a real ``rigbook serve`` on a loopback port.

A client that trickles its headers or its body, or opens a connection and says
nothing, is cut off after a configurable time; connections past a configurable
number are refused with 503; and ordinary requests are served all the while.
Every loop here is bounded: a server that never cuts a client off fails the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

ROOT = Path(__file__).parent.parent
QUERY = {"query": "{ __typename }"}
# One byte this often, for at most this many bytes: 20 s, far past the timeouts set below.
TRICKLE_INTERVAL = 0.2
TRICKLE_LIMIT = 100

pytestmark = pytest.mark.socket


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def rigbook_serve(tmp_path: Path, **settings: str) -> AsyncIterator[str]:
    """``rigbook serve`` in production mode (no demo seeding) with ``RIGBOOK_*`` settings."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RIGBOOK_")}
    env.update(
        RIGBOOK_ENV="production",
        RIGBOOK_JWT_SECRET="s" * 48,
        RIGBOOK_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'served.db'}",
        **{f"RIGBOOK_{name.upper()}": value for name, value in settings.items()},
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "serve",
        "--port",
        str(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            for _ in range(300):
                try:
                    if (await client.get("/health/live")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.returncode is None, "server exited"
                await asyncio.sleep(0.1)
            else:
                pytest.fail("server did not start")
        yield base
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def _closed_by_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> bytes:
    """Send ``data`` a byte at a time until the server answers or hangs up; what it answered.

    Fails when the server still listens after ``TRICKLE_LIMIT`` bytes.
    """
    try:
        for index in range(TRICKLE_LIMIT):
            writer.write(data[index % len(data) : index % len(data) + 1])
            await writer.drain()
            try:
                answer = await asyncio.wait_for(reader.read(4096), TRICKLE_INTERVAL)
            except TimeoutError:
                continue
            return answer + await asyncio.wait_for(reader.read(), 5)
    except (ConnectionResetError, BrokenPipeError):
        return b""
    finally:
        writer.close()
    pytest.fail(f"the server still reads a trickle after {TRICKLE_LIMIT} bytes")


async def trickled_headers(host: str, port: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    # Headers that never end: a header line without its end, padded forever.
    return await _closed_by_server(
        reader, writer, b"POST /graphql HTTP/1.1\r\nHost: rigbook\r\nX-Pad: " + b"a" * 50
    )


async def trickled_headers_after_a_first_request(host: str, port: int) -> bytes:
    """On a kept-alive connection, the second request's headers trickle."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /health/live HTTP/1.1\r\nHost: rigbook\r\n\r\n")
    await writer.drain()
    first = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 10)
    assert first.startswith(b"HTTP/1.1 200")
    return await _closed_by_server(reader, writer, b"GET /health/live HTTP/1.1\r\nX-Pad: " + b"a" * 50)


async def trickled_body(host: str, port: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: rigbook\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n"
    )
    return await _closed_by_server(reader, writer, b'{"query": "{ __typename }"' + b" " * 50)


async def silent(host: str, port: int) -> bytes:
    """Connects and sends nothing at all."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for _ in range(TRICKLE_LIMIT):
            try:
                return await asyncio.wait_for(reader.read(4096), TRICKLE_INTERVAL)
            except TimeoutError:
                continue
    finally:
        writer.close()
    pytest.fail("the server keeps a silent connection open")


async def test_slow_clients_are_cut_off_while_others_are_served(tmp_path: Path) -> None:
    async with rigbook_serve(
        tmp_path, header_timeout="1", body_timeout="1", request_timeout="60", max_connections="100"
    ) as base:
        host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
        slow = asyncio.gather(
            *(trickled_headers(host, port) for _ in range(8)),
            *(trickled_headers_after_a_first_request(host, port) for _ in range(4)),
            *(trickled_body(host, port) for _ in range(8)),
            *(silent(host, port) for _ in range(4)),
        )
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            served = [await client.post("/graphql", json=QUERY) for _ in range(5)]
        headers, after_first, bodies, silence = (lambda r: (r[:8], r[8:12], r[12:20], r[20:]))(await slow)
        assert [response.json()["data"] for response in served] == [{"__typename": "Query"}] * 5
    # Headers that never complete: the connection is closed (there is no request to answer).
    assert headers == [b""] * 8
    assert after_first == [b""] * 4
    assert silence == [b""] * 4
    # A body that does not arrive in time: 408, and the connection closed.
    for answer in bodies:
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"connection: close" in answer.lower()
        assert b'"code":"REQUEST_TIMEOUT"' in answer


async def _kept_alive(host: str, port: int) -> asyncio.StreamWriter:
    """A connection the server has answered once and keeps open."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /health/live HTTP/1.1\r\nHost: rigbook\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 10)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    return writer


async def test_connections_past_the_limit_get_503(tmp_path: Path) -> None:
    async with rigbook_serve(tmp_path, max_connections="3", keep_alive_timeout="60") as base:
        host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
        held = await asyncio.gather(*(_kept_alive(host, port) for _ in range(3)))
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            refused = await client.post("/graphql", json=QUERY)
            assert refused.status_code == 503
            for writer in held:
                writer.close()
            # Once they are gone (the server notices soon after), new connections are served.
            for _ in range(50):
                response = await client.post("/graphql", json=QUERY, headers={"Connection": "close"})
                if response.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert response.json()["data"] == {"__typename": "Query"}


async def test_websocket_upgrades_past_the_limit_get_503(tmp_path: Path) -> None:
    """An upgrade counts against ``RIGBOOK_MAX_CONNECTIONS`` as any request does."""
    async with rigbook_serve(tmp_path, max_connections="3", keep_alive_timeout="60") as base:
        host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
        url = base.replace("http://", "ws://") + "/graphql"
        held = await asyncio.gather(*(_kept_alive(host, port) for _ in range(3)))
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=10):
                pass
        assert refused.value.response.status_code == 503
        for writer in held:
            writer.close()
        # Once those are gone, sockets are let in again, and they count in turn.
        sockets = []
        for _ in range(50):
            try:
                sockets.append(await connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]))
            except InvalidStatus:
                await asyncio.sleep(0.1)
            if len(sockets) == 3:
                break
        assert len(sockets) == 3
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            assert (await client.post("/graphql", json=QUERY)).status_code == 503
        for websocket in sockets:
            await websocket.close()


async def test_a_websocket_outlives_the_header_timeout_of_the_request_that_opened_it(tmp_path: Path) -> None:
    """The header deadline belongs to HTTP requests: once upgraded, the socket is the app's to close."""
    async with rigbook_serve(tmp_path, header_timeout="1", ws_init_timeout="4") as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as websocket:
            await asyncio.sleep(2)  # past the header timeout
            await websocket.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(websocket.recv(), 5)) == {"type": "pong"}
            # Still open until the app closes it: no connection_init came in time.
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(websocket.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
