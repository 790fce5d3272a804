"""SQL statements per request, counted on the PostgreSQL wire protocol.

Before the timed runs, an in-process copy of each app (Rigbook's ``create_app`` and
the baseline's) is pointed at a small TCP proxy in front of PostgreSQL, and one
scenario request at a time goes through it as an ASGI call. The proxy counts the
frontend messages of every connection:

- ``statements`` = Query (simple protocol) + Execute (extended protocol) messages:
  every SQL statement that ran, including BEGIN/ROLLBACK/COMMIT, the pool's
  pre-ping and ``set_config``;
- ``round_trips`` = Query + Sync messages: how often the app waited for the server;
- ``parses`` = Parse messages: statements prepared (a cache miss).

For Rigbook it also counts what the tests count (``tests/conftest.py``'s
``statements`` fixture): SQLAlchemy ``before_cursor_execute`` events.
The proxy answers SSL/GSS encryption requests with "N" so the stream stays readable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench import config
from bench.scenarios import Fixture, Scenario

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class WireCounter:
    """A TCP proxy that counts PostgreSQL frontend messages by type."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.counts: Counter[str] = Counter()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(self.host, self.port)
        tasks = {
            asyncio.create_task(self._frontend(client_reader, server_writer, client_writer)),
            asyncio.create_task(self._pipe(server_reader, client_writer)),
        }
        self._tasks |= tasks
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self._tasks -= tasks
            for writer in (client_writer, server_writer):
                writer.close()

    async def _frontend(
        self, reader: asyncio.StreamReader, server: asyncio.StreamWriter, client: asyncio.StreamWriter
    ) -> None:
        buffer = bytearray()
        started = False
        while data := await reader.read(65536):
            buffer += data
            out = bytearray()
            while True:
                if not started:  # length-prefixed startup packets carry no type byte
                    if len(buffer) < 8 or len(buffer) < int.from_bytes(buffer[:4], "big"):
                        break
                    length = int.from_bytes(buffer[:4], "big")
                    code = int.from_bytes(buffer[4:8], "big")
                    packet = bytes(buffer[:length])
                    del buffer[:length]
                    if code in (SSL_REQUEST, GSSENC_REQUEST):
                        client.write(b"N")
                        await client.drain()
                        continue
                    started = True
                    out += packet
                    continue
                if len(buffer) < 5:
                    break
                length = 1 + int.from_bytes(buffer[1:5], "big")
                if len(buffer) < length:
                    break
                self.counts[chr(buffer[0])] += 1
                out += buffer[:length]
                del buffer[:length]
            if out:
                server.write(bytes(out))
                await server.drain()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


async def asgi_post(app: ASGIApp, body: bytes, token: str) -> tuple[int, bytes]:
    """POST /graphql to an ASGI app in-process; the status and the body."""
    headers = [
        (b"host", b"bench.local"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    finished = asyncio.Event()
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    await app(scope, receive, send)
    finished.set()
    return status, b"".join(chunks)


@dataclass
class StatementCount:
    statements: float
    round_trips: float
    parses: float
    # Rigbook only, the tests' count: statements the app sends (SQLAlchemy cursor executes and
    # request reads on the raw connection, a read transaction's opening statement included).
    orm_statements: float | None = None
    messages: dict[str, float] | None = None  # every frontend message type, per request

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


BodyFor = Callable[[Scenario, int], bytes]


async def _measure(
    app: ASGIApp,
    proxy: WireCounter,
    scenario: Scenario,
    body_for: BodyFor,
    token: str,
    orm: Counter[str] | None,
    *,
    warmup: int,
    samples: int,
) -> StatementCount:
    async def call(index: int) -> None:
        status, payload = await asgi_post(app, body_for(scenario, index), token)
        text = payload.decode(errors="replace")
        if status != 200 or scenario.marker not in text or '"errors"' in text:
            raise SystemExit(f"counting {scenario.name}: bad response {status}: {text[:500]}")

    for index in range(warmup):
        await call(index)
    before, orm_before = proxy.counts.copy(), (orm or Counter())["n"]
    for index in range(warmup, warmup + samples):
        await call(index)
    delta = proxy.counts - before
    orm_delta = (orm or Counter())["n"] - orm_before
    return StatementCount(
        statements=(delta["Q"] + delta["E"]) / samples,
        round_trips=(delta["Q"] + delta["S"]) / samples,
        parses=delta["P"] / samples,
        orm_statements=orm_delta / samples if orm is not None else None,
        messages={kind: count / samples for kind, count in sorted(delta.items())},
    )


async def count_statements(
    database_url: str,
    scenarios: list[Scenario],
    body_for: BodyFor,
    token: str,
    *,
    warmup: int = 3,
    samples: int = 5,
) -> dict[str, dict[str, StatementCount]]:
    """``{target: {scenario: counts}}`` for ``rigbook`` and ``baseline``."""
    from sqlalchemy import event

    from app import create_app
    from bench import baseline
    from settings import Settings

    parts = urlsplit(config.asyncpg_url(database_url))
    proxy = WireCounter(parts.hostname or "127.0.0.1", parts.port or 5432)
    port = await proxy.start()
    proxied = config.with_host_port(config.asyncpg_url(database_url), "127.0.0.1", port)
    results: dict[str, dict[str, StatementCount]] = {"rigbook": {}, "baseline": {}}
    try:
        settings = Settings(
            _env_file=None,
            env="production",
            database_url=config.sqlalchemy_url(proxied),
            jwt_secret=config.JWT_SECRET,
            graphiql=False,
            introspection=False,
        )
        rigbook = create_app(settings)
        database = rigbook.state.services.database
        orm: Counter[str] = Counter()

        def count(*_args: Any) -> None:
            orm["n"] += 1

        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        database.statement_listeners.append(count)
        try:
            for scenario in scenarios:
                results["rigbook"][scenario.name] = await _measure(
                    rigbook, proxy, scenario, body_for, token, orm, warmup=warmup, samples=samples
                )
        finally:
            database.statement_listeners.remove(count)
            event.remove(database.engine.sync_engine, "before_cursor_execute", count)
            await database.dispose()

        audience, issuer = config.rigbook_jwt_audience_issuer()
        lean = baseline.create_app(
            baseline.Settings(
                database_url=proxied, secret=config.JWT_SECRET, issuer=issuer, audience=audience, pool_size=20
            )
        )
        async with lean.router.lifespan_context(lean):
            for scenario in scenarios:
                results["baseline"][scenario.name] = await _measure(
                    lean, proxy, scenario, body_for, token, None, warmup=warmup, samples=samples
                )
    finally:
        with contextlib.suppress(Exception):
            await proxy.close()
    return results


def request_body(scenario: Scenario, variables: dict[str, Any]) -> bytes:
    return orjson.dumps({"query": scenario.query, "variables": variables})


def body_builder(fixture: Fixture) -> BodyFor:
    """Bodies for counting: the scenario's own, except ``reserve`` books a fresh slot each time."""
    from bench.scenarios import reserve_input

    def build(scenario: Scenario, index: int) -> bytes:
        if scenario.name == "reserve":
            equipment = fixture.reserve_ids[index % len(fixture.reserve_ids)]
            variables: dict[str, Any] = {
                "input": reserve_input(equipment, fixture.salt + 1000 + index, "Bench count")
            }
        else:
            variables = scenario.variables(fixture)
        return request_body(scenario, variables)

    return build
