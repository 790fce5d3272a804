"""``node(id:)``: any object by global id, only within the caller's visibility.

The loaders apply the visibility policy (``resolvers/visibility.py``) to the rows
they read; rows that are not a tenant's (tenants, operators) are checked here,
against the same policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from resolvers.attachments import find_attachment, owner_visible
from resolvers.context import Context
from resolvers.exports.requests import export_by_id
from resolvers.reports.store import report_by_id
from resolvers.visibility import may_export, sees_reports, visibility_of
from resolvers.webhooks.endpoints import find_delivery, find_webhook
from schema.context import Info
from schema.node import Node, from_global_id
from schema.permissions import signed_in_anyone
from schema.types.attachment import Attachment
from schema.types.design import Design, DesignShare, DesignVersion
from schema.types.enquiry import Enquiry, EnquiryMessage
from schema.types.equipment import Equipment, EquipmentUnit
from schema.types.report import MonthlyReport
from schema.types.reservation import Reservation
from schema.types.tenant import Tenant
from schema.types.tenant_export import TenantExport
from schema.types.user import Operator, User
from schema.types.webhook import Webhook, WebhookDelivery


async def _user(context: Context, pk: uuid.UUID) -> Node | None:
    # The loader applies user visibility (customers: themselves).
    row = await context.loaders.user_by_id.load(pk) if _tenant_user(context) else None
    return User.from_row(row) if row is not None else None


async def _tenant(context: Context, pk: uuid.UUID) -> Node | None:
    if not visibility_of(context.principal).sees_tenant(pk):
        return None
    row = await context.loaders.tenant_by_id.load(pk)
    return Tenant.from_row(row) if row is not None else None


async def _operator(context: Context, pk: uuid.UUID) -> Node | None:
    if not visibility_of(context.principal).sees_operators:
        return None
    row = await context.loaders.operator_by_id.load(pk)
    return Operator.from_row(row) if row is not None else None


def _tenant_user(context: Context) -> bool:
    return visibility_of(context.principal).sees_tenant_rows


async def _equipment(context: Context, pk: uuid.UUID) -> Node | None:
    row = await context.loaders.equipment_by_id.load(pk) if _tenant_user(context) else None
    return Equipment.from_row(row) if row is not None else None


async def _unit(context: Context, pk: uuid.UUID) -> Node | None:
    row = await context.loaders.unit_by_id.load(pk) if _tenant_user(context) else None
    return EquipmentUnit.from_row(row) if row is not None else None


async def _reservation(context: Context, pk: uuid.UUID) -> Node | None:
    # The loader applies reservation visibility (customers: their own).
    row = await context.loaders.reservation_by_id.load(pk) if _tenant_user(context) else None
    return Reservation.from_row(row) if row is not None else None


# The design loaders apply design visibility (customers: their own designs).
async def _design(context: Context, pk: uuid.UUID) -> Node | None:
    row = await context.loaders.design_by_id.load(pk) if _tenant_user(context) else None
    return Design.from_row(row) if row is not None else None


async def _design_version(context: Context, pk: uuid.UUID) -> Node | None:
    row = await context.loaders.version_by_id.load(pk) if _tenant_user(context) else None
    return DesignVersion.from_row(row) if row is not None else None


async def _design_share(context: Context, pk: uuid.UUID) -> Node | None:
    row = await context.loaders.share_by_id.load(pk) if _tenant_user(context) else None
    return DesignShare.from_row(row) if row is not None else None


# The enquiry loaders apply enquiry visibility (customers: their own, and only its replies).
async def _enquiry(context: Context, pk: uuid.UUID) -> Node | None:
    row = await context.loaders.enquiry_by_id.load(pk) if _tenant_user(context) else None
    return Enquiry.from_row(row) if row is not None else None


async def _enquiry_message(context: Context, pk: uuid.UUID) -> Node | None:
    row = await context.loaders.message_by_id.load(pk) if _tenant_user(context) else None
    return EnquiryMessage.from_row(row) if row is not None else None


def _tenant_admin(context: Context) -> bool:
    return visibility_of(context.principal).admin


# Webhooks are their admins' only: anyone else finds none.
async def _webhook(context: Context, pk: uuid.UUID) -> Node | None:
    row = await find_webhook(context, context.caller(), pk) if _tenant_admin(context) else None
    return Webhook.from_row(row) if row is not None else None


async def _webhook_delivery(context: Context, pk: uuid.UUID) -> Node | None:
    row = await find_delivery(context, context.caller(), pk) if _tenant_admin(context) else None
    return WebhookDelivery.from_row(row) if row is not None else None


async def _monthly_report(context: Context, pk: uuid.UUID) -> Node | None:
    # Not a manager's or admin's: null, as for any row the caller may not see.
    if not sees_reports(context.principal):
        return None
    row = await report_by_id(context, context.caller(), pk)
    return MonthlyReport.from_row(row) if row is not None else None


async def _attachment(context: Context, pk: uuid.UUID) -> Node | None:
    # Seen exactly when its owner is (resolvers/attachments.py owner_visible).
    row = await find_attachment(context, context.caller(), pk) if _tenant_user(context) else None
    if row is None or not await owner_visible(context.loaders, row):
        return None
    return Attachment.from_row(row)


async def _tenant_export(context: Context, pk: uuid.UUID) -> Node | None:
    # Not an admin's: null, as for any row the caller may not see.
    if not may_export(context.principal):
        return None
    row = await export_by_id(context, context.caller(), pk)
    return TenantExport.from_row(row) if row is not None else None


NODE_RESOLVERS: dict[str, Callable[[Context, uuid.UUID], Awaitable[Node | None]]] = {
    "User": _user,
    "Tenant": _tenant,
    "Operator": _operator,
    "Equipment": _equipment,
    "EquipmentUnit": _unit,
    "Reservation": _reservation,
    "Design": _design,
    "DesignVersion": _design_version,
    "DesignShare": _design_share,
    "Webhook": _webhook,
    "WebhookDelivery": _webhook_delivery,
    "MonthlyReport": _monthly_report,
    "Attachment": _attachment,
    "TenantExport": _tenant_export,
    "Enquiry": _enquiry,
    "EnquiryMessage": _enquiry_message,
}


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Fetch any object by its global id; null when it does not exist or is not yours to see.",
        extensions=signed_in_anyone(),
    )
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")]
    ) -> Node | None:
        decoded = from_global_id(id)
        if decoded is None:
            return None
        resolver = NODE_RESOLVERS.get(decoded[0])
        return await resolver(info.context, decoded[1]) if resolver is not None else None
