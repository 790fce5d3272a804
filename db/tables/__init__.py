"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from db.tables.attachment import Attachment, OwnerKind, ThumbnailState
from db.tables.audit import AuditEvent
from db.tables.design import Design, DesignItem, DesignShare, DesignStatus, DesignVersion
from db.tables.enquiry import Enquiry, EnquiryMessage, EnquiryStatus, MessageKind
from db.tables.equipment import Equipment, EquipmentStatus, EquipmentUnit, Tracking, UnitStatus
from db.tables.job import Job, JobStatus
from db.tables.login_failure import LoginFailure
from db.tables.monthly_report import MonthlyReport
from db.tables.operator import Operator
from db.tables.outbox import OutboxEmail
from db.tables.password_reset import PasswordReset, TokenPurpose
from db.tables.refresh_token import OperatorRefreshToken, RefreshToken
from db.tables.reservation import HOLDING_STATUSES, Reservation, ReservationLine, ReservationStatus
from db.tables.sign_in_session import OperatorSignInSession, SignInSession
from db.tables.tenant import Tenant
from db.tables.tenant_export import ExportStatus, TenantExport
from db.tables.user import Role, User
from db.tables.webhook import DeliveryStatus, WebhookDelivery, WebhookEndpoint

__all__ = [
    "HOLDING_STATUSES",
    "Attachment",
    "AuditEvent",
    "DeliveryStatus",
    "Design",
    "DesignItem",
    "DesignShare",
    "DesignStatus",
    "DesignVersion",
    "Enquiry",
    "EnquiryMessage",
    "EnquiryStatus",
    "Equipment",
    "EquipmentStatus",
    "EquipmentUnit",
    "ExportStatus",
    "Job",
    "JobStatus",
    "LoginFailure",
    "MessageKind",
    "MonthlyReport",
    "Operator",
    "OperatorRefreshToken",
    "OperatorSignInSession",
    "OutboxEmail",
    "OwnerKind",
    "PasswordReset",
    "RefreshToken",
    "Reservation",
    "ReservationLine",
    "ReservationStatus",
    "Role",
    "SignInSession",
    "Tenant",
    "TenantExport",
    "ThumbnailState",
    "TokenPurpose",
    "Tracking",
    "UnitStatus",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
