"""Tenant exports as GraphQL: ``TenantExport``, its enums, and ``requestTenantExport``'s input and result."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from db.clock import utcnow
from db.tables import ExportStatus as ExportStatusValue
from db.tables import TenantExport as ExportRow
from resolvers.exports.requests import download_url
from resolvers.exports.tables import GROUPS
from schema.context import Info
from schema.errors import ConflictError, ValidationError
from schema.limits.lists import MaxItems
from schema.node import Node
from schema.rows import FromRow, Reader, row_type


@strawberry.enum(description="A part of an export: each is one or more files of the ZIP.")
class ExportGroup(Enum):
    USERS = strawberry.enum_value("users", description="`users`: every user (no password hashes).")
    EQUIPMENT = strawberry.enum_value("equipment", description="`equipment` and `equipment_units`.")
    RESERVATIONS = strawberry.enum_value(
        "reservations", description="`reservations` and `reservation_lines`."
    )
    DESIGNS = strawberry.enum_value(
        "designs",
        description="`designs`, `design_versions`, `design_items`, `design_shares` (no link secrets).",
    )
    AUDIT = strawberry.enum_value("audit", description="`audit`: the audit trail.")


@strawberry.enum(description="How the files of an export are written.")
class ExportFileFormat(Enum):
    NDJSON = strawberry.enum_value("ndjson", description="One JSON object a line.")
    CSV = strawberry.enum_value(
        "csv", description="A header row, then a row each; cells that would start a formula begin with `'`."
    )
    JSON = strawberry.enum_value("json", description="One JSON array of objects per file.")


@strawberry.enum(description="How an export stands.")
class TenantExportStatus(Enum):
    QUEUED = strawberry.enum_value(ExportStatusValue.QUEUED.value, description="Waiting for a worker.")
    RUNNING = strawberry.enum_value(ExportStatusValue.RUNNING.value, description="Being written.")
    READY = strawberry.enum_value(
        ExportStatusValue.READY.value, description="Written: `downloadUrl` gives it until `expiresAt`."
    )
    FAILED = strawberry.enum_value(ExportStatusValue.FAILED.value, description="Not made; `error` says why.")


@strawberry.type(description="One file of an export and how many rows it holds.")
class ExportFile:
    name: str = strawberry.field(description="The file's name in the ZIP, e.g. `reservations.csv`.")
    rows: int = strawberry.field(description="Its rows.")


def _files(row: Any) -> list[ExportFile]:
    return [ExportFile(name=name, rows=int(rows)) for name, rows in (row.counts or {}).items()]


def _groups(row: Any) -> list[ExportGroup]:
    return [ExportGroup(name) for name in row.groups if name in GROUPS]


@row_type(
    ExportRow,
    status=TenantExportStatus,
    format=ExportFileFormat,
    groups=Reader(("groups",), _groups),
    files=Reader(("counts",), _files),
)
@strawberry.type(
    description="An export of your tenant's data as one ZIP (ADMIN): a file per table and a `manifest.json` "
    "with the counts, the schema version and the time, read in one consistent snapshot."
)
class TenantExport(FromRow[ExportRow], Node):
    status: TenantExportStatus = strawberry.field(description="Queued, running, ready or failed.")
    format: ExportFileFormat = strawberry.field(description="How its files are written.")
    groups: list[ExportGroup] = strawberry.field(description="The parts it holds.")
    files: list[ExportFile] = strawberry.field(
        description="Its files and their rows; empty until it is ready."
    )
    size_bytes: int | None = strawberry.field(description="The ZIP's size in bytes, once ready.")
    error: str | None = strawberry.field(description="Why it failed; null otherwise.")
    created_at: datetime = strawberry.field(description="When it was asked for.")
    finished_at: datetime | None = strawberry.field(description="When it was ready or failed.")
    expires_at: datetime | None = strawberry.field(
        description="Until when it can be downloaded; null until it is ready."
    )
    row: strawberry.Private[ExportRow]

    @strawberry.field(
        description="A signed link that downloads the ZIP without sign-in, valid for a day at most (and never "
        "past `expiresAt`); null unless the export is ready. Treat it as a password."
    )
    def download_url(self, info: Info) -> str | None:
        return download_url(info.context.services.settings, self.row, utcnow())


@strawberry.input(description="What to export.")
class RequestTenantExportInput:
    only: list[ExportGroup] | None = strawberry.field(
        default=None,
        description=f"The parts to export; null or empty for all of them. At most {len(GROUPS)}.",
        directives=[MaxItems(count=len(GROUPS))],
    )
    format: ExportFileFormat = strawberry.field(
        default=ExportFileFormat.NDJSON, description="How the files are written."
    )


@strawberry.type(description="The export was queued; you are mailed a download link when it is ready.")
class TenantExportSuccess:
    export: TenantExport = strawberry.field(description="The export, as queued.")


RequestTenantExportResult = Annotated[
    TenantExportSuccess | ValidationError | ConflictError,
    strawberry.union("RequestTenantExportResult", description="The outcome of `requestTenantExport`."),
]
