"""Who may see which rows: the one visibility policy.

* Staff and up (staff, managers, admins, and platform operators acting in a tenant
  through ``assumeTenant``, who act as its admin) see their whole tenant, and the
  reservations that hold stock ("holders") wherever availability or a shortage
  names them.
* Customers see their own reservations, their own designs (with those designs'
  versions, items and share links), their own enquiries (with the replies of their
  threads, never the staff notes: ``INTERNAL_ROWS``) and themselves among users;
  holders are never named to them. Share links show a design to anyone holding the token, but only
  through ``sharedDesign`` (``resolvers/design_shares.py``), never as rows here.
* Monthly reports (the tenant's business figures) are for its managers and admins
  (``sees_reports``), operators acting in the tenant among them.
* Platform operators outside a tenant, and anonymous callers, see no tenant's rows.
* A user's own settings (their notification preferences) are seen by that user and
  by the tenant's admins (operators acting in it included), not by other staff.

The rule is written once, as data: which column says whose a row is
(``OWNER_COLUMNS``) and which rows are seen through the row they belong to
(``VISIBLE_THROUGH``). ``Visibility`` turns it into each form a consumer needs:
SQL conditions for statements (``conditions``; ``owned_by`` with a bind parameter
for statements built once and reused), and a Python check for a row already read
(``may_see``). Everything asks it: loaders, list queries, row statements, ``node``,
the type resolvers and the mutations that find a row to change.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, select

from auth.principal import Principal
from db.scoped import column, in_tenant
from db.tables import (
    Design,
    DesignItem,
    DesignShare,
    DesignVersion,
    Enquiry,
    EnquiryMessage,
    MessageKind,
    Reservation,
    Role,
    User,
)

OWNER_COLUMNS: Mapping[type, str] = {
    Reservation: "customer_id",
    Design: "owner_id",
    Enquiry: "customer_id",
    User: "id",  # a user row is its own
}
"""Whose a row is: a customer sees the rows of these tables whose column names them."""

VISIBLE_THROUGH: Mapping[type, tuple[str, type]] = {
    DesignVersion: ("design_id", Design),
    DesignShare: ("design_id", Design),
    DesignItem: ("version_id", DesignVersion),
    EnquiryMessage: ("enquiry_id", Enquiry),
}
"""Rows a caller sees exactly when they see the row their column points to."""

INTERNAL_ROWS: Mapping[type, tuple[str, str]] = {
    EnquiryMessage: ("kind", MessageKind.NOTE.value),
}
"""Rows for staff only, wherever else they are seen through: (column, the value that makes them so)."""


def sees_whole_tenant(principal: Principal) -> bool:
    """Staff and up: they work on the whole tenant."""
    return principal.has_role_at_least(Role.STAFF)


def may_export(principal: Principal | None) -> bool:
    """A tenant's whole export (every user, every booking, the audit trail): its admins only."""
    return (
        principal is not None and principal.tenant_id is not None and principal.has_role_at_least(Role.ADMIN)
    )


def works_for_tenant(role: str) -> bool:
    """Whether a user of this role is staff (and so may be given a tenant's work, such as an enquiry)."""
    return role in (Role.STAFF, Role.MANAGER, Role.ADMIN)


def sees_reports(principal: Principal | None) -> bool:
    """A tenant's monthly reports (its business figures): its managers and admins only."""
    return (
        principal is not None
        and principal.tenant_id is not None
        and principal.has_role_at_least(Role.MANAGER)
    )


def owned_by(model: type[Any], owner: Any) -> ColumnElement[bool]:
    """``model``'s owner column equals ``owner``: a value, or a bind parameter of a reusable statement.

    A ``NULL`` parameter matches nothing, so an owner that is no user never widens a read.
    """
    condition: ColumnElement[bool] = column(model, OWNER_COLUMNS[model]) == owner
    return condition


@dataclass(frozen=True, slots=True)
class Visibility:
    """What one caller may see, derived from their verified token only."""

    tenant_id: uuid.UUID | None
    """The tenant whose rows the caller may see; ``None``: no tenant's."""
    whole_tenant: bool
    """All of that tenant's rows, rather than only the caller's own."""
    user_id: uuid.UUID | None
    """The user whose own rows the caller sees; ``None`` for operators."""
    platform: bool
    """A platform operator outside any tenant: sees tenants and operators, no tenant's rows."""
    admin: bool = False
    """An admin of the tenant (or an operator acting in it): sees every user's own settings."""

    @classmethod
    def of(cls, principal: Principal | None) -> Visibility:
        if principal is None:
            return cls(tenant_id=None, whole_tenant=False, user_id=None, platform=False)
        tenant_id = principal.tenant_id
        return cls(
            tenant_id=tenant_id,
            whole_tenant=tenant_id is not None and sees_whole_tenant(principal),
            user_id=principal.user_id,
            platform=tenant_id is None,
            admin=tenant_id is not None and principal.has_role_at_least(Role.ADMIN),
        )

    @property
    def sees_tenant_rows(self) -> bool:
        """Some rows of a tenant (equipment, units, ...): any signed-in user of it."""
        return self.tenant_id is not None

    @property
    def sees_holders(self) -> bool:
        """The reservations holding stock, as availability and shortages name them."""
        return self.whole_tenant

    @property
    def sees_operators(self) -> bool:
        return self.platform

    def sees_tenant(self, tenant_id: uuid.UUID) -> bool:
        """The tenant row itself: operators see every tenant, users their own."""
        return self.platform or (self.tenant_id is not None and tenant_id == self.tenant_id)

    def sees_rows_of(self, owner_id: uuid.UUID | None) -> bool:
        """Rows owned by ``owner_id`` (``None``: rows owned by nobody, such as internal bookings)."""
        if self.tenant_id is None:
            return False
        return self.whole_tenant or (owner_id is not None and owner_id == self.user_id)

    def sees_settings_of(self, user: User) -> bool:
        """``user``'s own settings (notification preferences): themself, and the tenant's admins."""
        if self.tenant_id is None or user.tenant_id != self.tenant_id:
            return False
        return self.admin or (self.user_id is not None and user.id == self.user_id)

    def restricts(self, model: type[Any]) -> bool:
        """Whether a read of ``model`` needs more than the tenant filter (``conditions`` is not empty)."""
        return not self.whole_tenant and (
            model in OWNER_COLUMNS or model in VISIBLE_THROUGH or model in INTERNAL_ROWS
        )

    def conditions(self, model: type[Any]) -> list[ColumnElement[bool]]:
        """What to add to a statement on ``model`` that is already scoped to the caller's tenant."""
        if self.tenant_id is None:
            return [false()]
        if not self.restricts(model):
            return []
        found: list[ColumnElement[bool]] = []
        internal = INTERNAL_ROWS.get(model)
        if internal is not None:
            found.append(column(model, internal[0]) != internal[1])
        if model in OWNER_COLUMNS:
            found.append(owned_by(model, self.user_id) if self.user_id is not None else false())
        elif model in VISIBLE_THROUGH:
            key, parent = VISIBLE_THROUGH[model]
            visible = select(column(parent, "id")).where(
                in_tenant(parent, self.tenant_id), *self.conditions(parent)
            )
            found.append(column(model, key).in_(visible))
        return found

    def may_see(self, model: type[Any], row: Any) -> bool:
        """The Python form of ``conditions``, for one row of ``model`` already read.

        Rows seen through another (``VISIBLE_THROUGH``) need that row: read them with
        ``conditions`` instead.
        """
        if model in VISIBLE_THROUGH:
            raise TypeError(
                f"{model.__name__} rows are seen through their parent; read them with conditions()"
            )
        if self.tenant_id is None or row.tenant_id != self.tenant_id:
            return False
        owner = OWNER_COLUMNS.get(model)
        return owner is None or self.sees_rows_of(getattr(row, owner))

    def visible_ids(self, model: type[Any], ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """The ids among ``ids`` of rows the caller may see, for a model whose rows are their own
        owners (users): decided before anything is read."""
        if OWNER_COLUMNS.get(model) != "id":
            raise TypeError(f"{model.__name__} rows are not their own owners; read them with conditions()")
        if self.whole_tenant:  # the common case, on every nested list of users: no pass over the ids
            return list(ids)
        return [pk for pk in ids if self.sees_rows_of(pk)]


def visibility_of(principal: Principal | None) -> Visibility:
    """The visibility of the caller ``principal`` describes (``None``: nobody signed in)."""
    return Visibility.of(principal)
