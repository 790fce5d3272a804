"""The input and results of `importEquipment`: a catalogue from CSV."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.equipment_import import ImportOutcome
from schema.errors import ConflictError, InvalidFileError


@strawberry.input(description="A CSV file of equipment to create or update, found by `code`.")
class ImportEquipmentInput:
    csv: str = strawberry.field(
        description="The file's text: comma-separated, the first line naming the columns (see the README). "
        "At most RIGBOOK_MAX_IMPORT_SIZE bytes (1 MiB), and the whole request must fit in 1 MiB; "
        "pass the input as a variable (`$input: ImportEquipmentInput!`), since a text of over 100,000 "
        "characters elsewhere is refused."
    )
    dry_run: bool = strawberry.field(
        default=False, description="Check every row and report what would happen, writing nothing."
    )


@strawberry.type(description="The file was imported (or, in a dry run, would be) without a problem.")
class ImportEquipmentSuccess:
    dry_run: bool = strawberry.field(description="Whether this was a dry run, so nothing was written.")
    rows: int = strawberry.field(description="Rows of equipment read (blank lines not counted).")
    created: int = strawberry.field(description="Rows whose code was new: equipment created.")
    updated: int = strawberry.field(description="Rows that changed existing equipment.")
    unchanged: int = strawberry.field(description="Rows that matched existing equipment already.")

    @classmethod
    def of(cls, outcome: ImportOutcome) -> ImportEquipmentSuccess:
        return cls(
            dry_run=outcome.dry_run,
            rows=outcome.rows,
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
        )


ImportEquipmentResult = Annotated[
    ImportEquipmentSuccess | InvalidFileError | ConflictError,
    strawberry.union("ImportEquipmentResult", description="The outcome of `importEquipment`."),
]
