"""Equipment fields: the catalogue and its availability; creating, changing and retiring
equipment and its units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from db.tables import Role, Tracking
from resolvers import equipment as resolve
from resolvers.equipment import EquipmentDraft, EquipmentSort
from resolvers.equipment_import import ImportLimits, import_equipment
from resolvers.list_caps import MAX_AVAILABILITY_ITEMS
from resolvers.pagination import PageArgs
from resolvers.reservation_queries import availability, equipment_for_availability, window_or_error
from schema.context import Info
from schema.errors import errors_as_data
from schema.limits.lists import MaxItems
from schema.node import pk_of
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least, signed_in_user
from schema.types.common import SortDirection
from schema.types.equipment import Equipment, EquipmentAvailability, EquipmentUnit, availability_reads
from schema.types.equipment_import import ImportEquipmentInput, ImportEquipmentResult, ImportEquipmentSuccess
from schema.types.equipment_inputs import (
    AddEquipmentUnitsInput,
    AddEquipmentUnitsResult,
    AddEquipmentUnitsSuccess,
    CreateEquipmentInput,
    EquipmentFilter,
    EquipmentOrder,
    EquipmentResult,
    EquipmentSuccess,
    EquipmentUnitResult,
    EquipmentUnitSuccess,
    RetireEquipmentInput,
    UpdateEquipmentInput,
    UpdateEquipmentUnitInput,
    filter_value,
    to_fields,
)

InputArg = strawberry.argument(description="What to do; see the input type.")


@strawberry.type
class EquipmentQuery:
    @strawberry.field(description="Your tenant's equipment catalogue.", extensions=signed_in_user())
    @paginated
    async def equipment(
        self,
        info: Info,
        paging: PageArgs,
        filter: Annotated[
            EquipmentFilter | None, strawberry.argument(description="Conditions to meet.")
        ] = None,
        order_by: Annotated[
            EquipmentOrder | None, strawberry.argument(description="Sort order; default by name.")
        ] = None,
    ) -> Connection[Equipment]:
        order = order_by or EquipmentOrder()
        context = info.context
        page = await resolve.list_equipment(
            context,
            context.caller(),
            filter=filter_value(filter),
            sort=EquipmentSort[order.field.name],
            descending=order.direction is SortDirection.DESC,
            args=paging,
        )
        # Lines of the page's reservations usually point back at these rows.
        loader = context.loaders.equipment_by_id
        for row in page.rows:
            loader.prime(row.id, row)
        return to_connection(page, Equipment.from_row)

    @strawberry.field(
        description=f"Free stock per equipment over a window (at most {MAX_AVAILABILITY_ITEMS} items, by name; "
        "page through `equipment { availability }` for more).",
        extensions=signed_in_user(),
    )
    async def availability(
        self,
        info: Info,
        from_: Annotated[
            datetime, strawberry.argument(name="from", description="Window start (inclusive, with offset).")
        ],
        to: Annotated[datetime, strawberry.argument(description="Window end (exclusive, with offset).")],
        equipment_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description=f"Only these equipment; unknown ids are skipped. At most {MAX_AVAILABILITY_ITEMS}.",
                directives=[MaxItems(count=MAX_AVAILABILITY_ITEMS)],
            ),
        ] = None,
        filter: Annotated[
            EquipmentFilter | None, strawberry.argument(description="Conditions to meet.")
        ] = None,
    ) -> list[EquipmentAvailability]:
        window = window_or_error(from_, to)
        ids = None
        if equipment_ids is not None:
            ids = [
                pk for pk in (pk_of(global_id, "Equipment") for global_id in equipment_ids) if pk is not None
            ]
        context = info.context
        caller = context.caller()
        reads = availability_reads(info)
        rows = await equipment_for_availability(
            context, caller, ids, filter_value(filter), MAX_AVAILABILITY_ITEMS, whole_rows=reads.whole_rows
        )
        found = await availability(context, caller, rows, window, holders=reads.holders)
        return [EquipmentAvailability.from_usage(found[row.id]) for row in rows]


@strawberry.type
class EquipmentMutation:
    @strawberry.mutation(
        description="Add equipment to the catalogue (MANAGER and ADMIN).",
        extensions=role_at_least(Role.MANAGER),
    )
    @errors_as_data
    async def create_equipment(
        self, info: Info, input: Annotated[CreateEquipmentInput, InputArg]
    ) -> EquipmentResult:
        draft = EquipmentDraft(
            fields=to_fields(input),
            tracking=Tracking[input.tracking.name],
            units=[unit.to_value() for unit in input.units],
        )
        context = info.context
        return EquipmentSuccess(
            equipment=Equipment.from_row(await resolve.create_equipment(context, context.caller(), draft))
        )

    @strawberry.mutation(
        description="Change equipment. Lowering stock or widening buffers below what reservations hold is refused "
        "with a ConflictError naming them (MANAGER and ADMIN).",
        extensions=role_at_least(Role.MANAGER),
    )
    @errors_as_data
    async def update_equipment(
        self, info: Info, input: Annotated[UpdateEquipmentInput, InputArg]
    ) -> EquipmentResult:
        context = info.context
        row = await resolve.update_equipment(
            context, context.caller(), pk_of(input.id, "Equipment"), to_fields(input), input.tracking_value()
        )
        return EquipmentSuccess(equipment=Equipment.from_row(row))

    @strawberry.mutation(
        description="Retire equipment so it can no longer be booked; refused while reservations hold it (MANAGER and ADMIN).",
        extensions=role_at_least(Role.MANAGER),
    )
    @errors_as_data
    async def retire_equipment(
        self, info: Info, input: Annotated[RetireEquipmentInput, InputArg]
    ) -> EquipmentResult:
        context = info.context
        row = await resolve.retire_equipment(context, context.caller(), pk_of(input.id, "Equipment"))
        return EquipmentSuccess(equipment=Equipment.from_row(row))

    @strawberry.mutation(
        description="Add units to serialized equipment (MANAGER and ADMIN).",
        extensions=role_at_least(Role.MANAGER),
    )
    @errors_as_data
    async def add_equipment_units(
        self, info: Info, input: Annotated[AddEquipmentUnitsInput, InputArg]
    ) -> AddEquipmentUnitsResult:
        context = info.context
        equipment, units = await resolve.add_units(
            context,
            context.caller(),
            pk_of(input.equipment_id, "Equipment"),
            [unit.to_value() for unit in input.units],
        )
        return AddEquipmentUnitsSuccess(
            equipment=Equipment.from_row(equipment), units=[EquipmentUnit.from_row(unit) for unit in units]
        )

    @strawberry.mutation(
        description="Change a unit's serial number, status or notes; taking a booked unit out of service is refused "
        "(MANAGER and ADMIN).",
        extensions=role_at_least(Role.MANAGER),
    )
    @errors_as_data
    async def update_equipment_unit(
        self, info: Info, input: Annotated[UpdateEquipmentUnitInput, InputArg]
    ) -> EquipmentUnitResult:
        context = info.context
        row = await resolve.update_unit(
            context, context.caller(), pk_of(input.id, "EquipmentUnit"), input.to_changes()
        )
        return EquipmentUnitSuccess(unit=EquipmentUnit.from_row(row))

    @strawberry.mutation(
        description="Create and update equipment from a CSV file, found by `code`: all rows or none, each checked "
        "as `createEquipment` and `updateEquipment` check it; lowering stock that reservations need is refused. "
        "`dryRun` reports the same without writing (MANAGER and ADMIN).",
        extensions=role_at_least(Role.MANAGER),
    )
    @errors_as_data
    async def import_equipment(
        self, info: Info, input: Annotated[ImportEquipmentInput, InputArg]
    ) -> ImportEquipmentResult:
        context = info.context
        settings = context.services.settings
        outcome = await import_equipment(
            context,
            context.caller().tenant_id,
            input.csv,
            dry_run=input.dry_run,
            limits=ImportLimits(max_bytes=settings.max_import_size, max_rows=settings.max_import_rows),
        )
        return ImportEquipmentSuccess.of(outcome)
