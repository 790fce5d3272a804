"""Row conversions and relations are checked when they are declared, not when a query first reaches them.

``@row_type`` (``schema/rows.py``) and ``@relation`` (``schema/relations.py``) are
the one description both engines read; a field missing from it, a misspelt
reader or a relation keyed by a column that does not exist fails at import.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import strawberry

from db.tables import Tenant as TenantRow
from schema import schema as built_schema
from schema.context import Info
from schema.fetches import USERS
from schema.node import Node, to_global_id
from schema.relations import from_parent, relation
from schema.rows import FromRow, Reader, row_source_of, row_type
from schema.types.tenant import Tenant
from schema.types.user import User


def test_a_plain_field_without_a_reader_or_a_column_fails() -> None:
    @strawberry.type
    class Probe(FromRow[TenantRow], Node):
        slug: str
        nickname: str
        row: strawberry.Private[TenantRow]

    with pytest.raises(TypeError, match=r"Probe\.nickname has no reader and tenant has no column 'nickname'"):
        row_type(TenantRow)(Probe)


def test_a_reader_naming_no_plain_field_fails() -> None:
    @strawberry.type
    class Probe(FromRow[TenantRow], Node):
        slug: str
        row: strawberry.Private[TenantRow]

        @strawberry.field
        def name(self) -> str:
            return "computed"

    # A misspelt field, and a field that has a resolver of its own.
    with pytest.raises(TypeError, match=r"readers for \['slag'\]"):
        row_type(TenantRow, slag=str.upper)(Probe)
    with pytest.raises(TypeError, match=r"readers for \['name'\]"):
        row_type(TenantRow, name=str.upper)(Probe)


def test_a_reader_of_columns_the_table_lacks_fails() -> None:
    @strawberry.type
    class Probe(FromRow[TenantRow], Node):
        slug: str
        row: strawberry.Private[TenantRow]

    with pytest.raises(TypeError, match=r"Probe\.slug reads \['short_name'\]"):
        row_type(TenantRow, slug=Reader(("short_name",), lambda row: row.short_name))(Probe)


def test_a_relation_keyed_by_no_column_fails() -> None:
    @strawberry.type
    class Probe(FromRow[TenantRow], Node):
        slug: str
        row: strawberry.Private[TenantRow]

        @strawberry.field
        @relation(key="owner_id", fetch=USERS)
        async def owner(self, info: Info) -> User | None: ...

    with pytest.raises(
        TypeError, match=r"Probe\.owner is keyed by 'owner_id', which is not a column of tenant"
    ):
        row_type(TenantRow)(Probe)


def test_a_row_type_keeps_its_row_and_is_registered_above_strawberry() -> None:
    @strawberry.type
    class Rowless(FromRow[TenantRow], Node):
        slug: str

    with pytest.raises(TypeError, match="keeps no row"):
        row_type(TenantRow)(Rowless)

    class Undecorated(FromRow[TenantRow]):
        slug: str

    with pytest.raises(TypeError, match=r"goes above @strawberry\.type"):
        row_type(TenantRow)(Undecorated)
    with pytest.raises(TypeError, match="register it with @row_type"):
        Undecorated.from_row(TenantRow(slug="x", name="X"))


def test_stubs_take_self_and_info() -> None:
    async def no_info(self: object) -> None: ...

    with pytest.raises(TypeError, match=r"takes \(self, info"):
        relation(key="id", fetch=USERS)(no_info)

    def with_arguments(self: object, first: int) -> int:
        return first

    with pytest.raises(TypeError, match="take only self"):
        from_parent(with_arguments)


def test_from_row_reads_the_declared_table() -> None:
    row = TenantRow(
        id=uuid.uuid4(), slug="esr", name="ESR", timezone="Europe/Berlin", created_at=datetime.now(UTC)
    )
    tenant = Tenant.from_row(row)
    assert (tenant.id, tenant.slug, tenant.name, tenant.timezone, tenant.created_at) == (
        to_global_id("Tenant", row.id),
        "esr",
        "ESR",
        "Europe/Berlin",
        row.created_at,
    )
    assert tenant.row is row


class Color(enum.Enum):
    RED = "red"
    CRIMSON = "red"  # an alias: the member is RED
    LISTED = ("l", 1)


def test_an_enum_reader_converts_as_calling_the_enum_does() -> None:
    """The reader answers a member's value with the member and leaves any other value to the enum."""

    @row_type(TenantRow, slug=Color)
    @strawberry.type
    class Painted(FromRow[TenantRow]):
        slug: str
        name: str
        timezone: str
        created_at: datetime
        row: strawberry.Private[TenantRow]

    reader = Painted.__row_source__.readers["slug"].read
    values: list[object] = ["red", ("l", 1), "blue", None, ["red"], {"a": 1}, 1]
    for value in values:
        row = SimpleNamespace(slug=value, name="n", timezone="UTC", created_at=datetime.now(UTC))
        try:
            expected: object = Color(value)
        except Exception as error:
            with pytest.raises(type(error), match=re.escape(str(error))):
                reader(row)
            continue
        assert reader(row) is expected
        assert Painted.from_row(row).slug is expected  # type: ignore[arg-type]


def test_every_type_built_from_rows_is_registered() -> None:
    """A ``FromRow`` type the schema publishes has its readers (else ``from_row`` refuses)."""
    published = [
        getattr(concrete.definition, "origin", None)
        for concrete in built_schema.schema_converter.type_map.values()
    ]
    row_types = [cls for cls in published if isinstance(cls, type) and issubclass(cls, FromRow)]
    assert {cls.__name__ for cls in row_types} >= {
        "AuditEvent",
        "Design",
        "DesignItem",
        "DesignShare",
        "DesignVersion",
        "Equipment",
        "EquipmentUnit",
        "Operator",
        "Reservation",
        "ReservationLine",
        "Tenant",
        "User",
    }
    assert all(row_source_of(cls) is not None for cls in row_types)


def test_a_hand_written_converter_beside_the_readers_fails() -> None:
    """A ``from_row`` of its own would be a second description of the conversion: refused."""

    @strawberry.type
    class Probe(FromRow[TenantRow], Node):
        slug: str
        name: str
        row: strawberry.Private[TenantRow]

        @classmethod
        def from_row(cls, row: TenantRow) -> Probe:
            return cls(id=to_global_id("Probe", row.id), slug=row.slug, name=row.name or row.slug, row=row)

    with pytest.raises(TypeError, match=r"Probe defines its own from_row"):
        row_type(TenantRow)(Probe)
