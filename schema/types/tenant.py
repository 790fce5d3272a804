"""The ``Tenant`` type: a rental company as its users see it."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db.tables import Tenant as TenantRow
from schema.node import Node
from schema.rows import FromRow, row_type


@row_type(TenantRow)
@strawberry.type(
    description="A rental company using Rigbook; everything it owns is visible only to its users."
)
class Tenant(FromRow[TenantRow], Node):
    slug: str = strawberry.field(description="Short unique name used at sign-in, e.g. `esr`.")
    name: str = strawberry.field(description="Display name of the company.")
    timezone: str = strawberry.field(description="IANA time zone the company works in, e.g. `Europe/Berlin`.")
    created_at: datetime = strawberry.field(description="When the tenant was created.")
    row: strawberry.Private[TenantRow]
