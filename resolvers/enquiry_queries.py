"""Reading enquiries: the list with its filters (staff: the tenant's; customers: their own)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from graphql import GraphQLError
from sqlalchemy import false, func, or_
from sqlmodel import col

from db.scoped import LIKE_ESCAPE, escape_like, scoped
from db.tables import Enquiry, EnquiryStatus
from resolvers.caller import TenantCaller
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.reservation_queries import require_aware
from resolvers.transactions import Snapshot

MAX_SEARCH = 100


class EnquirySort(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True)
class EnquiryFilter:
    statuses: list[EnquiryStatus] | None = None
    assigned_to_id: uuid.UUID | None = None
    assigned_given: bool = False
    received_from: datetime | None = None  # "from": received at or after
    received_to: datetime | None = None  # "to": received before
    search: str | None = None


def _search_problem(search: str | None) -> None:
    if search is not None and len(search) > MAX_SEARCH:
        raise GraphQLError(
            f"`filter.search` may be at most {MAX_SEARCH} characters long.",
            extensions={"code": "BAD_USER_INPUT"},
        )


async def list_enquiries(
    snapshot: Snapshot,
    caller: TenantCaller,
    *,
    filter: EnquiryFilter,
    sort: EnquirySort = EnquirySort.CREATED_AT,
    descending: bool = True,
    args: PageArgs,
) -> Page[Enquiry]:
    """The enquiries the caller may see, in ``sort`` order (by default newest first)."""
    require_aware("filter.from", filter.received_from)
    require_aware("filter.to", filter.received_to)
    _search_problem(filter.search)
    statement = scoped(Enquiry, caller.tenant_id).where(*caller.visibility.conditions(Enquiry))
    if filter.statuses:
        statement = statement.where(col(Enquiry.status).in_(filter.statuses))
    if filter.assigned_given:
        # An id that names no user (malformed, another type) matches nothing, not the unassigned.
        assignee = filter.assigned_to_id
        statement = statement.where(col(Enquiry.assigned_to_id) == assignee if assignee else false())
    if filter.received_from is not None:
        statement = statement.where(col(Enquiry.created_at) >= filter.received_from)
    if filter.received_to is not None:
        statement = statement.where(col(Enquiry.created_at) < filter.received_to)
    if filter.search and filter.search.strip():
        pattern = f"%{escape_like(filter.search.strip().lower())}%"
        statement = statement.where(
            or_(
                *(
                    func.lower(col(getattr(Enquiry, name))).like(pattern, escape=LIKE_ESCAPE)
                    for name in ("name", "email", "venue", "message")
                )
            )
        )
    return await paginate(
        snapshot,
        statement,
        sort=[col(getattr(Enquiry, sort.value)), col(Enquiry.id)],
        descending=descending,
        args=args,
    )
