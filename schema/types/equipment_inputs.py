"""Inputs, filters and results for the equipment catalogue."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from db.tables import EquipmentStatus as EquipmentStatusValue
from db.tables import Tracking as TrackingValue
from db.tables import UnitStatus as UnitStatusValue
from resolvers.equipment import (
    MAX_TAGS,
    MAX_UNITS_PER_CALL,
    EquipmentFields,
    EquipmentSort,
    NewUnit,
    UnitChanges,
)
from resolvers.equipment import EquipmentFilter as EquipmentFilterValue
from schema.errors import ConflictError, NotFoundError, ValidationError
from schema.limits.lists import MaxItems
from schema.types.common import SortDirection
from schema.types.equipment import Equipment, EquipmentStatus, EquipmentUnit, Tracking, UnitStatus


@strawberry.enum(description="What to sort equipment by.")
class EquipmentOrderField(Enum):
    NAME = strawberry.enum_value(EquipmentSort.NAME, description="Name.")
    CODE = strawberry.enum_value(EquipmentSort.CODE, description="Code.")
    CATEGORY = strawberry.enum_value(EquipmentSort.CATEGORY, description="Category.")
    CREATED_AT = strawberry.enum_value(EquipmentSort.CREATED_AT, description="When it was added.")


@strawberry.input(description="Order of an equipment list.")
class EquipmentOrder:
    field: EquipmentOrderField = strawberry.field(
        default=EquipmentOrderField.NAME, description="What to sort by."
    )
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Which way.")


@strawberry.input(description="Narrow an equipment list; all given conditions must hold.")
class EquipmentFilter:
    search: str | None = strawberry.field(default=None, description="Text in the name, code or description.")
    category: str | None = strawberry.field(
        default=None, description="Exact category (case does not matter)."
    )
    tags: list[str] | None = strawberry.field(
        default=None,
        description=f"Equipment having all of these tags. At most {MAX_TAGS}.",
        directives=[MaxItems(count=MAX_TAGS)],
    )
    tracking: Tracking | None = strawberry.field(default=None, description="Only BULK or only SERIALIZED.")
    status: EquipmentStatus | None = strawberry.field(
        default=None, description="Only ACTIVE or only RETIRED."
    )

    def to_value(self) -> EquipmentFilterValue:
        return EquipmentFilterValue(
            search=self.search,
            category=self.category,
            tags=self.tags,
            tracking=TrackingValue[self.tracking.name] if self.tracking is not None else None,
            status=EquipmentStatusValue[self.status.name] if self.status is not None else None,
        )


def filter_value(filter: EquipmentFilter | None) -> EquipmentFilterValue:
    return filter.to_value() if filter is not None else EquipmentFilterValue()


@strawberry.input(description="A serialized unit to add.")
class NewUnitInput:
    serial_number: str = strawberry.field(description="Serial number, unique within the equipment.")
    notes: str = strawberry.field(default="", description="Free-form notes.")

    def to_value(self) -> NewUnit:
        return NewUnit(serial_number=self.serial_number, notes=self.notes)


@strawberry.input(description="New equipment for the catalogue.")
class CreateEquipmentInput:
    name: str = strawberry.field(description="Display name.")
    code: str = strawberry.field(description="Code or SKU, unique within your tenant.")
    tracking: Tracking = strawberry.field(
        description="BULK (a quantity) or SERIALIZED (units); cannot change later."
    )
    category: str = strawberry.field(default="", description="Free-form category.")
    description: str = strawberry.field(default="", description="Longer description.")
    tags: list[str] = strawberry.field(
        default_factory=list,
        description=f"Tags for filtering. At most {MAX_TAGS}.",
        directives=[MaxItems(count=MAX_TAGS)],
    )
    quantity: int | None = strawberry.field(
        default=None, description="BULK stock. For SERIALIZED, leave out and pass `units`."
    )
    buffer_before: int = strawberry.field(
        default=0, description="Minutes of preparation that block stock before each booking."
    )
    buffer_after: int = strawberry.field(
        default=0, description="Minutes of return handling that block stock after each booking."
    )
    units: list[NewUnitInput] = strawberry.field(
        default_factory=list,
        description=f"Initial units of SERIALIZED equipment. At most {MAX_UNITS_PER_CALL}.",
        directives=[MaxItems(count=MAX_UNITS_PER_CALL)],
    )


@strawberry.input(description="Changes to equipment; omitted fields stay as they are.")
class UpdateEquipmentInput:
    id: strawberry.ID = strawberry.field(description="The equipment to change.")
    name: str | None = strawberry.field(default=None, description="New name.")
    code: str | None = strawberry.field(default=None, description="New code.")
    category: str | None = strawberry.field(default=None, description="New category.")
    description: str | None = strawberry.field(default=None, description="New description.")
    tags: list[str] | None = strawberry.field(
        default=None,
        description=f"New tags (replace the old ones). At most {MAX_TAGS}.",
        directives=[MaxItems(count=MAX_TAGS)],
    )
    tracking: Tracking | None = strawberry.field(
        default=None, description="Must equal the current tracking (it is fixed)."
    )
    quantity: int | None = strawberry.field(
        default=None, description="New BULK stock; refused when confirmed reservations need more."
    )
    buffer_before: int | None = strawberry.field(default=None, description="New preparation buffer, minutes.")
    buffer_after: int | None = strawberry.field(default=None, description="New return buffer, minutes.")

    def tracking_value(self) -> TrackingValue | None:
        return TrackingValue[self.tracking.name] if self.tracking is not None else None


def to_fields(input: CreateEquipmentInput | UpdateEquipmentInput) -> EquipmentFields:
    return EquipmentFields(
        name=input.name,
        code=input.code,
        category=input.category,
        description=input.description,
        tags=input.tags,
        quantity=input.quantity,
        buffer_before=input.buffer_before,
        buffer_after=input.buffer_after,
    )


@strawberry.input(description="The equipment to retire.")
class RetireEquipmentInput:
    id: strawberry.ID = strawberry.field(
        description="The equipment to retire; refused while reservations hold it."
    )


@strawberry.input(description="Units to add to serialized equipment.")
class AddEquipmentUnitsInput:
    equipment_id: strawberry.ID = strawberry.field(description="The SERIALIZED equipment.")
    units: list[NewUnitInput] = strawberry.field(
        description=f"The units to add. At most {MAX_UNITS_PER_CALL}.",
        directives=[MaxItems(count=MAX_UNITS_PER_CALL)],
    )


@strawberry.input(description="Changes to a unit; omitted fields stay as they are.")
class UpdateEquipmentUnitInput:
    id: strawberry.ID = strawberry.field(description="The unit to change.")
    serial_number: str | None = strawberry.field(default=None, description="New serial number.")
    status: UnitStatus | None = strawberry.field(
        default=None, description="New status; taking a booked unit out of service is refused."
    )
    notes: str | None = strawberry.field(default=None, description="New notes.")

    def to_changes(self) -> UnitChanges:
        return UnitChanges(
            serial_number=self.serial_number,
            status=UnitStatusValue[self.status.name] if self.status is not None else None,
            notes=self.notes,
        )


@strawberry.type(description="The equipment as saved.")
class EquipmentSuccess:
    equipment: Equipment = strawberry.field(description="The equipment after the change.")


@strawberry.type(description="The units were added.")
class AddEquipmentUnitsSuccess:
    equipment: Equipment = strawberry.field(description="The equipment, with its new stock.")
    units: list[EquipmentUnit] = strawberry.field(description="The units just added.")


@strawberry.type(description="The unit as saved.")
class EquipmentUnitSuccess:
    unit: EquipmentUnit = strawberry.field(description="The unit after the change.")


EquipmentResult = Annotated[
    EquipmentSuccess | ValidationError | NotFoundError | ConflictError,
    strawberry.union("EquipmentResult", description="The outcome of an equipment mutation."),
]
AddEquipmentUnitsResult = Annotated[
    AddEquipmentUnitsSuccess | ValidationError | NotFoundError,
    strawberry.union("AddEquipmentUnitsResult", description="The outcome of `addEquipmentUnits`."),
]
EquipmentUnitResult = Annotated[
    EquipmentUnitSuccess | ValidationError | NotFoundError | ConflictError,
    strawberry.union("EquipmentUnitResult", description="The outcome of `updateEquipmentUnit`."),
]
