"""What each kind of subscription may be sent of a notice, read under the subscriber's rights.

Every read here goes through the context's loaders and reads, so the visibility
policy (``resolvers/visibility.py``) and row-level security apply as for any query:
a customer's loaders find no other customer's reservation, and a notice whose row
the subscriber may not see admits nothing at all. Reads that only route a notice
(which equipment a reservation books, which design a version belongs to) decide
whether to read further; nothing they find is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from db.events import EVENT_NAMES
from db.live import Notice
from db.scoped import in_tenant
from db.tables import AuditEvent, Design, Equipment, Reservation, ReservationStatus
from resolvers.availability import Usage
from resolvers.caller import TenantCaller
from resolvers.context import Context
from resolvers.equipment import EquipmentFilter
from resolvers.reservation_queries import availability, equipment_for_availability


def _events(prefix: str, *, leaving: frozenset[str] = frozenset()) -> frozenset[str]:
    """The domain events of ``db/events.py`` under ``prefix``, but ``leaving``."""
    return frozenset(name for name in EVENT_NAMES if name.startswith(prefix) and name not in leaving)


# The reservation events a subscription hears of (a deletion leaves nothing to read again).
RESERVATION_EVENTS = _events("reservation.", leaving=frozenset({"reservation.deleted"}))
EQUIPMENT_EVENTS = _events("equipment.", leaving=frozenset({"equipment.deleted"})) | _events("unit.")
DESIGN_EVENTS = frozenset(
    {"design.changed", "design.version_created", "design.shared", "design.share_revoked"}
)
# What can change an item's availability: its bookings, its stock and buffers, its units.
AVAILABILITY_EVENTS = (RESERVATION_EVENTS - {"reservation.pickup_reminder", "reservation.overdue"}) | (
    EQUIPMENT_EVENTS - {"equipment.created"}
)


@dataclass(frozen=True, slots=True)
class ReservationCriteria:
    """A reservation subscription's filter; ``None``: any."""

    equipment_ids: frozenset[uuid.UUID] | None = None
    statuses: frozenset[ReservationStatus] | None = None
    customer_id: uuid.UUID | None = None


async def admitted_reservation(
    context: Context, notice: Notice, criteria: ReservationCriteria
) -> Reservation | None:
    """The notice's reservation as the subscriber sees it now, if they may and their filter asks for it."""
    if notice.target_id is None:
        return None
    row: Reservation | None = await context.loaders.reservation_by_id.load(notice.target_id)
    if row is None:
        return None
    if criteria.statuses is not None and ReservationStatus(row.status) not in criteria.statuses:
        return None
    if criteria.customer_id is not None and row.customer_id != criteria.customer_id:
        return None
    if criteria.equipment_ids is not None:
        lines = await context.loaders.lines_of_reservations([row.id], ["equipment_id"])
        if not any(line.equipment_id in criteria.equipment_ids for line in lines):
            return None
    return row


async def equipment_touched(context: Context, notice: Notice) -> set[uuid.UUID]:
    """The equipment a notice's change may have touched (routing only: nothing found here is sent)."""
    target = notice.target_id
    if target is None:
        return set()
    if notice.target_type == "equipment":
        return {target}
    if notice.target_type == "reservation":
        lines = await context.loaders.lines_of_reservations([target], ["equipment_id"])
        return {line.equipment_id for line in lines}
    if notice.target_type == "equipment_unit":
        unit = await context.loaders.unit_by_id.load(target)
        if unit is not None:
            return {unit.equipment_id}
        # A unit taken out of the catalogue: its audit entry still says whose it was.
        was = await _changed_column(context, notice, "equipment_id")
        return {uuid.UUID(str(was))} if was else set()
    return set()


async def admitted_equipment(
    context: Context, notice: Notice, equipment_ids: frozenset[uuid.UUID] | None
) -> Equipment | None:
    """The equipment a notice is about, as the subscriber sees it now, if their filter asks for it."""
    touched = await equipment_touched(context, notice)
    if equipment_ids is not None:
        touched &= equipment_ids
    if len(touched) != 1:
        return None
    row: Equipment | None = await context.loaders.equipment_by_id.load(touched.pop())
    return row


async def design_of(context: Context, notice: Notice) -> uuid.UUID | None:
    """The design a notice is about (through a version or share link the subscriber may see)."""
    target = notice.target_id
    if target is None:
        return None
    if notice.target_type == "design":
        return target
    if notice.target_type == "design_version":
        version = await context.loaders.version_by_id.load(target)
        return version.design_id if version is not None else None
    if notice.target_type == "design_share":
        share = await context.loaders.share_by_id.load(target)
        return share.design_id if share is not None else None
    return None


async def admitted_design(context: Context, notice: Notice, design_id: uuid.UUID) -> Design | None:
    """The subscribed design as the subscriber sees it now, if the notice is about it."""
    if await design_of(context, notice) != design_id:
        return None
    row: Design | None = await context.loaders.design_by_id.load(design_id)
    return row


async def archived_by(context: Context, notice: Notice) -> bool:
    """Whether the change a ``design.changed`` notice announces archived the design."""
    status = await _changed_column(context, notice, "status", new=True)
    return bool(status == "ARCHIVED")


async def _changed_column(context: Context, notice: Notice, name: str, *, new: bool = False) -> Any:
    """A column's old (or new) value in the notice's audit entry, read in the subscriber's tenant."""
    statement = select(col(AuditEvent.changes)).where(
        in_tenant(AuditEvent, notice.tenant_id), col(AuditEvent.id) == notice.audit_id
    )
    changes = await context.scalar(statement)
    if not isinstance(changes, dict):
        return None
    pair = changes.get(name)
    if not isinstance(pair, list) or len(pair) != 2:
        return None
    return pair[1] if new else pair[0]


@dataclass
class AvailabilityWatch:
    """An ``availabilityChanged`` subscription: its items and window, and what it was last sent."""

    caller: TenantCaller
    equipment_ids: Sequence[uuid.UUID]
    window: tuple[Any, Any]
    sent: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)

    async def start(self, context: Context) -> None:
        """Note each item's availability now, so that only changes from it are sent."""
        for usage in await self._usages(context, self.equipment_ids):
            self.sent[usage.equipment.id] = self._seen(usage)

    async def admit(self, context: Context, notice: Notice | None) -> list[Usage]:
        """The items whose availability the notice changed (every item after a gap), as now."""
        if notice is None:
            usages = await self._usages(context, self.equipment_ids)
            for usage in usages:
                self.sent[usage.equipment.id] = self._seen(usage)
            return usages
        if notice.event == "reservation.changed":
            # Its lines may have been replaced: the equipment they left is in none of them
            # any more, and its availability changed too. Only what changed is sent.
            ids = list(self.equipment_ids)
        else:
            touched = await equipment_touched(context, notice)
            ids = [equipment_id for equipment_id in self.equipment_ids if equipment_id in touched]
        if not ids:
            return []
        changed = []
        for usage in await self._usages(context, ids):
            seen = self._seen(usage)
            if self.sent.get(usage.equipment.id) != seen:
                self.sent[usage.equipment.id] = seen
                changed.append(usage)
        return changed

    async def _usages(self, context: Context, ids: Sequence[uuid.UUID]) -> list[Usage]:
        if not ids:
            return []
        caller = self.caller
        rows = await equipment_for_availability(context, caller, list(ids), EquipmentFilter(), len(ids))
        holders = caller.visibility.sees_holders
        found = await availability(context, caller, rows, self.window, holders=holders)
        return [found[row.id] for row in rows]

    def _seen(self, usage: Usage) -> tuple[Any, ...]:
        """What the subscriber was shown: the counts, the item itself, and (staff only) who holds it."""
        equipment = usage.equipment
        holders = tuple(sorted(usage.reservation_ids)) if self.caller.visibility.sees_holders else ()
        return (usage.total, usage.held, equipment.updated_at, equipment.name, holders)
