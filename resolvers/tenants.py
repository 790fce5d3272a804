"""Tenants: creation by operators, public self-service sign-up, listing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from auth.passwords import Passwords, password_problem
from auth.services import Services
from db.audit import record
from db.scoped import column
from db.tables import Role, Tenant, User
from resolvers import throttle
from resolvers.context import Context
from resolvers.errors import Forbidden, InvalidInput, Validator
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.sessions import SignedIn, start_session
from resolvers.transactions import Snapshot, Transactions
from resolvers.validation import email_problem, name_problem, normalize_email, slug_problem, timezone_problem


@dataclass(frozen=True)
class NewTenant:
    slug: str
    name: str
    timezone: str
    admin_email: str | None
    admin_password: str | None
    admin_name: str = ""

    def normalized(self) -> NewTenant:
        return NewTenant(
            slug=self.slug.strip().lower(),
            name=self.name.strip(),
            timezone=self.timezone.strip(),
            admin_email=normalize_email(self.admin_email) if self.admin_email is not None else None,
            admin_password=self.admin_password,
            admin_name=self.admin_name.strip(),
        )


def _validate(new: NewTenant, *, admin_required: bool) -> None:
    problems = Validator()
    problems.add("slug", slug_problem(new.slug))
    problems.add("name", name_problem(new.name))
    problems.add("timezone", timezone_problem(new.timezone))
    if admin_required or new.admin_email is not None or new.admin_password is not None:
        problems.add("adminEmail", email_problem(new.admin_email or ""))
        problems.add("adminPassword", password_problem(new.admin_password or "", email=new.admin_email))
        problems.add("adminName", name_problem(new.admin_name, required=False))
    problems.raise_if_any()


async def create_tenant(
    transactions: Transactions, passwords: Passwords, new: NewTenant
) -> tuple[Tenant, User | None]:
    """A tenant, and its first admin when one is given (operators only: the caller's permission)."""
    new = new.normalized()
    _validate(new, admin_required=False)
    tenant, admin, _ = await _insert(transactions, passwords, new)
    return tenant, admin


async def register_tenant(context: Context, new: NewTenant) -> SignedIn:
    """Self-service sign-up: a request's work, throttled by the client's address, ending signed in."""
    services = context.services
    if not services.settings.allow_tenant_signup:
        raise Forbidden("Self-service sign-up is turned off on this server.")
    new = new.normalized()
    _validate(new, admin_required=True)
    # Every sign-up spends the address's budget, successful or not: each one costs a hash and a tenant.
    await throttle.take(context, throttle.anonymous(context))
    _, _, signed_in = await _insert(context, services.passwords, new, sign_in=services)
    if signed_in is None:  # ``_validate`` required the first admin
        raise RuntimeError("a sign-up signs in its first admin")
    return signed_in


async def _insert(
    transactions: Transactions, passwords: Passwords, new: NewTenant, *, sign_in: Services | None = None
) -> tuple[Tenant, User | None, SignedIn | None]:
    """Insert the tenant and its admin; with ``sign_in``'s services, sign the admin in too."""
    await transactions.end_read()  # hashing waits; it must not keep a connection from others
    password_hash = await passwords.hash(new.admin_password) if new.admin_password is not None else None
    tenant = Tenant(slug=new.slug, name=new.name, timezone=new.timezone)
    try:
        async with transactions.transaction(tenant.id) as session:
            if (await session.scalars(select(Tenant.id).where(Tenant.slug == new.slug))).first():
                raise InvalidInput({"slug": "Is already taken."})
            session.add(tenant)
            await session.flush()
            record(
                session.sync_session,
                tenant_id=tenant.id,
                action="tenant.created",
                target_type="tenant",
                target_id=tenant.id,
                changes={
                    "slug": [None, tenant.slug],
                    "name": [None, tenant.name],
                    "timezone": [None, tenant.timezone],
                },
            )
            admin: User | None = None
            signed_in: SignedIn | None = None
            if new.admin_email is not None and password_hash is not None:
                admin = User(
                    tenant_id=tenant.id,
                    email=new.admin_email,
                    name=new.admin_name,
                    role=Role.ADMIN,
                    password_hash=password_hash,
                )
                session.add(admin)
                await session.flush()
                if sign_in is not None:
                    signed_in = await start_session(session, sign_in, user=admin)
    except IntegrityError as error:  # a concurrent sign-up took the slug
        raise InvalidInput({"slug": "Is already taken."}) from error
    return tenant, admin, signed_in


async def list_tenants(snapshot: Snapshot, args: PageArgs) -> Page[Tenant]:
    return await paginate(
        snapshot, select(Tenant), sort=[column(Tenant, "slug")], descending=False, args=args
    )
