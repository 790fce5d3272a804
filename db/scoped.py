"""The one place where statements on tenant-owned rows get their tenant filter.

Every SELECT, UPDATE and DELETE on a table with a ``tenant_id`` column names its
tenant here: ``scoped``/``scoped_records`` for a statement that starts from one
table, ``in_tenant`` for a condition anywhere else (a subquery, ``exists()``, an
UPDATE or DELETE), ``same_tenant`` for a join between two tenant-owned tables and
``tenant_of`` for a join to the ``tenant`` row itself. ``tests/test_tenant_scope.py``
fails when a ``tenant_id`` comparison is written anywhere else.

A primary-key lookup (``session.get(Model, (tenant_id, id))``) needs no condition:
the tenant is the first half of every such key. The mail outbox names a tenant but
is a platform queue, drained across tenants (``resolvers/mail.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import BindParameter, ColumnElement, Select, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import select
from sqlmodel.sql.expression import SelectOfScalar

from db.tables import Tenant


class TenantOwned(Protocol):
    tenant_id: Any
    id: Any


T = TypeVar("T", bound=TenantOwned)

TenantKey = uuid.UUID | BindParameter[Any]
"""A tenant's id, or the parameter that gives it at execution (reusable statements)."""


def column(model: type[Any], name: str) -> InstrumentedAttribute[Any]:
    attribute: InstrumentedAttribute[Any] = getattr(model, name)
    return attribute


def in_tenant(model: type[Any], tenant_id: TenantKey) -> ColumnElement[bool]:
    """``model.tenant_id = :tenant_id``: the tenant condition of every statement on ``model``."""
    condition: ColumnElement[bool] = column(model, "tenant_id") == tenant_id
    return condition


def same_tenant(model: type[Any], other: type[Any]) -> ColumnElement[bool]:
    """``model.tenant_id = other.tenant_id``: joins and correlated subqueries of two tenant-owned tables."""
    condition: ColumnElement[bool] = column(model, "tenant_id") == column(other, "tenant_id")
    return condition


def tenant_of(model: type[Any]) -> ColumnElement[bool]:
    """``tenant.id = model.tenant_id``: the join from a tenant-owned row to its tenant."""
    condition: ColumnElement[bool] = column(Tenant, "id") == column(model, "tenant_id")
    return condition


def scoped(model: type[T], tenant_id: TenantKey) -> SelectOfScalar[T]:
    """``SELECT model WHERE tenant_id = :tenant_id``."""
    return select(model).where(in_tenant(model, tenant_id))


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
    model: type[T], tenant_id: TenantKey, columns: Collection[str] | None = None
) -> Select[Any]:
    """``records`` of one tenant (or of the tenant given as a parameter): the row-level twin of ``scoped``."""
    return records(model, columns).where(in_tenant(model, tenant_id))


def one_of(target: Any, values: Sequence[Any], *, array: bool) -> ColumnElement[bool]:
    """``target IN values``; with ``array`` (PostgreSQL) as ``= ANY(:values)``.

    One array parameter instead of one per value: for the thousand keys of a
    nested list, SQLAlchemy's per-value expansion cost more than the query. (On
    PostgreSQL a plain ``in_`` now compiles to the same, ``db/in_lists.py``.)
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
