"""A tenant's own settings, kept in ``tenant.settings`` (JSON), and its name and time zone: their
meaning, bounds and changes (``updateTenant``; ``updateTenantSettings`` is the same change).

Each setting has a default that holds until the tenant's admin chooses otherwise,
and bounds checked when it is set and again when it is read (a value stored some
other way never reaches the code that uses it).

* ``requestExpiryHours``: how long a customer's request waits for staff before the
  expiry job (``resolvers/jobs/expiry.py``) moves it to EXPIRED, counted from when
  it was made. A change applies to requests already waiting too.
* ``allowCustomerSignUp``: whether anyone may create a CUSTOMER account in the tenant
  with ``signUp`` (``resolvers/self_service.py``). Off unless an admin turns it on.

The time zone (``tenant.timezone``) decides where the tenant's days and months begin:
the monthly reports' bounds (``resolvers/reports/months.py``) and the times in mail.
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
from resolvers.validation import name_problem, timezone_problem

REQUEST_EXPIRY_KEY = "requestExpiryHours"
DEFAULT_REQUEST_EXPIRY_HOURS = 72
MIN_REQUEST_EXPIRY_HOURS = 1
MAX_REQUEST_EXPIRY_HOURS = 2160  # 90 days
ALLOW_CUSTOMER_SIGN_UP_KEY = "allowCustomerSignUp"


def _within(value: object, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def request_expiry_hours(settings: Mapping[str, Any] | None) -> int:
    """The tenant's ``requestExpiryHours``, or the default when it set none (or none usable)."""
    value = (settings or {}).get(REQUEST_EXPIRY_KEY)
    if _within(value, MIN_REQUEST_EXPIRY_HOURS, MAX_REQUEST_EXPIRY_HOURS):
        return value
    return DEFAULT_REQUEST_EXPIRY_HOURS


def allow_customer_sign_up(settings: Mapping[str, Any] | None) -> bool:
    """The tenant's ``allowCustomerSignUp``: only an explicit ``true`` turns it on."""
    return (settings or {}).get(ALLOW_CUSTOMER_SIGN_UP_KEY) is True


@dataclass(frozen=True)
class SettingsChanges:
    """What to change; a setting not ``given`` stays, one given as ``None`` goes back to its default.

    ``name`` and ``timezone``: ``None`` keeps them.
    """

    request_expiry_hours: int | None = None
    request_expiry_given: bool = False
    allow_customer_sign_up: bool | None = None
    allow_customer_sign_up_given: bool = False
    name: str | None = None
    timezone: str | None = None


def _validate(changes: SettingsChanges) -> None:
    problems = Validator()
    if changes.name is not None:
        problems.add("name", name_problem(changes.name.strip()))
    if changes.timezone is not None:
        problems.add(
            "timezone",
            "Must be at most 64 characters long."
            if len(changes.timezone) > 64
            else timezone_problem(changes.timezone.strip()),
        )
    hours = changes.request_expiry_hours
    if changes.request_expiry_given and hours is not None:
        problems.check(
            _within(hours, MIN_REQUEST_EXPIRY_HOURS, MAX_REQUEST_EXPIRY_HOURS),
            "requestExpiryHours",
            f"Must be between {MIN_REQUEST_EXPIRY_HOURS} and {MAX_REQUEST_EXPIRY_HOURS} hours.",
        )
    problems.raise_if_any()


def _set(settings: dict[str, Any], audited: dict[str, Any], key: str, value: object) -> None:
    """Set ``key`` (``None``: back to its default), noting an actual change in ``audited``."""
    before = settings.get(key)
    if value is None:
        settings.pop(key, None)
    else:
        settings[key] = value
    if before != value:
        audited[key] = [before, value]


async def update_tenant(transactions: Transactions, caller: TenantCaller, changes: SettingsChanges) -> Tenant:
    """Change the caller's tenant's name, time zone or settings (ADMIN); the change is audited."""
    if not caller.principal.has_role_at_least(Role.ADMIN):
        raise Forbidden("Only admins may change the tenant's settings.")
    _validate(changes)
    async with transactions.transaction() as session:
        statement = select(Tenant).where(col(Tenant.id) == caller.tenant_id).with_for_update()
        tenant = (await session.scalars(statement)).first()
        if tenant is None:  # the session check read the caller's user, of this tenant, just now
            raise RuntimeError("the caller's tenant is gone")
        settings = dict(tenant.settings or {})
        audited: dict[str, Any] = {}
        if changes.request_expiry_given:
            _set(settings, audited, REQUEST_EXPIRY_KEY, changes.request_expiry_hours)
        if changes.allow_customer_sign_up_given:
            # Off is the default: stored only when on.
            _set(settings, audited, ALLOW_CUSTOMER_SIGN_UP_KEY, changes.allow_customer_sign_up or None)
        # The tenant row is no tenant-owned row to the unit of work's audit: recorded here.
        if changes.name is not None and changes.name.strip() != tenant.name:
            audited["name"] = [tenant.name, changes.name.strip()]
            tenant.name = changes.name.strip()
        if changes.timezone is not None and changes.timezone.strip() != tenant.timezone:
            audited["timezone"] = [tenant.timezone, changes.timezone.strip()]
            tenant.timezone = changes.timezone.strip()
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
