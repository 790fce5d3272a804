"""The object store (db/storage.py) on the local filesystem and on a real S3 API (moto on loopback)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.storage import ObjectKey, ObjectNotFound, Storage, object_key, tenant_prefix
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Bucket, s3_bucket, s3_endpoint

__all__ = ["s3_bucket", "s3_endpoint"]  # fixtures

TENANT = uuid.UUID("11111111-1111-4111-8111-111111111111")
OTHER = uuid.UUID("22222222-2222-4222-8222-222222222222")


def local(tmp_path: Path) -> Storage:
    return Storage.from_url(f"file://{tmp_path}/files")


def on_s3(bucket: S3Bucket) -> Storage:
    return Storage.from_url(
        bucket.url,
        endpoint=bucket.endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return local(tmp_path)
    return on_s3(request.getfixturevalue("s3_bucket"))


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_all(storage: Storage, key: ObjectKey) -> bytes:
    return b"".join([chunk async for chunk in storage.stream(key)])


def test_keys_are_namespaced_by_tenant() -> None:
    key = object_key(TENANT, "attachments", "abc", "original")
    assert key.path == f"t/{TENANT}/attachments/abc/original"
    assert key.path.startswith(tenant_prefix(TENANT))
    assert key.tenant_id == TENANT
    assert not key.path.startswith(tenant_prefix(OTHER))


@pytest.mark.parametrize("part", ["..", ".", "", "a/b", ".hidden", "x\\y", "a b", "é", "x" * 200, "a\0"])
def test_key_parts_are_plain_names(part: str) -> None:
    with pytest.raises(ValueError, match="plain key part"):
        object_key(TENANT, part)


def test_a_key_needs_a_tenant_uuid_and_parts() -> None:
    with pytest.raises(TypeError):
        object_key(str(TENANT), "a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="parts"):
        object_key(TENANT)


async def test_the_store_takes_only_built_keys(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        await local(tmp_path).put(f"t/{TENANT}/x", b"1", content_type="text/plain")  # type: ignore[arg-type]


async def test_round_trip_bytes_and_chunks(storage: Storage) -> None:
    key = object_key(TENANT, "a", "one")
    info = await storage.put(key, b"hello world", content_type="text/plain")
    assert info.size == 11
    assert await read_all(storage, key) == b"hello world"
    assert (await storage.head(key)).size == 11

    streamed = object_key(TENANT, "a", "two")
    big = os.urandom(300_000)
    info = await storage.put(streamed, chunks(big[:100_000], big[100_000:]), content_type="image/png")
    assert info.size == 300_000
    opened = await storage.open(streamed, chunk_size=64 * 1024)
    assert opened.size == 300_000
    received = [chunk async for chunk in opened.chunks]
    assert b"".join(received) == big
    assert await storage.read(streamed, max_bytes=300_000) == big
    with pytest.raises(ValueError, match="more than 299999"):
        await storage.read(streamed, max_bytes=299_999)


async def test_empty_object(storage: Storage) -> None:
    key = object_key(TENANT, "empty")
    assert (await storage.put(key, chunks(), content_type="text/plain")).size == 0
    assert await read_all(storage, key) == b""


async def test_missing_and_deleted_objects(storage: Storage) -> None:
    key = object_key(TENANT, "gone")
    with pytest.raises(ObjectNotFound):
        await storage.head(key)
    with pytest.raises(ObjectNotFound):
        await storage.open(key)
    await storage.put(key, b"x", content_type="text/plain")
    await storage.delete(key)
    with pytest.raises(ObjectNotFound):
        await storage.head(key)
    await storage.delete(key)  # deleting again is not an error: a retried job finds it gone


async def test_same_name_of_another_tenant_is_another_object(storage: Storage) -> None:
    mine, theirs = object_key(TENANT, "photo"), object_key(OTHER, "photo")
    await storage.put(mine, b"mine", content_type="text/plain")
    with pytest.raises(ObjectNotFound):
        await storage.head(theirs)
    await storage.put(theirs, b"theirs", content_type="text/plain")
    assert await read_all(storage, mine) == b"mine"
    assert await read_all(storage, theirs) == b"theirs"


async def test_a_failing_upload_leaves_nothing(storage: Storage) -> None:
    key = object_key(TENANT, "half")

    async def refused() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise OverflowError("too large")

    with pytest.raises(OverflowError):
        await storage.put(key, refused(), content_type="text/plain")
    with pytest.raises(ObjectNotFound):
        await storage.head(key)


async def test_local_store_writes_under_its_root_only_when_used(tmp_path: Path) -> None:
    storage = local(tmp_path)
    assert not (tmp_path / "files").exists()
    await storage.put(object_key(TENANT, "a"), b"1", content_type="text/plain")
    assert (tmp_path / "files" / "t" / str(TENANT) / "a").read_bytes() == b"1"


async def test_relative_file_url_is_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = Storage.from_url("file://./data/files")
    await storage.put(object_key(TENANT, "a"), b"1", content_type="text/plain")
    assert (tmp_path / "data" / "files" / "t" / str(TENANT) / "a").is_file()


async def test_s3_keeps_the_content_type_and_the_tenant_prefix(s3_bucket: S3Bucket) -> None:
    storage = on_s3(s3_bucket)
    key = object_key(TENANT, "attachments", "x")
    await storage.put(key, b"%PDF-1.4", content_type="application/pdf")
    head = s3_bucket.client().head_object(Bucket=s3_bucket.name, Key=key.path)
    assert head["ContentType"] == "application/pdf"
    listed = s3_bucket.client().list_objects_v2(Bucket=s3_bucket.name)
    assert [item["Key"] for item in listed["Contents"]] == [f"t/{TENANT}/attachments/x"]


async def test_s3_credentials_from_the_standard_environment(
    s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)
    storage = Storage.from_url(s3_bucket.url, endpoint=s3_bucket.endpoint)
    key = object_key(TENANT, "env")
    await storage.put(key, b"ok", content_type="text/plain")
    assert await read_all(storage, key) == b"ok"


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported scheme"):
        Storage.from_url("ftp://example/files")
