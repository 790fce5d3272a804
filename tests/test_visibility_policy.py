"""The visibility policy: each rule, and its SQL and Python forms agreeing row for row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from auth.principal import Principal
from auth.services import Services
from db.tables import (
    Design,
    DesignItem,
    DesignShare,
    DesignVersion,
    Equipment,
    Reservation,
    ReservationStatus,
    Role,
    Tracking,
    User,
)
from resolvers.caller import tenant_caller
from resolvers.visibility import Visibility, visibility_of
from tests.api import TenantUsers, make_user

TENANT = uuid.uuid4()
OTHER_TENANT = uuid.uuid4()


def principal(role: Role | None, tenant: uuid.UUID | None = TENANT, *, acting: bool = False) -> Principal:
    return Principal(uuid.uuid4(), uuid.uuid4(), tenant, role, operator_id=uuid.uuid4() if acting else None)


def row(tenant: uuid.UUID = TENANT, **columns: Any) -> Any:
    """Enough of a row for the Python form: its tenant and owner column."""

    @dataclass
    class Row:
        tenant_id: uuid.UUID
        customer_id: uuid.UUID | None = None
        owner_id: uuid.UUID | None = None
        id: uuid.UUID | None = None

    return Row(tenant, **columns)


# --- the rules, one by one ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER, Role.ADMIN])
def test_staff_and_up_see_their_whole_tenant_and_the_holders(role: Role) -> None:
    seen = visibility_of(principal(role))
    assert seen.whole_tenant and seen.sees_holders and seen.sees_tenant_rows
    assert seen.conditions(Reservation) == [] and seen.conditions(DesignItem) == []
    assert seen.may_see(Reservation, row(customer_id=None))
    assert seen.may_see(Design, row(owner_id=uuid.uuid4()))
    assert not seen.may_see(Reservation, row(OTHER_TENANT))
    someone = uuid.uuid4()
    assert seen.visible_ids(User, [someone]) == [someone]


def test_customers_see_their_own_rows_and_no_holders() -> None:
    customer = principal(Role.CUSTOMER)
    seen = visibility_of(customer)
    own = customer.subject_id
    assert not seen.whole_tenant and not seen.sees_holders and seen.sees_tenant_rows
    assert seen.may_see(Reservation, row(customer_id=own))
    assert not seen.may_see(Reservation, row(customer_id=uuid.uuid4()))
    assert not seen.may_see(Reservation, row(customer_id=None))  # an internal booking
    assert seen.may_see(Design, row(owner_id=own))
    assert not seen.may_see(Design, row(owner_id=uuid.uuid4()))
    assert not seen.may_see(Design, row(OTHER_TENANT, owner_id=own))
    assert seen.may_see(Equipment, row())  # the catalogue is the whole tenant's
    assert seen.visible_ids(User, [uuid.uuid4(), own]) == [own]


def test_operators_acting_in_a_tenant_see_it_as_its_admin() -> None:
    seen = visibility_of(principal(Role.ADMIN, acting=True))
    assert seen.whole_tenant and seen.sees_holders and seen.user_id is None
    assert not seen.sees_operators
    assert seen.sees_tenant(TENANT) and not seen.sees_tenant(OTHER_TENANT)


def test_operators_outside_a_tenant_and_anonymous_callers_see_no_tenant_rows() -> None:
    for seen in (visibility_of(principal(None, None)), visibility_of(None)):
        assert not seen.sees_tenant_rows and not seen.sees_holders
        assert not seen.may_see(Equipment, row())
        assert seen.visible_ids(User, [uuid.uuid4()]) == []
        assert [str(condition) for condition in seen.conditions(Equipment)] == ["false"]
    platform = visibility_of(principal(None, None))
    assert platform.sees_operators and platform.sees_tenant(TENANT)
    assert not visibility_of(None).sees_operators and not visibility_of(None).sees_tenant(TENANT)


def test_rows_seen_through_a_parent_have_no_python_form() -> None:
    seen = visibility_of(principal(Role.CUSTOMER))
    with pytest.raises(TypeError, match="parent"):
        seen.may_see(DesignVersion, row())
    with pytest.raises(TypeError, match="own owners"):
        seen.visible_ids(Reservation, [uuid.uuid4()])


def test_the_caller_and_the_policy_agree_on_who_is_staff() -> None:
    for role in Role:
        caller = tenant_caller(principal(role))
        assert caller.is_staff == caller.visibility.whole_tenant == (role != Role.CUSTOMER)


# --- SQL and Python forms, row for row, on a real database --------------------------------------


@dataclass
class Catalogue:
    users: TenantUsers
    second_customer: User


async def seed(services: Services, esr: TenantUsers, cmh: TenantUsers) -> Catalogue:
    """Reservations, designs with versions, items and shares, owned by several users of two tenants."""
    second = await make_user(services, esr.tenant, Role.CUSTOMER, "second@esr.example")
    starts = datetime(2031, 5, 1, tzinfo=UTC)
    for users, extra in ((esr, second), (cmh, None)):
        tenant_id = users.tenant.id
        owners: list[User | None] = [users.customer, users.staff, extra, None]
        async with services.database.transaction(tenant_id) as session:
            equipment = Equipment(
                tenant_id=tenant_id, name="Wall", code="W", tracking=Tracking.BULK, quantity=5
            )
            session.add(equipment)
            for number, owner in enumerate(owners, start=1):
                session.add(
                    Reservation(
                        tenant_id=tenant_id,
                        number=number,
                        title=f"Job {number}",
                        customer_id=owner.id if owner is not None else None,
                        starts_at=starts,
                        ends_at=starts + timedelta(hours=2),
                        status=ReservationStatus.CONFIRMED,
                    )
                )
                if owner is None:
                    continue
                design = Design(tenant_id=tenant_id, name=f"Design {number}", owner_id=owner.id)
                session.add(design)
                await session.flush()
                for version_number in (1, 2):
                    version = DesignVersion(tenant_id=tenant_id, design_id=design.id, number=version_number)
                    session.add(version)
                    await session.flush()
                    session.add(
                        DesignItem(
                            tenant_id=tenant_id, version_id=version.id, equipment_id=equipment.id, quantity=1
                        )
                    )
                session.add(DesignShare(tenant_id=tenant_id, design_id=design.id, token_hash="0" * 64))
    return Catalogue(esr, second)


def principals(catalogue: Catalogue) -> dict[str, Principal | None]:
    users = catalogue.users
    tenant = users.tenant.id

    def of(user: User) -> Principal:
        return Principal(user.id, uuid.uuid4(), tenant, Role(user.role))

    return {
        "customer": of(users.customer),
        "second customer": of(catalogue.second_customer),
        "staff": of(users.staff),
        "manager": of(users.manager),
        "admin": of(users.admin),
        "operator acting": Principal(
            uuid.uuid4(), uuid.uuid4(), tenant, Role.ADMIN, operator_id=uuid.uuid4()
        ),
        "operator": Principal(uuid.uuid4(), uuid.uuid4(), None, None),
        "anonymous": None,
    }


async def test_sql_and_python_forms_see_the_same_rows(
    services: Services, esr: TenantUsers, cmh: TenantUsers
) -> None:
    catalogue = await seed(services, esr, cmh)
    tenant = esr.tenant.id

    async def ids(model: type[Any], seen: Visibility) -> set[uuid.UUID]:
        async with services.database.session(tenant) as session:
            statement = select(col(model.id)).where(col(model.tenant_id) == tenant, *seen.conditions(model))
            return set((await session.scalars(statement)).all())

    async def everything(model: type[Any]) -> list[Any]:
        async with services.database.session(tenant) as session:
            return list((await session.scalars(select(model).where(col(model.tenant_id) == tenant))).all())

    reservations, designs, users = [await everything(m) for m in (Reservation, Design, User)]
    versions, items, shares = [await everything(m) for m in (DesignVersion, DesignItem, DesignShare)]
    for name, who in principals(catalogue).items():
        seen = visibility_of(who)
        for model, rows in ((Reservation, reservations), (Design, designs), (User, users)):
            by_python = {found.id for found in rows if seen.may_see(model, found)}
            assert await ids(model, seen) == by_python, (name, model.__name__)
        assert {found.id for found in users if found.id in seen.visible_ids(User, [found.id])} == {
            found.id for found in users if seen.may_see(User, found)
        }, name
        # Versions and shares are seen with their design; items with their version.
        visible_designs = await ids(Design, seen)
        visible_versions = {version.id for version in versions if version.design_id in visible_designs}
        assert await ids(DesignVersion, seen) == visible_versions, name
        assert await ids(DesignShare, seen) == {s.id for s in shares if s.design_id in visible_designs}, name
        assert await ids(DesignItem, seen) == {i.id for i in items if i.version_id in visible_versions}, name

    # What each rule amounts to on these rows.
    customer = visibility_of(principals(catalogue)["customer"])
    assert {r.customer_id for r in reservations if customer.may_see(Reservation, r)} == {esr.customer.id}
    assert {d.owner_id for d in designs if customer.may_see(Design, d)} == {esr.customer.id}
    assert len(await ids(DesignVersion, customer)) == 2
    staff = visibility_of(principals(catalogue)["staff"])
    assert len(await ids(Reservation, staff)) == 4 and len(await ids(DesignItem, staff)) == 6
    for nobody in ("operator", "anonymous"):
        assert await ids(Reservation, visibility_of(principals(catalogue)[nobody])) == set()
