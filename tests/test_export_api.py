"""``requestTenantExport``: admins only, one at a time, run by the worker, mailed as a signed link that downloads."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlmodel import col, select

from auth.services import Services
from auth.signed_links import LinkSubject, sign
from db.clock import utcnow
from db.tables import AuditEvent, Job, Reservation, ReservationLine, TenantExport, User
from resolvers.exports.requests import LINK_PURPOSE, download_path
from settings import Settings
from tests.api import Api, TenantUsers
from tests.conftest import settings_for
from tests.exports import Seeded, secret_values, seed_rows, table_ids
from tests.mailbox import Mailbox, free_port, part, smtp_server
from tests.notify import Clock, deliver

PUBLIC = "http://rigbook.test"
REQUEST = """
mutation($input: RequestTenantExportInput!) {
  requestTenantExport(input: $input) {
    __typename
    ... on TenantExportSuccess { export { id status format groups files { name rows } downloadUrl } }
    ... on Error { code message }
  }
}
"""
EXPORT = """
query($id: ID!) {
  tenantExport(id: $id) { id status format groups files { name rows } sizeBytes error expiresAt downloadUrl }
  node(id: $id) { ... on TenantExport { status } }
}
"""
EXPORTS = "{ tenantExports(first: 10) { totalCount edges { node { id status } } } }"
LINK = re.compile(r"(http://rigbook\.test/exports/\S+)")


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, str]]:
    mailbox = Mailbox()
    with smtp_server(mailbox, free_port()) as url:
        yield mailbox, url


@pytest.fixture
def max_bytes() -> int:
    return 10**9


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: tuple[Mailbox, str], max_bytes: int) -> Settings:
    return settings_for(
        database_url,
        smtp_url=smtp[1],
        storage_url=f"file://{tmp_path}/files",
        public_url=PUBLIC,
        export_max_bytes=max_bytes,
    )


@pytest.fixture
def mailbox(smtp: tuple[Mailbox, str]) -> Mailbox:
    return smtp[0]


@pytest.fixture
async def esr_data(services: Services, esr: TenantUsers) -> Seeded:
    return await seed_rows(services, esr, reservations=4)


@pytest.fixture
async def cmh_data(services: Services, cmh: TenantUsers) -> Seeded:
    return await seed_rows(services, cmh, reservations=2)


async def request(api: Api, token: str | None, **fields: Any) -> dict[str, Any]:
    body = await api.post(REQUEST, {"input": fields}, token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["requestTenantExport"]
    return result


async def run_jobs(services: Services) -> int:
    return await deliver(services, Clock())


async def download(client: httpx.AsyncClient, url: str) -> httpx.Response:
    return await client.get(url.removeprefix(PUBLIC))


async def test_only_an_admin_may_export(
    api: Api, esr_data: Seeded, manager_token: str, staff_token: str, customer_token: str, services: Services
) -> None:
    for token in (manager_token, staff_token, customer_token, None):
        body = await api.post(REQUEST, {"input": {}}, token)
        codes = [error["extensions"]["code"] for error in body["errors"]]
        assert codes == (["UNAUTHENTICATED"] if token is None else ["FORBIDDEN"]), body
        body = await api.post(EXPORTS, None, token)
        assert [error["extensions"]["code"] for error in body["errors"]] == codes
    async with services.database.session(esr_data.tenant_id) as session:
        assert (await session.scalars(select(TenantExport))).all() == []
        assert (await session.scalars(select(Job).where(col(Job.kind) == "tenant.export"))).all() == []


async def test_an_export_is_written_by_the_worker_mailed_and_downloaded(
    api: Api,
    client: httpx.AsyncClient,
    services: Services,
    mailbox: Mailbox,
    esr_data: Seeded,
    cmh_data: Seeded,
    admin_token: str,
) -> None:
    made = await request(api, admin_token, only=["USERS", "RESERVATIONS"], format="CSV")
    assert made["__typename"] == "TenantExportSuccess", made
    export = made["export"]
    assert (export["status"], export["format"], export["groups"]) == (
        "QUEUED",
        "CSV",
        ["USERS", "RESERVATIONS"],
    )
    assert export["downloadUrl"] is None and export["files"] == []
    async with services.database.session(esr_data.tenant_id) as session:
        row = (await session.scalars(select(TenantExport))).one()
        [job] = (await session.scalars(select(Job).where(col(Job.kind) == "tenant.export"))).all()
    export_id = row.id
    assert job.payload == {"export_id": str(export_id)} and job.tenant_id == esr_data.tenant_id

    # One at a time: a second request while the first is under way is refused.
    again = await request(api, admin_token)
    assert (again["__typename"], again["code"]) == ("ConflictError", "CONFLICT")
    assert "already under way" in again["message"]

    await run_jobs(services)
    data = await api.data(EXPORT, {"id": export["id"]}, admin_token)
    ready = data["tenantExport"]
    assert ready["status"] == "READY" and data["node"] == {"status": "READY"}
    expected = {
        "users.csv": 4,
        "reservations.csv": 4,
        "reservation_lines.csv": 8,
    }
    assert {entry["name"]: entry["rows"] for entry in ready["files"]} == expected
    assert ready["sizeBytes"] > 0 and ready["error"] is None

    # The admin who asked is mailed the link; it downloads the ZIP.
    [message] = mailbox.to(esr_data.users.admin.email)
    assert message["Subject"] == "ESR: your data export is ready"
    found = LINK.search(part(message, "plain"))
    assert found is not None
    assert f'href="{found.group(1)}"' in part(message, "html").replace("&amp;", "&")
    response = await download(client, found.group(1))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith('attachment; filename="export-')
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        manifest = orjson.loads(archive.read("manifest.json"))
        content = b"".join(archive.read(name) for name in archive.namelist())
        users = archive.read("users.csv").decode()
    assert {entry["name"]: entry["rows"] for entry in manifest["files"]} == expected
    assert manifest["tenant"]["slug"] == "esr"
    assert "password_hash" not in users and "admin@esr.example" in users
    assert [
        secret for secret in await secret_values(services, esr_data.tenant_id) if secret.encode() in content
    ] == []
    for model in (User, Reservation, ReservationLine):
        for other in await table_ids(services, cmh_data.tenant_id, model):
            assert other.encode() not in content
    assert b"cmh" not in content

    # The link shown in the API downloads it too.
    shown = await download(client, ready["downloadUrl"])
    assert shown.status_code == 200 and shown.content == response.content

    # Audited: the request by the admin, and the export itself by the job.
    async with services.database.session(esr_data.tenant_id) as session:
        entries = (
            await session.scalars(
                select(AuditEvent).where(col(AuditEvent.target_id).in_([export_id, esr_data.tenant_id]))
            )
        ).all()
    actions = sorted((entry.action, entry.actor_kind) for entry in entries)
    assert ("tenant_export.created", "user") in actions and ("tenant.exported", "system") in actions
    exported = next(entry for entry in entries if entry.action == "tenant.exported")
    assert exported.changes["rows"][1] == expected

    # Once it is ready, the tenant may ask again; the other tenant sees none of it.
    assert (await request(api, admin_token))["__typename"] == "TenantExportSuccess"
    cmh_token = await api.token("cmh", cmh_data.users.admin.email)
    assert (await api.data(EXPORT, {"id": export["id"]}, cmh_token)) == {"tenantExport": None, "node": None}
    assert (await api.data(EXPORTS, None, cmh_token))["tenantExports"]["totalCount"] == 0


async def test_a_tampered_expired_or_foreign_link_is_refused(
    api: Api,
    client: httpx.AsyncClient,
    services: Services,
    settings: Settings,
    esr_data: Seeded,
    cmh_data: Seeded,
    admin_token: str,
) -> None:
    cmh_token = await api.token("cmh", cmh_data.users.admin.email)
    mine = (await request(api, admin_token, only=["USERS"]))["export"]["id"]
    theirs = (await request(api, cmh_token, only=["USERS"]))["export"]["id"]
    await run_jobs(services)
    url = (await api.data(EXPORT, {"id": mine}, admin_token))["tenantExport"]["downloadUrl"]
    other_url = (await api.data(EXPORT, {"id": theirs}, cmh_token))["tenantExport"]["downloadUrl"]
    assert (await download(client, url)).status_code == 200

    found = re.fullmatch(rf"{PUBLIC}/exports/([0-9a-f-]+)/([0-9a-f-]+)\.zip\?token=(\S+)", url)
    other = re.fullmatch(rf"{PUBLIC}/exports/([0-9a-f-]+)/([0-9a-f-]+)\.zip\?token=(\S+)", other_url)
    assert found is not None and other is not None
    tenant, export, token = found.groups()
    other_tenant, other_export, other_token = other.groups()
    expires, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    refused = [
        f"/exports/{tenant}/{export}.zip?token={expires}.{flipped}",  # a changed signature
        f"/exports/{tenant}/{export}.zip?token={int(expires) + 3600}.{mac}",  # a later expiry
        f"/exports/{tenant}/{export}.zip",  # none
        f"/exports/{tenant}/{export}.zip?token=garbage",
        f"/exports/{other_tenant}/{export}.zip?token={token}",  # this link, the other tenant
        f"/exports/{tenant}/{other_export}.zip?token={token}",  # this link, the other's export
        f"/exports/{tenant}/{other_export}.zip?token={other_token}",  # the other's link under this tenant
        f"/exports/{other_tenant}/{export}.zip?token={other_token}",
        f"/exports/not-a-uuid/{export}.zip?token={token}",
    ]
    for path in refused:
        response = await client.get(path)
        assert response.status_code == 403, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert b"PK" not in response.content[:2]
    subject = LinkSubject(uuid.UUID(tenant), export)
    expired = sign(settings.signing_key, LINK_PURPOSE, subject, utcnow() - timedelta(seconds=1))
    assert (await client.get(download_path(uuid.UUID(tenant), uuid.UUID(export), expired))).status_code == 403
    # A genuine signature for an export that does not exist: nothing to give.
    missing = uuid.uuid4()
    genuine = sign(
        settings.signing_key,
        LINK_PURPOSE,
        LinkSubject(uuid.UUID(tenant), str(missing)),
        utcnow() + timedelta(hours=1),
    )
    assert (await client.get(download_path(uuid.UUID(tenant), missing, genuine))).status_code == 404
    # A signature of another purpose (a file link, say) does not open an export.
    elsewhere = sign(settings.signing_key, "attachment", subject, utcnow() + timedelta(hours=1))
    assert (
        await client.get(download_path(uuid.UUID(tenant), uuid.UUID(export), elsewhere))
    ).status_code == 403
    assert (await download(client, other_url)).status_code == 200


@pytest.mark.parametrize("max_bytes", [2048])
async def test_an_export_over_the_bound_fails_and_frees_the_slot(
    api: Api, services: Services, mailbox: Mailbox, esr_data: Seeded, admin_token: str, max_bytes: int
) -> None:
    export = (await request(api, admin_token))["export"]
    await run_jobs(services)
    failed = (await api.data(EXPORT, {"id": export["id"]}, admin_token))["tenantExport"]
    assert failed["status"] == "FAILED" and failed["downloadUrl"] is None
    assert failed["error"] == f"the export is over {max_bytes} bytes"
    assert mailbox.messages == []
    assert (await request(api, admin_token))["__typename"] == "TenantExportSuccess"
