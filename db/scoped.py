"""The one place where reads of tenant-owned rows get their tenant filter."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

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


def scoped_by_ids(model: type[T], tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> SelectOfScalar[T]:
    return scoped(model, tenant_id).where(column(model, "id").in_(list(ids)))


LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """Make ``%`` and ``_`` in user text match themselves in ``LIKE ... ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
