"""The PostgreSQL read path sends what SQLAlchemy would send and reads what it would read.

On PostgreSQL a request's reads skip SQLAlchemy's execution layer: statements are
compiled by SQLAlchemy once (``db/compiled_reads.py``) and run on the raw asyncpg
connection (``db/reads.py``), which leans on SQLAlchemy internals. Every statement
here runs both ways on the same rows — through ``Reads`` and through SQLAlchemy's
own ``AsyncConnection.execute`` — and must send the same SQL with the same
parameters and answer the same values, of the same types, under the same names.
That covers every column type the tables use, IN lists, ``= ANY(array)``
parameters, the ``reusable`` statements of ``resolvers/row_statements.py`` and
cached statements run again with other values. A library upgrade that breaks this
path fails here even when the rest of the suite passes on SQLite; so without
PostgreSQL this module skips on a workstation and fails under CI.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from PIL import Image
from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    Text,
    Uuid,
    bindparam,
    event,
    func,
    literal,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel, col

import resolvers.jobs  # noqa: F401  (registers every job kind)
from auth.services import Services
from db.compiled_reads import CompiledRead, ProcessedRow
from db.database import Database
from db.events import EVENT_JOB
from db.reads import PostgresReads
from db.scoped import escape_like, one_of, one_of_param, records, scoped_records
from db.tables import (
    Enquiry,
    EnquiryMessage,
    Equipment,
    EquipmentUnit,
    Operator,
    Reservation,
    ReservationLine,
    ReservationStatus,
    User,
)
from db.tables.design import Design, DesignItem, DesignShare, DesignVersion
from resolvers import row_statements as statements
from resolvers.jobs.registry import HANDLERS
from resolvers.jobs.worker import Worker
from resolvers.reports.months import Month
from resolvers.reports.on_demand import month_report
from schema.node import pk_of, to_global_id
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers
from tests.booking import T0, at, create_equipment, line, reserve, step
from tests.databases import PostgresTemplate, require_postgres
from tests.designs import create_design, item, save_version, share
from tests.edge_webhooks import CREATE_WEBHOOK
from tests.enquiries import ADD_MESSAGE, SUBMIT

PASSWORD_RESET = (
    "mutation($t: String!, $e: String!) { requestPasswordReset(input: {tenant: $t, email: $e}) { message } }"
)
OPERATOR_EMAIL = "reads@rigbook.example"
BERLIN_SUMMER = timezone(timedelta(hours=2))


@pytest.fixture
async def database_url(postgres_template: PostgresTemplate | None) -> AsyncIterator[str]:
    """A fresh PostgreSQL database: the path under test exists only there."""
    require_postgres("the asyncpg read path (tests/test_compiled_reads.py)")
    assert postgres_template is not None
    url, name = await postgres_template.fresh()
    yield url
    await postgres_template.drop(name)


@dataclass(frozen=True)
class Seeded:
    """The ids the statements look rows up by."""

    esr: uuid.UUID
    cmh: uuid.UUID
    customer: uuid.UUID
    equipment: list[uuid.UUID]
    reservations: list[uuid.UUID]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (12, 8), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def pk(global_id: str, type_name: str) -> uuid.UUID:
    found = pk_of(global_id, type_name)
    assert found is not None
    return found


@pytest.fixture
async def seeded(
    api: Api,
    services: Services,
    esr: TenantUsers,
    cmh: TenantUsers,
    manager_token: str,
    staff_token: str,
    customer_token: str,
    other_tenant_admin_token: str,
    admin_token: str,
) -> Seeded:
    """Rows in every table, through the API where it writes them, with awkward values."""
    wall = await create_equipment(
        api,
        manager_token,
        name="LED wall «Ø»",
        code="LED-1",
        quantity=6,
        tags=["led", '19" rack', "bühne", "in\\out"],
        description="",
        bufferBefore=30,
    )
    camera = await create_equipment(
        api,
        manager_token,
        name="Camera",
        code="CAM-1",
        tracking="SERIALIZED",
        units=[{"serialNumber": "A1"}, {"serialNumber": "A2"}],
    )
    await create_equipment(api, other_tenant_admin_token, name="Elsewhere", code="LED-1", tags=[])
    customer = to_global_id("User", esr.customer.id)
    booked = await reserve(
        api,
        staff_token,
        [line(wall, 2), line(camera, unit=camera["units"][0]), line(wall)],
        customerId=customer,
        notes="Load-in via the back door",
    )
    assert booked["__typename"] == "CreateReservationSuccess", booked
    confirmed = booked["reservation"]
    assert (await step(api, staff_token, "checkOutReservation", confirmed["id"]))["__typename"] == (
        "ReservationSuccess"
    )
    requested = await reserve(api, customer_token, [line(wall)], starts=24, ends=30, idempotencyKey="retry-1")
    assert requested["__typename"] == "CreateReservationSuccess", requested
    design = await create_design(api, staff_token, "Marquee", description="Ten by twenty")
    saved = await save_version(
        api,
        staff_token,
        design["id"],
        [item(wall, 2, notes="front"), item(camera)],
        None,
        configuration={
            "stage": {"width": 6.5, "depth": 4},
            "name": "Zelt ✓",
            "seats": [120, None],
            "big": 2**53,
        },
    )
    assert saved["__typename"] == "SaveDesignVersionSuccess", saved
    await share(api, staff_token, design["id"], expiresAt=at(48))
    for filename, data in (("rider.pdf", b"%PDF-1.4\n%%EOF\n"), ("wall.png", _png())):
        attached = await api.client.post(
            "/files",
            params={"owner": wall["id"], "filename": filename, "caption": "Front «Ø»"},
            content=data,
            headers={"Authorization": f"Bearer {staff_token}", "Content-Type": "application/octet-stream"},
        )
        assert attached.status_code == 201, attached.text
    await api.data(PASSWORD_RESET, {"t": "esr", "e": esr.staff.email})
    assert (await api.login("esr", esr.staff.email, "not-the-password"))["__typename"] != "LoginSuccess"
    async with services.database.transaction(None) as session:
        session.add(
            Operator(email=OPERATOR_EMAIL, password_hash=await services.passwords.hash(DEFAULT_PASSWORD))
        )
    await api.token(None, OPERATOR_EMAIL)
    now = datetime.now(UTC)
    await month_report(services.database, "esr", Month.of(now, UTC).previous(), now)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    asked = await api.data(
        SUBMIT,
        {
            "input": {
                "message": "Zelt für 120 «Gäste» \\ 100%",
                "eventDate": tomorrow.isoformat(),
                "eventEndDate": (tomorrow + timedelta(days=1)).isoformat(),
                "guestCount": 120,
                "items": [{"equipmentId": wall["id"], "quantity": 2}, {"equipmentId": camera["id"]}],
            }
        },
        token=customer_token,
    )
    enquiry = asked["submitEnquiry"]["enquiry"]
    for kind in ("NOTE", "REPLY"):
        await api.data(
            ADD_MESSAGE,
            {"input": {"enquiryId": enquiry["id"], "kind": kind, "text": f"{kind} ✓"}},
            token=staff_token,
        )
    exported = await api.data(
        "mutation { requestTenantExport(input: {only: [USERS], format: CSV}) { __typename } }",
        token=admin_token,
    )
    assert exported["requestTenantExport"]["__typename"] == "TenantExportSuccess", exported
    made = await api.data(
        CREATE_WEBHOOK, {"input": {"url": "https://hooks.example/in", "events": ["*"]}}, token=admin_token
    )
    assert made["createWebhook"]["__typename"] == "WebhookSecretSuccess", made
    # The events' fan-out writes the deliveries; their sending is not needed here.
    await Worker(services, schedules=[], handlers={EVENT_JOB: HANDLERS[EVENT_JOB]}).run_due()
    return Seeded(
        esr=esr.tenant.id,
        cmh=cmh.tenant.id,
        customer=esr.customer.id,
        equipment=[pk(wall["id"], "Equipment"), pk(camera["id"], "Equipment")],
        reservations=[pk(confirmed["id"], "Reservation"), pk(requested["reservation"]["id"], "Reservation")],
    )


@dataclass(frozen=True)
class Sent:
    """One execution: the SQL sent, its parameters after bind processing, the rows read."""

    sql: str
    parameters: list[Any]
    rows: Sequence[Any]


async def through_sqlalchemy(
    database: Database, tenant_id: uuid.UUID | None, statement: Executable, params: Mapping[str, Any] | None
) -> Sent:
    """What SQLAlchemy's own execution sends and answers, in the tenant the read path sets."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((sql, parameters))

    async with database.engine.connect() as connection:
        await connection.execute(
            text("SELECT set_config('app.tenant_id', :tenant, true)"),
            {"tenant": str(tenant_id) if tenant_id is not None else ""},
        )
        event.listen(connection.sync_connection, "before_cursor_execute", record)
        rows = (await connection.execute(statement, dict(params) if params else None)).all()
        await connection.rollback()
    [(sql, parameters)] = sent
    return Sent(sql, list(parameters), rows)


async def through_reads(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    tenant_id: uuid.UUID | None,
    statement: Executable,
    params: Mapping[str, Any] | None,
) -> Sent:
    """What a request's ``Reads`` sends and answers, checking that it went around SQLAlchemy."""
    compiler = database.read_compiler
    prepare = compiler.prepare
    prepared: list[tuple[CompiledRead, str, list[Any]]] = []

    def spy(
        statement: Executable, params: Mapping[str, Any] | None = None
    ) -> tuple[CompiledRead, str, list[Any]]:
        prepared.append(prepare(statement, params))
        return prepared[-1]

    through_engine: list[str] = []

    def executed(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        through_engine.append(sql)

    sent: list[str] = []
    engine = database.engine.sync_engine
    monkeypatch.setattr(compiler, "prepare", spy)
    event.listen(engine, "before_cursor_execute", executed)
    database.statement_listeners.append(sent.append)
    reads = database.reads(tenant_id)
    try:
        assert isinstance(reads, PostgresReads)
        rows = await reads.rows(statement, params)
    finally:
        await reads.close()
        database.statement_listeners.remove(sent.append)
        event.remove(engine, "before_cursor_execute", executed)
        monkeypatch.setattr(compiler, "prepare", prepare)
    [(read, sql, arguments)] = prepared
    # The fast path was taken: asyncpg sent the statement, SQLAlchemy's cursor saw nothing.
    assert sent[-1] == sql
    assert through_engine == []
    assert all(isinstance(row, asyncpg.Record | ProcessedRow) for row in rows)
    assert all(
        isinstance(row, read.record_class if read.processed_class is None else ProcessedRow) for row in rows
    )
    return Sent(sql, arguments, rows)


def exactly(value: Any) -> tuple[type, str]:
    """A value and its type, told apart even where ``==`` would not (time zones, 1 and True)."""
    return type(value), repr(value)


async def assert_same(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    tenant_id: uuid.UUID | None,
    statement: Executable,
    params: Mapping[str, Any] | None = None,
    *,
    rows: bool = True,
) -> Sequence[Any]:
    """Run ``statement`` both ways and compare everything; the rows SQLAlchemy read."""
    reference = await through_sqlalchemy(database, tenant_id, statement, params)
    fast = await through_reads(database, monkeypatch, tenant_id, statement, params)
    assert fast.sql == reference.sql
    assert [exactly(value) for value in fast.parameters] == [exactly(value) for value in reference.parameters]
    assert len(fast.rows) == len(reference.rows)
    if rows:
        assert reference.rows, f"nothing to compare: {reference.sql}"
    for got, expected in zip(fast.rows, reference.rows, strict=True):
        assert [exactly(value) for value in got] == [exactly(value) for value in expected]
        for index, name in enumerate(expected._fields):
            if name.isidentifier() and not name.startswith("__"):
                assert exactly(getattr(got, name)) == exactly(expected[index]), name
    return reference.rows


def value_types(rows: Sequence[Any]) -> set[type]:
    return {type(value) for row in rows for value in row}


async def test_every_table_reads_the_same_both_ways(
    services: Services, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = services.database
    seen: set[type] = set()
    for table in SQLModel.metadata.sorted_tables:
        statement = select(*table.columns).order_by(*table.primary_key.columns)
        tenant: uuid.UUID | None = None
        if "tenant_id" in table.c:
            tenant = seeded.esr
            statement = statement.where(table.c.tenant_id == seeded.esr)
        seen |= value_types(await assert_same(database, monkeypatch, tenant, statement))
    # Every kind of value a column holds was compared: UUID, text (enums among it), integers,
    # booleans, timestamptz, dates, JSON lists and objects, and NULL.
    assert {str, int, bool, datetime, date, list, dict, type(None)} <= seen
    assert any(issubclass(kind, uuid.UUID) for kind in seen)


async def test_lists_of_values_and_parameters(
    services: Services, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = services.database
    ids = seeded.equipment
    units = records(EquipmentUnit, ["serial_number", "status"]).order_by(col(EquipmentUnit.serial_number))
    named = records(Equipment, ["id", "name", "tags"]).order_by(col(Equipment.name))
    cases: list[tuple[Executable, Mapping[str, Any] | None]] = [
        # IN lists (one array parameter on PostgreSQL, ``db/in_lists.py``): literal and named.
        (named.where(col(Equipment.id).in_(ids)), None),
        (named.where(col(Equipment.id).in_(ids[1:])), None),
        (named.where(col(Equipment.id).in_(bindparam("ids", expanding=True))), {"ids": ids}),
        (named.where(col(Equipment.code).in_(["LED-1", "CAM-1", "NONE"])), None),
        # Values of an IN list go through their column's bind processing too (UTC here).
        (
            records(Reservation, ["number", "starts_at"]).where(
                col(Reservation.starts_at).in_([datetime.fromisoformat(at(0)).astimezone(BERLIN_SUMMER), T0])
            ),
            None,
        ),
        # `= ANY(:array)`: literal and named.
        (named.where(one_of(col(Equipment.id), ids, array=True)), None),
        (named.where(one_of_param(col(Equipment.id), "keys", array=True)), {"keys": ids}),
        (units.where(one_of_param(col(EquipmentUnit.equipment_id), "keys", array=True)), {"keys": ids}),
        # Enums, booleans, timestamps with an offset, text with LIKE escapes, integers.
        (
            records(Reservation, ["number", "status", "starts_at"])
            .where(col(Reservation.status).in_([ReservationStatus.CHECKED_OUT, ReservationStatus.REQUESTED]))
            .where(col(Reservation.starts_at) >= datetime(2031, 5, 1, 12, 0, tzinfo=BERLIN_SUMMER))
            .order_by(col(Reservation.number)),
            None,
        ),
        (
            records(User, ["email", "role", "is_active"])
            .where(col(User.is_active) == bindparam("active", type_=Boolean))
            .order_by(col(User.email)),
            {"active": True},
        ),
        (
            named.where(func.lower(col(Equipment.name)).like(f"%{escape_like('«ø»')}%", escape="\\")),
            None,
        ),
        (
            records(ReservationLine, ["position", "quantity", "unit_id"])
            .where(col(ReservationLine.quantity) >= bindparam("least", type_=Integer))
            .order_by(col(ReservationLine.reservation_id), col(ReservationLine.position)),
            {"least": 1},
        ),
        # Keyset paging as list fields page: a row-value comparison bound with the columns' types.
        (
            named.where(
                tuple_(col(Equipment.name), col(Equipment.id))
                > tuple_(literal("Camera", Text()), literal(uuid.UUID(int=0), Uuid()))
            ).limit(10),
            None,
        ),
        # An aggregate over a subquery, as totalCount is read.
        (
            select(func.count().label("n")).select_from(scoped_records(Equipment, seeded.esr).subquery()),
            None,
        ),
        # JSON as a parameter: bind-processed, and read back decoded.
        (
            select(bindparam("doc", type_=JSON).label("doc")),
            {"doc": {"tags": ["bühne", '19" rack'], "nested": {"n": 2**40, "x": 1.5, "none": None}}},
        ),
    ]
    for statement, params in cases:
        await assert_same(database, monkeypatch, seeded.esr, statement, params)
    # An empty IN list reads nothing on both paths.
    await assert_same(database, monkeypatch, seeded.esr, named.where(col(Equipment.id).in_([])), rows=False)


async def test_a_cached_statement_runs_again_with_other_values(
    services: Services, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second run of a shape reuses its compiled form: the values must be this run's."""
    database = services.database
    for tenant in (seeded.esr, seeded.cmh, seeded.esr):
        shape = scoped_records(Equipment, tenant, ["id", "code", "tenant_id"]).order_by(col(Equipment.code))
        rows = await assert_same(database, monkeypatch, tenant, shape)
        assert {row.tenant_id for row in rows} == {tenant}
    for ids in (seeded.equipment, seeded.equipment[:1], seeded.equipment[::-1]):
        rows = await assert_same(
            database, monkeypatch, seeded.esr, records(Equipment, ["id"]).where(col(Equipment.id).in_(ids))
        )
        assert {row.id for row in rows} == set(ids)


async def test_the_reusable_row_statements(
    services: Services, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each shape compiles once and runs with the tenant, keys and bounds as parameters."""
    database = services.database
    esr = {statements.TENANT: seeded.esr}
    everything_of = [
        (Equipment, seeded.equipment),
        (Reservation, seeded.reservations),
        (User, [seeded.customer, uuid.uuid4()]),
    ]
    for model, ids in everything_of:
        for columns in (None, ("id",), ("id", "tenant_id")):
            for keys in (ids, ids[:1]):
                await assert_same(
                    database,
                    monkeypatch,
                    seeded.esr,
                    statements.by_id(model, columns, True),
                    {**esr, statements.KEYS: keys},
                )
    for model in (
        EquipmentUnit,
        ReservationLine,
        Design,
        DesignVersion,
        DesignItem,
        DesignShare,
        Enquiry,
        EnquiryMessage,
    ):
        ids = [row.id for row in await through_sqlalchemy_rows(database, seeded.esr, records(model, ["id"]))]
        await assert_same(
            database,
            monkeypatch,
            seeded.esr,
            statements.by_id(model, None, True),
            {**esr, statements.KEYS: ids},
        )
    for keys in ([seeded.esr, seeded.cmh], [seeded.cmh]):
        await assert_same(
            database, monkeypatch, None, statements.tenants_by_id(None, True), {statements.KEYS: keys}
        )
    await assert_same(
        database,
        monkeypatch,
        seeded.esr,
        statements.units_of_equipment(None, True),
        {**esr, statements.KEYS: seeded.equipment},
    )
    for shown in (None, ("caption", "id", "owner_id", "width")):
        await assert_same(
            database,
            monkeypatch,
            seeded.esr,
            statements.attachments_of("EQUIPMENT", shown, True),
            {**esr, statements.KEYS: seeded.equipment},
        )
    await assert_same(
        database,
        monkeypatch,
        seeded.esr,
        statements.lines_of_reservations(("id", "reservation_id", "position", "unit_id"), True),
        {**esr, statements.KEYS: seeded.reservations},
    )
    window = {
        statements.STARTS: datetime.fromisoformat(at(-1)),
        statements.ENDS: datetime.fromisoformat(at(100)),
    }
    for starts in (False, True):
        for ends in (False, True):
            for own_only in (False, True):
                params: dict[str, Any] = {**esr, statements.KEYS: seeded.equipment}
                if starts:
                    params[statements.STARTS] = window[statements.STARTS]
                if ends:
                    params[statements.ENDS] = window[statements.ENDS]
                if own_only:
                    params[statements.CUSTOMER] = seeded.customer
                statement = statements.reservations_of_equipment(
                    None, True, starts=starts, ends=ends, own_only=own_only
                )
                await assert_same(database, monkeypatch, seeded.esr, statement, params)


async def through_sqlalchemy_rows(
    database: Database, tenant_id: uuid.UUID, statement: Executable
) -> Sequence[Any]:
    return (await through_sqlalchemy(database, tenant_id, statement, None)).rows


class Shouted(TypeDecorator[str]):
    """Text read back upper-cased: a column type with a result processor (none of the tables has one)."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value).upper()


async def test_result_processors_apply_as_sqlalchemy_applies_them(
    services: Services, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    statement = select(
        col(Equipment.code), type_coerce(col(Equipment.name), Shouted).label("shouted"), col(Equipment.tags)
    ).order_by(col(Equipment.code))
    rows = await assert_same(services.database, monkeypatch, seeded.esr, statement)
    assert [row.shouted for row in rows] == ["CAMERA", "LED WALL «Ø»"]
