"""Reading designs, and turning a design version into one reservation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, or_
from sqlmodel import col

from db.scoped import LIKE_ESCAPE, escape_like, scoped
from db.tables import Design, DesignStatus, Reservation
from resolvers.booking import LineRequest
from resolvers.caller import TenantCaller
from resolvers.design_rules import find_design, items_of, refuse_archived
from resolvers.design_rules import version_by_number as find_version
from resolvers.errors import InvalidInput
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.reservations import ReservationDraft, create_reservation
from resolvers.transactions import Snapshot, Transactions
from settings import Settings


class DesignSort(StrEnum):
    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True)
class DesignFilter:
    search: str | None = None
    statuses: list[DesignStatus] | None = None
    owner_id: uuid.UUID | None = None
    owner_given: bool = False


async def list_designs(
    snapshot: Snapshot,
    caller: TenantCaller,
    *,
    filter: DesignFilter,
    sort: DesignSort,
    descending: bool,
    args: PageArgs,
) -> Page[Design]:
    statement = scoped(Design, caller.tenant_id).where(*caller.visibility.conditions(Design))
    if filter.search:
        pattern = f"%{escape_like(filter.search.strip().lower())}%"
        statement = statement.where(
            or_(
                func.lower(col(Design.name)).like(pattern, escape=LIKE_ESCAPE),
                func.lower(col(Design.description)).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    if filter.statuses:
        statement = statement.where(col(Design.status).in_(filter.statuses))
    if filter.owner_given:
        # A malformed or foreign owner id matches nothing, like an unknown one.
        statement = statement.where(col(Design.owner_id) == filter.owner_id)
    sort_column = col(getattr(Design, sort.value))
    return await paginate(
        snapshot, statement, sort=[sort_column, col(Design.id)], descending=descending, args=args
    )


@dataclass(frozen=True)
class DesignReservationRequest:
    design_id: uuid.UUID | None
    version: int | None
    title: str
    starts_at: datetime
    ends_at: datetime
    customer_id: uuid.UUID | None = None
    customer_given: bool = False
    notes: str = ""
    idempotency_key: str | None = None


async def reserve_design(
    transactions: Transactions, caller: TenantCaller, settings: Settings, request: DesignReservationRequest
) -> Reservation:
    """One reservation whose lines are the version's items, under the same no-overbooking rules."""
    async with transactions.session() as session:
        design = await find_design(session, caller, request.design_id, field="designId")
        refuse_archived(design, "reserve it")
        version = await find_version(session, design, request.version)
        if version is None:
            raise InvalidInput({"version": "The design has no saved version yet; save one first."})
        items = await items_of(session, version)
    if not items:
        raise InvalidInput({"version": f"Version {version.number} has no items to reserve."})
    draft = ReservationDraft(
        title=request.title,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        lines=[
            LineRequest(field=f"items.{index}", equipment_id=item.equipment_id, quantity=item.quantity)
            for index, item in enumerate(items)
        ],
        customer_id=request.customer_id,
        customer_given=request.customer_given,
        notes=request.notes,
        idempotency_key=request.idempotency_key,
        design_version_id=version.id,
    )
    # Versions never change, so reading them outside the booking transaction is safe.
    return await create_reservation(transactions, caller, settings, draft)
