"""The baseline: what the benchmark scenarios cost without GraphQL.

A minimal Starlette + asyncpg + orjson app answering ``POST /graphql`` for the
benchmark documents only (recognised by their exact text), with hand-written SQL,
producing the same ``data`` as Rigbook. It verifies the same JWT (HS256, same
secret, audience, issuer and required claims) and takes the tenant from it.
It is a yardstick, not a product: no limits, no error masking.

Run: ``uvicorn bench.baseline:create_app --factory`` with ``BENCH_DATABASE_URL``
(and optionally ``BENCH_JWT_SECRET``, ``BENCH_JWT_ISSUER``, ``BENCH_JWT_AUDIENCE``,
``BENCH_POOL_SIZE``) in the environment.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import config, scenarios
from bench.stock import HOLDING, HOLDS_SQL, group, held, held_seconds, total_stock, widest_buffers

REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss", "typ", "sid"]
STAFF_ROLES = frozenset({"ADMIN", "MANAGER", "STAFF"})
MAX_AVAILABILITY_ITEMS = 100
RESERVATION_STATUSES = ("REQUESTED", "CONFIRMED", "CHECKED_OUT", "RETURNED", "CANCELED")


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class Unauthenticated(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret: str
    issuer: str
    audience: str
    pool_size: int

    @staticmethod
    def from_environment() -> Settings:
        return Settings(
            database_url=config.asyncpg_url(os.environ["BENCH_DATABASE_URL"]),
            secret=os.environ.get("BENCH_JWT_SECRET", config.JWT_SECRET),
            issuer=os.environ.get("BENCH_JWT_ISSUER", "rigbook"),
            audience=os.environ.get("BENCH_JWT_AUDIENCE", "rigbook-api"),
            pool_size=int(os.environ.get("BENCH_POOL_SIZE", "20")),
        )


def new_id() -> uuid.UUID:
    """A UUIDv7, like db/ids.py."""
    value = ((time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF) << 80
    value |= int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value)


def global_id(type_name: str, pk: object) -> str:
    # asyncpg's UUID type prints like uuid.UUID; orjson would reject the object itself.
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def equipment_pk(value: str) -> uuid.UUID | None:
    try:
        type_name, _, raw = base64.b64decode(value.encode(), validate=True).decode().partition(":")
        return uuid.UUID(raw) if type_name == "Equipment" else None
    except (ValueError, binascii.Error, UnicodeError):
        return None


class Db:
    """The pool, and whether row-level security applies to the connecting role.

    Rigbook's migrations put a ``tenant_id = current_setting('app.tenant_id')`` policy on
    every tenant-owned table; superusers and BYPASSRLS roles skip it. When it applies,
    the baseline does what Rigbook does: a transaction that starts with ``set_config``.
    """

    def __init__(self, pool: Any, rls: bool) -> None:
        self.pool = pool
        self.rls = rls

    @asynccontextmanager
    async def connect(self, caller: Caller, *, write: bool = False) -> AsyncIterator[Any]:
        async with self.pool.acquire() as connection:
            if not (self.rls or write):
                yield connection
                return
            async with connection.transaction():
                if self.rls:
                    await connection.execute(
                        "SELECT set_config('app.tenant_id', $1, true)", str(caller.tenant_id)
                    )
                yield connection


RLS_APPLIES_SQL = """
SELECT NOT (r.rolsuper OR r.rolbypassrls)
       AND EXISTS (SELECT 1 FROM pg_class WHERE relname = 'app_user' AND relrowsecurity)
FROM pg_roles r WHERE r.rolname = current_user
"""


# ---- the scenarios ------------------------------------------------------------------------

EQUIPMENT_PAGE_SQL = "SELECT id, name FROM equipment WHERE tenant_id = $1 ORDER BY name, id LIMIT $2"

# One row per (equipment hit, line of the reservation), in Rigbook's order:
# reservations by (starts_at, id), lines by position.
NESTED_SQL = """
SELECT h.equipment_id AS hit, r.id, r.number, u.email, l.quantity, e.name
FROM (SELECT DISTINCT tenant_id, equipment_id, reservation_id
      FROM reservation_line WHERE tenant_id = $1 AND equipment_id = ANY($2::uuid[])) h
JOIN reservation r ON r.tenant_id = h.tenant_id AND r.id = h.reservation_id
LEFT JOIN app_user u ON u.tenant_id = r.tenant_id AND u.id = r.customer_id
JOIN reservation_line l ON l.tenant_id = r.tenant_id AND l.reservation_id = r.id
JOIN equipment e ON e.tenant_id = l.tenant_id AND e.id = l.equipment_id
WHERE r.ends_at > $3 AND r.starts_at < $4 AND ($5::uuid IS NULL OR r.customer_id = $5)
ORDER BY r.starts_at, r.id, l.position
"""


def _moment(value: str | None, default: datetime) -> datetime:
    return datetime.fromisoformat(value) if value is not None else default


async def nested(db: Db, caller: Caller, variables: dict[str, Any], *, first: int) -> dict[str, Any]:
    # A missing bound means no bound, as in Rigbook.
    starts = _moment(variables.get("from"), datetime(1, 1, 1, tzinfo=UTC))
    ends = _moment(variables.get("to"), datetime(9999, 12, 31, tzinfo=UTC))
    own = None if caller.is_staff else caller.user_id
    async with db.connect(caller) as connection:
        page = await connection.fetch(EQUIPMENT_PAGE_SQL, caller.tenant_id, first)
        rows = await connection.fetch(
            NESTED_SQL, caller.tenant_id, [r["id"] for r in page], starts, ends, own
        )
    buckets: dict[Any, list[dict[str, Any]]] = {item["id"]: [] for item in page}
    current: dict[tuple[Any, Any], dict[str, Any]] = {}
    for row in rows:
        key = (row["hit"], row["id"])
        reservation = current.get(key)
        if reservation is None:
            email = row["email"]
            reservation = {
                "number": row["number"],
                "lines": [],
                "customer": {"email": email} if email is not None else None,
            }
            current[key] = reservation
            buckets[row["hit"]].append(reservation)
        reservation["lines"].append({"quantity": row["quantity"], "equipment": {"name": row["name"]}})
    edges = [{"node": {"name": item["name"], "reservations": buckets[item["id"]]}} for item in page]
    return {"equipment": {"edges": edges}}


async def me(db: Db, caller: Caller, _variables: dict[str, Any]) -> dict[str, Any]:
    async with db.connect(caller) as connection:
        row = await connection.fetchrow(
            "SELECT email, role FROM app_user WHERE tenant_id = $1 AND id = $2",
            caller.tenant_id,
            caller.user_id,
        )
    return {"me": {"email": row["email"], "role": row["role"]} if row is not None else None}


async def availability(db: Db, caller: Caller, variables: dict[str, Any]) -> dict[str, Any]:
    window = (datetime.fromisoformat(variables["from"]), datetime.fromisoformat(variables["to"]))
    ids = [pk for pk in (equipment_pk(value) for value in variables.get("ids") or []) if pk is not None]
    async with db.connect(caller) as connection:
        items = await connection.fetch(
            "SELECT id, quantity, status, buffer_before, buffer_after FROM equipment "
            "WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY name, id LIMIT $3",
            caller.tenant_id,
            ids,
            MAX_AVAILABILITY_ITEMS,
        )
        reach = widest_buffers(items)
        holds = await connection.fetch(
            HOLDS_SQL,
            caller.tenant_id,
            [item["id"] for item in items],
            list(HOLDING),
            window[0] - reach,
            window[1] + reach,
        )
    grouped = group(holds)
    result = []
    for item in items:
        total = total_stock(item)
        in_use = held(item, grouped.get(item["id"], []), window)
        result.append({"total": total, "held": in_use, "available": max(0, total - in_use)})
    return {"availability": result}


# A page of reservations by (starts_at, id), one more than asked to know whether a next page exists.
RESERVATIONS_SQL = """
SELECT r.id, r.number, r.title, r.status, r.starts_at, r.ends_at, u.name, u.email
FROM reservation r
LEFT JOIN app_user u ON u.tenant_id = r.tenant_id AND u.id = r.customer_id
WHERE r.tenant_id = $1 AND r.status = ANY($2::text[]) AND r.ends_at > $3
  AND ($4::uuid IS NULL OR r.customer_id = $4)
ORDER BY r.starts_at, r.id
LIMIT $5
"""


def cursor(starts_at: datetime, pk: object) -> str:
    """Rigbook's keyset cursor (resolvers/pagination.py): url-safe base64 of the JSON sort values."""
    payload = orjson.dumps([starts_at.isoformat(), uuid.UUID(str(pk)).hex])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


async def reservations(db: Db, caller: Caller, variables: dict[str, Any], *, first: int) -> dict[str, Any]:
    statuses = variables.get("status") or list(RESERVATION_STATUSES)
    ends_after = _moment(variables.get("from"), datetime(1, 1, 1, tzinfo=UTC))
    own = None if caller.is_staff else caller.user_id
    async with db.connect(caller) as connection:
        rows = await connection.fetch(
            RESERVATIONS_SQL, caller.tenant_id, statuses, ends_after, own, first + 1
        )
    page = rows[:first]
    edges = [
        {
            "node": {
                "id": global_id("Reservation", row["id"]),
                "number": row["number"],
                "title": row["title"],
                "status": row["status"],
                "startsAt": row["starts_at"].isoformat(),
                "endsAt": row["ends_at"].isoformat(),
                "customer": {"name": row["name"], "email": row["email"]}
                if row["email"] is not None
                else None,
            }
        }
        for row in page
    ]
    last = page[-1] if page else None
    return {
        "reservations": {
            "edges": edges,
            "pageInfo": {
                "hasNextPage": len(rows) > first,
                "endCursor": cursor(last["starts_at"], last["id"]) if last is not None else None,
            },
        }
    }


# ---- stats: the dashboard (resolvers/reports/stats.py), by hand -------------------------------

STATS_STATUSES = ("REQUESTED", "CONFIRMED", "CHECKED_OUT", "RETURNED", "CANCELED", "DECLINED", "EXPIRED")
STATS_USED = ("CONFIRMED", "CHECKED_OUT", "RETURNED")
STATS_TOP = 10
STATS_PRECISION = 4

STATS_STATUS_SQL = """
SELECT status, count(*) FROM reservation
WHERE tenant_id = $1 AND starts_at < $3 AND ends_at > $2 GROUP BY status
"""
STATS_EQUIPMENT_SQL = """
SELECT id, quantity, status, buffer_before, buffer_after, name, code, category
FROM equipment WHERE tenant_id = $1 ORDER BY id
"""
# Every used line of the tenant whose buffered window may touch the window: no id list needed.
STATS_HOLDS_SQL = """
SELECT l.reservation_id, l.equipment_id, l.quantity, r.starts_at, r.ends_at
FROM reservation_line l
JOIN reservation r ON r.tenant_id = l.tenant_id AND r.id = l.reservation_id
WHERE l.tenant_id = $1 AND r.status = ANY($2::text[]) AND r.starts_at < $4 AND r.ends_at > $3
"""
STATS_DUE_SQL = """
SELECT count(*) FILTER (WHERE status = 'CONFIRMED' AND starts_at >= $2 AND starts_at < $3),
       count(*) FILTER (WHERE status = 'CONFIRMED' AND starts_at < $4),
       count(*) FILTER (WHERE status = 'CHECKED_OUT' AND ends_at >= $2 AND ends_at < $3),
       count(*) FILTER (WHERE status = 'CHECKED_OUT' AND ends_at < $4)
FROM reservation
WHERE tenant_id = $1
  AND ((status = 'CONFIRMED' AND starts_at < $3) OR (status = 'CHECKED_OUT' AND ends_at < $3))
"""
STATS_CUSTOMERS_SQL = """
SELECT count(*) FROM app_user WHERE tenant_id = $1 AND role = 'CUSTOMER' AND created_at >= $2 AND created_at < $3
"""


def _ratio(held_hours: float, available: float) -> float | None:
    return round(held_hours / available, STATS_PRECISION) if available > 0 else None


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def stats(db: Db, caller: Caller, variables: dict[str, Any]) -> dict[str, Any]:
    start = datetime.fromisoformat(variables["from"]).astimezone(UTC)
    end = datetime.fromisoformat(variables["to"]).astimezone(UTC)
    now = datetime.now(UTC)
    tenant = caller.tenant_id
    async with db.connect(caller) as connection:
        zone = _zone(await connection.fetchval("SELECT timezone FROM tenant WHERE id = $1", tenant))
        today = now.astimezone(zone).date()
        following = today + timedelta(days=1)
        day_start = datetime(today.year, today.month, today.day, tzinfo=zone).astimezone(UTC)
        day_end = datetime(following.year, following.month, following.day, tzinfo=zone).astimezone(UTC)
        counted = dict(await connection.fetch(STATS_STATUS_SQL, tenant, start, end))
        items = await connection.fetch(STATS_EQUIPMENT_SQL, tenant)
        reach = widest_buffers(items)
        holds = await connection.fetch(STATS_HOLDS_SQL, tenant, list(STATS_USED), start - reach, end + reach)
        due = await connection.fetchrow(STATS_DUE_SQL, tenant, day_start, day_end, now)
        customers = await connection.fetchval(STATS_CUSTOMERS_SQL, tenant, start, end)
    hours = (end - start).total_seconds() / 3600.0
    grouped = group(holds)
    used: list[dict[str, Any]] = []
    for item in items:
        stock = total_stock(item)
        found = grouped.get(item["id"], [])
        held_hours = (
            round(held_seconds(item, found, (start, end)) / 3600.0, STATS_PRECISION) if found else 0.0
        )
        if not (stock or held_hours):
            continue
        before = timedelta(minutes=item["buffer_before"])
        after = timedelta(minutes=item["buffer_after"])
        holders = {
            hold["reservation_id"]
            for hold in found
            if hold["starts_at"] - before < end and start < hold["ends_at"] + after
        }
        available = round(stock * hours, STATS_PRECISION)
        used.append(
            {
                "equipmentId": global_id("Equipment", item["id"]),
                "name": item["name"],
                "code": item["code"],
                "category": item["category"],
                "stock": stock,
                "heldHours": held_hours,
                "availableHours": available,
                "utilization": _ratio(held_hours, available),
                "reservations": len(holders),
                "_id": str(item["id"]),
            }
        )
    totals: dict[str, list[float]] = {}
    for entry in used:
        sums = totals.setdefault(entry["category"], [0, 0, 0.0, 0.0])
        sums[0] += 1
        sums[1] += entry["stock"]
        sums[2] += entry["heldHours"]
        sums[3] += entry["availableHours"]
    categories = []
    for name, (count, stock_total, held_total, available_total) in sorted(totals.items()):
        held_total, available_total = (
            round(held_total, STATS_PRECISION),
            round(available_total, STATS_PRECISION),
        )
        categories.append(
            {
                "category": name,
                "items": int(count),
                "stock": int(stock_total),
                "heldHours": held_total,
                "availableHours": available_total,
                "utilization": _ratio(held_total, available_total),
            }
        )
    top = [entry for entry in used if entry["heldHours"] > 0]
    top.sort(key=lambda entry: (-entry["heldHours"], -entry["reservations"], entry["name"], entry["_id"]))
    for entry in top:
        del entry["_id"]
    return {
        "stats": {
            "periodStart": start.isoformat(),
            "periodEnd": end.isoformat(),
            "hours": round(hours, STATS_PRECISION),
            "timezone": zone.key,
            "today": today.isoformat(),
            "reservationsByStatus": [
                {"status": status, "count": int(counted.get(status, 0))} for status in STATS_STATUSES
            ],
            "categories": categories,
            "topItems": top[:STATS_TOP],
            "due": {
                "checkOutsToday": due[0],
                "checkOutsLate": due[1],
                "returnsToday": due[2],
                "returnsOverdue": due[3],
            },
            "newCustomers": customers,
        }
    }


def _conflict(message: str) -> dict[str, Any]:
    return {"createReservation": {"__typename": "ConflictError", "code": "CONFLICT", "message": message}}


async def reserve(db: Db, caller: Caller, variables: dict[str, Any]) -> dict[str, Any]:
    """One transaction: lock the equipment in id order, re-check stock, number, insert."""
    data = variables["input"]
    starts = datetime.fromisoformat(data["startsAt"])
    ends = datetime.fromisoformat(data["endsAt"])
    lines = [(equipment_pk(line["equipmentId"]), int(line.get("quantity", 1))) for line in data["lines"]]
    wanted = sorted({pk for pk, _ in lines if pk is not None})
    if len(wanted) != len({pk for pk, _ in lines}):
        return _conflict("unknown equipment")
    reservation_id = new_id()
    status = "CONFIRMED" if caller.is_staff else "REQUESTED"
    async with db.connect(caller, write=True) as connection:
        items = await connection.fetch(
            "SELECT id, quantity, status, buffer_before, buffer_after FROM equipment "
            "WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
            caller.tenant_id,
            wanted,
        )
        if len(items) != len(wanted) or any(item["status"] != "ACTIVE" for item in items):
            return _conflict("unknown or retired equipment")
        reach = widest_buffers(items)
        holds = group(
            await connection.fetch(
                HOLDS_SQL, caller.tenant_id, wanted, list(HOLDING), starts - reach, ends + reach
            )
        )
        demand: dict[Any, int] = {}
        for pk, quantity in lines:
            demand[pk] = demand.get(pk, 0) + quantity
        for item in items:
            before = timedelta(minutes=item["buffer_before"])
            after = timedelta(minutes=item["buffer_after"])
            in_use = held(item, holds.get(item["id"], []), (starts - before, ends + after))
            if demand[uuid.UUID(str(item["id"]))] > total_stock(item) - in_use:
                return _conflict("not enough stock")
        number = await connection.fetchval(
            "UPDATE tenant SET reservation_counter = reservation_counter + 1 WHERE id = $1 "
            "RETURNING reservation_counter",
            caller.tenant_id,
        )
        now = datetime.now(starts.tzinfo)
        await connection.execute(
            "INSERT INTO reservation (tenant_id, id, number, title, customer_id, created_by_id, starts_at, "
            "ends_at, status, notes, version, idempotency_key, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, NULL, $11, $11)",
            caller.tenant_id,
            reservation_id,
            number,
            data["title"].strip(),
            None if caller.is_staff else caller.user_id,
            caller.user_id,
            starts,
            ends,
            status,
            data.get("notes", ""),
            now,
        )
        await connection.executemany(
            "INSERT INTO reservation_line (tenant_id, id, reservation_id, position, equipment_id, unit_id, "
            "quantity) VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            [
                (caller.tenant_id, new_id(), reservation_id, position, pk, quantity)
                for position, (pk, quantity) in enumerate(lines)
            ],
        )
    reservation = {
        "id": global_id("Reservation", reservation_id),
        "number": number,
        "status": status,
        "startsAt": starts.isoformat(),
        "endsAt": ends.isoformat(),
    }
    return {"createReservation": {"__typename": "CreateReservationSuccess", "reservation": reservation}}


Handler = Callable[[Db, Caller, dict[str, Any]], Awaitable[dict[str, Any]]]
HANDLERS: dict[str, Handler] = {
    **{
        scenarios.nested_query(first): functools.partial(nested, first=first)
        for first in scenarios.NESTED_PAGES
    },
    scenarios.ME: me,
    scenarios.AVAILABILITY: availability,
    scenarios.RESERVE: reserve,
    scenarios.RESERVATIONS: functools.partial(reservations, first=scenarios.RESERVATIONS_PAGE),
    scenarios.STATS: stats,
}


def verify(settings: Settings, request: Request) -> Caller:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("no bearer token")
    try:
        claims = jwt.decode(
            token.strip(),
            settings.secret,
            algorithms=["HS256"],
            audience=settings.audience,
            issuer=settings.issuer,
            options={"require": REQUIRED_CLAIMS},
        )
        if claims["typ"] != "access" or "tid" not in claims:
            raise Unauthenticated("not a tenant access token")
        return Caller(uuid.UUID(claims["sub"]), uuid.UUID(claims["tid"]), str(claims["role"]))
    except (jwt.PyJWTError, KeyError, ValueError) as error:
        raise Unauthenticated(str(error)) from error


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def create_app(settings: Settings | None = None) -> Starlette:
    app_settings = settings or Settings.from_environment()
    state: dict[str, Db] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            app_settings.database_url, min_size=2, max_size=app_settings.pool_size
        )
        state["db"] = Db(pool, bool(await pool.fetchval(RLS_APPLIES_SQL)))
        try:
            yield
        finally:
            await pool.close()

    async def graphql(request: Request) -> Response:
        payload = orjson.loads(await request.body())
        handler = HANDLERS.get(payload.get("query", ""))
        if handler is None:
            return _json({"errors": [{"message": "the baseline answers the benchmark documents only"}]}, 400)
        try:
            caller = verify(app_settings, request)
        except Unauthenticated as error:
            failure = {"message": str(error), "extensions": {"code": "UNAUTHENTICATED"}}
            return _json({"data": None, "errors": [failure]})
        data = await handler(state["db"], caller, payload.get("variables") or {})
        return _json({"data": data})

    async def health(_request: Request) -> Response:
        return _json({"status": "ok"})

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/health", health, methods=["GET"])],
        lifespan=lifespan,
    )
