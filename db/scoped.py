"""The one place where reads of tenant-owned rows get their tenant filter."""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select
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


def records(model: type[Any]) -> Select[Any]:
    """All columns of ``model``'s table as plain rows.

    Read paths use rows, not ORM instances: hydrating thousands of SQLModel
    objects per request cost more than the SQL. Rows answer the same
    attribute names, so the GraphQL types read either.
    """
    statement: Select[Any] = select(*model.__table__.columns)
    return statement


def scoped_records(model: type[T], tenant_id: uuid.UUID) -> Select[Any]:
    """``records`` of one tenant: the row-level twin of ``scoped``."""
    return records(model).where(column(model, "tenant_id") == tenant_id)


LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """Make ``%`` and ``_`` in user text match themselves in ``LIKE ... ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
