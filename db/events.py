"""Domain events: which audited changes others hear of, and under which name.

The audit trail is the record of what happened (``db/audit.py``): it is written on
every write path, in the transaction that makes the change, with who, which row and
old → new. A change that mail, webhooks or live updates may need also names its
domain event here (``reservation.confirmed``, ``equipment.changed``, ...); the audit
entry carries that name, and the same transaction queues one ``event`` job for it
(``resolvers/jobs/dispatch.py`` fans it out). A rollback takes the entry and the job
with it, so nothing is announced that did not commit, and nothing committed is lost.
"""

from __future__ import annotations

from typing import Any

# table → the prefix its events carry
EVENT_PREFIXES: dict[str, str] = {
    "reservation": "reservation",
    "equipment": "equipment",
    "equipment_unit": "unit",
    "design": "design",
    "app_user": "user",
    "enquiry": "enquiry",
}
VERBS = {"created": "created", "updated": "changed", "deleted": "deleted"}
# Every event name a subscriber (a webhook) may ask for.
EVENT_NAMES: tuple[str, ...] = (
    "reservation.created",
    "reservation.changed",
    "reservation.confirmed",
    "reservation.declined",
    "reservation.canceled",
    "reservation.checked_out",
    "reservation.returned",
    "reservation.expired",
    "reservation.pickup_reminder",
    "reservation.overdue",
    "reservation.deleted",
    "equipment.created",
    "equipment.changed",
    "equipment.deleted",
    "unit.created",
    "unit.changed",
    "unit.deleted",
    "design.created",
    "design.changed",
    "design.deleted",
    "design.version_created",
    "design.shared",
    "design.share_revoked",
    "user.created",
    "user.changed",
    "user.deleted",
    "report.created",
    "enquiry.created",
    "enquiry.changed",
    "enquiry.replied",
    "enquiry.noted",
    "enquiry.deleted",
    "webhook.disabled",
)
# Reservation columns whose being set announces an event of their own.
RESERVATION_MARKS = {
    "pickup_reminded_at": "reservation.pickup_reminder",
    "overdue_notified_at": "reservation.overdue",
}
EVENT_JOB = "event"


def event_name(table: str, verb: str, changes: dict[str, Any]) -> str | None:
    """The domain event an audited change of ``table`` announces, if any.

    ``verb`` is the audit trail's (created, updated, deleted); ``changes`` maps each
    changed column to ``[old, new]``.
    """
    if table == "reservation" and verb == "updated":
        if "status" in changes:
            return f"reservation.{str(changes['status'][1]).lower()}"
        for mark, name in RESERVATION_MARKS.items():
            if mark in changes and changes[mark][1] is not None:
                return name
    if table == "monthly_report":
        return "report.created" if verb == "created" else None
    if table == "webhook_endpoint":
        if verb == "updated" and "disabled_at" in changes and changes["disabled_at"][1] is not None:
            return "webhook.disabled"
        return None
    if table == "enquiry_message":
        # A reply is mailed to the enquirer; a note is for staff only (``resolvers/visibility.py``).
        if verb != "created":
            return None
        kind = changes.get("kind", [None, None])[1]
        return "enquiry.replied" if kind == "REPLY" else "enquiry.noted"
    if table == "design_version":
        return "design.version_created" if verb == "created" else None
    if table == "design_share":
        if verb == "created":
            return "design.shared"
        if verb == "updated" and "revoked_at" in changes:
            return "design.share_revoked"
        return None
    prefix = EVENT_PREFIXES.get(table)
    if prefix is None:
        return None
    return f"{prefix}.{VERBS[verb]}"
