"""``requestTenantExport``, ``tenantExports`` and ``tenantExport``: a tenant's data export, for its admins."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.clock import utcnow
from db.tables import Role
from resolvers.exports import requests as resolve
from resolvers.exports.formats import ExportFormat
from resolvers.pagination import PageArgs
from schema.context import Info
from schema.errors import errors_as_data
from schema.node import pk_of
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least
from schema.types.tenant_export import (
    RequestTenantExportInput,
    RequestTenantExportResult,
    TenantExport,
    TenantExportSuccess,
)


@strawberry.type
class ExportQuery:
    @strawberry.field(
        description="Your tenant's exports, newest first (ADMIN).", extensions=role_at_least(Role.ADMIN)
    )
    @paginated
    async def tenant_exports(self, info: Info, paging: PageArgs) -> Connection[TenantExport]:
        context = info.context
        page = await resolve.list_exports(context, context.caller(), paging)
        return to_connection(page, TenantExport.from_row)

    @strawberry.field(
        description="One export of your tenant (ADMIN); null when your tenant has none with that id.",
        extensions=role_at_least(Role.ADMIN),
    )
    async def tenant_export(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The export's id.")]
    ) -> TenantExport | None:
        context = info.context
        pk = pk_of(id, "TenantExport")
        row = await resolve.export_by_id(context, context.caller(), pk) if pk is not None else None
        return TenantExport.from_row(row) if row is not None else None


@strawberry.type
class ExportMutation:
    @strawberry.mutation(
        description="Export your tenant's data as one ZIP (ADMIN): written by a worker, then mailed to you as a "
        "signed download link. One export at a time per tenant.",
        extensions=role_at_least(Role.ADMIN),
    )
    @errors_as_data
    async def request_tenant_export(
        self,
        info: Info,
        input: Annotated[
            RequestTenantExportInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> RequestTenantExportResult:
        context = info.context
        row = await resolve.request_export(
            context,
            context.caller(),
            [group.name.lower() for group in input.only or []],
            ExportFormat(input.format.name.lower()),
            utcnow(),
        )
        return TenantExportSuccess(export=TenantExport.from_row(row))
