"""``python -m bench live``: delivery latency, correctness and cost of live updates under a booking burst.

Starts ``rigbook serve`` (production mode, the row-level-security role, ``--workers``),
opens ``--subscribers`` graphql-transport-ws sockets from client processes with a mix of
principals, fires ``--mutations`` bookings over HTTP and checks that every subscriber got
exactly what it is entitled to, how fast, and what it cost the server. The phases, in
order (each bounded by ``--phase-timeout``):

1. sign-ins: every bench user once (each sign-in is its own session; a user's sockets share it);
2. warm-up: a few subscribers of each kind and a short burst, not recorded, so first-use
   costs (imports, statement caches, LISTEN) are not measured;
3. the burst without subscribers: the mutations' own CPU;
4. ``--subscribers`` idle subscribers: resident memory against phase 3's, and which worker
   holds each socket (from ``/proc``);
5. the same burst with them: delivery latency, CPU per delivered event, missing and extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http.client
import multiprocessing
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import orjson

from bench import config
from bench.live_clients import Pool, Report, SubscriberSpec, child_main
from bench.live_stats import (
    KINDS,
    Accounting,
    Change,
    Key,
    account,
    expected_keys,
    latency_summary,
    parse_proc_net_tcp,
    per_event_ms,
    plan_mix,
    socket_inode,
    users_for,
)
from bench.scenarios import LOGIN, global_id
from bench.servers import ROOT, Server, cpu_by_pid, cpu_seconds, database_backends, rigbook_server

T = TypeVar("T")

BOOKING_TENANT = 0  # bench0: the tenant the burst books in
OTHER_TENANT = 1  # bench1: subscribers entitled to none of it
# Roles of the extra staff users, in turn: mostly STAFF, some MANAGER, a few ADMIN.
STAFF_ROLES = ("STAFF", "STAFF", "MANAGER", "STAFF", "ADMIN", "STAFF", "MANAGER", "STAFF", "STAFF", "MANAGER")
HTTP_TIMEOUT = 30.0  # seconds for one HTTP request of the bench
SIGN_IN_CONCURRENCY = 4  # each sign-in verifies an argon2id hash of 64 MiB
SIGN_IN_SECONDS = 1.0  # the sign-in phase's bound per user, when more than --phase-timeout
BOOKING_HOURS = 4
EPOCH = datetime(2150, 1, 1, tzinfo=UTC)  # past `bench run`'s reserve slots (2100-2145)
EPOCH_DAYS = 30 * 365
WARMUP_MUTATIONS = 10
WARMUP_PER_KIND = 2
GRACE_SECONDS = 2.0  # after the last entitled event: time for anything extra to show up
IDLE_SETTLE_SECONDS = 1.0

CALENDAR = """subscription Calendar {
  reservationEvents {
    type occurredAt
    reservation { id number title status startsAt endsAt customer { id name } }
  }
}"""
MY_RESERVATIONS = """subscription MyReservations {
  reservationEvents { type occurredAt reservation { id number status startsAt endsAt } }
}"""
AVAILABILITY = """subscription Availability($ids: [ID!]!, $from: DateTime!, $to: DateTime!) {
  availabilityChanged(equipmentIds: $ids, from: $from, to: $to) {
    total held available equipment { id } reservations { id }
  }
}"""
CREATE = """mutation LiveCreate($input: CreateReservationInput!) {
  createReservation(input: $input) {
    __typename
    ... on CreateReservationSuccess { reservation { id status version customer { id } } }
    ... on Error { code message }
  }
}"""
CONFIRM = """mutation LiveConfirm($input: ReservationTransitionInput!) {
  confirmReservation(input: $input) {
    __typename
    ... on ReservationSuccess { reservation { id status version } }
    ... on Error { code message }
  }
}"""


@dataclass(frozen=True)
class LiveOptions:
    database_url: str
    output: Path
    workers: int = 2
    subscribers: int = 1000
    mutations: int = 100
    concurrency: int = 10
    confirm: bool = False
    client_processes: int = 2
    connections_per_user: int = 5
    items: int = 10
    phase_timeout: float = 120.0
    keep_logs: bool = False
    label: str = ""
    server_env: dict[str, str] = field(default_factory=dict)  # --server-env: more RIGBOOK_* settings

    @property
    def server_url(self) -> str:
        return config.with_user(self.database_url, config.APP_ROLE)


def default_output() -> Path:
    return ROOT / "bench" / "results" / f"live-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"


@dataclass(frozen=True)
class User:
    email: str
    global_id: str
    role: str
    password: str
    slug: str


@dataclass(frozen=True)
class Job:
    """One booking of a burst (and, with ``--confirm``, its confirmation)."""

    index: int
    equipment_id: str
    starts_at: datetime
    ends_at: datetime
    customer: User | None  # who it is for; with --confirm the customer requests it


@dataclass
class Fixture:
    """What the run books and who subscribes."""

    admin: User
    staff: list[User]
    customers: list[User]
    other: list[User]
    seeded_customers: list[User]  # the warm-up's and the first burst's customers: nobody subscribes as them
    items: list[str]  # equipment global ids the bursts book
    windows: dict[str, tuple[datetime, datetime]]  # per phase: warmup, baseline, burst


@dataclass
class BurstResult:
    changes: list[Change] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    unsent: int = 0  # bookings never sent: the phase's time was over
    started: float = 0.0
    finished: float = 0.0
    cpu_seconds: float = 0.0
    db_cpu_seconds: float = 0.0
    drain_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        create = [c.responded - c.started for c in self.changes if c.event_type == "CREATED"]
        confirm = [c.responded - c.started for c in self.changes if c.event_type == "CONFIRMED"]
        return {
            "mutations": len(self.changes),
            "failures": self.failures[:20],
            "failed": len(self.failures) - (1 if self.unsent else 0) + self.unsent,
            "unsent": self.unsent,
            "seconds": round(self.finished - self.started, 3),
            "create_latency": latency_summary(create),
            "confirm_latency": latency_summary(confirm) if confirm else None,
            "cpu_seconds": round(self.cpu_seconds, 3),
            "db_cpu_seconds": round(self.db_cpu_seconds, 3),
            "drain_seconds": round(self.drain_seconds, 3),
        }


async def bounded(awaitable: Awaitable[T], seconds: float, what: str) -> T:
    """``awaitable``, or SystemExit naming the phase that did not finish in ``seconds``."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        raise SystemExit(f"{what} did not finish in {seconds:.0f}s") from None


# ---------------------------------------------------------------------------------------------
# Database: users and the fixture


async def ensure_users(
    connection: Any, tenant_id: uuid.UUID, slug: str, prefix: str, count: int, roles: Sequence[str]
) -> list[User]:
    """``count`` bench users ``live-<prefix>NNNN@<slug>.example``, inserted (real argon2id hashes,
    Rigbook's default parameters, as ``seed`` makes them) where missing."""
    from bench.seed import USER_COLUMNS, _hashes

    emails = [f"live-{prefix}{number:04}@{slug}.example" for number in range(1, count + 1)]
    rows = await connection.fetch(
        "SELECT id, email, role FROM app_user WHERE tenant_id = $1 AND email = ANY($2::text[])",
        tenant_id,
        emails,
    )
    found = {row["email"]: (row["id"], row["role"]) for row in rows}
    missing = [(number, email) for number, email in enumerate(emails) if email not in found]
    if missing:
        hashes = await _hashes()
        now = datetime.now(UTC)
        records = []
        for number, email in missing:
            role = roles[number % len(roles)]
            user_id = uuid.uuid4()
            password_hash = hashes["customer" if role == "CUSTOMER" else "staff"]
            name = f"Live {prefix} {number + 1:04}"
            records.append((tenant_id, user_id, email, name, role, password_hash, True, now, now))
            found[email] = (user_id, role)
        await connection.copy_records_to_table("app_user", records=records, columns=USER_COLUMNS)
    return [_user(email, *found[email], slug) for email in emails]


def _user(email: str, user_id: uuid.UUID, role: str, slug: str) -> User:
    password = config.CUSTOMER_PASSWORD if role == "CUSTOMER" else config.STAFF_PASSWORD
    return User(email, global_id("User", user_id), role, password, slug)


OVERLAP_SQL = """
SELECT count(*) FROM reservation_line l
JOIN reservation r ON r.tenant_id = l.tenant_id AND r.id = l.reservation_id
WHERE l.tenant_id = $1 AND l.equipment_id = ANY($2::uuid[]) AND r.starts_at < $4 AND r.ends_at > $3
"""


def burst_span(mutations: int, items: int) -> timedelta:
    """How long one burst's bookings stretch: each item gets back-to-back 4-hour bookings."""
    return timedelta(hours=BOOKING_HOURS * -(-mutations // items))


def phase_windows(start: datetime, mutations: int, items: int) -> dict[str, tuple[datetime, datetime]]:
    """Separate windows for the warm-up, the first burst and the measured one (a day apart)."""
    span = burst_span(max(mutations, WARMUP_MUTATIONS), items)
    windows = {}
    for number, phase in enumerate(("warmup", "baseline", "burst")):
        begins = start + number * (span + timedelta(days=1))
        windows[phase] = (begins, begins + span)
    return windows


def build_jobs(
    count: int, items: Sequence[str], window: tuple[datetime, datetime], customers: Sequence[User | None]
) -> list[Job]:
    """``count`` bookings of quantity 1: job i books ``items[i % len(items)]``, the items' bookings
    back to back from the window's start, for ``customers[i % len(customers)]``."""
    jobs = []
    for index in range(count):
        starts_at = window[0] + timedelta(hours=BOOKING_HOURS * (index // len(items)))
        ends_at = starts_at + timedelta(hours=BOOKING_HOURS)
        jobs.append(
            Job(index, items[index % len(items)], starts_at, ends_at, customers[index % len(customers)])
        )
    return jobs


def burst_customers(customers: Sequence[User], confirm: bool) -> list[User | None]:
    """Whom a burst books for: every customer in turn, and (without --confirm) every tenth booking for nobody."""
    if confirm:
        return list(customers)
    chosen: list[User | None] = []
    for index in range(10 * len(customers)):
        chosen.append(None if index % 10 == 9 else customers[index % len(customers)])
    return chosen


async def load_fixture(options: LiveOptions, mix: dict[str, int]) -> Fixture:
    connection = await asyncpg.connect(config.asyncpg_url(options.database_url))
    try:
        tenants = {}
        for index in (BOOKING_TENANT, OTHER_TENANT):
            slug = config.tenant_slug(index)
            tenant_id = await connection.fetchval("SELECT id FROM tenant WHERE slug = $1", slug)
            if tenant_id is None:
                raise SystemExit(f"no tenant {slug!r}: run `python -m bench seed` (at least 2 tenants) first")
            tenants[index] = (tenant_id, slug)
        tenant_id, slug = tenants[BOOKING_TENANT]
        other_id, other_slug = tenants[OTHER_TENANT]
        admin = await connection.fetchrow(
            "SELECT id, role FROM app_user WHERE tenant_id = $1 AND email = $2",
            tenant_id,
            config.admin_email(slug),
        )
        seeded = await connection.fetch(
            "SELECT id, email, role FROM app_user WHERE tenant_id = $1 AND role = 'CUSTOMER' "
            "AND email LIKE 'customer%' ORDER BY email",
            tenant_id,
        )
        if admin is None or not seeded:
            raise SystemExit(f"tenant {slug!r} lacks its admin or customers: re-seed with --reset")
        per_user = options.connections_per_user
        staff = await ensure_users(
            connection, tenant_id, slug, "staff", users_for(mix["staff"], per_user), STAFF_ROLES
        )
        customers = await ensure_users(
            connection, tenant_id, slug, "customer", users_for(mix["customer"], per_user), ("CUSTOMER",)
        )
        other = await ensure_users(
            connection, other_id, other_slug, "staff", users_for(mix["other_tenant"], per_user), STAFF_ROLES
        )
        bulk = await connection.fetch(
            "SELECT id FROM equipment WHERE tenant_id = $1 AND status = 'ACTIVE' AND tracking = 'BULK' "
            "ORDER BY name DESC, id DESC",
            tenant_id,
        )
        # Far down the catalogue, away from the read scenarios' items; the windows (from 2150)
        # are past the slots `bench run`'s reserve books (2100-2145) anyway.
        chosen = (
            bulk[200 : 200 + options.items] if len(bulk) >= 200 + options.items else bulk[: options.items]
        )
        if len(chosen) < options.items:
            raise SystemExit(f"tenant {slug!r} has fewer than {options.items} ACTIVE BULK items")
        item_ids = [row["id"] for row in chosen]
        rng = random.Random()
        for _attempt in range(20):
            start = EPOCH + timedelta(days=rng.randrange(EPOCH_DAYS))
            windows = phase_windows(start, options.mutations, options.items)
            overlapping = await connection.fetchval(
                OVERLAP_SQL, tenant_id, item_ids, windows["warmup"][0], windows["burst"][1]
            )
            if not overlapping:
                break
        else:
            raise SystemExit("found no free far-future window for the bursts; re-seed with --reset")
    finally:
        await connection.close()
    return Fixture(
        admin=_user(config.admin_email(slug), admin["id"], admin["role"], slug),
        staff=staff,
        customers=customers,
        other=other,
        seeded_customers=[_user(row["email"], row["id"], row["role"], slug) for row in seeded],
        items=[global_id("Equipment", item) for item in item_ids],
        windows=windows,
    )


async def prepare_database(options: LiveOptions) -> bool:
    """What ``bench run`` does first: migrate, create and grant the serving role; whether RLS applies."""
    from bench.run import RunOptions
    from bench.run import prepare_database as prepare

    run_options = RunOptions(
        database_url=options.database_url,
        workers=options.workers,
        concurrency=options.concurrency,
        duration=0,
        rounds=1,
        scenarios=[],
        output=options.output,
        threads=1,
        warmup=0,
        keep_logs=options.keep_logs,
    )
    return await prepare(run_options)


# ---------------------------------------------------------------------------------------------
# HTTP: sign-ins and bursts


async def graphql(
    client: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any], token: str | None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        url,
        content=orjson.dumps({"query": query, "variables": variables}),
        headers=headers | {"Content-Type": "application/json"},
    )
    body = orjson.loads(response.content)
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"HTTP {response.status_code}: {str(body)[:300]}")
    return body["data"]


async def sign_in_all(client: httpx.AsyncClient, url: str, users: Sequence[User]) -> dict[str, str]:
    """An access token per user: one sign-in (one session) each."""
    slots = asyncio.Semaphore(SIGN_IN_CONCURRENCY)
    tokens: dict[str, str] = {}

    async def one(user: User) -> None:
        variables = {"input": {"tenant": user.slug, "email": user.email, "password": user.password}}
        async with slots:
            data = await graphql(client, url, LOGIN, variables, None)
        result = data["login"]
        if result.get("__typename") != "LoginSuccess":
            raise SystemExit(f"could not sign in as {user.email}: {result}")
        tokens[user.email] = result["accessToken"]

    await asyncio.gather(*(one(user) for user in users))
    return tokens


async def run_burst(
    client: httpx.AsyncClient,
    url: str,
    jobs: Sequence[Job],
    tokens: dict[str, str],
    admin: User,
    *,
    confirm: bool,
    concurrency: int,
    salt: str,
    within: float,
) -> BurstResult:
    """The bookings at ``concurrency``; each change with its request and response times.

    No booking is sent after ``within`` seconds (those left count as failed), so the burst
    ends by then plus one request's HTTP timeout.
    """
    result = BurstResult()
    deadline = time.monotonic() + within
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def one(job: Job) -> None:
        booking: dict[str, Any] = {
            "title": f"Live {salt} {job.index}",
            "startsAt": job.starts_at.isoformat(),
            "endsAt": job.ends_at.isoformat(),
            "lines": [{"equipmentId": job.equipment_id, "quantity": 1}],
        }
        if confirm and job.customer is not None:
            token = tokens[job.customer.email]  # the customer asks; staff confirm below
        else:
            token = tokens[admin.email]
            if job.customer is not None:
                booking["customerId"] = job.customer.global_id
        started = time.monotonic()
        created = (await graphql(client, url, CREATE, {"input": booking}, token))["createReservation"]
        responded = time.monotonic()
        if created["__typename"] != "CreateReservationSuccess":
            result.failures.append(f"create {job.index}: {created}")
            return
        reservation = created["reservation"]
        customer = (reservation.get("customer") or {}).get("id")
        holds = reservation["status"] == "CONFIRMED"
        result.changes.append(
            Change(reservation["id"], "CREATED", customer, job.equipment_id, holds, started, responded)
        )
        if not confirm or holds:
            return
        started = time.monotonic()
        variables = {"input": {"id": reservation["id"], "expectedVersion": reservation["version"]}}
        confirmed = (await graphql(client, url, CONFIRM, variables, tokens[admin.email]))[
            "confirmReservation"
        ]
        responded = time.monotonic()
        if confirmed["__typename"] != "ReservationSuccess":
            result.failures.append(f"confirm {job.index}: {confirmed}")
            return
        result.changes.append(
            Change(reservation["id"], "CONFIRMED", customer, job.equipment_id, True, started, responded)
        )

    async def worker() -> None:
        while not queue.empty() and time.monotonic() < deadline:
            job = queue.get_nowait()
            try:
                await one(job)
            except (httpx.HTTPError, RuntimeError, KeyError) as error:
                result.failures.append(f"job {job.index}: {type(error).__name__}: {error}"[:300])

    result.started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.finished = time.monotonic()
    result.unsent = queue.qsize()
    if result.unsent:
        result.failures.append(f"{result.unsent} bookings not sent: the phase's {within:.0f}s were over")
    return result


# ---------------------------------------------------------------------------------------------
# Subscribers


def subscriber_specs(
    mix: dict[str, int],
    fixture: Fixture,
    tokens: dict[str, str],
    window: tuple[datetime, datetime],
    *,
    first_index: int = 0,
) -> list[SubscriberSpec]:
    """The mix as specs, kinds interleaved (so every client process and worker gets some of each);
    each kind's users in turn, every user holding about ``connections_per_user`` sockets."""
    window_vars = {"from": window[0].isoformat(), "to": window[1].isoformat()}
    by_kind: dict[str, list[SubscriberSpec]] = {kind: [] for kind in KINDS}
    pools = {
        "staff": fixture.staff,
        "customer": fixture.customers,
        "other_tenant": fixture.other,
        "availability": fixture.staff,
    }
    for kind in KINDS:
        users = pools[kind]
        for number in range(mix[kind]):
            user = users[number % len(users)]
            if kind == "availability":
                item = fixture.items[number % len(fixture.items)]
                document, variables, root = (
                    AVAILABILITY,
                    {"ids": [item], **window_vars},
                    "availabilityChanged",
                )
            else:
                item = None
                document = MY_RESERVATIONS if kind == "customer" else CALENDAR
                variables, root = {}, "reservationEvents"
            by_kind[kind].append(
                SubscriberSpec(
                    0, kind, user.global_id, user.email, tokens[user.email], document, variables, root, item
                )
            )
    specs: list[SubscriberSpec] = []
    total = sum(mix.values())
    cursors = dict.fromkeys(KINDS, 0.0)
    # Interleave proportionally: at each step take the kind furthest behind its share.
    while len(specs) < total:
        kind = min(
            (kind for kind in KINDS if cursors[kind] < mix[kind]),
            key=lambda kind: (cursors[kind] + 1) / mix[kind],
        )
        spec = by_kind[kind][int(cursors[kind])]
        cursors[kind] += 1
        specs.append(dataclasses.replace(spec, index=first_index + len(specs)))
    return specs


def worker_of_peer_ports(server: Server) -> dict[int, int]:
    """Which worker process holds each established connection to ``server``: peer port -> pid.

    Read from ``/proc/net/tcp`` (socket inode by port pair) and each worker's ``/proc/<pid>/fd``.
    """
    peers = parse_proc_net_tcp(Path("/proc/net/tcp").read_text(), server.port)
    owners: dict[int, int] = {}
    for pid in server.worker_pids():
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                inode = socket_inode(os.readlink(f"/proc/{pid}/fd/{descriptor}"))
            except OSError:
                continue
            if inode is not None and inode in peers:
                owners[peers[inode]] = pid
    return owners


PROBE_CONNECTIONS = 16


def serving_workers(server: Server, connections: int = PROBE_CONNECTIONS) -> set[int]:
    """Workers seen answering: ``connections`` requests to the health route, kept alive while
    ``/proc`` tells which worker holds each."""
    opened: list[http.client.HTTPConnection] = []
    try:
        for _ in range(connections):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            opened.append(connection)
            connection.request("GET", "/health/live")
            response = connection.getresponse()
            response.read()
        owners = worker_of_peer_ports(server)
        ports = [connection.sock.getsockname()[1] for connection in opened if connection.sock is not None]
        return {owners[port] for port in ports if port in owners}
    except (OSError, http.client.HTTPException):
        return set()
    finally:
        for connection in opened:
            connection.close()


def wait_for_workers(server: Server, workers: int, seconds: float) -> list[int]:
    """Until each of the ``workers`` worker processes has answered a request.

    ``Server.wait_ready`` counts processes, and uvicorn kills and replaces a worker that does not
    answer its health check within 5 s of being spawned (which a loaded machine can take), so a
    process counted may never serve.
    """
    deadline = time.monotonic() + seconds
    answered: set[int] = set()
    while time.monotonic() < deadline:
        current = set(server.worker_pids())
        answered |= serving_workers(server)
        if len(current) >= workers and current <= answered:
            return sorted(current)
        time.sleep(0.5)
    raise SystemExit(
        f"not every one of {workers} workers served within {seconds:.0f}s; see {server.log_path}"
    )


ROUTINE_LOG = (
    '"POST /graphql',
    '"GET /health',
    '"WebSocket /graphql"',
    "connection open",
    "connection closed",
    "INFO:",
)


def server_complaints(server: Server, limit: int = 10) -> dict[str, int]:
    """The server log's lines other than access logs and uvicorn's own news, by count (most first)."""
    try:
        text = server.log_path.read_text(errors="replace")
    except OSError:
        return {}
    counted = Counter(
        line.strip()[:300]
        for line in text.splitlines()
        if line.strip() and not any(part in line for part in ROUTINE_LOG)
    )
    return dict(counted.most_common(limit))


def restarted_workers(server: Server) -> int:
    """How many times uvicorn replaced a worker so far (its log says "Child process [pid] died")."""
    try:
        return server.log_path.read_text(errors="replace").count("] died")
    except OSError:
        return 0


class Clients:
    """Client processes, each with its share of the subscribers, driven over pipes."""

    def __init__(
        self, url: str, specs: Sequence[SubscriberSpec], processes: int, open_timeout: float
    ) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of this loop inherited
        self.pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.indexes: list[set[int]] = []
        for number in range(processes):
            part = list(specs[number::processes])
            if not part:
                continue
            parent, child = context.Pipe()
            process = context.Process(target=child_main, args=(child, url, part, open_timeout), daemon=True)
            process.start()
            child.close()
            self.pipes.append(parent)
            self.processes.append(process)
            self.indexes.append({spec.index for spec in part})

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes if process.pid is not None]

    async def _receive(self, pipe: Connection, seconds: float, expected: str, what: str) -> tuple[Any, ...]:
        if not await bounded(asyncio.to_thread(pipe.poll, seconds), seconds + 5, what):
            raise SystemExit(f"{what} did not finish in {seconds:.0f}s")
        try:
            message: tuple[Any, ...] = pipe.recv()
        except EOFError:
            raise SystemExit(f"{what}: a client process exited (its traceback is above)") from None
        if message[0] != expected:
            raise SystemExit(f"{what}: a client process sent {message[0]!r}, not {expected!r}")
        return message

    async def ready(self, seconds: float) -> list[Report]:
        answers = await asyncio.gather(
            *(self._receive(pipe, seconds, "ready", "connecting the subscribers") for pipe in self.pipes)
        )
        return [report for answer in answers for report in answer[2]]

    async def collect(
        self, expected: dict[int, list[Key]], seconds: float, grace: float
    ) -> tuple[float | None, int]:
        """Ask every process to wait for what its subscribers are entitled to; (last arrival, short)."""
        for pipe, indexes in zip(self.pipes, self.indexes, strict=True):
            pipe.send(("collect", {index: expected[index] for index in indexes}, seconds, grace))
        answers = await asyncio.gather(
            *(self._receive(pipe, seconds + 10, "delivered", "delivering the burst") for pipe in self.pipes)
        )
        short = sum(answer[2] for answer in answers)
        lasts = [answer[1] for answer in answers]
        return (None if short or None in lasts else max(lasts)), short

    async def reports(self, seconds: float) -> list[Report]:
        answers = await asyncio.gather(
            *(self._receive(pipe, seconds, "reports", "closing the subscribers") for pipe in self.pipes)
        )
        return [report for answer in answers for report in answer[1]]

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop",))
        for process in self.processes:
            process.join(timeout=15)
            if process.is_alive():
                process.terminate()  # by its own pid
                process.join(timeout=5)


def server_limits(subscribers: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Settings changed for the run: caps raised so that they do not refuse the bench's own sockets,
    and ``--server-env`` (which wins)."""
    return {
        "RIGBOOK_WS_MAX_CONNECTIONS_PER_USER": str(max(10, subscribers)),
        "RIGBOOK_WS_MAX_CONNECTIONS_PER_TENANT": str(max(1000, subscribers)),
        # uvicorn's limit_concurrency (RIGBOOK_MAX_CONNECTIONS per worker) counts WebSockets too.
        "RIGBOOK_MAX_CONNECTIONS": str(max(1000, subscribers + 100)),
    } | (extra or {})


def parse_server_env(pairs: Sequence[str]) -> dict[str, str]:
    """``--server-env NAME=VALUE`` pairs; only Rigbook's own settings."""
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.startswith("RIGBOOK_") or name in {"RIGBOOK_DATABASE_URL", "RIGBOOK_ENV"}:
            raise SystemExit(f"--server-env takes RIGBOOK_NAME=VALUE (not the database or env): {pair!r}")
        found[name] = value
    return found


def accounting_by(
    specs: dict[int, SubscriberSpec],
    expected: dict[int, dict[Key, float]],
    reports: Sequence[Report],
    changes: Sequence[Change],
    group: Callable[[SubscriberSpec, Report], str],
) -> dict[str, Accounting]:
    """Each connected subscriber's accounting, summed by ``group``."""
    known = frozenset(change.reservation_id for change in changes)
    groups: dict[str, Accounting] = defaultdict(Accounting)
    for report in reports:
        if not report.ready:
            continue
        spec = specs[report.index]
        groups[group(spec, report)].add(account(spec.kind, expected[report.index], report.messages, known))
    return dict(groups)


def total_of(groups: dict[str, Accounting]) -> Accounting:
    total = Accounting()
    for each in groups.values():
        total.add(each)
    return total


def rss_by_worker(server: Server) -> dict[str, float]:
    from bench.servers import memory_mb

    found = {}
    for pid in server.worker_pids():
        rss = memory_mb(pid, "VmRSS")
        if rss is not None:
            found[str(pid)] = round(rss, 2)
    return found


async def measured(
    server: Server,
    database: str,
    clients: Sequence[int],
    burst: Awaitable[BurstResult],
    seconds: float,
    after: Callable[[BurstResult], Awaitable[T]],
) -> tuple[BurstResult, T, float]:
    """Run ``burst``, then ``after`` (waiting for deliveries), until the server is idle again;
    charge the server (and PostgreSQL) the CPU used meanwhile. Also the client processes' CPU."""
    db_before = cpu_by_pid(database_backends(database))
    cpu_before = server.cpu_seconds()
    client_before = cpu_seconds(list(clients))
    result = await bounded(burst, seconds + 2 * HTTP_TIMEOUT, "the burst")
    outcome = await after(result)
    result.drain_seconds = await asyncio.to_thread(server.wait_idle, timeout=seconds)
    result.cpu_seconds = server.cpu_seconds() - cpu_before
    db_after = cpu_by_pid(database_backends(database))
    result.db_cpu_seconds = sum(cpu - db_before.get(pid, 0.0) for pid, cpu in db_after.items())
    return result, outcome, cpu_seconds(list(clients)) - client_before


async def nothing(_result: BurstResult) -> None:
    """Nothing to wait for after a burst nobody listens to."""
    return None


async def execute(options: LiveOptions) -> dict[str, Any]:
    """Every phase; the results (the summary is printed from them)."""
    mix = plan_mix(options.subscribers)
    rls = await prepare_database(options)
    fixture = await load_fixture(options, mix)
    database = config.database_name(options.database_url)
    limits = server_limits(options.subscribers, options.server_env)
    load_now = os.getloadavg()[0]
    if load_now > 0.5 * (os.cpu_count() or 1):
        print(
            f"warning: load average {load_now:.1f} on {os.cpu_count()} CPUs: figures will be noisy",
            flush=True,
        )
    work_dir = Path(tempfile.mkdtemp(prefix="rigbook-live-"))
    server = rigbook_server(options.server_url, options.workers, work_dir)
    server.env.update(limits)
    results: dict[str, Any] = {"meta": metadata(options, rls, mix, fixture, limits)}
    timeout = options.phase_timeout
    clients: Clients | None = None
    failed = True
    try:
        server.start()
        await asyncio.to_thread(server.wait_ready, options.workers)
        workers_at_start = await asyncio.to_thread(wait_for_workers, server, options.workers, timeout)
        restarts_at_start = restarted_workers(server)
        ws_url = server.url.replace("http://", "ws://", 1)
        print(
            f"rigbook on :{server.port}, {options.workers} worker(s), as {config.APP_ROLE} "
            f"(row-level security {'on' if rls else 'OFF'}); raised for the run: "
            + ", ".join(f"{key}={value}" for key, value in limits.items()),
            flush=True,
        )
        results["startup_rss_mb"] = rss_by_worker(server)
        http_limits = httpx.Limits(max_connections=max(options.concurrency, SIGN_IN_CONCURRENCY) + 2)
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, trust_env=False, limits=http_limits) as client:
            users = [fixture.admin, *fixture.staff, *fixture.customers, *fixture.other]
            if options.confirm:
                users += fixture.seeded_customers
            started = time.monotonic()
            # Each sign-in verifies an argon2id hash (~0.2-0.5 s of CPU): this phase grows with the users.
            tokens = await bounded(
                sign_in_all(client, server.url, users),
                max(timeout, SIGN_IN_SECONDS * len(users)),
                f"signing in {len(users)} users",
            )
            results["sign_in"] = {"users": len(users), "seconds": round(time.monotonic() - started, 2)}
            print(
                f"signed in {len(users)} users, one session each, in {results['sign_in']['seconds']}s",
                flush=True,
            )

            def burst(phase: str, customers: Sequence[User | None]) -> Awaitable[BurstResult]:
                count = min(WARMUP_MUTATIONS, options.mutations) if phase == "warmup" else options.mutations
                jobs = build_jobs(count, fixture.items, fixture.windows[phase], customers)
                return run_burst(
                    client,
                    server.url,
                    jobs,
                    tokens,
                    fixture.admin,
                    confirm=options.confirm,
                    concurrency=options.concurrency,
                    salt=phase,
                    within=timeout,
                )

            # The warm-up's and the first burst's bookings are for customers nobody subscribes as.
            seeded = burst_customers(fixture.seeded_customers, options.confirm)
            results["warmup"] = await warm_up(
                options, fixture, tokens, ws_url, lambda: burst("warmup", seeded)
            )
            await asyncio.to_thread(server.wait_idle, timeout=timeout)

            # 3. The burst with nobody listening: what the mutations cost by themselves.
            baseline, _, _ = await measured(server, database, [], burst("baseline", seeded), timeout, nothing)
            results["baseline_burst"] = baseline.to_json()
            print(
                f"burst without subscribers: {len(baseline.changes)} changes in "
                f"{baseline.finished - baseline.started:.2f}s, server CPU {baseline.cpu_seconds:.2f}s",
                flush=True,
            )
            if baseline.failures:
                raise SystemExit(f"the burst without subscribers failed: {baseline.failures[0]}")
            await asyncio.sleep(IDLE_SETTLE_SECONDS)
            rss_none = rss_by_worker(server)

            # 4. Idle subscribers.
            specs = subscriber_specs(mix, fixture, tokens, fixture.windows["burst"])
            started = time.monotonic()
            clients = Clients(ws_url, specs, options.client_processes, min(30.0, timeout))
            ready = await clients.ready(timeout)
            connect_seconds = time.monotonic() - started
            owners = worker_of_peer_ports(server)
            connected = [report for report in ready if report.ready]
            refused = Counter(report.failure or "" for report in ready if not report.ready)
            print(
                f"{len(connected)}/{len(specs)} subscribers connected in {connect_seconds:.1f}s "
                f"from {len(clients.processes)} client processes"
                + (f"; refused: {dict(refused)}" if refused else ""),
                flush=True,
            )
            await asyncio.to_thread(server.wait_idle, timeout=timeout)
            await asyncio.sleep(IDLE_SETTLE_SECONDS)
            rss_idle = rss_by_worker(server)

            # 5. The same burst with them listening.
            expected: dict[int, dict[Key, float]] = {}
            running = clients

            async def deliveries(result: BurstResult) -> tuple[float | None, int]:
                for spec in specs:
                    expected[spec.index] = expected_keys(
                        spec.kind, spec.principal, spec.equipment_id, result.changes
                    )
                keys = {index: list(entitled) for index, entitled in expected.items()}
                return await running.collect(keys, timeout, GRACE_SECONDS)

            customers = burst_customers(fixture.customers, options.confirm)
            burst_result, (last, short), client_cpu = await measured(
                server, database, clients.pids(), burst("burst", customers), timeout, deliveries
            )
            reports = await clients.reports(timeout + GRACE_SECONDS)
            rss_after = rss_by_worker(server)
        results["workers"] = {
            "pids_at_start": workers_at_start,
            "pids_at_end": sorted(server.worker_pids()),
            "replaced_before_serving": restarts_at_start,
            "replaced_during_run": restarted_workers(server) - restarts_at_start,
        }
        results["server_log"] = server_complaints(server)
        results["idle"] = {
            "connect_seconds": round(connect_seconds, 2),
            "connected": len(connected),
            "refused": dict(refused),
            "websocket_extensions": sorted({report.extensions or "none" for report in connected}),
        }
        results["burst"] = burst_result.to_json() | {
            "client_cpu_seconds": round(client_cpu, 3),
            "subscribers_short_at_deadline": short,
            "last_entitled_arrival_s": round(last - burst_result.started, 3) if last is not None else None,
        }
        results |= summarise(
            {spec.index: spec for spec in specs},
            expected,
            reports,
            owners,
            burst_result,
            baseline,
            {"none": rss_none, "idle": rss_idle, "after": rss_after},
        )
        failed = False
    finally:
        if clients is not None:
            clients.stop()
        server.stop()
        if failed or options.keep_logs:
            print(f"server log kept in {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    return results


async def warm_up(
    options: LiveOptions,
    fixture: Fixture,
    tokens: dict[str, str],
    ws_url: str,
    burst: Callable[[], Awaitable[BurstResult]],
) -> dict[str, Any]:
    """A few subscribers of every kind and a short burst, in this process: first-use costs paid, and
    a refused subscription stops the run before the long phases."""
    timeout = options.phase_timeout
    specs = subscriber_specs(
        dict.fromkeys(KINDS, WARMUP_PER_KIND), fixture, tokens, fixture.windows["warmup"]
    )
    pool = Pool(specs)
    try:
        reports = await bounded(
            pool.open(ws_url, min(30.0, timeout)), timeout, "opening the warm-up subscribers"
        )
        refused = [report for report in reports if not report.ready]
        if refused:
            spec = specs[refused[0].index]
            raise SystemExit(f"a warm-up subscriber ({spec.kind}, {spec.email}) failed: {refused[0].failure}")
        result = await bounded(burst(), timeout, "the warm-up burst")
        expected = {
            spec.index: expected_keys(spec.kind, spec.principal, spec.equipment_id, result.changes)
            for spec in specs
        }
        await pool.collect({index: list(keys) for index, keys in expected.items()}, timeout)
        await asyncio.sleep(0.5)
    finally:
        reports = await pool.close()
    total = total_of(
        accounting_by(
            {spec.index: spec for spec in specs}, expected, reports, result.changes, lambda spec, _: spec.kind
        )
    )
    print(
        f"warm-up: {len(result.changes)} changes, {total.delivered}/{total.expected} events delivered to "
        f"{len(specs)} subscribers, {total.missing} missing, {total.extra} extra",
        flush=True,
    )
    return result.to_json() | {"delivery": total.to_json()}


def summarise(
    specs: dict[int, SubscriberSpec],
    expected: dict[int, dict[Key, float]],
    reports: Sequence[Report],
    owners: dict[int, int],
    burst: BurstResult,
    baseline: BurstResult,
    rss: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """Delivery by kind and by worker, correctness, CPU per event and memory per subscriber."""

    def worker(_spec: SubscriberSpec, report: Report) -> str:
        pid = owners.get(report.local_port or -1)
        return str(pid) if pid is not None else "unknown"

    by_kind = accounting_by(specs, expected, reports, burst.changes, lambda spec, _: spec.kind)
    by_worker = accounting_by(specs, expected, reports, burst.changes, worker)
    total = total_of(by_kind)
    connected = [report for report in reports if report.ready]
    closed = Counter(
        f"{report.close_code} {report.close_reason}".strip()
        for report in connected
        if report.close_code is not None
    )
    not_connected = [report for report in reports if not report.ready]
    kinds_per_worker: dict[str, Counter[str]] = defaultdict(Counter)
    for report in connected:
        kinds_per_worker[worker(specs[report.index], report)][specs[report.index].kind] += 1
    net_cpu = burst.cpu_seconds - baseline.cpu_seconds
    net_db = burst.db_cpu_seconds - baseline.db_cpu_seconds
    rss_none, rss_idle = sum(rss["none"].values()), sum(rss["idle"].values())
    correct = not (total.missing or total.extra or total.errors or total.refetch or closed or not_connected)
    return {
        "delivery": total.to_json() | {"not_connected": len(not_connected), "closed_by_server": dict(closed)},
        "by_kind": {kind: by_kind[kind].to_json() for kind in KINDS if kind in by_kind},
        "by_worker": {
            pid: accounting.to_json() | {"kinds": dict(kinds_per_worker[pid])}
            for pid, accounting in sorted(by_worker.items())
        },
        "correct": correct,
        "cost": {
            "server_cpu_s": round(burst.cpu_seconds, 3),
            "server_cpu_s_without_subscribers": round(baseline.cpu_seconds, 3),
            "db_cpu_s": round(burst.db_cpu_seconds, 3),
            "db_cpu_s_without_subscribers": round(baseline.db_cpu_seconds, 3),
            "cpu_ms_per_event": per_event_ms(burst.cpu_seconds, total.messages),
            "cpu_ms_per_event_net": per_event_ms(net_cpu, total.messages),
            "db_cpu_ms_per_event_net": per_event_ms(net_db, total.messages),
        },
        "memory": {
            "rss_mb": rss,
            "kib_per_idle_subscriber": round(1024 * (rss_idle - rss_none) / len(connected), 2)
            if connected
            else None,
        },
    }


def metadata(
    options: LiveOptions, rls: bool, mix: dict[str, int], fixture: Fixture, limits: dict[str, str]
) -> dict[str, Any]:
    def command(*args: str) -> str:
        completed = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
        return completed.stdout.strip()

    commit = command("git", "rev-parse", "HEAD")
    return {
        "started_at": datetime.now(UTC).isoformat(),
        "label": options.label,
        "git_commit": commit or None,
        "git_dirty": bool(command("git", "status", "--porcelain", "--untracked-files=no"))
        if commit
        else None,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "database": config.database_name(options.database_url),
        "server_role": config.APP_ROLE,
        "workers": options.workers,
        "concurrency": options.concurrency,
        "row_level_security": rls,
        "subscribers": options.subscribers,
        "mutations": options.mutations,
        "confirm": options.confirm,
        "client_processes": options.client_processes,
        "connections_per_user": options.connections_per_user,
        "items": options.items,
        "phase_timeout_s": options.phase_timeout,
        "mix": mix,
        "users": {
            "staff": len(fixture.staff),
            "customer": len(fixture.customers),
            "other_tenant": len(fixture.other),
            "staff_roles": dict(Counter(user.role for user in fixture.staff)),
        },
        "principals": "bench users inserted (real argon2id hashes) and signed in once each; "
        "a user's sockets share its one session",
        "server_env_raised": limits,
        "windows": {
            phase: [moment.isoformat() for moment in window] for phase, window in fixture.windows.items()
        },
    }


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"


def summary_lines(results: dict[str, Any]) -> list[str]:
    """The readable summary of a results file."""
    meta, delivery, cost, memory = results["meta"], results["delivery"], results["cost"], results["memory"]
    burst, baseline = results["burst"], results["baseline_burst"]
    latency = delivery["latency"]
    workers = results.get("workers") or {}
    lines = [
        f"live updates: {meta['subscribers']} subscribers ({', '.join(f'{k} {v}' for k, v in meta['mix'].items())}), "
        f"{meta['mutations']} bookings{' + confirmations' if meta['confirm'] else ''} at concurrency {meta['concurrency']}, "
        f"{meta['workers']} worker(s), {meta['cpus']} CPUs, load {meta['load_average'][0]:.1f}",
        "raised for the run: "
        + ", ".join(f"{key}={value}" for key, value in meta["server_env_raised"].items()),
        f"principals: {meta['users']['staff']} staff users ({meta['users']['staff_roles']}), "
        f"{meta['users']['customer']} customers, {meta['users']['other_tenant']} of another tenant; {meta['principals']}",
        f"workers {workers.get('pids_at_start')}; uvicorn replaced {workers.get('replaced_before_serving', 0)} "
        "slow-starting worker(s) before they served",
        "",
        f"{'kind':<14}{'subs':>6}{'messages':>10}{'expected':>10}{'missing':>9}{'leaked':>8}{'dup':>6}"
        f"{'unknown':>9}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}",
    ]
    for kind, row in [*results["by_kind"].items(), ("all", delivery)]:
        lines.append(
            f"{kind:<14}{row['subscribers']:>6}{row['messages']:>10}{row['expected']:>10}{row['missing']:>9}"
            f"{row['leaked']:>8}{row['duplicates']:>6}{row['unknown']:>9}{row['errors']:>8}"
            f"{_ms(row['latency']['p50_ms']):>9}{_ms(row['latency']['p99_ms']):>9}"
            f"{_ms(row['latency']['max_ms']):>9}"
        )
    lines.append("")
    rss = memory["rss_mb"]
    for pid, row in results["by_worker"].items():
        lines.append(
            f"worker {pid}: {row['subscribers']} sockets ({', '.join(f'{k} {v}' for k, v in sorted(row['kinds'].items()))}), "
            f"{row['messages']} messages, p50 {_ms(row['latency']['p50_ms'])} ms, p99 {_ms(row['latency']['p99_ms'])} ms; "
            f"RSS {rss['none'].get(pid, '-')} -> {rss['idle'].get(pid, '-')} MB idle -> {rss['after'].get(pid, '-')} MB after"
        )
    lines += [
        "",
        f"delivery latency (arrival - mutation response): p50 {_ms(latency['p50_ms'])} ms, "
        f"p90 {_ms(latency['p90_ms'])} ms, p99 {_ms(latency['p99_ms'])} ms, max {_ms(latency['max_ms'])} ms "
        f"over {latency['count']} events",
        f"mutations: {burst['mutations']} in {burst['seconds']}s with subscribers (create p50 "
        f"{_ms(burst['create_latency']['p50_ms'])} ms, p99 {_ms(burst['create_latency']['p99_ms'])} ms), "
        f"{baseline['mutations']} in {baseline['seconds']}s without (p50 {_ms(baseline['create_latency']['p50_ms'])} ms, "
        f"p99 {_ms(baseline['create_latency']['p99_ms'])} ms)",
        f"last entitled event {burst['last_entitled_arrival_s']}s after the first request",
        f"server CPU: {cost['server_cpu_s']}s with subscribers, {cost['server_cpu_s_without_subscribers']}s without; "
        f"per delivered event {cost['cpu_ms_per_event']} ms gross, {cost['cpu_ms_per_event_net']} ms net of the mutations; "
        f"PostgreSQL {cost['db_cpu_ms_per_event_net']} ms net; client processes {burst['client_cpu_seconds']}s",
        f"memory per idle subscriber: {memory['kib_per_idle_subscriber']} KiB "
        f"(workers' RSS {sum(rss['none'].values()):.1f} MB without, {sum(rss['idle'].values()):.1f} MB with "
        f"{results['idle']['connected']} idle sockets; WebSocket extensions {results['idle']['websocket_extensions']})",
    ]
    for line, count in (results.get("server_log") or {}).items():
        lines.append(f"server log, {count}x: {line[:200]}")
    if burst["failed"]:
        lines.append(f"{burst['failed']} mutation(s) of the burst failed, e.g. {burst['failures'][0][:240]}")
    problems = []
    if burst["failed"]:
        problems.append(f"{burst['failed']} mutations failed")
    if delivery["not_connected"]:
        problems.append(f"{delivery['not_connected']} not connected ({results['idle']['refused']})")
    if delivery["closed_by_server"]:
        problems.append(f"closed by the server: {delivery['closed_by_server']}")
    for name in ("missing", "leaked", "duplicates", "unknown", "errors", "refetch"):
        if delivery[name]:
            problems.append(f"{delivery[name]} {name}")
    lines.append("correctness: " + ("PASS" if results["correct"] else "FAIL: " + "; ".join(problems)))
    if not valid(results):
        lines.append(
            f"INVALID: uvicorn replaced {results['workers']['replaced_during_run']} worker(s) during the run "
            "(its 5 s health check, on a loaded machine): CPU and per-worker figures do not hold"
        )
    return lines


def valid(results: dict[str, Any]) -> bool:
    """Whether the same worker processes served the whole run (CPU of a replaced one is lost)."""
    workers = results.get("workers") or {}
    return not workers.get("replaced_during_run") and workers.get("pids_at_start") == workers.get(
        "pids_at_end"
    )


def run(options: LiveOptions) -> int:
    results = asyncio.run(execute(options))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print()
    for line in summary_lines(results):
        print(line)
    print(f"\nresults written to {options.output}")
    return 0 if results["correct"] and valid(results) else 1
