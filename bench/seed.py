"""``python -m bench seed``: migrate, then bulk-load a realistic PostgreSQL data set.

Rows go in with ``COPY`` (asyncpg ``copy_records_to_table``) straight into the real
tables, so 5 tenants x 1,000 equipment x 30 reservations take seconds, not minutes.
The data obey Rigbook's invariants: composite ``(tenant_id, id)`` keys, numbers
1..n per tenant with ``tenant.reservation_counter = n``, and no overbooking (stock
is larger than the most lines that can ever overlap).
"""

from __future__ import annotations

import asyncio
import calendar
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench import config
from db.ids import new_id

# Equipment kinds: names sort in a mixed order, like a real catalogue.
KINDS = (
    "LED wall panel",
    "Moving head",
    "Truss 3m",
    "Broadcast camera kit",
    "Wireless microphone",
    "Stage deck 2x1",
    "Marquee 6x12",
    "Folding chair",
    "Cocktail table",
    "Projector 10k",
)
SERIALIZED_EVERY = 10  # every 10th item is serialized (units with serial numbers)
UNITS_PER_SERIALIZED = 15  # at least; more when more reservations per item are seeded
BULK_STOCK = 60  # likewise
MAX_RESERVATIONS_PER_ITEM = 100
BUFFERED_EVERY = 7  # every 7th item has prep/return buffers
STATUS_WEIGHTS = (("CONFIRMED", 85), ("CHECKED_OUT", 3), ("REQUESTED", 6), ("CANCELED", 4), ("RETURNED", 2))
WINDOW_HOURS = (4, 8, 12, 24, 48, 72)


@dataclass(frozen=True)
class SeedOptions:
    tenants: int = 5
    equipment: int = 1000
    reservations_per_item: int = 10  # per item and seeded month
    months: int = 3
    seed: int = 6

    # Stock grows with the bookings an item can have at once (the defaults keep 15 and 60), so
    # that no seeded item is ever overbooked: at most `reservations_per_item` lines of 1 (a
    # serialized unit) or 1-3 (BULK) overlap.
    @property
    def units_per_serialized(self) -> int:
        return max(UNITS_PER_SERIALIZED, self.reservations_per_item)

    @property
    def bulk_stock(self) -> int:
        return max(BULK_STOCK, 4 * self.reservations_per_item)


@dataclass
class TenantRows:
    tenant: tuple[Any, ...]
    users: list[tuple[Any, ...]] = field(default_factory=list)
    equipment: list[tuple[Any, ...]] = field(default_factory=list)
    units: list[tuple[Any, ...]] = field(default_factory=list)
    reservations: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)


TENANT_COLUMNS = ("id", "slug", "name", "timezone", "settings", "reservation_counter", "created_at")
USER_COLUMNS = (
    "tenant_id",
    "id",
    "email",
    "name",
    "role",
    "password_hash",
    "is_active",
    "created_at",
    "updated_at",
)
EQUIPMENT_COLUMNS = (
    "tenant_id",
    "id",
    "name",
    "code",
    "category",
    "description",
    "tags",
    "tracking",
    "quantity",
    "buffer_before",
    "buffer_after",
    "status",
    "created_at",
    "updated_at",
)
UNIT_COLUMNS = (
    "tenant_id",
    "id",
    "equipment_id",
    "serial_number",
    "status",
    "notes",
    "created_at",
    "updated_at",
)
RESERVATION_COLUMNS = (
    "tenant_id",
    "id",
    "number",
    "title",
    "customer_id",
    "created_by_id",
    "starts_at",
    "ends_at",
    "status",
    "notes",
    "version",
    "idempotency_key",
    "created_at",
    "updated_at",
)
LINE_COLUMNS = ("tenant_id", "id", "reservation_id", "position", "equipment_id", "unit_id", "quantity")
TABLES = ("tenant", "app_user", "equipment", "equipment_unit", "reservation", "reservation_line")


def first_month_start(now: datetime) -> datetime:
    """The first instant (UTC) of the month after ``now``: where seeded bookings begin."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def add_months(start: datetime, months: int) -> datetime:
    index = start.month - 1 + months
    return start.replace(year=start.year + index // 12, month=index % 12 + 1)


def month_window(earliest_start: datetime) -> tuple[datetime, datetime]:
    """The calendar month containing ``earliest_start``: the window the read scenarios use."""
    start = earliest_start.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, add_months(start, 1)


def build_tenant(
    index: int, options: SeedOptions, hashes: dict[str, str], now: datetime, rng: random.Random
) -> TenantRows:
    slug = config.tenant_slug(index)
    tenant_id = new_id()
    rows = TenantRows(tenant=())
    staff: dict[str, uuid.UUID] = {}
    for role in ("ADMIN", "MANAGER", "STAFF"):
        user_id = new_id()
        staff[role] = user_id
        email = f"{role.lower()}@{slug}.example"
        rows.users.append(
            (tenant_id, user_id, email, f"{role.title()} of {slug}", role, hashes["staff"], True, now, now)
        )
    customers: list[uuid.UUID] = []
    for number in range(1, config.CUSTOMERS_PER_TENANT + 1):
        user_id = new_id()
        customers.append(user_id)
        email = f"customer{number:02}@{slug}.example"
        rows.users.append(
            (
                tenant_id,
                user_id,
                email,
                f"Customer {number:02}",
                "CUSTOMER",
                hashes["customer"],
                True,
                now,
                now,
            )
        )

    items: list[tuple[uuid.UUID, bool]] = []
    for item in range(options.equipment):
        equipment_id = new_id()
        serialized = item % SERIALIZED_EVERY == SERIALIZED_EVERY - 1
        buffered = item % BUFFERED_EVERY == BUFFERED_EVERY - 1
        kind = KINDS[(item * 7) % len(KINDS)]
        code = f"B{item:05}"
        rows.equipment.append(
            (
                tenant_id,
                equipment_id,
                f"{kind} {item:04}",
                code,
                kind.split()[0],
                f"Benchmark item {item} ({kind}).",
                json.dumps([kind.split()[0].lower(), "bench"]),
                "SERIALIZED" if serialized else "BULK",
                options.units_per_serialized if serialized else options.bulk_stock,
                60 if buffered else 0,
                120 if buffered else 0,
                "ACTIVE",
                now,
                now,
            )
        )
        items.append((equipment_id, serialized))
        if serialized:
            for unit in range(options.units_per_serialized):
                rows.units.append(
                    (tenant_id, new_id(), equipment_id, f"SN-{code}-{unit:02}", "AVAILABLE", "", now, now)
                )

    statuses = [status for status, weight in STATUS_WEIGHTS for _ in range(weight)]
    first = first_month_start(now)
    bookings: list[tuple[datetime, datetime, uuid.UUID, bool]] = []
    for month in range(options.months):
        month_start = add_months(first, month)
        hours = calendar.monthrange(month_start.year, month_start.month)[1] * 24
        for equipment_id, serialized in items:
            for _ in range(options.reservations_per_item):
                length = rng.choice(WINDOW_HOURS)
                starts_at = month_start + timedelta(hours=rng.randrange(0, hours - length))
                bookings.append((starts_at, starts_at + timedelta(hours=length), equipment_id, serialized))
    # Numbers follow creation order; bookings are created in a shuffled order, as in life.
    rng.shuffle(bookings)
    for number, (starts_at, ends_at, equipment_id, serialized) in enumerate(bookings, start=1):
        reservation_id = new_id()
        customer = None if rng.random() < 0.05 else rng.choice(customers)
        rows.reservations.append(
            (
                tenant_id,
                reservation_id,
                number,
                f"Event {number}",
                customer,
                staff["STAFF"],
                starts_at,
                ends_at,
                rng.choice(statuses),
                "",
                1,
                None,
                now,
                now,
            )
        )
        # At most reservations_per_item lines of an item can overlap: 1-3 each stays
        # below the BULK stock, and 1 each below the serialized unit count.
        quantity = 1 if serialized else rng.randint(1, 3)
        rows.lines.append((tenant_id, new_id(), reservation_id, 0, equipment_id, None, quantity))
    settings = json.dumps({})
    rows.tenant = (tenant_id, slug, f"Bench rentals {index}", "UTC", settings, len(bookings), now)
    return rows


def check_options(options: SeedOptions) -> None:
    if options.tenants < 1 or options.equipment < 1 or options.months < 1:
        raise SystemExit("--tenants, --equipment and --months must be at least 1")
    if not 0 <= options.reservations_per_item <= MAX_RESERVATIONS_PER_ITEM:
        raise SystemExit(f"--reservations-per-item must be between 0 and {MAX_RESERVATIONS_PER_ITEM}")


async def _existing_tenants(connection: Any) -> list[str]:
    rows = await connection.fetch("SELECT slug FROM tenant ORDER BY slug LIMIT 6")
    return [row["slug"] for row in rows]


async def ensure_app_role(connection: Any, url: str) -> bool:
    """Create ``rigbook_bench_app`` (no superuser, no BYPASSRLS) and grant it what ``rigbook migrate``
    grants a serving role; False if not allowed."""
    from sqlalchemy.exc import DBAPIError

    from db.roles import RoleError, grant_runtime_role

    role = config.APP_ROLE
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await connection.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS")
        await grant_runtime_role(config.sqlalchemy_url(url), role)
    except (asyncpg.PostgresError, DBAPIError, RoleError) as error:
        print(
            f"note: could not set up role {role} ({error}); --app-url needs a non-superuser role of your own"
        )
        return False
    return True


async def _hashes() -> dict[str, str]:
    """One real argon2id hash per distinct password, with Rigbook's default parameters."""
    from auth.passwords import Passwords
    from settings import Settings

    fields = Settings.model_fields
    passwords = Passwords(
        time_cost=fields["password_hash_time_cost"].default,
        memory_kib=fields["password_hash_memory_kib"].default,
        parallelism=fields["password_hash_parallelism"].default,
    )
    return {
        "staff": await passwords.hash(config.STAFF_PASSWORD),
        "customer": await passwords.hash(config.CUSTOMER_PASSWORD),
    }


async def _fill(url: str, options: SeedOptions, reset: bool) -> tuple[dict[str, int], bool]:
    connection = await asyncpg.connect(config.asyncpg_url(url))
    try:
        existing = await _existing_tenants(connection)
        if existing and not reset:
            shown = ", ".join(existing[:5]) + (", ..." if len(existing) > 5 else "")
            raise SystemExit(
                f"the database already holds tenants ({shown}); "
                "pass --reset to TRUNCATE all tenant data first, or use it as it is"
            )
        hashes = await _hashes()
        now = datetime.now(UTC)
        rng = random.Random(options.seed)
        totals = dict.fromkeys(TABLES, 0)
        async with connection.transaction():
            if reset:
                # Every tenant-owned table references tenant(id), so CASCADE empties them all.
                await connection.execute("TRUNCATE tenant CASCADE")
            for index in range(options.tenants):
                rows = build_tenant(index, options, hashes, now, rng)
                batches = (
                    ("tenant", TENANT_COLUMNS, [rows.tenant]),
                    ("app_user", USER_COLUMNS, rows.users),
                    ("equipment", EQUIPMENT_COLUMNS, rows.equipment),
                    ("equipment_unit", UNIT_COLUMNS, rows.units),
                    ("reservation", RESERVATION_COLUMNS, rows.reservations),
                    ("reservation_line", LINE_COLUMNS, rows.lines),
                )
                for table, columns, records in batches:
                    if records:
                        await connection.copy_records_to_table(table, records=records, columns=columns)
                    totals[table] += len(records)
        # Fresh statistics and visibility maps, so plans match a settled production database.
        await connection.execute("VACUUM ANALYZE " + ", ".join(TABLES))
        role = await ensure_app_role(connection, url)
        return totals, role
    finally:
        await connection.close()


def seed(url: str, options: SeedOptions, *, reset: bool) -> int:
    from db.migrate import upgrade_sync

    check_options(options)
    if reset and "bench" not in config.database_name(url):
        raise SystemExit(
            f"refusing --reset on database {config.database_name(url)!r}: "
            "its name must contain 'bench' (TRUNCATE tenant CASCADE deletes every tenant)"
        )
    started = time.perf_counter()
    upgrade_sync(config.sqlalchemy_url(url))  # what `rigbook migrate` does
    totals, role = asyncio.run(_fill(url, options, reset))
    elapsed = time.perf_counter() - started
    print(
        "seeded " + ", ".join(f"{count} {table}" for table, count in totals.items()) + f" in {elapsed:.1f}s"
    )
    first = first_month_start(datetime.now(UTC))
    print(
        f"bookings from {first:%Y-%m-%d} for {options.months} month(s), "
        f"{options.reservations_per_item} per item and month"
    )
    print(
        f"sign in: tenant {config.tenant_slug(0)}, {config.admin_email(config.tenant_slug(0))} / "
        f"{config.STAFF_PASSWORD}  (customers: customer01@{config.tenant_slug(0)}.example / "
        f"{config.CUSTOMER_PASSWORD})"
    )
    if role:
        app_url = config.with_user(config.asyncpg_url(url), config.APP_ROLE)
        print(f"servers subject to row-level security: python -m bench run ... --app-url {app_url}")
    return 0
