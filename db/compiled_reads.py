"""SQLAlchemy selects compiled once into SQL that asyncpg runs directly.

The request read path on PostgreSQL (``db/reads.py``) hands statements built with
SQLAlchemy straight to the asyncpg connection: SQLAlchemy's execution layer
(execution context, cursor adapter, result and row objects) costs more per
statement than the round trip to the server for the small reads a GraphQL
request makes. Compilation still goes through SQLAlchemy, with its cache key, so
the SQL, the bound values and their type processing are exactly what
``Connection.execute`` would send; this module mirrors
``Connection._execute_clauseelement`` and ``DefaultExecutionContext._init_compiled``
for SELECTs and nothing else.

Rows come back as asyncpg records of a class made per statement, with one
property per result column: ``row.name`` reads a column without a Python call
per access, and no row object is built twice.

A statement marked ``reusable`` (built once, run many times with named
parameters) skips even the cache key: it is compiled once and found by identity.

Every compiled form is kept in a bounded LRU (``db/caches.py``) that holds its
key strongly: a statement or compiled object listed there stays alive, so its
identity can never be taken by a newer object while the entry exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar, cast

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import Compiled, SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.util import LRUCache

from db.caches import CacheSize, lru_size, track

Processor = Callable[[Any], Any]
S = TypeVar("S", bound=Executable)

REUSABLE_OPTION = "rigbook_reusable"
# Statements compiled by their cache key, and their row classes.
COMPILED_KEPT = 500
# Reusable statements compiled: as many as the shapes ``resolvers/row_statements.py`` keeps.
REUSABLE_KEPT = 384


def reusable(statement: S) -> S:
    """``statement`` marked as built once and run many times with ``params`` only.

    Its values must all come from named ``bindparam``s given at execution: it is
    compiled once per dialect, with the values it was built with. The mark is an
    execution option, so it lives and dies with the statement.
    """
    return statement.execution_options(**{REUSABLE_OPTION: True})


_RECORD_METHODS = frozenset(dir(asyncpg.Record))


def record_class(names: Sequence[str]) -> type[asyncpg.Record]:
    """An ``asyncpg.Record`` subclass reading column ``i`` as attribute ``names[i]``."""
    attributes: dict[str, Any] = {"__slots__": ()}
    for index, name in enumerate(names):
        if name.isidentifier() and not name.startswith("__"):
            # A column named like a Record method (``keys``, ``get``) hides it on these rows.
            attributes[name] = property(itemgetter(index))
    return type("Row", (asyncpg.Record,), attributes)


class ProcessedRow(tuple[Any, ...]):
    """Rows of statements whose columns need a result processor (none of Rigbook's do)."""

    __slots__ = ()


def _processed_class(names: Sequence[str]) -> type[ProcessedRow]:
    attributes: dict[str, Any] = {"__slots__": ()}
    for index, name in enumerate(names):
        if name.isidentifier() and not name.startswith("__"):
            attributes[name] = property(itemgetter(index))
    return type("Row", (ProcessedRow,), attributes)


@dataclass(frozen=True)
class CompiledRead:
    """One compiled SELECT: its SQL, how to order and convert its parameters, its row class."""

    compiled: SQLCompiler
    sql: str
    positions: tuple[str, ...]
    bind_processors: Mapping[str, Processor]
    expands: bool
    """IN lists and other values rendered per execution (``expanding`` parameters)."""
    record_class: type[asyncpg.Record]
    result_processors: tuple[Processor | None, ...] | None
    processed_class: type[ProcessedRow] | None

    @classmethod
    def of(cls, compiled: SQLCompiler, dialect: Dialect) -> CompiledRead:
        columns = compiled._result_columns
        names = [column.keyname for column in columns]
        processors = tuple(column.type._cached_result_processor(dialect, None) for column in columns)
        needs_processing = any(processor is not None for processor in processors)
        return cls(
            compiled=compiled,
            sql=compiled.string,
            positions=tuple(compiled.positiontup or ()),
            bind_processors=cast(Mapping[str, Processor], compiled._bind_processors),
            expands=bool(compiled.literal_execute_params or compiled.post_compile_params),
            record_class=record_class(names),
            result_processors=processors if needs_processing else None,
            processed_class=_processed_class(names) if needs_processing else None,
        )

    def arguments(
        self,
        params: Mapping[str, Any] | None,
        extracted: Sequence[Any] | None,
        collected: Mapping[str, Any] | None,
    ) -> tuple[str, list[Any]]:
        """The SQL to send and its positional arguments, bind processors applied."""
        values = self.compiled.construct_params(
            dict(params) if params else None,
            extracted_parameters=extracted,
            escape_names=False,
            _collected_params=collected,
        )
        sql, positions, processors = self.sql, self.positions, self.bind_processors
        if self.expands:
            state = self.compiled._process_parameters_for_postcompile(values)
            sql, values = state.statement, dict(state.parameters)
            positions = tuple(state.positiontup or ())
            processors = {**processors, **state.processors}
        if not processors:
            return sql, [values[name] for name in positions]
        return sql, [
            processors[name](values[name]) if name in processors else values[name] for name in positions
        ]

    def rows(self, records: list[Any]) -> list[Any]:
        """Records as they came, or converted where a column's type asks for it."""
        if self.result_processors is None:
            return records
        make = self.processed_class
        if make is None:
            raise RuntimeError("a read with result processors has a row class")
        processors = self.result_processors
        return [
            make(
                value if processor is None else processor(value)
                for value, processor in zip(record, processors, strict=True)
            )
            for record in records
        ]


class ReadCompiler:
    """Compiles selects for one dialect, through SQLAlchemy's cache key."""

    def __init__(
        self, dialect: Dialect, size: int = COMPILED_KEPT, reusable_size: int = REUSABLE_KEPT
    ) -> None:
        self.dialect = dialect
        self._cache: LRUCache[Any, Compiled] = LRUCache(size)
        # Not a weak mapping: each value holds its compiled key, which would never die.
        self._reads: LRUCache[SQLCompiler, CompiledRead] = LRUCache(size)
        # Statements hash by identity; the entry holds the statement, so the key stays its own.
        self._reusable: LRUCache[Executable, CompiledRead] = LRUCache(reusable_size)
        track(self)

    def cache_sizes(self) -> Iterator[CacheSize]:
        yield lru_size("db.compiled_reads.compiled", self._cache)
        yield lru_size("db.compiled_reads.reads", self._reads)
        yield lru_size("db.compiled_reads.reusable", self._reusable)

    def prepare(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> tuple[CompiledRead, str, list[Any]]:
        """The compiled form of ``statement`` and the SQL and arguments for this execution."""
        if statement.get_execution_options().get(REUSABLE_OPTION):
            read = self._reusable.get(statement)
            if read is None:
                # Compiled outside the cache by key: this entry is its only copy.
                read = self._reusable[statement] = self._compile(statement, params, None)[0]
            sql, arguments = read.arguments(params, None, None)
            return read, sql, arguments
        read, extracted, collected = self._compile(statement, params, self._cache)
        sql, arguments = read.arguments(params, extracted, collected)
        return read, sql, arguments

    def _compile(
        self,
        statement: Executable,
        params: Mapping[str, Any] | None,
        compiled_cache: LRUCache[Any, Compiled] | None,
    ) -> tuple[CompiledRead, Sequence[Any] | None, Mapping[str, Any] | None]:
        if not isinstance(statement, ClauseElement):
            raise TypeError(f"cannot compile {type(statement).__name__} for a read")
        compiled, extracted, collected, _ = statement._compile_w_cache(
            dialect=self.dialect,
            compiled_cache=compiled_cache,
            column_keys=sorted(params) if params else [],
        )
        if not isinstance(compiled, SQLCompiler):
            raise TypeError(f"cannot read with a {type(compiled).__name__}")
        if not compiled._result_columns:
            raise TypeError("a read selects named columns")
        if compiled_cache is None:
            return CompiledRead.of(compiled, self.dialect), extracted, collected
        read = self._reads.get(compiled)
        if read is None:
            read = self._reads[compiled] = CompiledRead.of(compiled, self.dialect)
        return read, extracted, collected
