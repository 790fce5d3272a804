"""Attachments end to end through the app: upload (POST /files), GraphQL, signed links, the worker.

Real files in each test's own directory (and a real S3 API on loopback for the S3 round
trip), both databases, the real ASGI app.
"""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from app import create_app
from auth.services import Services
from auth.signed_links import LinkSubject, sign
from db.storage import ObjectNotFound, object_key
from resolvers.jobs.worker import Worker
from settings import Settings
from tests.api import Api, TenantUsers
from tests.booking import create_equipment, line, reserve
from tests.conftest import settings_for
from tests.designs import create_design, share
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Bucket, s3_bucket, s3_endpoint

__all__ = ["s3_bucket", "s3_endpoint"]  # fixtures

ATTACHMENT_FIELDS = """
  id filename contentType size sha256 width height caption position isPublic thumbnails
  createdBy { email } url thumbnailUrl(size: 128) publicUrl
"""
EQUIPMENT_ATTACHMENTS = (
    f"query($id: ID!) {{ node(id: $id) {{ ... on Equipment {{ attachments {{ {ATTACHMENT_FIELDS} }} }} }} }}"
)
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Attachment {{ {ATTACHMENT_FIELDS} }} }} }}"
GALLERY = f"{{ gallery(first: 10) {{ edges {{ node {{ {ATTACHMENT_FIELDS} }} }} }} }}"
UPDATE = """
mutation($input: UpdateAttachmentInput!) {
  updateAttachment(input: $input) {
    __typename
    ... on AttachmentSuccess { attachment { caption position isPublic publicUrl } }
    ... on ValidationError { fields { field message } }
    ... on NotFoundError { field }
  }
}
"""
DELETE = """
mutation($input: DeleteAttachmentInput!) {
  deleteAttachment(input: $input) { __typename ... on DeleteAttachmentSuccess { deletedId } }
}
"""
RESERVATION_ATTACHMENTS = "{ reservations(first: 10) { edges { node { id attachments { id filename } } } } }"
SHARED_IMAGES = "query($token: String!) { sharedDesign(token: $token) { images { filename url thumbnailUrl(size: 512) } } }"

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (80, 60), (10, 120, 200))
    exif = image.getexif()
    exif[0x010F] = "SecretCameraMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 36.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims 10 gigapixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1000, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


async def upload(
    client: httpx.AsyncClient,
    token: str | None,
    data: bytes,
    owner: str,
    filename: str | None = "file",
    content_type: str = "application/octet-stream",
    **params: str,
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    query = {"owner": owner, **params}
    if filename is not None:
        query["filename"] = filename
    return await client.post("/files", params=query, content=data, headers=headers)


async def uploaded(
    client: httpx.AsyncClient, token: str, data: bytes, owner: str, **params: Any
) -> dict[str, Any]:
    response = await upload(client, token, data, owner, **params)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def run_jobs(services: Services) -> None:
    await Worker(services, schedules=[]).run_due()


def stored_path(
    settings: Settings, tenant_id: uuid.UUID, attachment_global_id: str, name: str = "original"
) -> Path:
    from schema.node import from_global_id

    decoded = from_global_id(attachment_global_id)
    assert decoded is not None
    root = Path(settings.storage_url.removeprefix("file://"))
    return root / object_key(tenant_id, "attachments", str(decoded[1]), name).path


def stored_files(settings: Settings) -> list[Path]:
    root = Path(settings.storage_url.removeprefix("file://"))
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
async def equipment(api: Api, manager_token: str) -> dict[str, Any]:
    return await create_equipment(api, manager_token, name="Truss", code="TR-1", quantity=4)


async def test_upload_serve_delete_round_trip(
    client: httpx.AsyncClient,
    api: Api,
    services: Services,
    settings: Settings,
    esr: TenantUsers,
    staff_token: str,
    equipment: dict[str, Any],
) -> None:
    body = await uploaded(
        client, staff_token, PDF, equipment["id"], filename="../../etc/Rider <v2>.pdf", caption="Rider"
    )
    assert body["contentType"] == "application/pdf"
    assert body["filename"] == "Rider _v2.pdf"
    assert body["size"] == len(PDF)
    path = stored_path(settings, esr.tenant.id, body["id"])
    assert path.read_bytes() == PDF

    listed = (await api.data(EQUIPMENT_ATTACHMENTS, {"id": equipment["id"]}, staff_token))["node"][
        "attachments"
    ]
    assert [item["id"] for item in listed] == [body["id"]]
    item = listed[0]
    assert item["caption"] == "Rider"
    assert item["createdBy"] == {"email": esr.staff.email}
    assert item["width"] is None and item["thumbnailUrl"] is None and item["thumbnails"] == "NONE"

    served = await client.get(item["url"])
    assert served.status_code == 200
    assert served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert served.headers["content-disposition"].startswith('attachment; filename="Rider _v2.pdf"')

    deleted = (await api.data(DELETE, {"input": {"id": body["id"]}}, staff_token))["deleteAttachment"]
    assert deleted == {"__typename": "DeleteAttachmentSuccess", "deletedId": body["id"]}
    assert (await client.get(item["url"])).status_code == 404
    assert path.exists()  # removed by the worker, after the deletion committed
    await run_jobs(services)
    assert not path.exists()
    with pytest.raises(ObjectNotFound):
        await services.storage.head(object_key(esr.tenant.id, "attachments", path.parent.name, "original"))


async def test_images_are_re_encoded_without_metadata_and_get_thumbnails(
    client: httpx.AsyncClient,
    api: Api,
    services: Services,
    settings: Settings,
    esr: TenantUsers,
    staff_token: str,
    equipment: dict[str, Any],
) -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the source has GPS
    assert b"SecretCameraMaker" in original
    body = await uploaded(client, staff_token, original, equipment["id"], filename="stage.JPG")
    assert (body["contentType"], body["width"], body["height"], body["filename"]) == (
        "image/jpeg",
        80,
        60,
        "stage.jpg",
    )

    stored = stored_path(settings, esr.tenant.id, body["id"]).read_bytes()
    assert stored != original
    assert b"SecretCameraMaker" not in stored and b"Exif" not in stored
    reopened = Image.open(io.BytesIO(stored))
    assert reopened.format == "JPEG" and reopened.size == (80, 60)
    assert dict(reopened.getexif()) == {} and not reopened.getexif().get_ifd(0x8825)

    item = (await api.data(NODE, {"id": body["id"]}, staff_token))["node"]
    assert item["thumbnails"] == "PENDING"
    served = await client.get(item["url"])
    assert served.content == stored
    assert served.headers["content-disposition"].startswith("inline;")
    # Until the worker has made them, a thumbnail link serves the image.
    early = await client.get(item["thumbnailUrl"])
    assert early.status_code == 200 and early.headers["content-type"] == "image/jpeg"

    await run_jobs(services)
    item = (await api.data(NODE, {"id": body["id"]}, staff_token))["node"]
    assert item["thumbnails"] == "READY"
    thumbnail = await client.get(item["thumbnailUrl"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/webp"
    small = Image.open(io.BytesIO(thumbnail.content))
    assert small.format == "WEBP" and max(small.size) <= 128 and small.size == (80, 60)
    for size in (128, 512):
        assert stored_path(settings, esr.tenant.id, body["id"], f"thumb-{size}").is_file()
    odd = await api.post(
        "query($id: ID!) { node(id: $id) { ... on Attachment { thumbnailUrl(size: 100) } } }",
        {"id": body["id"]},
        staff_token,
    )
    assert odd["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "128, 512" in odd["errors"][0]["message"]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (png(), "photo.pdf", "is a PNG image, but its name ends in .pdf"),
        (b"<html><script>alert(1)</script></html>", "photo.jpg", "not accepted"),
        (b"GIF89a" + b"\x00" * 20, "anim.gif", "not accepted"),
        (b"", "empty.pdf", "empty"),
        (png_bomb(), "bomb.png", "cannot be accepted"),
        (b"\x89PNG\r\n\x1a\n" + b"broken" * 10, "broken.png", "cannot be accepted"),
    ],
)
async def test_refused_files(
    client: httpx.AsyncClient,
    settings: Settings,
    staff_token: str,
    equipment: dict[str, Any],
    data: bytes,
    filename: str,
    message: str,
) -> None:
    response = await upload(client, staff_token, data, equipment["id"], filename=filename)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    assert stored_files(settings) == []


async def test_the_types_come_from_the_bytes_not_the_client(
    client: httpx.AsyncClient, staff_token: str, equipment: dict[str, Any]
) -> None:
    body = await uploaded(
        client, staff_token, png(), equipment["id"], filename="scan", content_type="application/pdf"
    )
    assert (body["contentType"], body["filename"]) == ("image/png", "scan.png")
    webp = io.BytesIO()
    Image.new("RGBA", (10, 10), (1, 2, 3, 128)).save(webp, "WEBP")
    body = await uploaded(client, staff_token, webp.getvalue(), equipment["id"], filename=None)
    assert (body["contentType"], body["filename"]) == ("image/webp", "file.webp")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    overrides: dict[str, Any] = getattr(request, "param", {})
    return settings_for(database_url, storage_url=f"file://{tmp_path}/files", **overrides)


@pytest.mark.parametrize("settings", [{"max_image_pixels": 1000}], indirect=True)
async def test_the_pixel_limit_is_a_setting(
    client: httpx.AsyncClient, staff_token: str, equipment: dict[str, Any]
) -> None:
    response = await upload(client, staff_token, png(40, 40), equipment["id"], filename="big.png")
    assert response.status_code == 400
    assert "more than the 1000 allowed" in response.json()["error"]["message"]
    assert (await upload(client, staff_token, png(20, 20), equipment["id"])).status_code == 201


@pytest.mark.parametrize("settings", [{"max_upload_size": 2048}], indirect=True)
async def test_the_size_limit_holds_while_streaming(
    client: httpx.AsyncClient, staff_token: str, equipment: dict[str, Any]
) -> None:
    too_big = PDF + b"0" * 3000
    response = await upload(client, staff_token, too_big, equipment["id"], filename="big.pdf")
    assert response.status_code == 413
    assert response.json()["error"]["limit"] == 2048

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused once past the limit
        yield PDF
        for _ in range(10):
            yield b"0" * 1000

    streamed = await client.post(
        "/files",
        params={"owner": equipment["id"], "filename": "big.pdf"},
        content=chunks(),
        headers={"Authorization": f"Bearer {staff_token}", "Content-Type": "application/pdf"},
    )
    assert streamed.status_code == 413
    assert (await upload(client, staff_token, PDF, equipment["id"], filename="ok.pdf")).status_code == 201


@pytest.mark.parametrize("settings", [{"upload_types": "application/pdf"}], indirect=True)
async def test_the_allowed_types_are_a_setting(
    client: httpx.AsyncClient, staff_token: str, equipment: dict[str, Any]
) -> None:
    response = await upload(client, staff_token, png(), equipment["id"], filename="a.png")
    assert response.status_code == 400
    assert "accepted: PDF document" in response.json()["error"]["message"]


@pytest.mark.parametrize("settings", [{"tenant_storage_quota": 2 * len(PDF) + 10}], indirect=True)
async def test_the_tenant_quota(
    client: httpx.AsyncClient,
    api: Api,
    staff_token: str,
    cmh_staff_token: str,
    equipment: dict[str, Any],
) -> None:
    first = await uploaded(client, staff_token, PDF, equipment["id"], filename="a.pdf")
    await uploaded(client, staff_token, PDF, "gallery", filename="b.pdf")
    refused = await upload(client, staff_token, PDF, "gallery", filename="c.pdf")
    assert refused.status_code == 409
    assert "Storage quota exceeded" in refused.json()["error"]["message"]
    # Another tenant's use is its own.
    assert (await upload(client, cmh_staff_token, PDF, "gallery", filename="d.pdf")).status_code == 201
    await api.data(DELETE, {"input": {"id": first["id"]}}, staff_token)
    assert (await upload(client, staff_token, PDF, "gallery", filename="c.pdf")).status_code == 201


async def test_uploads_need_the_bearer_header_and_a_raw_body(
    client: httpx.AsyncClient, staff_token: str, customer_token: str, equipment: dict[str, Any]
) -> None:
    assert (await upload(client, None, PDF, equipment["id"])).status_code == 401
    form = await client.post(
        "/files", params={"owner": equipment["id"]}, files={"file": ("a.pdf", PDF, "application/pdf")}
    )
    assert form.status_code == 401
    with_bearer = await client.post(
        "/files",
        params={"owner": equipment["id"]},
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert with_bearer.status_code == 415
    for simple in ("text/plain", "application/x-www-form-urlencoded"):
        assert (
            await upload(client, staff_token, PDF, equipment["id"], content_type=simple)
        ).status_code == 415
    assert (await upload(client, "not-a-token", PDF, equipment["id"])).status_code == 401
    # Customers read files; they do not write them.
    refused = await upload(client, customer_token, PDF, equipment["id"])
    assert refused.status_code == 403


async def test_the_owner_must_exist_in_the_callers_tenant(
    client: httpx.AsyncClient, api: Api, staff_token: str, cmh_staff_token: str, equipment: dict[str, Any]
) -> None:
    theirs = await upload(client, cmh_staff_token, PDF, equipment["id"], filename="x.pdf")
    assert theirs.status_code == 404
    assert (await upload(client, staff_token, PDF, "bm90LWFuLWlk")).status_code == 400
    from schema.node import to_global_id

    assert (
        await upload(client, staff_token, PDF, to_global_id("Equipment", uuid.uuid4()))
    ).status_code == 404
    assert (await upload(client, staff_token, PDF, to_global_id("User", uuid.uuid4()))).status_code == 400
    public = await upload(client, staff_token, PDF, equipment["id"], public="true")
    assert public.status_code == 400


async def test_signed_links_refuse_tampering_expiry_and_other_tenants(
    client: httpx.AsyncClient,
    settings: Settings,
    esr: TenantUsers,
    cmh: TenantUsers,
    staff_token: str,
    cmh_staff_token: str,
    equipment: dict[str, Any],
) -> None:
    mine = await uploaded(client, staff_token, png(), equipment["id"])
    theirs = await uploaded(client, cmh_staff_token, PDF, "gallery")
    url = urlsplit(mine["url"])
    signature = parse_qs(url.query)["sig"][0]
    assert (await client.get(mine["url"])).status_code == 200

    expires, mac = signature.split(".")
    forged = f"{expires}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}"
    assert (await client.get(url.path, params={"sig": forged})).status_code == 403
    assert (await client.get(url.path, params={"sig": f"{int(expires) + 86400}.{mac}"})).status_code == 403
    assert (await client.get(url.path)).status_code == 403
    assert (await client.get(url.path, params={"sig": signature, "size": "128"})).status_code == 403

    their_path = urlsplit(theirs["url"]).path
    their_id = their_path.rsplit("/", 1)[1]
    my_id = url.path.rsplit("/", 1)[1]
    # My signature on their file, their tenant with my file, my tenant with their file: all refused.
    assert (await client.get(their_path, params={"sig": signature})).status_code == 403
    assert (await client.get(f"/files/{cmh.tenant.id}/{my_id}", params={"sig": signature})).status_code == 403
    assert (
        await client.get(f"/files/{esr.tenant.id}/{their_id}", params={"sig": signature})
    ).status_code == 403
    their_sig = parse_qs(urlsplit(theirs["url"]).query)["sig"][0]
    assert (
        await client.get(f"/files/{esr.tenant.id}/{their_id}", params={"sig": their_sig})
    ).status_code == 403
    # A link signed for a tenant that does not hold the file finds nothing.
    subject = LinkSubject(esr.tenant.id, their_id)
    cross = sign(settings.signing_key, "file", subject, datetime.now(UTC) + timedelta(minutes=5))
    assert (await client.get(f"/files/{esr.tenant.id}/{their_id}", params={"sig": cross})).status_code == 404

    expired = sign(
        settings.signing_key,
        "file",
        LinkSubject(esr.tenant.id, my_id),
        datetime.now(UTC) - timedelta(seconds=1),
    )
    refused = await client.get(url.path, params={"sig": expired})
    assert refused.status_code == 403
    assert "expired" in refused.json()["error"]["message"]
    assert (await client.get("/files/not-a-uuid/x", params={"sig": signature})).status_code == 404


async def test_other_tenants_ids_are_not_found(
    client: httpx.AsyncClient, api: Api, staff_token: str, cmh_staff_token: str, equipment: dict[str, Any]
) -> None:
    mine = await uploaded(client, staff_token, PDF, equipment["id"])
    assert (await api.data(NODE, {"id": mine["id"]}, cmh_staff_token))["node"] is None
    update = (await api.data(UPDATE, {"input": {"id": mine["id"], "caption": "x"}}, cmh_staff_token))[
        "updateAttachment"
    ]
    assert update["__typename"] == "NotFoundError"
    delete = (await api.data(DELETE, {"input": {"id": mine["id"]}}, cmh_staff_token))["deleteAttachment"]
    assert delete["__typename"] == "NotFoundError"
    assert (await api.data(GALLERY, token=cmh_staff_token))["gallery"]["edges"] == []
    assert (await api.data(NODE, {"id": mine["id"]}, staff_token))["node"]["caption"] == ""


async def test_update_and_permissions(
    client: httpx.AsyncClient, api: Api, staff_token: str, customer_token: str, equipment: dict[str, Any]
) -> None:
    mine = await uploaded(client, staff_token, PDF, equipment["id"])
    changed = (
        await api.data(
            UPDATE, {"input": {"id": mine["id"], "caption": " Rider ", "position": 3}}, staff_token
        )
    )["updateAttachment"]
    assert changed == {
        "__typename": "AttachmentSuccess",
        "attachment": {"caption": "Rider", "position": 3, "isPublic": False, "publicUrl": None},
    }
    invalid = (
        await api.data(
            UPDATE, {"input": {"id": mine["id"], "caption": "x" * 501, "position": -1}}, staff_token
        )
    )["updateAttachment"]
    assert invalid["__typename"] == "ValidationError"
    assert {field["field"] for field in invalid["fields"]} == {"caption", "position"}
    not_gallery = (await api.data(UPDATE, {"input": {"id": mine["id"], "isPublic": True}}, staff_token))[
        "updateAttachment"
    ]
    assert not_gallery["__typename"] == "ValidationError"
    refused = await api.post(DELETE, {"input": {"id": mine["id"]}}, customer_token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_customers_see_the_files_of_what_they_see(
    client: httpx.AsyncClient,
    api: Api,
    staff_token: str,
    customer_token: str,
    equipment: dict[str, Any],
) -> None:
    own = await reserve(api, customer_token, [line(equipment)])
    assert own["__typename"] == "CreateReservationSuccess", own
    internal = await reserve(api, staff_token, [line(equipment)], starts=10, ends=12)
    assert internal["__typename"] == "CreateReservationSuccess", internal
    note = await uploaded(client, staff_token, PDF, own["reservation"]["id"], filename="delivery.pdf")
    damage = await uploaded(client, staff_token, png(), internal["reservation"]["id"], filename="damage.png")
    photo = await uploaded(client, staff_token, png(), equipment["id"], filename="truss.png")

    seen = (await api.data(RESERVATION_ATTACHMENTS, token=customer_token))["reservations"]["edges"]
    assert [edge["node"]["attachments"] for edge in seen] == [
        [{"id": note["id"], "filename": "delivery.pdf"}]
    ]
    assert (await api.data(NODE, {"id": note["id"]}, customer_token))["node"]["filename"] == "delivery.pdf"
    assert (await api.data(NODE, {"id": damage["id"]}, customer_token))["node"] is None
    assert (await api.data(NODE, {"id": photo["id"]}, customer_token))["node"]["filename"] == "truss.png"
    staff_seen = (await api.data(RESERVATION_ATTACHMENTS, token=staff_token))["reservations"]["edges"]
    assert sorted(len(edge["node"]["attachments"]) for edge in staff_seen) == [1, 1]


async def test_public_gallery_items_open_without_sign_in(
    client: httpx.AsyncClient, api: Api, staff_token: str, customer_token: str
) -> None:
    public = await uploaded(
        client, staff_token, png(), "gallery", filename="show.png", public="true", position="2"
    )
    private = await uploaded(client, staff_token, PDF, "gallery", filename="prices.pdf", position="1")
    listed = [edge["node"] for edge in (await api.data(GALLERY, token=customer_token))["gallery"]["edges"]]
    assert [item["filename"] for item in listed] == ["prices.pdf", "show.png"]
    shown = listed[1]
    assert shown["isPublic"] is True and listed[0]["publicUrl"] is None
    anonymous = await client.get(shown["publicUrl"])
    assert anonymous.status_code == 200
    assert anonymous.headers["content-type"] == "image/png"
    private_path = f"/files/public/{urlsplit(private['url']).path.removeprefix('/files/')}"
    assert (await client.get(private_path)).status_code == 404

    hidden = (await api.data(UPDATE, {"input": {"id": public["id"], "isPublic": False}}, staff_token))[
        "updateAttachment"
    ]
    assert hidden["attachment"]["publicUrl"] is None
    assert (await client.get(shown["publicUrl"])).status_code == 404


async def test_a_shared_designs_images_open_through_the_share_link(
    client: httpx.AsyncClient, api: Api, services: Services, staff_token: str, customer_token: str
) -> None:
    design = await create_design(api, customer_token)
    image = await uploaded(client, staff_token, png(), design["id"], filename="render.png")
    await uploaded(client, staff_token, PDF, design["id"], filename="quote.pdf")  # documents stay private
    token = (await share(api, customer_token, design["id"]))["token"]
    await run_jobs(services)
    images = (await api.data(SHARED_IMAGES, {"token": token}))["sharedDesign"]["images"]
    assert [item["filename"] for item in images] == ["render.png"]
    served = await client.get(images[0]["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    thumbnail = await client.get(images[0]["thumbnailUrl"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"
    assert image["id"]


@pytest.fixture
async def s3_client(
    database_url: str, s3_bucket: S3Bucket
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    settings = settings_for(
        database_url,
        storage_url=s3_bucket.url,
        storage_endpoint=s3_bucket.endpoint,
        storage_region=REGION,
        storage_access_key_id=ACCESS_KEY,
        storage_secret_access_key=SECRET_KEY,
    )
    services = Services.create(settings)
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://rigbook.test") as client:
        yield client, services
    await services.database.dispose()


async def test_s3_round_trip(s3_client: tuple[httpx.AsyncClient, Services], s3_bucket: S3Bucket) -> None:
    from tests.api import make_tenant_with_users

    client, services = s3_client
    api = Api(client)
    users = await make_tenant_with_users(services, "s3t")
    token = await api.token("s3t", users.staff.email)
    body = await uploaded(client, token, jpeg_with_gps(), "gallery", filename="a.jpg")
    keys = [item["Key"] for item in s3_bucket.client().list_objects_v2(Bucket=s3_bucket.name)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith(f"t/{users.tenant.id}/attachments/")
    stored = s3_bucket.client().get_object(Bucket=s3_bucket.name, Key=keys[0])
    assert stored["ContentType"] == "image/jpeg"
    assert b"Exif" not in stored["Body"].read()
    served = await client.get(body["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    await run_jobs(services)
    keys = sorted(
        item["Key"].rsplit("/", 1)[1]
        for item in s3_bucket.client().list_objects_v2(Bucket=s3_bucket.name)["Contents"]
    )
    assert keys == ["original", "thumb-128", "thumb-512"]
    await api.data(DELETE, {"input": {"id": body["id"]}}, token)
    await run_jobs(services)
    assert s3_bucket.client().list_objects_v2(Bucket=s3_bucket.name).get("Contents", []) == []


UNIT_AND_VERSION = """
query($unit: ID!, $design: ID!) {
  unit: node(id: $unit) { ... on EquipmentUnit { attachments { filename } } }
  design: node(id: $design) {
    ... on Design { attachments { filename } currentVersion { attachments { filename } } }
  }
}
"""


async def test_units_and_design_versions_hold_files(
    client: httpx.AsyncClient, api: Api, staff_token: str, customer_token: str, camera: dict[str, Any]
) -> None:
    unit = camera["units"][0]
    design = await create_design(
        api, customer_token, configuration={"a": 1}, items=[{"equipmentId": camera["id"], "quantity": 1}]
    )
    version = design["currentVersion"]
    await uploaded(client, staff_token, png(), unit["id"], filename="scratch.png")
    await uploaded(client, staff_token, png(), design["id"], filename="render.png")
    await uploaded(client, staff_token, PDF, version["id"], filename="plan.pdf")
    seen = await api.data(UNIT_AND_VERSION, {"unit": unit["id"], "design": design["id"]}, customer_token)
    assert seen["unit"]["attachments"] == [{"filename": "scratch.png"}]
    assert seen["design"]["attachments"] == [{"filename": "render.png"}]
    assert seen["design"]["currentVersion"]["attachments"] == [{"filename": "plan.pdf"}]


async def test_one_item_holds_a_bounded_number_of_files(
    client: httpx.AsyncClient,
    staff_token: str,
    equipment: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cost model prices `attachments` by this cap, so it must hold where files are attached."""
    import resolvers.attachments

    monkeypatch.setattr(resolvers.attachments, "MAX_ATTACHMENTS_PER_OWNER", 2)
    for index in range(2):
        await uploaded(client, staff_token, PDF, equipment["id"], filename=f"rider-{index}.pdf")
    refused = await upload(client, staff_token, PDF, equipment["id"], filename="one-too-many.pdf")
    assert refused.status_code == 409, refused.text
    assert "At most 2 files" in refused.text
    # The gallery pages: it is not an item's list.
    for index in range(3):
        await uploaded(client, staff_token, PDF, "gallery", filename=f"show-{index}.pdf")
