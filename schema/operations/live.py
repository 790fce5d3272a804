"""Subscriptions: changes as they happen, each read again under the subscriber's own rights.

Served over a WebSocket at ``/graphql`` (``graphql-transport-ws``, ``web/live_socket.py``).
Each field checks its arguments and the caller once, when the subscription starts,
and returns a ``LiveSubscription`` (``resolvers/live/subscription.py``): which
committed changes of the caller's tenant it hears of, and what the subscriber may
be sent of each, read in a context of their own. The process's fan-out
(``resolvers/live/fanout.py``) renders each admitted root with the subscription's
selection in that context.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

import strawberry
from graphql import GraphQLError

from db.clock import utcnow
from db.live import Notice
from db.tables import ReservationStatus as StatusValue
from resolvers.context import Context
from resolvers.list_caps import MAX_AVAILABILITY_ITEMS
from resolvers.live.admission import (
    AVAILABILITY_EVENTS,
    DESIGN_EVENTS,
    EQUIPMENT_EVENTS,
    RESERVATION_EVENTS,
    AvailabilityWatch,
    ReservationCriteria,
    admitted_design,
    admitted_equipment,
    admitted_reservation,
    archived_by,
)
from resolvers.live.subscription import LiveSubscription
from resolvers.reservation_queries import window_or_error
from schema.context import Info
from schema.limits.lists import MaxItems
from schema.node import pk_of
from schema.types.design import Design
from schema.types.equipment import Equipment, EquipmentAvailability
from schema.types.live import (
    DesignEvent,
    DesignEventType,
    EquipmentEvent,
    EquipmentEventType,
    ReservationEvent,
    ReservationEventType,
)
from schema.types.reservation import Reservation, ReservationStatus

T = TypeVar("T")
MAX_FILTER_IDS = 100
TRANSPORT = (
    " Over a WebSocket at `/graphql` (`graphql-transport-ws`), with the access token in `connection_init`'s "
    'payload: `{"Authorization": "Bearer <accessToken>"}`.'
)


def _pks(ids: list[strawberry.ID] | None, type_name: str) -> frozenset[Any] | None:
    """The primary keys of ``ids`` that name a ``type_name`` (others can match nothing)."""
    if ids is None:
        return None
    return frozenset(pk for pk in (pk_of(each, type_name) for each in ids) if pk is not None)


@strawberry.input(description="Which reservation events to send; all given conditions must hold.")
class ReservationEventFilter:
    equipment_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=f"Only reservations booking any of these equipment. At most {MAX_FILTER_IDS}.",
        directives=[MaxItems(count=MAX_FILTER_IDS)],
    )
    statuses: list[ReservationStatus] | None = strawberry.field(
        default=None,
        description=f"Only reservations now in any of these statuses. At most {len(ReservationStatus)}.",
        directives=[MaxItems(count=len(ReservationStatus))],
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this customer's reservations."
    )

    def to_value(self) -> ReservationCriteria:
        customer = pk_of(self.customer_id, "User") if self.customer_id is not None else None
        if self.customer_id is not None and customer is None:
            raise _bad_input("`customerId` is not a User id.")
        return ReservationCriteria(
            equipment_ids=_pks(self.equipment_ids, "Equipment"),
            statuses=frozenset(StatusValue[each.name] for each in self.statuses)
            if self.statuses is not None
            else None,
            customer_id=customer,
        )


@strawberry.input(description="Which equipment events to send.")
class EquipmentEventFilter:
    equipment_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=f"Only these equipment. At most {MAX_FILTER_IDS}.",
        directives=[MaxItems(count=MAX_FILTER_IDS)],
    )


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


@strawberry.type(description="Changes as they happen." + TRANSPORT)
class Subscription:
    @strawberry.subscription(
        description="Reservations of your tenant as they are made and change (customers: their own only), "
        "each as you may see it when it is sent."
    )
    async def reservation_events(
        self,
        info: Info,
        filter: Annotated[
            ReservationEventFilter | None, strawberry.argument(description="Which events to send.")
        ] = None,
    ) -> AsyncGenerator[ReservationEvent, None]:
        context = info.context
        caller = context.caller()
        criteria = filter.to_value() if filter is not None else ReservationCriteria()

        async def admit(event_context: Context, notice: Notice | None) -> list[ReservationEvent]:
            if notice is None:
                return [
                    ReservationEvent(
                        type=ReservationEventType.REFETCH, reservation=None, occurred_at=utcnow()
                    )
                ]
            row = await admitted_reservation(event_context, notice, criteria)
            if row is None:
                return []
            event_type = ReservationEventType(notice.event)
            return [
                ReservationEvent(
                    type=event_type, reservation=Reservation.from_row(row), occurred_at=notice.occurred_at
                )
            ]

        return await _started(
            context, LiveSubscription(caller, _among(RESERVATION_EVENTS), admit), ReservationEvent
        )

    @strawberry.subscription(
        description="The availability of each of these equipment over a window, sent whenever a change "
        "alters it (a booking or its transition, stock, buffers, a unit's status); every item again after "
        "REFETCH would be sent elsewhere. Holders are named to staff only."
    )
    async def availability_changed(
        self,
        info: Info,
        equipment_ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(
                description=f"The equipment to watch; unknown ids are skipped. At most {MAX_AVAILABILITY_ITEMS}.",
                directives=[MaxItems(count=MAX_AVAILABILITY_ITEMS)],
            ),
        ],
        from_: Annotated[
            datetime, strawberry.argument(name="from", description="Window start (inclusive, with offset).")
        ],
        to: Annotated[datetime, strawberry.argument(description="Window end (exclusive, with offset).")],
    ) -> AsyncGenerator[EquipmentAvailability, None]:
        context = info.context
        caller = context.caller()
        window = window_or_error(from_, to)
        ids = list(dict.fromkeys(pk for pk in (pk_of(each, "Equipment") for each in equipment_ids) if pk))
        watch = AvailabilityWatch(caller, ids, window)
        await watch.start(context)

        async def admit(event_context: Context, notice: Notice | None) -> list[EquipmentAvailability]:
            return [
                EquipmentAvailability.from_usage(usage) for usage in await watch.admit(event_context, notice)
            ]

        return await _started(
            context, LiveSubscription(caller, _among(AVAILABILITY_EVENTS), admit), EquipmentAvailability
        )

    @strawberry.subscription(
        description="Equipment of your tenant's catalogue as it is added and changes (its units included)."
    )
    async def equipment_events(
        self,
        info: Info,
        filter: Annotated[
            EquipmentEventFilter | None, strawberry.argument(description="Which events to send.")
        ] = None,
    ) -> AsyncGenerator[EquipmentEvent, None]:
        context = info.context
        caller = context.caller()
        wanted = _pks(filter.equipment_ids, "Equipment") if filter is not None else None

        async def admit(event_context: Context, notice: Notice | None) -> list[EquipmentEvent]:
            if notice is None:
                return [EquipmentEvent(type=EquipmentEventType.REFETCH, equipment=None, occurred_at=utcnow())]
            row = await admitted_equipment(event_context, notice, wanted)
            if row is None:
                return []
            event_type = EquipmentEventType(notice.event)
            return [
                EquipmentEvent(
                    type=event_type, equipment=Equipment.from_row(row), occurred_at=notice.occurred_at
                )
            ]

        return await _started(
            context, LiveSubscription(caller, _among(EQUIPMENT_EVENTS), admit), EquipmentEvent
        )

    @strawberry.subscription(
        description="One design as it changes: saved versions, share links made and revoked, archiving."
    )
    async def design_events(
        self,
        info: Info,
        design_id: Annotated[strawberry.ID, strawberry.argument(description="The design to follow.")],
    ) -> AsyncGenerator[DesignEvent, None]:
        context = info.context
        caller = context.caller()
        pk = pk_of(design_id, "Design")
        if pk is None or await context.loaders.design_by_id.load(pk) is None:
            raise GraphQLError("No such design.", extensions={"code": "NOT_FOUND"})

        async def admit(event_context: Context, notice: Notice | None) -> list[DesignEvent]:
            if notice is None:
                return [DesignEvent(type=DesignEventType.REFETCH, design=None, occurred_at=utcnow())]
            row = await admitted_design(event_context, notice, pk)
            if row is None:
                return []
            event_type = DesignEventType(notice.event)
            if event_type is DesignEventType.CHANGED and await archived_by(event_context, notice):
                event_type = DesignEventType.ARCHIVED
            return [DesignEvent(type=event_type, design=Design.from_row(row), occurred_at=notice.occurred_at)]

        return await _started(context, LiveSubscription(caller, _among(DESIGN_EVENTS), admit), DesignEvent)


def _among(events: frozenset[str]) -> Any:
    def wanted(notice: Notice) -> bool:
        return notice.event in events

    return wanted


async def _started(
    context: Context, subscription: LiveSubscription, _shown: type[T]
) -> AsyncGenerator[T, None]:
    """``subscription``, its setup's reads ended.

    Strawberry reads the field's type from the annotation; what the subscriber is sent
    comes through the fan-out, rendered root by root (``resolvers/live/fanout.py``).
    """
    await context.end_read()
    return cast(AsyncGenerator[T, None], subscription)
