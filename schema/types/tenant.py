"""The ``Tenant`` type: a rental company as its users see it."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db.tables import Tenant as TenantRow
from resolvers.tenant_settings import (
    DEFAULT_REQUEST_EXPIRY_HOURS,
    MAX_REQUEST_EXPIRY_HOURS,
    MIN_REQUEST_EXPIRY_HOURS,
    allow_customer_sign_up,
    request_expiry_hours,
)
from schema.node import Node
from schema.rows import FromRow, Reader, row_type


@row_type(
    TenantRow,
    request_expiry_hours=Reader(("settings",), lambda row: request_expiry_hours(row.settings)),
    allow_customer_sign_up=Reader(("settings",), lambda row: allow_customer_sign_up(row.settings)),
)
@strawberry.type(
    description="A rental company using Rigbook; everything it owns is visible only to its users."
)
class Tenant(FromRow[TenantRow], Node):
    slug: str = strawberry.field(description="Short unique name used at sign-in, e.g. `esr`.")
    name: str = strawberry.field(description="Display name of the company.")
    timezone: str = strawberry.field(description="IANA time zone the company works in, e.g. `Europe/Berlin`.")
    created_at: datetime = strawberry.field(description="When the tenant was created.")
    request_expiry_hours: int = strawberry.field(
        description="Hours a customer's request waits for staff before it becomes EXPIRED, counted from when "
        f"it was made ({MIN_REQUEST_EXPIRY_HOURS}–{MAX_REQUEST_EXPIRY_HOURS}; "
        f"{DEFAULT_REQUEST_EXPIRY_HOURS} unless an admin set another with `updateTenant`). "
        "A request whose window begins first expires then."
    )
    allow_customer_sign_up: bool = strawberry.field(
        description="Whether anyone may create a CUSTOMER account here with `signUp` (off unless an admin "
        "turns it on with `updateTenant`)."
    )
    row: strawberry.Private[TenantRow]
