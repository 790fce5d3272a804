"""IN lists on PostgreSQL as one array parameter: ``column = ANY($1::UUID[])``.

SQLAlchemy renders ``column.in_(values)`` with an *expanding* parameter: at every
execution it rewrites the SQL with one ``$k`` per value. That rewriting costs CPU
per statement (a tenth of a request that reads by 50-100 keys), and every list
length is another SQL text, so neither asyncpg's prepared statements nor
PostgreSQL's plans are reused across lengths. ``InListCompiler`` renders such a
comparison as ``column = ANY($n::T[])`` (``NOT IN``: ``column <> ALL($n::T[])``)
with the list bound as one array of the column's type: one SQL text for every
length, nothing rendered per execution, and each element still passes through its
type's bind processing (the array's processor applies the element's).

It is installed on the engine's dialect (``db/database.py``), so every statement
compiled for PostgreSQL gets it, through the ORM, Core or the request read path
(``db/compiled_reads.py``), and the statements themselves keep ``.in_()``.

The semantics are those of the list: ``= ANY`` of an empty array is false and
``<> ALL`` of it is true, as SQLAlchemy's empty IN and NOT IN are; a NULL among the
values or in the column gives NULL in both forms. What keeps SQLAlchemy's own
rendering: tuple IN, IN of a subquery or of expressions, ``literal_execute``,
literal and post-compile rendering (``literal_binds``, ``render_postcompile``),
types that wrap their parameter in SQL, and element types not listed in
``ARRAY_ELEMENTS`` (numerics, whose casts round; enums; JSON; arrays).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.asyncpg import PGCompiler_asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators, sqltypes
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

ARRAY_ELEMENTS: tuple[type[TypeEngine[Any]], ...] = (
    sqltypes.Uuid,
    sqltypes.String,
    sqltypes.Integer,
    sqltypes.DateTime,
    sqltypes.Date,
    sqltypes.Boolean,
)
"""Type affinities whose values are compared as one array (text and enums stored as text among them)."""

_RENDERED_AS_IN = ("literal_binds", "literal_execute", "render_postcompile")


class InListCompiler(PGCompiler_asyncpg):
    """asyncpg's statement compiler, with IN lists of values as ``= ANY(array)``."""

    def visit_binary(
        self,
        binary: Any,
        override_operator: Any = None,
        eager_grouping: Any = False,
        from_linter: Any = None,
        lateral_from_linter: Any = None,
        **kw: Any,
    ) -> Any:
        operator = override_operator or binary.operator
        if operator is operators.in_op or operator is operators.not_in_op:
            array = self._array_of(binary.right, kw)
            if array is not None:
                # The sides as SQLAlchemy renders them (``_generate_generic_binary``); an
                # array parameter has no FROM, so the linter has no edge to learn.
                kw.update(
                    _in_operator_expression=True,
                    _binary_op=operator,
                    eager_grouping=eager_grouping,
                    from_linter=from_linter,
                    lateral_from_linter=lateral_from_linter,
                )
                left = binary.left._compiler_dispatch(self, **kw)
                values = array._compiler_dispatch(self, **kw)
                if operator is operators.in_op:
                    return f"{left} = ANY ({values})"
                # Bracketed as SQLAlchemy brackets NOT IN.
                return f"({left} <> ALL ({values}))"
        return super().visit_binary(  # type: ignore[no-untyped-call]
            binary,
            override_operator=override_operator,
            eager_grouping=eager_grouping,
            from_linter=from_linter,
            lateral_from_linter=lateral_from_linter,
            **kw,
        )

    def _array_of(self, values: Any, kw: dict[str, Any]) -> BindParameter[Any] | None:
        """The list parameter ``values`` as one array parameter, or ``None`` to render it as IN."""
        if not isinstance(values, BindParameter) or not values.expanding or values.literal_execute:
            return None
        if any(kw.get(flag) for flag in _RENDERED_AS_IN):
            return None
        element = values.type
        if element._is_tuple_type or element._isnull:
            return None
        if not issubclass(element._type_affinity or sqltypes.NullType, ARRAY_ELEMENTS):
            return None
        if isinstance(element._unwrapped_dialect_impl(self.dialect), sqltypes.Enum):
            return None
        if element.dialect_impl(self.dialect)._has_bind_expression:
            return None
        # A clone keeps the key and the cloned set by which SQLAlchemy's cache key finds
        # this execution's values, so a cached statement reads the new list.
        array = values._clone(maintain_key=True)
        array.expanding = False
        array.type = ARRAY(element, dimensions=1)
        return array

    def render_bind_cast(self, type_: Any, dbapi_type: Any, sqltext: str) -> str:
        item = getattr(dbapi_type, "item_type", None)
        if (
            isinstance(dbapi_type, sqltypes.ARRAY)
            and item is not None
            and item._type_affinity is sqltypes.String
            and getattr(item, "length", None)
        ):
            # ``$1::VARCHAR(64)[]`` would cut longer values to 64 characters (an explicit
            # cast does): cast to VARCHAR[] as a single text parameter is cast to VARCHAR.
            dbapi_type = ARRAY(sqltypes.STRINGTYPE, dimensions=dbapi_type.dimensions)
        return str(super().render_bind_cast(type_, dbapi_type, sqltext))  # type: ignore[no-untyped-call]


def use_arrays_for_in_lists(dialect: Dialect) -> None:
    """Compile ``dialect``'s statements with ``InListCompiler`` (asyncpg only; others as they are)."""
    if dialect.name == "postgresql" and dialect.driver == "asyncpg":
        dialect.statement_compiler = InListCompiler
