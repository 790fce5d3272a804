"""A tenant's own settings, kept in ``tenant.settings`` (JSON): their meaning, bounds and changes.

Each setting has a default that holds until the tenant's admin chooses otherwise,
and bounds checked when it is set and again when it is read (a value stored some
other way never reaches the code that uses it).

* ``requestExpiryHours``: how long a customer's request waits for staff before the
  expiry job (``resolvers/jobs/expiry.py``) moves it to EXPIRED, counted from when
  it was made. A change applies to requests already waiting too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from sqlmodel import col, select

from db.audit import record
from db.tables import Role, Tenant
from resolvers.caller import TenantCaller
from resolvers.errors import Forbidden, Validator
from resolvers.transactions import Transactions

REQUEST_EXPIRY_KEY = "requestExpiryHours"
DEFAULT_REQUEST_EXPIRY_HOURS = 72
MIN_REQUEST_EXPIRY_HOURS = 1
MAX_REQUEST_EXPIRY_HOURS = 2160  # 90 days


def _within(value: object, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def request_expiry_hours(settings: Mapping[str, Any] | None) -> int:
    """The tenant's ``requestExpiryHours``, or the default when it set none (or none usable)."""
    value = (settings or {}).get(REQUEST_EXPIRY_KEY)
    if _within(value, MIN_REQUEST_EXPIRY_HOURS, MAX_REQUEST_EXPIRY_HOURS):
        return value
    return DEFAULT_REQUEST_EXPIRY_HOURS


@dataclass(frozen=True)
class SettingsChanges:
    """What to change; a setting not ``given`` stays, one given as ``None`` goes back to its default."""

    request_expiry_hours: int | None = None
    request_expiry_given: bool = False


async def update_tenant_settings(
    transactions: Transactions, caller: TenantCaller, changes: SettingsChanges
) -> Tenant:
    """Change the caller's tenant's settings (ADMIN); the change is in the audit trail."""
    if not caller.principal.has_role_at_least(Role.ADMIN):
        raise Forbidden("Only admins may change the tenant's settings.")
    problems = Validator()
    hours = changes.request_expiry_hours
    if changes.request_expiry_given and hours is not None:
        problems.check(
            _within(hours, MIN_REQUEST_EXPIRY_HOURS, MAX_REQUEST_EXPIRY_HOURS),
            "requestExpiryHours",
            f"Must be between {MIN_REQUEST_EXPIRY_HOURS} and {MAX_REQUEST_EXPIRY_HOURS} hours.",
        )
    problems.raise_if_any()
    async with transactions.transaction() as session:
        statement = select(Tenant).where(col(Tenant.id) == caller.tenant_id).with_for_update()
        tenant = (await session.scalars(statement)).first()
        if tenant is None:  # the session check read the caller's user, of this tenant, just now
            raise RuntimeError("the caller's tenant is gone")
        settings = dict(tenant.settings or {})
        audited: dict[str, Any] = {}
        if changes.request_expiry_given:
            before = settings.get(REQUEST_EXPIRY_KEY)
            if hours is None:
                settings.pop(REQUEST_EXPIRY_KEY, None)
            else:
                settings[REQUEST_EXPIRY_KEY] = hours
            if before != hours:
                audited[REQUEST_EXPIRY_KEY] = [before, hours]
        if audited:
            tenant.settings = settings  # a new dict: the JSON column sees the change
            await session.flush()
            record(
                session.sync_session,
                tenant_id=tenant.id,
                action="tenant.settings_changed",
                target_type="tenant",
                target_id=tenant.id,
                changes=audited,
            )
        return tenant
