"""The one GraphQL schema: root types assembled from the domain modules."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from schema.errors import (
    ConflictError,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidTokenError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from schema.json_scalar import JSON_SCALAR
from schema.operations.attachments import AttachmentMutation, AttachmentQuery
from schema.operations.audit import AuditQuery
from schema.operations.auth import AuthMutation, AuthQuery
from schema.operations.designs import DesignMutation, DesignQuery
from schema.operations.enquiries import EnquiryMutation, EnquiryQuery
from schema.operations.equipment import EquipmentMutation, EquipmentQuery
from schema.operations.exports import ExportMutation, ExportQuery
from schema.operations.live import Subscription
from schema.operations.node import NodeQuery
from schema.operations.reports import ReportQuery
from schema.operations.reservations import ReservationMutation, ReservationQuery
from schema.operations.self_service import SelfServiceMutation
from schema.operations.tenants import TenantMutation, TenantQuery
from schema.operations.users import UserMutation, UserQuery
from schema.operations.webhooks import WebhookMutation, WebhookQuery
from schema.types.attachment import Attachment
from schema.types.design import Design, DesignShare, DesignVersion
from schema.types.equipment import Equipment, EquipmentUnit
from schema.types.report import MonthlyReport
from schema.types.reservation import Reservation
from schema.types.tenant import Tenant
from schema.types.tenant_export import TenantExport
from schema.types.user import Operator, User
from schema.types.webhook import Webhook, WebhookDelivery


@strawberry.type(description="Everything you can read.")
class Query(
    AuthQuery,
    TenantQuery,
    UserQuery,
    EquipmentQuery,
    ReservationQuery,
    DesignQuery,
    EnquiryQuery,
    AuditQuery,
    WebhookQuery,
    ReportQuery,
    AttachmentQuery,
    ExportQuery,
    NodeQuery,
):
    pass


@strawberry.type(description="Everything you can change. Expected failures come back as `Error` members.")
class Mutation(
    AuthMutation,
    TenantMutation,
    UserMutation,
    SelfServiceMutation,
    EquipmentMutation,
    ReservationMutation,
    DesignMutation,
    EnquiryMutation,
    WebhookMutation,
    AttachmentMutation,
    ExportMutation,
):
    pass


_TYPES = [
    User,
    Equipment,
    EquipmentUnit,
    Reservation,
    MonthlyReport,
    TenantExport,
    Design,
    DesignVersion,
    DesignShare,
    Tenant,
    Operator,
    Webhook,
    WebhookDelivery,
    Attachment,
    ValidationError,
    NotFoundError,
    ConflictError,
    InvalidCredentialsError,
    InvalidTokenError,
    ForbiddenError,
    RateLimitedError,
]


# The type system only: requests run through ``schema/pipeline.py`` (limits, masking, projection).
schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=_TYPES,
    scalar_overrides={JSON: JSON_SCALAR},
)
