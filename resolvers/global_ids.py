"""Global ids (``base64("Type:uuid")``) and the type each table's rows are exposed as.

The schema's ``Node`` ids (``schema/node.py``) and the ids in webhook payloads are
the same text, so a receiver can pass an id it was sent to ``node(id:)``.
"""

from __future__ import annotations

import base64
import binascii
import uuid

# Table names → the GraphQL type their ids are exposed as (others keep the table's name).
TYPE_OF_TABLE = {
    "app_user": "User",
    "equipment": "Equipment",
    "equipment_unit": "EquipmentUnit",
    "reservation": "Reservation",
    "reservation_line": "ReservationLine",
    "design": "Design",
    "design_version": "DesignVersion",
    "design_item": "DesignItem",
    "design_share": "DesignShare",
    "refresh_token": "Session",
    "tenant": "Tenant",
    "audit_event": "AuditEvent",
    "webhook_endpoint": "Webhook",
    "webhook_delivery": "WebhookDelivery",
    "monthly_report": "MonthlyReport",
    "attachment": "Attachment",
    "tenant_export": "TenantExport",
    "enquiry": "Enquiry",
    "enquiry_message": "EnquiryMessage",
}


def type_of_table(table: str) -> str:
    return TYPE_OF_TABLE.get(table, table)


def to_global_id(type_name: str, pk: uuid.UUID) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_global_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """``(type name, uuid)``, or ``None`` when the id is malformed."""
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _, raw = decoded.partition(":")
        return type_name, uuid.UUID(raw)
    except (ValueError, binascii.Error, UnicodeError):
        return None
