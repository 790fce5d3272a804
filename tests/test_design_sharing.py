"""Share links: shown once, stored hashed, reveal only the design, revocable and expiring."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from auth.services import Services
from auth.tokens import hash_secret
from db.tables import DesignShare
from schema.node import pk_of, to_global_id
from tests.api import Api, TenantUsers
from tests.booking import create_equipment
from tests.designs import (
    ARCHIVE_DESIGN,
    REVOKE_SHARE,
    SHARE_DESIGN,
    SHARED_DESIGN,
    UPDATE_DESIGN,
    create_design,
    item,
    mutate,
    node,
    not_found,
    save_version,
    share,
    shared,
)

SHARES = "query($id: ID!) { node(id: $id) { ... on Design { shares { id active revokedAt } } } }"


async def published_design(api: Api, token: str, manager_token: str) -> dict[str, Any]:
    wall = await create_equipment(
        api, manager_token, name="LED wall", code="LED-1", quantity=10, category="LED"
    )
    design = await create_design(
        api,
        token,
        "Outdoor stage",
        description="6x4 m",
        configuration={"w": 6},
        items=[item(wall, 4, "front")],
    )
    return design


async def test_a_share_token_is_random_shown_once_and_stored_only_as_a_hash(
    api: Api, staff_token: str, manager_token: str, services: Services, esr: TenantUsers
) -> None:
    design = await published_design(api, staff_token, manager_token)
    made = await share(api, staff_token, design["id"])
    tenant_hex, share_hex, secret = made["token"].split(".")
    assert tenant_hex == esr.tenant.id.hex
    assert len(secret) >= 43  # token_urlsafe(32): 256 bits
    assert made["share"]["active"] is True
    assert made["share"]["revokedAt"] is None
    share_id = pk_of(made["share"]["id"], "DesignShare")
    assert share_id is not None and share_id.hex == share_hex
    async with services.database.session(esr.tenant.id) as session:
        row = await session.get(DesignShare, (esr.tenant.id, share_id))
    assert row is not None
    assert row.token_hash == hash_secret(secret)
    assert secret not in row.token_hash
    other = await share(api, staff_token, design["id"])
    assert other["token"] != made["token"]
    listed = await api.data(SHARES, {"id": design["id"]}, token=staff_token)
    assert [entry["id"] for entry in listed["node"]["shares"]] == [other["share"]["id"], made["share"]["id"]]


async def test_a_shared_design_shows_its_version_only_when_published_and_nothing_else(
    api: Api, staff_token: str, manager_token: str
) -> None:
    design = await published_design(api, staff_token, manager_token)
    token = (await share(api, staff_token, design["id"]))["token"]
    draft = await shared(api, token)
    assert draft == {
        "name": "Outdoor stage",
        "description": "6x4 m",
        "tenantName": "ESR",
        "currentVersion": None,
        "items": [],
    }
    await mutate(api, UPDATE_DESIGN, staff_token, id=design["id"], status="PUBLISHED")
    published = await shared(api, token)
    assert published is not None
    assert published["currentVersion"]["number"] == 1
    assert published["currentVersion"]["configuration"] == {"w": 6}
    assert published["items"] == [
        {"equipmentName": "LED wall", "category": "LED", "quantity": 4, "notes": "front"}
    ]
    # A new version shows up behind the same link.
    await save_version(api, staff_token, design["id"], [], 1, {"w": 8})
    later = await shared(api, token)
    assert later is not None and later["currentVersion"]["number"] == 2 and later["items"] == []

    # The public types carry no ids, stock, reservations or people.
    body = await api.post(SHARED_DESIGN, {"token": token})
    text = json.dumps(body)
    assert "staff@" not in text and "RXF1aXBtZW50" not in text and "id" not in body["data"]["sharedDesign"]
    fields = await api.data(
        '{ a: __type(name: "SharedDesign") { fields { name } } b: __type(name: "SharedDesignItem") { fields { name } } '
        'c: __type(name: "SharedDesignVersion") { fields { name } } }'
    )
    names = {field["name"] for kind in fields.values() for field in kind["fields"]}
    assert names == {
        "name",
        "description",
        "tenantName",
        "currentVersion",
        "items",
        "images",
        "equipmentName",
        "category",
        "quantity",
        "notes",
        "number",
        "configuration",
        "note",
        "savedAt",
    }


async def test_revoked_malformed_unknown_and_archived_tokens_all_read_as_null(
    api: Api, staff_token: str, manager_token: str, esr: TenantUsers, cmh: TenantUsers
) -> None:
    design = await published_design(api, staff_token, manager_token)
    made = await share(api, staff_token, design["id"])
    token = made["token"]
    tenant_hex, share_hex, secret = token.split(".")
    assert await shared(api, token) is not None
    for bad in (
        "",
        "garbage",
        f"{tenant_hex}.{share_hex}",
        f"{tenant_hex}.{share_hex}.{secret}x",
        f"{tenant_hex}.{uuid.uuid4().hex}.{secret}",
        f"{cmh.tenant.id.hex}.{share_hex}.{secret}",
        f"op.{share_hex}.{secret}",
        f"{tenant_hex}.{share_hex}.{secret}" + "." * 300,
    ):
        assert await shared(api, bad) is None, bad

    revoked = await mutate(api, REVOKE_SHARE, staff_token, shareId=made["share"]["id"])
    assert revoked["share"]["active"] is False
    assert revoked["share"]["revokedAt"] is not None
    assert await shared(api, token) is None
    again = await mutate(api, REVOKE_SHARE, staff_token, shareId=made["share"]["id"])
    assert again["share"]["revokedAt"] == revoked["share"]["revokedAt"]

    live = (await share(api, staff_token, design["id"]))["token"]
    assert await shared(api, live) is not None
    await mutate(api, ARCHIVE_DESIGN, staff_token, id=design["id"])
    assert await shared(api, live) is None
    refused = await mutate(api, SHARE_DESIGN, staff_token, designId=design["id"])
    assert refused["__typename"] == "ConflictError"


async def test_expired_links_read_as_null_and_past_expiry_is_refused(
    api: Api, staff_token: str, manager_token: str, services: Services, esr: TenantUsers
) -> None:
    design = await published_design(api, staff_token, manager_token)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    refused = await mutate(api, SHARE_DESIGN, staff_token, designId=design["id"], expiresAt=past)
    assert refused["__typename"] == "ValidationError"
    assert refused["fields"][0]["field"] == "expiresAt"
    naive = await mutate(
        api, SHARE_DESIGN, staff_token, designId=design["id"], expiresAt="2040-01-01T10:00:00"
    )
    assert naive["__typename"] == "ValidationError"
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    made = await share(api, staff_token, design["id"], expiresAt=soon)
    assert made["share"]["expiresAt"] == soon
    assert await shared(api, made["token"]) is not None

    share_id = pk_of(made["share"]["id"], "DesignShare")
    async with services.database.transaction(esr.tenant.id) as session:
        await session.execute(
            update(DesignShare)
            .where(col(DesignShare.tenant_id) == esr.tenant.id, col(DesignShare.id) == share_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert await shared(api, made["token"]) is None
    listed = await api.data(SHARES, {"id": design["id"]}, token=staff_token)
    assert listed["node"]["shares"][0]["active"] is False


async def test_customers_share_only_their_own_designs_and_tenants_never_cross(
    api: Api,
    staff_token: str,
    manager_token: str,
    customer_token: str,
    other_tenant_admin_token: str,
) -> None:
    staff_design = await published_design(api, staff_token, manager_token)
    staff_share = await share(api, staff_token, staff_design["id"])
    assert (
        not_found(await mutate(api, SHARE_DESIGN, customer_token, designId=staff_design["id"])) == "designId"
    )
    assert (
        not_found(await mutate(api, REVOKE_SHARE, customer_token, shareId=staff_share["share"]["id"]))
        == "shareId"
    )
    assert await node(api, customer_token, staff_share["share"]["id"]) is None

    own = await create_design(api, customer_token, "Mine")
    own_share = await share(api, customer_token, own["id"])
    assert await node(api, customer_token, own_share["share"]["id"]) == {
        "__typename": "DesignShare",
        "id": own_share["share"]["id"],
        "active": True,
    }
    assert (await mutate(api, REVOKE_SHARE, staff_token, shareId=own_share["share"]["id"]))["share"][
        "active"
    ] is False

    for values in ({"designId": staff_design["id"]}, {"designId": to_global_id("Design", uuid.uuid4())}):
        assert not_found(await mutate(api, SHARE_DESIGN, other_tenant_admin_token, **values)) == "designId"
    foreign = await mutate(api, REVOKE_SHARE, other_tenant_admin_token, shareId=staff_share["share"]["id"])
    assert not_found(foreign) == "shareId"
    assert await node(api, other_tenant_admin_token, staff_share["share"]["id"]) is None
    # A link works for anyone, signed in to any tenant or not, and still shows only its design.
    seen = await api.data(SHARED_DESIGN, {"token": staff_share["token"]}, token=other_tenant_admin_token)
    assert seen["sharedDesign"]["name"] == "Outdoor stage"
