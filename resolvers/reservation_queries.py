"""Reading reservations: lists with filters, per-equipment lists, availability."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from graphql import GraphQLError
from sqlalchemy import ColumnElement, Select, and_, exists, not_
from sqlmodel import col

from db.clock import utcnow
from db.scoped import in_tenant, scoped
from db.tables import Equipment, Reservation, ReservationLine, ReservationStatus
from resolvers.availability import STOCK_COLUMNS, Usage, holds_statement, usage
from resolvers.caller import TenantCaller
from resolvers.equipment import EquipmentFilter, equipment_statement
from resolvers.instants import instant_problem
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.transactions import Snapshot


class ReservationSort(StrEnum):
    STARTS_AT = "starts_at"
    NUMBER = "number"
    CREATED_AT = "created_at"


@dataclass(frozen=True)
class ReservationFilter:
    statuses: list[ReservationStatus] | None = None
    starts_before: datetime | None = None  # "to": overlapping windows start before it
    ends_after: datetime | None = None  # "from": overlapping windows end after it
    customer_id: uuid.UUID | None = None
    customer_given: bool = False
    equipment_id: uuid.UUID | None = None
    equipment_given: bool = False
    overdue: bool | None = None  # None: either


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """Handed out and not back although the window ended before ``now`` (``Reservation.isOverdue``)."""
    return and_(col(Reservation.status) == ReservationStatus.CHECKED_OUT, col(Reservation.ends_at) < now)


def require_aware(name: str, value: datetime | None) -> None:
    """Reject an unusable instant argument (naive, or out of range) as bad input."""
    problem = instant_problem(value) if value is not None else None
    if problem is not None:
        raise GraphQLError(f"`{name}`: {problem}", extensions={"code": "BAD_USER_INPUT"})


def window_or_error(starts: datetime, ends: datetime) -> tuple[datetime, datetime]:
    require_aware("from", starts)
    require_aware("to", ends)
    if ends <= starts:
        raise GraphQLError("`to` must be after `from`.", extensions={"code": "BAD_USER_INPUT"})
    return starts, ends


async def list_reservations(
    snapshot: Snapshot,
    caller: TenantCaller,
    *,
    filter: ReservationFilter,
    sort: ReservationSort,
    descending: bool,
    args: PageArgs,
) -> Page[Reservation]:
    tenant_id = caller.tenant_id
    require_aware("filter.from", filter.ends_after)
    require_aware("filter.to", filter.starts_before)
    statement = scoped(Reservation, tenant_id).where(*caller.visibility.conditions(Reservation))
    if filter.statuses:
        statement = statement.where(col(Reservation.status).in_(filter.statuses))
    if filter.starts_before is not None:
        statement = statement.where(col(Reservation.starts_at) < filter.starts_before)
    if filter.ends_after is not None:
        statement = statement.where(col(Reservation.ends_at) > filter.ends_after)
    if filter.customer_given:
        statement = statement.where(col(Reservation.customer_id) == filter.customer_id)
    if filter.equipment_given:
        statement = statement.where(
            exists().where(
                in_tenant(ReservationLine, tenant_id),
                col(ReservationLine.reservation_id) == col(Reservation.id),
                col(ReservationLine.equipment_id) == filter.equipment_id,
            )
        )
    if filter.overdue is not None:
        overdue = overdue_condition(utcnow())
        statement = statement.where(overdue if filter.overdue else not_(overdue))
    sort_column = col(getattr(Reservation, sort.value))
    return await paginate(
        snapshot, statement, sort=[sort_column, col(Reservation.id)], descending=descending, args=args
    )


async def availability(
    snapshot: Snapshot,
    caller: TenantCaller,
    equipment: Sequence[Equipment],
    window: tuple[datetime, datetime],
    *,
    holders: bool = True,
) -> dict[uuid.UUID, Usage]:
    """Peak held quantity per equipment in ``window``, read in one query.

    Without ``holders`` the holds are read without their reservations and units
    (``Usage.reservation_ids`` is then not to be asked): counting needs neither.
    """
    if not equipment:
        return {}
    rows = await snapshot.rows(holds_statement(caller.tenant_id, equipment, window, holders=holders))
    return usage(equipment, rows, window)


async def equipment_for_availability(
    snapshot: Snapshot,
    caller: TenantCaller,
    ids: list[uuid.UUID] | None,
    filter: EquipmentFilter,
    limit: int,
    *,
    whole_rows: bool = True,
) -> list[Equipment]:
    """The equipment to count, by name; only ``STOCK_COLUMNS`` unless ``whole_rows``.

    Rows read without ``whole_rows`` are enough for ``availability`` and ``Usage``,
    not for anything that shows the equipment itself.
    """
    statement: Select[*tuple[Any, ...]] = equipment_statement(caller.tenant_id, filter)
    if not whole_rows:
        # Descriptions, tags (JSON, decoded per row) and timestamps cost more to read than the count.
        statement = statement.with_only_columns(*(col(getattr(Equipment, name)) for name in STOCK_COLUMNS))
    if ids is not None:
        statement = statement.where(col(Equipment.id).in_(ids))
    statement = statement.order_by(col(Equipment.name), col(Equipment.id)).limit(limit)
    return list(await snapshot.rows(statement))
