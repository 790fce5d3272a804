"""The ``Tenant`` type: a rental company as its users see it."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from db.tables import Tenant as TenantRow
from schema.node import Node, to_global_id
from schema.projection import row_source


@strawberry.type(
    description="A rental company using Rigbook; everything it owns is visible only to its users."
)
class Tenant(Node):
    slug: str = strawberry.field(description="Short unique name used at sign-in, e.g. `esr`.")
    name: str = strawberry.field(description="Display name of the company.")
    timezone: str = strawberry.field(description="IANA time zone the company works in, e.g. `Europe/Berlin`.")
    created_at: datetime = strawberry.field(description="When the tenant was created.")
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: TenantRow) -> Tenant:
        return cls(
            id=to_global_id("Tenant", row.id),
            pk=row.id,
            slug=row.slug,
            name=row.name,
            timezone=row.timezone,
            created_at=row.created_at,
        )


row_source(Tenant, TenantRow, id=(("id",), lambda row: to_global_id("Tenant", row.id)))
