"""A demo account at work: the demo data is made through the same business functions as
any client's, by the account that would make it (the operator creates the tenants, the
admin the users, the manager the catalogue, the customer their requests), so the audit
trail names them, and the data obeys every rule the API enforces.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from auth.principal import Principal
from db.database import Database
from db.ids import new_id
from db.tables import Operator, Role, User
from resolvers.caller import TenantCaller, tenant_caller
from resolvers.errors import DomainError, InvalidInput, Unavailable
from resolvers.transactions import Standalone


class DemoDataError(RuntimeError):
    """The demo tables contradict themselves or a rule of the API (a bug in the data)."""


def principal_of(account: User | Operator) -> Principal:
    """The account as a caller. No sign-in session: ``Standalone`` checks none."""
    if isinstance(account, Operator):
        return Principal(subject_id=account.id, session_id=new_id(), tenant_id=None, role=None)
    return Principal(
        subject_id=account.id, session_id=new_id(), tenant_id=account.tenant_id, role=Role(account.role)
    )


@dataclass(frozen=True)
class Acting:
    """The transactions and the caller of one tenant user's work."""

    transactions: Standalone
    caller: TenantCaller

    @classmethod
    def as_user(cls, database: Database, user: User) -> Acting:
        principal = principal_of(user)
        return cls(Standalone(database, principal), tenant_caller(principal))


T = TypeVar("T")


async def demo_step(what: str, work: Awaitable[T], names: Mapping[uuid.UUID, str] | None = None) -> T:
    """Await a business function doing ``what``; a refusal is a bug in the demo data.

    ``names`` name equipment by id in the refusal (codes, for shortages).
    """
    try:
        return await work
    except DomainError as error:
        raise refused(what, error, names) from error


def refused(what: str, error: DomainError, names: Mapping[uuid.UUID, str] | None = None) -> DemoDataError:
    """A ``DemoDataError`` saying what the API refused, and why (equipment by ``names``)."""
    names = names or {}
    detail = error.message
    if isinstance(error, InvalidInput):
        detail += " " + "; ".join(f"{field}: {message}" for field, message in error.fields.items())
    if isinstance(error, Unavailable):
        detail += " " + "; ".join(
            f"{names.get(shortage.equipment_id, shortage.equipment_id)} "
            f"(wants {shortage.requested}, {shortage.available} free)"
            for shortage in error.shortages
        )
    return DemoDataError(f"{what}: {detail}")
