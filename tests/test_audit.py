"""The audit trail: every change, who made it, old → new, append-only, ADMIN-only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from auth.services import Services
from schema.node import pk_of, to_global_id
from tests.api import DEFAULT_PASSWORD, Api, TenantUsers, error_codes
from tests.booking import T0, at, create_equipment, line, reserve, step

EVENTS = """
query($filter: AuditEventFilter) {
  auditEvents(first: 100, filter: $filter) {
    totalCount
    edges { node { action targetType targetId actorKind actor { email } changes requestId createdAt } }
  }
}
"""


async def events(api: Api, token: str, **filter: Any) -> list[dict[str, Any]]:
    data = await api.data(EVENTS, {"filter": filter or None}, token=token)
    return [edge["node"] for edge in data["auditEvents"]["edges"]]


async def test_a_status_change_is_recorded_with_old_and_new_values(
    api: Api, admin_token: str, manager_token: str, staff_token: str, esr: TenantUsers
) -> None:
    wall = await create_equipment(api, manager_token, name="LED wall", code="LED", quantity=2)
    reservation = (await reserve(api, staff_token, [line(wall)]))["reservation"]
    await step(api, staff_token, "cancelReservation", reservation["id"])
    trail = await events(api, admin_token, targetId=reservation["id"])
    assert [event["action"] for event in trail] == ["reservation.updated", "reservation.created"]
    canceled = trail[0]
    assert canceled["changes"]["status"] == ["CONFIRMED", "CANCELED"]
    assert canceled["changes"]["version"] == [1, 2]
    assert canceled["actor"] == {"email": esr.staff.email}
    assert canceled["actorKind"] == "user"
    assert canceled["targetType"] == "Reservation"
    assert canceled["requestId"]


async def test_a_booking_records_the_reservation_and_each_line_with_every_value(
    api: Api, admin_token: str, manager_token: str, staff_token: str, esr: TenantUsers
) -> None:
    wall = await create_equipment(api, manager_token, name="LED wall", code="LED", quantity=5)
    truss = await create_equipment(api, manager_token, name="Truss", code="TR", quantity=5)
    made = await reserve(api, staff_token, [line(wall, 2), line(truss)], notes="Load in at 8")
    reservation = made["reservation"]
    reservation_pk = str(pk_of(reservation["id"], "Reservation"))
    tenant = str(esr.tenant.id)

    [created] = await events(api, admin_token, targetId=reservation["id"])
    assert created["action"] == "reservation.created"
    assert created["actor"] == {"email": esr.staff.email}
    assert created["requestId"]
    changes = created["changes"]
    stamp = changes["created_at"][1]
    assert changes == {
        "tenant_id": [None, tenant],
        "id": [None, reservation_pk],
        "number": [None, reservation["number"]],
        "title": [None, "Gala"],
        "customer_id": [None, None],
        "created_by_id": [None, str(esr.staff.id)],
        "starts_at": [None, T0.isoformat()],
        "ends_at": [None, at(4)],
        "status": [None, "CONFIRMED"],
        "notes": [None, "Load in at 8"],
        "version": [None, 1],
        "idempotency_key": [None, None],
        "design_version_id": [None, None],
        "pickup_reminded_at": [None, None],
        "overdue_notified_at": [None, None],
        "created_at": [None, stamp],
        "updated_at": [None, stamp],
    }

    lines = await events(api, admin_token, action="reservation_line.created")
    assert [event["requestId"] for event in lines] == [created["requestId"]] * 2
    assert [event["actor"] for event in lines] == [{"email": esr.staff.email}] * 2
    by_position = sorted((event["changes"] for event in lines), key=lambda found: found["position"][1])
    for position, (equipment, quantity) in enumerate(((wall, 2), (truss, 1))):
        found = by_position[position]
        assert found == {
            "tenant_id": [None, tenant],
            "id": [None, found["id"][1]],
            "reservation_id": [None, reservation_pk],
            "position": [None, position],
            "equipment_id": [None, str(pk_of(equipment["id"], "Equipment"))],
            "unit_id": [None, None],
            "quantity": [None, quantity],
        }
    assert by_position[0]["id"][1] != by_position[1]["id"][1]


async def test_request_ids_link_events_to_requests(api: Api, admin_token: str, manager_token: str) -> None:
    response = await api.client.post(
        "/graphql",
        json={
            "query": 'mutation { createEquipment(input: {name: "Truss", code: "TR-1", tracking: BULK, quantity: 4}) { __typename } }'
        },
        headers={"Authorization": f"Bearer {manager_token}", "X-Request-ID": "req-audit-1"},
    )
    assert response.status_code == 200
    [created] = await events(api, admin_token, action="equipment.created")
    assert created["requestId"] == "req-audit-1"
    assert created["changes"]["code"] == [None, "TR-1"]


async def test_secrets_never_enter_the_trail(api: Api, admin_token: str, esr: TenantUsers) -> None:
    await api.data(
        "mutation($i: CreateUserInput!) { createUser(input: $i) { __typename } }",
        {"i": {"email": "new@esr.example", "password": "Very-Secret-Pass-1", "role": "STAFF"}},
        token=admin_token,
    )
    session = await api.login("esr", esr.staff.email)
    await api.data(
        "mutation($t: String!) { logout(input: {refreshToken: $t}) { __typename } }",
        {"t": session["refreshToken"]},
    )
    everything = str(await events(api, admin_token))
    for secret in (
        "Very-Secret-Pass-1",
        "password_hash",
        "token_hash",
        "$argon2",
        session["refreshToken"].split(".")[2],
    ):
        assert secret not in everything
    assert "session.revoked" in everything
    assert "app_user.created" in everything


async def test_only_admins_read_the_trail_and_only_their_tenants(
    api: Api, manager_token: str, admin_token: str, other_tenant_admin_token: str
) -> None:
    await create_equipment(api, manager_token, name="Deck", code="DECK", quantity=1)
    assert error_codes(await api.post(EVENTS, token=manager_token)) == ["FORBIDDEN"]
    assert any(event["action"] == "equipment.created" for event in await events(api, admin_token))
    assert not any(
        event["action"] == "equipment.created" for event in await events(api, other_tenant_admin_token)
    )


async def test_filters_by_actor_and_action(
    api: Api, admin_token: str, manager_token: str, esr: TenantUsers
) -> None:
    await create_equipment(api, manager_token, name="Deck", code="DECK", quantity=1)
    by_manager = await events(
        api, admin_token, actorId=to_global_id("User", esr.manager.id), action="equipment.created"
    )
    assert len(by_manager) == 1
    assert (
        await events(api, admin_token, actorId=to_global_id("User", esr.staff.id), action="equipment.created")
        == []
    )


async def test_events_cannot_be_changed_or_deleted(
    services: Services, api: Api, manager_token: str, esr: TenantUsers
) -> None:
    await create_equipment(api, manager_token, name="Deck", code="DECK", quantity=1)
    for statement in ("UPDATE audit_event SET action = 'forged'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError):
            async with services.database.transaction(esr.tenant.id) as session:
                await session.execute(text(statement))


async def test_a_failed_mutation_records_nothing(
    api: Api, admin_token: str, manager_token: str, staff_token: str
) -> None:
    wall = await create_equipment(api, manager_token, name="LED wall", code="LED", quantity=1)
    before = len(await events(api, admin_token))
    assert (await reserve(api, staff_token, [line(wall, 5)]))["__typename"] == "ConflictError"
    assert len(await events(api, admin_token)) == before


async def test_sign_in_is_attributed_to_the_account(api: Api, admin_token: str, esr: TenantUsers) -> None:
    await api.login("esr", esr.customer.email, DEFAULT_PASSWORD)
    created = await events(api, admin_token, action="refresh_token.created")
    assert {event["actor"]["email"] for event in created if event["actor"]} >= {esr.customer.email}


async def test_reset_tokens_never_reach_the_trail(
    api: Api, admin_token: str, services: Services, esr: TenantUsers
) -> None:
    await api.data(
        'mutation { requestPasswordReset(input: {tenant: "esr", email: "staff@esr.example"}) { message } }'
    )
    trail = str(await events(api, admin_token))
    assert "outbox_email" not in trail
    assert "reset token" not in trail.lower()
