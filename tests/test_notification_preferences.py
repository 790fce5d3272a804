"""Users choose which notification mail they get; essential mail and password resets always go."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from auth.services import Services
from schema.node import to_global_id
from settings import Settings
from tests.api import Api, TenantUsers
from tests.booking import line, reserve, step
from tests.conftest import settings_for
from tests.mailbox import Mailbox, free_port, smtp_server
from tests.notify import PREFERENCES, deliver, turn

CATEGORIES = [
    "REQUESTS",
    "BOOKING_UPDATES",
    "PICKUP_REMINDERS",
    "OVERDUE",
    "DESIGN_SHARES",
    "MONTHLY_REPORTS",
    "WEBHOOK_ALERTS",
    "ENQUIRIES",
]
RESET = 'mutation($e: String!) { requestPasswordReset(input: {tenant: "esr", email: $e}) { message } }'
USER_PREFERENCES = """
query($id: ID!) { node(id: $id) { ... on User { email notificationPreferences { category enabled } } } }
"""
ASSUME = """
mutation($tenant: ID!) {
  assumeTenant(input: {tenantId: $tenant, reason: "Ticket 12: mail settings"}) {
    ... on AssumeTenantSuccess { accessToken }
  }
}
"""


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, str]]:
    mailbox = Mailbox()
    with smtp_server(mailbox, free_port()) as url:
        yield mailbox, url


@pytest.fixture
def settings(database_url: str, smtp: tuple[Mailbox, str]) -> Settings:
    return settings_for(database_url, smtp_url=smtp[1])


@pytest.fixture
def mailbox(smtp: tuple[Mailbox, str]) -> Mailbox:
    return smtp[0]


def enabled(preferences: list[dict[str, Any]]) -> dict[str, bool]:
    return {preference["category"]: preference["enabled"] for preference in preferences}


async def test_every_category_is_on_until_turned_off(api: Api, customer_token: str) -> None:
    mine = (await api.data(PREFERENCES, token=customer_token))["me"]["notificationPreferences"]
    assert [preference["category"] for preference in mine] == CATEGORIES
    assert all(preference["enabled"] for preference in mine)
    assert [preference["category"] for preference in mine if preference["essential"]] == ["WEBHOOK_ALERTS"]

    result = await turn(api, customer_token, BOOKING_UPDATES=False, PICKUP_REMINDERS=False)
    assert result["__typename"] == "NotificationPreferencesSuccess"
    chosen = enabled(result["user"]["notificationPreferences"])
    assert chosen == {
        category: category not in {"BOOKING_UPDATES", "PICKUP_REMINDERS"} for category in CATEGORIES
    }
    # Categories not named stay as they are.
    result = await turn(api, customer_token, PICKUP_REMINDERS=True)
    chosen = enabled(result["user"]["notificationPreferences"])
    assert (chosen["BOOKING_UPDATES"], chosen["PICKUP_REMINDERS"]) == (False, True)


async def test_a_category_turned_off_sends_nothing_and_a_password_reset_still_arrives(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    customer_token: str,
    admin_token: str,
    manager_token: str,
    wall: dict[str, Any],
) -> None:
    assert (await turn(api, admin_token, REQUESTS=False))["__typename"] == "NotificationPreferencesSuccess"
    assert (await turn(api, customer_token, BOOKING_UPDATES=False))[
        "__typename"
    ] == "NotificationPreferencesSuccess"
    booked = await reserve(api, customer_token, [line(wall)])
    await deliver(services)
    assert mailbox.recipients() == [esr.manager.email]  # the admin asked for no requests

    mailbox.messages.clear()
    confirmed = await step(api, manager_token, "confirmReservation", booked["reservation"]["id"])
    assert confirmed["__typename"] == "ReservationSuccess"
    await deliver(services)
    assert mailbox.messages == []  # the customer asked for no booking updates

    await api.data(RESET, {"e": esr.customer.email})
    await deliver(services)
    [reset] = mailbox.messages
    assert (reset["To"], reset["Subject"]) == (esr.customer.email, "Reset your ESR password")
    assert "Your reset token: " in mailbox.bodies()[0]


async def test_preferences_are_seen_by_the_user_and_by_admins_only(
    api: Api, esr: TenantUsers, customer_token: str, staff_token: str, manager_token: str, admin_token: str
) -> None:
    customer = to_global_id("User", esr.customer.id)
    await turn(api, customer_token, DESIGN_SHARES=False)
    for token, sees in (
        (staff_token, False),
        (manager_token, False),
        (admin_token, True),
        (customer_token, True),
    ):
        found = (await api.data(USER_PREFERENCES, {"id": customer}, token=token))["node"]
        assert found["email"] == esr.customer.email
        if sees:
            assert enabled(found["notificationPreferences"])["DESIGN_SHARES"] is False
        else:
            assert found["notificationPreferences"] is None
    listed = await api.data(
        "{ users(first: 10) { edges { node { email notificationPreferences { category } } } } }",
        token=manager_token,
    )
    seen = {
        edge["node"]["email"]: edge["node"]["notificationPreferences"] for edge in listed["users"]["edges"]
    }
    assert seen[esr.manager.email] is not None  # their own
    assert [email for email, preferences in seen.items() if preferences is not None] == [esr.manager.email]


async def test_essential_categories_and_repeated_ones_are_refused(api: Api, admin_token: str) -> None:
    essential = await turn(api, admin_token, WEBHOOK_ALERTS=False)
    assert essential["__typename"] == "ValidationError"
    assert essential["fields"] == [
        {"field": "preferences.0.category", "message": "Is essential and cannot be turned off."}
    ]
    twice = await api.data(
        """mutation { updateNotificationPreferences(input: {preferences: [
             {category: OVERDUE, enabled: false}, {category: OVERDUE, enabled: true}]}) {
           __typename ... on ValidationError { fields { field message } } } }""",
        token=admin_token,
    )
    assert twice["updateNotificationPreferences"]["fields"] == [
        {"field": "preferences.1.category", "message": "Is named twice."}
    ]
    mine = (await api.data(PREFERENCES, token=admin_token))["me"]["notificationPreferences"]
    assert all(preference["enabled"] for preference in mine)  # nothing changed


async def test_anonymous_callers_and_operators_have_no_preferences_to_change(
    api: Api, operator_token: str, esr: TenantUsers
) -> None:
    anonymous = await api.post(
        "mutation { updateNotificationPreferences(input: {preferences: []}) { __typename } }"
    )
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assumed = await api.data(ASSUME, {"tenant": to_global_id("Tenant", esr.tenant.id)}, token=operator_token)
    token = assumed["assumeTenant"]["accessToken"]
    refused = await turn(api, token, OVERDUE=False)
    assert refused["__typename"] == "ForbiddenError"
