"""The one place where reads of tenant-owned rows get their tenant filter."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import BindParameter, ColumnElement, Select, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import select
from sqlmodel.sql.expression import SelectOfScalar


class TenantOwned(Protocol):
    tenant_id: Any
    id: Any


T = TypeVar("T", bound=TenantOwned)


def column(model: type[Any], name: str) -> InstrumentedAttribute[Any]:
    attribute: InstrumentedAttribute[Any] = getattr(model, name)
    return attribute


def scoped(model: type[T], tenant_id: uuid.UUID) -> SelectOfScalar[T]:
    """``SELECT model WHERE tenant_id = :tenant_id``."""
    return select(model).where(column(model, "tenant_id") == tenant_id)


def records(model: type[Any], columns: Collection[str] | None = None) -> Select[Any]:
    """``model``'s table as plain rows: all columns, or only ``columns``.

    Read paths use rows, not ORM instances: hydrating thousands of SQLModel
    objects per request cost more than the SQL. Rows answer the same
    attribute names, so the GraphQL types read either.
    """
    table = model.__table__
    chosen = table.columns if columns is None else [table.c[name] for name in columns]
    statement: Select[Any] = select(*chosen)
    return statement


def scoped_records(
    model: type[T], tenant_id: uuid.UUID | BindParameter[Any], columns: Collection[str] | None = None
) -> Select[Any]:
    """``records`` of one tenant (or of the tenant given as a parameter): the row-level twin of ``scoped``."""
    return records(model, columns).where(column(model, "tenant_id") == tenant_id)


def one_of(target: Any, values: Sequence[Any], *, array: bool) -> ColumnElement[bool]:
    """``target IN values``; with ``array`` (PostgreSQL) as ``= ANY(:values)``.

    One array parameter instead of one per value: for the thousand keys of a
    nested list, SQLAlchemy's per-value expansion cost more than the query.
    """
    if not array:
        condition: ColumnElement[bool] = target.in_(values)
        return condition
    return cast(ColumnElement[bool], target == any_(bindparam(None, list(values), type_=ARRAY(target.type))))


def one_of_param(target: Any, name: str, *, array: bool) -> ColumnElement[bool]:
    """``one_of`` with the values given at execution as the list parameter ``name``."""
    if not array:
        condition: ColumnElement[bool] = target.in_(bindparam(name, expanding=True))
        return condition
    return cast(ColumnElement[bool], target == any_(bindparam(name, type_=ARRAY(target.type))))


LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """Make ``%`` and ``_`` in user text match themselves in ``LIKE ... ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
