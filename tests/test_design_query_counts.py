"""Listing designs with their versions and items costs a constant number of SQL statements."""

from __future__ import annotations

from auth.services import Services
from db.tables import Design, DesignItem, DesignShare, DesignVersion, Equipment, Role, Tenant, Tracking, User
from tests.api import Api, make_tenant, make_user
from tests.conftest import StatementCounter

NESTED = """
{
  designs(first: 50) {
    totalCount
    edges { node {
      name owner { email } clonedFrom { name } clonedFromVersion { number } shares { active }
      currentVersion { number items { quantity equipment { name } } }
      versions { number createdBy { email } items { quantity equipment { name } } }
    } }
  }
}
"""


async def fill(services: Services, tenant: Tenant, owner: User, designs: int) -> None:
    """``designs`` designs with two versions of three items each, every other one a clone."""
    async with services.database.transaction(tenant.id) as session:
        equipment = [
            Equipment(
                tenant_id=tenant.id,
                name=f"Item {index}",
                code=f"I{index}",
                tracking=Tracking.BULK,
                quantity=9,
            )
            for index in range(3)
        ]
        session.add_all(equipment)
        await session.flush()
        previous: tuple[Design, DesignVersion] | None = None
        for index in range(designs):
            design = Design(
                tenant_id=tenant.id,
                name=f"Design {index:03}",
                owner_id=owner.id,
                current_version_number=2,
                cloned_from_id=previous[0].id if previous and index % 2 else None,
            )
            session.add(design)
            await session.flush()
            for number in (1, 2):
                source = previous[1].id if previous and index % 2 and number == 1 else None
                version = DesignVersion(
                    tenant_id=tenant.id,
                    design_id=design.id,
                    number=number,
                    created_by_id=owner.id,
                    source_version_id=source,
                )
                session.add(version)
                await session.flush()
                session.add_all(
                    DesignItem(
                        tenant_id=tenant.id,
                        version_id=version.id,
                        position=p,
                        equipment_id=e.id,
                        quantity=p + 1,
                    )
                    for p, e in enumerate(equipment)
                )
            session.add(DesignShare(tenant_id=tenant.id, design_id=design.id, token_hash="0" * 64))
            previous = (design, version)


async def statements_for(
    api: Api, services: Services, statements: StatementCounter, slug: str, designs: int, role: Role
) -> int:
    tenant = await make_tenant(services, slug)
    user = await make_user(services, tenant, role, f"user@{slug}.example")
    await fill(services, tenant, user, designs)
    token = await api.token(slug, user.email)
    with statements.counting():
        data = await api.data(NESTED, token=token)
    edges = data["designs"]["edges"]
    assert data["designs"]["totalCount"] == designs
    assert len(edges) == designs
    first, second = edges[0]["node"], edges[1]["node"]
    assert first["currentVersion"]["items"] == [
        {"quantity": 1, "equipment": {"name": "Item 0"}},
        {"quantity": 2, "equipment": {"name": "Item 1"}},
        {"quantity": 3, "equipment": {"name": "Item 2"}},
    ]
    assert [version["number"] for version in first["versions"]] == [2, 1]
    assert first["owner"] == {"email": user.email}
    assert (second["clonedFrom"], second["clonedFromVersion"]) == ({"name": "Design 000"}, {"number": 2})
    assert first["shares"] == [{"active": True}]
    return statements.last


async def test_listing_designs_costs_the_same_for_5_and_50(
    api: Api, services: Services, statements: StatementCounter
) -> None:
    small = await statements_for(api, services, statements, "small", 5, Role.MANAGER)
    large = await statements_for(api, services, statements, "large", 50, Role.MANAGER)
    assert small == large
    assert large <= 15


async def test_a_customers_listing_is_constant_too(
    api: Api, services: Services, statements: StatementCounter
) -> None:
    small = await statements_for(api, services, statements, "csmall", 5, Role.CUSTOMER)
    large = await statements_for(api, services, statements, "clarge", 50, Role.CUSTOMER)
    assert small == large
