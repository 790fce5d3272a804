"""Managing webhooks (ADMIN): the secret shown once and sealed at rest, validation, limits, isolation."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlmodel import col

from app import create_app
from auth.sealing import Unsealable
from auth.services import Services
from db.clock import utcnow
from db.scoped import scoped
from db.tables import WebhookEndpoint
from resolvers.webhooks.endpoints import MAX_WEBHOOKS_PER_TENANT, open_secret
from schema.node import from_global_id
from settings import Settings
from tests.api import Api, TenantUsers, error_codes
from tests.conftest import settings_for

WEBHOOK_FIELDS = (
    "id url events description enabled disabledAt failingSince createdAt updatedAt createdBy { email }"
)
CREATE = f"""
mutation($input: CreateWebhookInput!) {{
  createWebhook(input: $input) {{
    __typename
    ... on WebhookSecretSuccess {{ secret webhook {{ {WEBHOOK_FIELDS} }} }}
    ... on ValidationError {{ fields {{ field message }} }}
    ... on Error {{ code message }}
  }}
}}
"""
UPDATE = f"""
mutation($input: UpdateWebhookInput!) {{
  updateWebhook(input: $input) {{
    __typename
    ... on WebhookSuccess {{ webhook {{ {WEBHOOK_FIELDS} }} }}
    ... on ValidationError {{ fields {{ field message }} }}
    ... on NotFoundError {{ field }}
    ... on Error {{ code message }}
  }}
}}
"""
ROTATE = """
mutation($id: ID!) {
  rotateWebhookSecret(input: {id: $id}) {
    __typename ... on WebhookSecretSuccess { secret webhook { id } } ... on Error { code }
  }
}
"""
DELETE = """
mutation($id: ID!) {
  deleteWebhook(input: {id: $id}) { __typename ... on DeleteWebhookSuccess { deletedId } ... on Error { code } }
}
"""
LIST = f"query {{ webhooks(first: 50) {{ totalCount edges {{ node {{ {WEBHOOK_FIELDS} }} }} }} }}"
DELIVERIES = """
query($id: ID!) { webhookDeliveries(webhookId: $id) { totalCount edges { node { id status } } } }
"""
NODE = "query($id: ID!) { node(id: $id) { __typename ... on Webhook { url } } }"
URL = "https://hooks.example/rigbook"


async def create(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"url": URL, "events": ["reservation.confirmed"], "description": "ERP"}
    values.update(fields)
    result: dict[str, Any] = (await api.data(CREATE, {"input": values}, token=token))["createWebhook"]
    return result


async def stored(services: Services, users: TenantUsers) -> list[dict[str, Any]]:
    """The endpoint rows as a database dump shows them."""
    async with services.database.session(users.tenant.id) as session:
        rows = (await session.execute(text("SELECT * FROM webhook_endpoint"))).mappings().all()
    return [dict(row) for row in rows]


async def endpoints(services: Services, users: TenantUsers) -> list[WebhookEndpoint]:
    async with services.database.session(users.tenant.id) as session:
        statement = scoped(WebhookEndpoint, users.tenant.id).order_by(col(WebhookEndpoint.created_at))
        return list((await session.scalars(statement)).all())


def fields_of(result: dict[str, Any]) -> dict[str, str]:
    assert result["__typename"] == "ValidationError", result
    return {problem["field"]: problem["message"] for problem in result["fields"]}


async def test_the_secret_is_shown_once_and_stored_sealed(
    api: Api, services: Services, settings: Settings, admin_token: str, esr: TenantUsers
) -> None:
    result = await create(
        api, admin_token, events=["reservation.confirmed", "reservation.confirmed", "user.created"]
    )
    assert result["__typename"] == "WebhookSecretSuccess", result
    secret = result["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    webhook = result["webhook"]
    assert webhook["url"] == URL and webhook["description"] == "ERP" and webhook["enabled"] is True
    assert webhook["events"] == ["reservation.confirmed", "user.created"]
    assert webhook["createdBy"] == {"email": esr.admin.email}
    assert from_global_id(webhook["id"])[0] == "Webhook"  # type: ignore[index]

    listed = (await api.data(LIST, token=admin_token))["webhooks"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"] == webhook
    assert "secret" not in json.dumps(listed).lower()

    [row] = await stored(services, esr)
    dump = json.dumps(row, default=str)
    assert secret not in dump and secret.removeprefix("whsec_") not in dump
    assert row["signing_secret"].startswith("sealed:v1:")
    async with services.database.session(esr.tenant.id) as session:
        audit = (await session.execute(text("SELECT changes FROM audit_event"))).scalars().all()
    assert all("signing_secret" not in str(changes) and secret not in str(changes) for changes in audit)

    rotated = (await api.data(ROTATE, {"id": webhook["id"]}, token=admin_token))["rotateWebhookSecret"]
    assert rotated["__typename"] == "WebhookSecretSuccess"
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    [after] = await stored(services, esr)
    assert rotated["secret"] not in json.dumps(after, default=str)
    [endpoint] = await endpoints(services, esr)
    assert open_secret(settings, endpoint) == rotated["secret"]


async def test_a_sealed_secret_does_not_open_on_another_endpoint(
    api: Api, services: Services, settings: Settings, admin_token: str, esr: TenantUsers
) -> None:
    first = (await create(api, admin_token))["webhook"]
    await create(api, admin_token, url="https://hooks.example/other")
    one, other = await endpoints(services, esr)
    assert open_secret(settings, one).startswith("whsec_")
    other.signing_secret = one.signing_secret
    with pytest.raises(Unsealable, match="does not open"):
        open_secret(settings, other)
    assert first["id"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": "ftp://hooks.example/x"}, "url", "http:// or https://"),
        ({"url": "https://hooks.example/" + "a" * 2000}, "url", "at most 2000"),
        ({"url": "https://user:pw@hooks.example/"}, "url", "user name or password"),
        ({"url": "https://hooks.example/a b"}, "url", "spaces"),
        ({"url": "https:///nohost"}, "url", "host"),
        ({"url": "https://hooks.example:99999/"}, "url", "valid URL"),
        ({"url": "https://hooks.example/#frag"}, "url", "fragment"),
        ({"events": []}, "events", "at least one"),
        ({"events": ["reservation.exploded"]}, "events", "Unknown event"),
        ({"events": ["*", "user.created"]}, "events", "alone"),
        ({"description": "d" * 501}, "description", "at most 500"),
    ],
)
async def test_bad_input_is_refused_field_by_field(
    api: Api, admin_token: str, fields: dict[str, Any], field: str, message: str
) -> None:
    problems = fields_of(await create(api, admin_token, **fields))
    assert message in problems[field], problems


async def test_more_than_fifty_events_are_refused_before_the_operation_runs(
    api: Api, admin_token: str
) -> None:
    result = await create(api, admin_token, events=["user.created"] * 51)
    assert "events" in fields_of(result)


async def test_every_event_is_spelt_as_the_payloads_name_it(api: Api, admin_token: str) -> None:
    names = (await api.data("{ webhookEventNames }", token=admin_token))["webhookEventNames"]
    assert "reservation.confirmed" in names and "webhook.disabled" in names
    assert (await create(api, admin_token, events=names[:50]))["__typename"] == "WebhookSecretSuccess"
    assert (await create(api, admin_token, events=["*"]))["__typename"] == "WebhookSecretSuccess"


async def test_a_tenant_has_at_most_twenty_webhooks(
    api: Api, admin_token: str, other_tenant_admin_token: str
) -> None:
    for number in range(MAX_WEBHOOKS_PER_TENANT):
        assert (await create(api, admin_token, url=f"{URL}/{number}"))["__typename"] == "WebhookSecretSuccess"
    refused = await create(api, admin_token)
    assert refused["__typename"] == "ConflictError" and "at most 20" in refused["message"]
    assert (await create(api, other_tenant_admin_token))["__typename"] == "WebhookSecretSuccess"


async def test_updates_change_what_is_given_and_turning_on_forgets_failures(
    api: Api, services: Services, admin_token: str, esr: TenantUsers
) -> None:
    webhook = (await create(api, admin_token))["webhook"]
    changed = (
        await api.data(
            UPDATE,
            {"input": {"id": webhook["id"], "events": ["*"], "description": "All of it", "enabled": False}},
            token=admin_token,
        )
    )["updateWebhook"]
    assert changed["__typename"] == "WebhookSuccess"
    assert changed["webhook"]["events"] == ["*"] and changed["webhook"]["description"] == "All of it"
    assert changed["webhook"]["enabled"] is False and changed["webhook"]["url"] == URL

    async with services.database.transaction(esr.tenant.id) as session:
        await session.execute(update(WebhookEndpoint).values(disabled_at=utcnow(), failing_since=utcnow()))
    moved = await api.data(UPDATE, {"input": {"id": webhook["id"], "url": URL + "/v2"}}, token=admin_token)
    assert moved["updateWebhook"]["webhook"]["disabledAt"] is not None
    again = (await api.data(UPDATE, {"input": {"id": webhook["id"], "enabled": True}}, token=admin_token))[
        "updateWebhook"
    ]["webhook"]
    assert again["enabled"] is True and again["disabledAt"] is None and again["failingSince"] is None
    assert again["url"] == URL + "/v2"

    bad = (
        await api.data(UPDATE, {"input": {"id": webhook["id"], "url": "mailto:x@y.z"}}, token=admin_token)
    )["updateWebhook"]
    assert "url" in fields_of(bad)


async def test_deleting_removes_the_webhook(api: Api, admin_token: str) -> None:
    webhook = (await create(api, admin_token))["webhook"]
    deleted = (await api.data(DELETE, {"id": webhook["id"]}, token=admin_token))["deleteWebhook"]
    assert deleted == {"__typename": "DeleteWebhookSuccess", "deletedId": webhook["id"]}
    assert (await api.data(LIST, token=admin_token))["webhooks"]["totalCount"] == 0
    assert (await api.data(DELETE, {"id": webhook["id"]}, token=admin_token))["deleteWebhook"][
        "code"
    ] == "NOT_FOUND"
    assert (await api.data(DELIVERIES, {"id": webhook["id"]}, token=admin_token)) == {
        "webhookDeliveries": None
    }


async def test_another_tenants_webhook_is_not_found(
    api: Api, services: Services, admin_token: str, other_tenant_admin_token: str, esr: TenantUsers
) -> None:
    webhook = (await create(api, admin_token))["webhook"]
    before = await stored(services, esr)
    theirs = other_tenant_admin_token
    for document, variables, field in (
        (UPDATE, {"input": {"id": webhook["id"], "description": "pwned", "enabled": False}}, "updateWebhook"),
        (ROTATE, {"id": webhook["id"]}, "rotateWebhookSecret"),
        (DELETE, {"id": webhook["id"]}, "deleteWebhook"),
    ):
        result = (await api.data(document, variables, token=theirs))[field]
        assert result["code"] == "NOT_FOUND", (field, result)
    assert await api.data(DELIVERIES, {"id": webhook["id"]}, token=theirs) == {"webhookDeliveries": None}
    assert await api.data(NODE, {"id": webhook["id"]}, token=theirs) == {"node": None}
    assert (await api.data(LIST, token=theirs))["webhooks"]["totalCount"] == 0
    assert await stored(services, esr) == before
    assert (await api.data(NODE, {"id": webhook["id"]}, token=admin_token))["node"]["url"] == URL
    not_a_webhook = await api.data(UPDATE, {"input": {"id": "bm9wZQ==", "enabled": True}}, token=admin_token)
    assert not_a_webhook["updateWebhook"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("role", ["manager", "staff", "customer"])
async def test_only_admins_manage_webhooks(api: Api, admin_token: str, esr: TenantUsers, role: str) -> None:
    webhook = (await create(api, admin_token))["webhook"]
    token = await api.token("esr", getattr(esr, role).email)
    for document, variables in (
        (CREATE, {"input": {"url": URL, "events": ["*"]}}),
        (UPDATE, {"input": {"id": webhook["id"], "enabled": False}}),
        (ROTATE, {"id": webhook["id"]}),
        (DELETE, {"id": webhook["id"]}),
        (LIST, None),
        (DELIVERIES, {"id": webhook["id"]}),
        ("{ webhookEventNames }", None),
    ):
        body = await api.post(document, variables, token=token)
        assert error_codes(body) == ["FORBIDDEN"], (document, body)
    assert await api.data(NODE, {"id": webhook["id"]}, token=token) == {"node": None}


@pytest.fixture
async def production_api(database_url: str, esr: TenantUsers) -> AsyncIterator[Api]:
    """The app as production runs it (https only; hosts must be public), on the same database."""
    services = Services.create(settings_for(database_url, env="production"))
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
        yield Api(client)
    await services.database.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example/x", "https://"),
        ("https://127.0.0.1:8443/x", "loopback"),
        ("https://localhost/x", "loopback"),
        ("https://[::1]/x", "loopback"),
        ("https://[::ffff:127.0.0.1]/x", "loopback"),
        ("https://10.1.2.3/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://0.0.0.0/x", "unspecified"),
        ("https://224.0.0.1/x", "multicast"),
        ("https://no-such-host.invalid/x", "does not resolve"),
    ],
)
async def test_production_refuses_urls_that_reach_inside(
    production_api: Api, esr: TenantUsers, url: str, message: str
) -> None:
    token = await production_api.token("esr", esr.admin.email)
    problems = fields_of(await create(production_api, token, url=url))
    assert message in problems["url"], problems
