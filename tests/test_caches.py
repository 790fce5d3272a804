"""Every cache of the process stays within its bound however varied the requests (``db/caches.py``).

A client choosing which columns it reads picks the statement shapes the server
compiles and keeps: thousands of distinct selections, sent in parallel through the
app, must leave every listed cache at or under its bound.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import random
import re
import weakref
from pathlib import Path
from typing import Any

import pytest
import strawberry
from sqlalchemy import Select, literal_column, select
from sqlalchemy.util import LRUCache

from auth.services import Services
from db import caches
from db.compiled_reads import REUSABLE_KEPT, reusable
from db.scoped import scoped_records
from db.tables import Equipment
from schema import projection
from schema.pipeline import VARIABLE_SETS_KEPT, Pipeline
from tests.api import Api, TenantUsers
from tests.booking import create_equipment, line, reserve

EQUIPMENT = [
    "id", "name", "code", "category", "description", "tags", "tracking", "quantity",
    "bufferBefore", "bufferAfter", "status", "createdAt", "updatedAt",
]  # fmt: skip
RESERVATION = [
    "id", "number", "title", "status", "startsAt", "endsAt", "notes", "version", "createdAt", "updatedAt",
]  # fmt: skip
UNIT = ["id", "serialNumber", "status", "notes", "createdAt", "updatedAt"]
USER = ["id", "email", "name", "role", "isActive", "createdAt", "updatedAt"]
TENANT = ["id", "slug", "name", "timezone", "createdAt"]

SELECTIONS = 600
IN_FLIGHT = 20

# Every name a cache of the process is listed under: one that stops registering fails here.
LISTED = {
    "resolvers.row_statements.by_id",
    "resolvers.row_statements.tenants_by_id",
    "resolvers.row_statements.units_of_equipment",
    "resolvers.row_statements.lines_of_reservations",
    "resolvers.row_statements.reservations_of_equipment",
    "db.compiled_reads.compiled",
    "db.compiled_reads.reads",
    "db.compiled_reads.reusable",
    "schema.pipeline.documents",
    "schema.pipeline.shape_sets",
    "schema.pipeline.shape_fields",
    "auth.tokens.verified",
}


def _some(rng: random.Random, fields: list[str]) -> str:
    return " ".join(rng.sample(fields, rng.randint(1, len(fields))))


def selection(rng: random.Random) -> str:
    """A reservation page reaching every row read by key, each level with its own choice of fields."""
    return f"""{{ reservations(first: 1) {{ edges {{ node {{ {_some(rng, RESERVATION)}
      lines {{ quantity unit {{ {_some(rng, UNIT)} }}
        equipment {{ {_some(rng, EQUIPMENT)} units {{ {_some(rng, UNIT)} }}
          reservations {{ {_some(rng, RESERVATION)} customer {{ {_some(rng, USER)} tenant {{ {_some(rng, TENANT)} }} }} }}
        }}
      }}
    }} }} }} }}"""


def assert_within_bounds(expected: set[str]) -> None:
    listed = caches.sizes()
    assert expected <= {size.name for size in listed}
    over = [size for size in listed if size.entries > size.bound]
    assert not over, over


@pytest.fixture
async def booked(api: Api, admin_token: str, esr: TenantUsers) -> None:
    """A serialized equipment booked with a unit, for a customer: every relation has rows."""
    camera = await create_equipment(
        api, admin_token, name="Camera", tracking="SERIALIZED", units=[{"serialNumber": "CAM-1"}]
    )
    customer = await api.data(
        "{ me { ... on User { id } } }", token=await api.token("esr", esr.customer.email)
    )
    booking = await reserve(
        api, admin_token, [line(camera, 1, camera["units"][0])], customerId=customer["me"]["id"]
    )
    assert booking["__typename"] == "CreateReservationSuccess", booking


@pytest.mark.usefixtures("booked")
async def test_thousands_of_distinct_selections_leave_every_cache_within_its_bound(
    api: Api, admin_token: str
) -> None:
    """Six choices of columns per request, 600 requests (and as many documents), 20 at a time."""
    rng = random.Random(5)
    documents = list(dict.fromkeys(selection(rng) for _ in range(SELECTIONS)))
    assert len(documents) == SELECTIONS

    async def run(document: str) -> None:
        body = await api.post(document, token=admin_token)
        assert "errors" not in body, body["errors"]
        (edge,) = body["data"]["reservations"]["edges"]
        assert edge["node"]["lines"][0]["equipment"]["reservations"]

    for start in range(0, len(documents), IN_FLIGHT):
        await asyncio.gather(*(run(document) for document in documents[start : start + IN_FLIGHT]))
        assert_within_bounds(LISTED)


async def test_thousands_of_distinct_statements_leave_every_cache_within_its_bound(
    services: Services, esr: TenantUsers
) -> None:
    """Statements compiled by their cache key (not ``reusable``), read on the request read path."""
    database = services.database
    columns = [column.name for column in Equipment.__table__.columns]  # type: ignore[attr-defined]
    shapes = itertools.islice(
        (chosen for size in range(1, len(columns)) for chosen in itertools.combinations(columns, size)), 1500
    )
    reads = database.reads(esr.tenant.id)
    try:
        for shape in shapes:
            assert await reads.rows(scoped_records(Equipment, esr.tenant.id, shape)) == []
    finally:
        await reads.close()
    assert_within_bounds({name for name in LISTED if name.startswith("db.compiled_reads.")})
    # SQLAlchemy's own cache of the engine (SQLite reads, writes) is bounded by it.
    engine_cache = database.engine.sync_engine._compiled_cache
    assert isinstance(engine_cache, LRUCache)
    assert len(engine_cache) <= engine_cache.size_threshold


ROOT = Path(__file__).parents[1]
APP_SOURCES = [
    *(
        path
        for package in ("schema", "resolvers", "db", "auth", "web")
        for path in (ROOT / package).rglob("*.py")
    ),
    *(ROOT / name for name in ("app.py", "settings.py", "cli.py")),
]


def test_a_cache_is_made_only_in_a_way_that_lists_it() -> None:
    """A memoizing decorator goes through ``bounded``; an object keeping an LRU tracks itself."""
    assert len(APP_SOURCES) > 50
    for path in APP_SOURCES:
        if path == ROOT / "db" / "caches.py":
            continue
        text = path.read_text()
        assert not re.search(r"\blru_cache\b|@cache\b|functools\.cache\b|import cache\b", text), path
        if "LRUCache(" in text or "OrderedDict(" in text:
            assert "track(self)" in text, path


async def test_a_reusable_statement_is_kept_while_listed_and_let_go_once_evicted(
    services: Services, esr: TenantUsers
) -> None:
    """Reusable statements are found by identity: while one is listed its id must stay its
    own (the entry holds it), and once evicted nothing may hold it any longer."""
    reads = services.database.reads(esr.tenant.id)
    try:
        first: Select[Any] = reusable(select(literal_column("0").label("n")))
        assert [row.n for row in await reads.rows(first)] == [0]
        kept = weakref.ref(first)
        del first
        gc.collect()
        assert kept() is not None
        for number in range(1, 3 * REUSABLE_KEPT):
            statement: Select[Any] = reusable(select(literal_column(str(number)).label("n")))
            assert [row.n for row in await reads.rows(statement)] == [number]
    finally:
        await reads.close()
    gc.collect()
    assert kept() is None
    assert_within_bounds({name for name in LISTED if name.startswith("db.compiled_reads.")})


# Projection shapes are kept per document and set of variables. Their size follows the
# fields a document selects, not its text, and a stranger picks the variables: the
# memory they take must be bounded in all, not only per document.
KEPT_SHAPE_FIELDS_AT_MOST = 64 * 1024  # ~40 MB of compiled shapes at ~600 bytes a field

CELL_FIELDS = [f"f{index}" for index in range(24)]


@strawberry.type
class Cell:
    f0: int
    f1: int
    f2: int
    f3: int
    f4: int
    f5: int
    f6: int
    f7: int
    f8: int
    f9: int
    f10: int
    f11: int
    f12: int
    f13: int
    f14: int
    f15: int
    f16: int
    f17: int
    f18: int
    f19: int
    f20: int
    f21: int
    f22: int
    f23: int
    next: Cell | None


def _cell(depth: int) -> Cell:
    values = dict.fromkeys(CELL_FIELDS, 1)
    return Cell(**values, next=_cell(depth - 1) if depth > 0 else None)


@strawberry.type
class CellQuery:
    @strawberry.field
    def cells(self, n: int) -> list[Cell]:
        return [_cell(3) for _ in range(n)]


def _fields_in(shape: object) -> int:
    """The fields compiled into a shape, all levels down."""
    if isinstance(shape, projection.NonNullShape | projection.ListShape):
        return _fields_in(shape.inner)
    if isinstance(shape, projection.ObjectShape):
        return sum(1 + _fields_in(field.shape) for field in shape.fields)
    return 0


async def test_shapes_kept_for_many_documents_and_variables_hold_a_bounded_number_of_fields() -> None:
    pipeline = Pipeline(strawberry.Schema(query=CellQuery))
    level = " ".join(CELL_FIELDS)
    for document_index in range(60):
        # ~100 fields, ~500 characters: far under the documents' text budget.
        document = (
            f"query Q{document_index}($n: Int!) {{ cells(n: $n) {{ {level} next {{ {level} "
            f"next {{ {level} next {{ {level} }} }} }} }} }}"
        )
        for n in range(1, 1 + VARIABLE_SETS_KEPT):
            result = await pipeline.execute(document, variables={"n": n})
            assert result.errors is None, result.errors
    kept = [
        _fields_in(shape)
        for prepared in pipeline._documents.values()
        for shapes in prepared.shapes.values()
        for shape in shapes.values()
    ]
    assert sum(kept) <= KEPT_SHAPE_FIELDS_AT_MOST
