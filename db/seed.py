"""Demo data for development: two tenants with one user per role, and an operator."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from auth.passwords import Passwords
from db.database import Database
from db.tables import Operator, Role, Tenant, User

OPERATOR_EMAIL = "operator@rigbook.example"
OPERATOR_PASSWORD = "Operator2025!"


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    timezone: str


DEMO_TENANTS = (
    DemoTenant("esr", "Event Screen Rentals", "Europe/Berlin"),
    DemoTenant("cmh", "ClipMyHorse.TV", "Europe/Berlin"),
)


def demo_sign_ins() -> list[tuple[str | None, str, str, str]]:
    """``(tenant slug, email, password, role)`` for every demo account."""
    rows: list[tuple[str | None, str, str, str]] = [(None, OPERATOR_EMAIL, OPERATOR_PASSWORD, "OPERATOR")]
    for tenant in DEMO_TENANTS:
        for role in Role:
            word = role.value.capitalize()
            rows.append(
                (
                    tenant.slug,
                    f"{role.value.lower()}@{tenant.slug}.example",
                    f"{tenant.slug.upper()}2025!{word}",
                    role.value,
                )
            )
    return rows


async def is_empty(database: Database) -> bool:
    async with database.session(None) as session:
        return (await session.scalars(select(Tenant.id).limit(1))).first() is None


async def seed_demo(database: Database, passwords: Passwords) -> list[str]:
    """Insert the demo tenants, users and operator that do not exist yet; returns what was added."""
    added: list[str] = []
    async with database.transaction(None) as session:
        if (
            await session.scalars(select(Operator.id).where(Operator.email == OPERATOR_EMAIL))
        ).first() is None:
            session.add(
                Operator(
                    email=OPERATOR_EMAIL,
                    name="Platform Operator",
                    password_hash=await passwords.hash(OPERATOR_PASSWORD),
                )
            )
            added.append(OPERATOR_EMAIL)
    for demo in DEMO_TENANTS:
        async with database.session(None) as session:
            tenant = (await session.scalars(select(Tenant).where(Tenant.slug == demo.slug))).first()
        if tenant is not None:
            continue
        tenant = Tenant(slug=demo.slug, name=demo.name, timezone=demo.timezone)
        async with database.transaction(tenant.id) as session:
            session.add(tenant)
            await session.flush()
            for slug, email, password, role in demo_sign_ins():
                if slug != demo.slug:
                    continue
                name = f"{demo.name} {role.capitalize()}"
                session.add(
                    User(
                        tenant_id=tenant.id,
                        email=email,
                        name=name,
                        role=role,
                        password_hash=await passwords.hash(password),
                    )
                )
                added.append(email)
    return added
