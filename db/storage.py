"""The object store: uploaded files and everything else too big for a row.

One ``Storage`` per process (on ``auth.services.Services``), over obstore (the Rust
``object_store`` crate): the local filesystem by default
(``RIGBOOK_STORAGE_URL=file://./data/files``, relative to the working directory) and
S3 or an S3-compatible service (``s3://bucket/prefix``) in production, with the
endpoint, region and credentials from settings or the standard ``AWS_*`` variables.

Every object belongs to one tenant, and its key says so: ``t/<tenant uuid>/<part>/…``.
Keys are made only by ``object_key`` and the store takes nothing else, so no caller
builds a path by hand and no path a client sends can reach another tenant's objects
(or leave the store: each part is a plain name, never ``..``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from uuid import UUID

import obstore
from obstore.store import LocalStore, MemoryStore, S3Store

if TYPE_CHECKING:
    from obstore.store import ObjectStore

    from settings import Settings

_StoreFactory = Callable[[], "ObjectStore"]

TENANT_ROOT = "t"
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_KEY_PARTS = 8
# Chunks handed to a reader: small enough to keep a response's memory flat.
STREAM_CHUNK_BYTES = 64 * 1024


class StorageError(RuntimeError):
    """The store could not be reached or refused the operation (not a missing object)."""


class ObjectNotFound(LookupError):
    """No object under this key."""


@dataclass(frozen=True)
class ObjectKey:
    """Where one tenant's object lives in the store; build it with ``object_key``."""

    tenant_id: UUID
    path: str

    def __str__(self) -> str:
        return self.path


def object_key(tenant_id: UUID, *parts: str) -> ObjectKey:
    """The key of an object of ``tenant_id``: ``t/<tenant>/<parts…>``.

    Each part is a plain name (letters, digits, ``.``, ``_``, ``-``; not starting with
    a dot), so a key never climbs out of its tenant's namespace.
    """
    if not isinstance(tenant_id, UUID):
        raise TypeError("a tenant id is a UUID")
    if not parts or len(parts) > MAX_KEY_PARTS:
        raise ValueError(f"an object key has 1 to {MAX_KEY_PARTS} parts")
    for part in parts:
        if not _PART.fullmatch(part):
            raise ValueError(f"not a plain key part: {part[:40]!r}")
    return ObjectKey(tenant_id, "/".join((TENANT_ROOT, str(tenant_id), *parts)))


def tenant_prefix(tenant_id: UUID) -> str:
    """The prefix under which all of a tenant's objects live (for listings and clean-up)."""
    return f"{TENANT_ROOT}/{tenant_id}/"


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows of an object without reading it."""

    size: int


@dataclass
class OpenObject:
    """An object opened for reading: its size now, its bytes as they are streamed."""

    size: int
    chunks: AsyncIterator[bytes]


class Storage:
    """The process's object store: put, open/stream, head and delete by ``ObjectKey``."""

    def __init__(self, make_store: _StoreFactory, *, description: str, keeps_attributes: bool) -> None:
        # Built on first use: a local store needs its directory, which only a write should create.
        self._make_store = make_store
        self._store: ObjectStore | None = None
        self.description = description
        self._keeps_attributes = keeps_attributes

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        return cls.from_url(
            settings.storage_url,
            endpoint=settings.storage_endpoint,
            region=settings.storage_region,
            access_key_id=settings.storage_access_key_id,
            secret_access_key=(
                settings.storage_secret_access_key.get_secret_value()
                if settings.storage_secret_access_key is not None
                else None
            ),
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> Storage:
        """``file://<path>`` (relative to the working directory unless absolute), ``memory://``
        or ``s3://bucket[/prefix]``; S3 settings left out come from the ``AWS_*`` variables."""
        scheme = urlsplit(url).scheme
        if scheme == "file":
            root = Path(url.removeprefix("file://")).expanduser().resolve()
            return cls(_local_store(root), description=f"file://{root}", keeps_attributes=False)
        if scheme == "memory":
            memory = MemoryStore()
            return cls(lambda: memory, description="memory://", keeps_attributes=False)
        if scheme in ("s3", "s3a"):
            options: dict[str, str] = {}
            if endpoint:
                options["endpoint"] = endpoint
            if region:
                options["region"] = region
            if access_key_id:
                options["access_key_id"] = access_key_id
            if secret_access_key:
                options["secret_access_key"] = secret_access_key
            plain_http = bool(endpoint and endpoint.startswith("http://"))
            parts = urlsplit(url)
            description = f"{parts.scheme}://{parts.netloc}{parts.path}"

            def make_s3() -> ObjectStore:
                return S3Store.from_url(
                    url,
                    config=options,  # type: ignore[arg-type]  # keys checked above
                    client_options={"allow_http": plain_http},
                )

            return cls(make_s3, description=description, keeps_attributes=True)
        raise ValueError(f"RIGBOOK_STORAGE_URL: unsupported scheme {scheme!r} (file://, s3://, memory://)")

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = self._make_store()
        return self._store

    async def put(
        self, key: ObjectKey, data: bytes | AsyncIterable[bytes], *, content_type: str
    ) -> ObjectInfo:
        """Write an object whole (readers never see half of it); returns its size.

        An iterator that raises stops the upload and leaves nothing under the key; the
        error propagates, so a size check inside the iterator refuses while streaming.
        """
        counted = _Counted(data)
        attributes = {"Content-Type": content_type} if self._keeps_attributes else None
        try:
            await obstore.put_async(self.store, _path(key), counted.source(), attributes=attributes)
        except FileNotFoundError as error:  # pragma: no cover - the store's root vanished
            raise StorageError(f"cannot write {key}") from error
        except obstore.exceptions.BaseError as error:
            raise StorageError(f"cannot write {key}: {type(error).__name__}") from error
        return ObjectInfo(size=counted.size)

    async def open(self, key: ObjectKey, *, chunk_size: int = STREAM_CHUNK_BYTES) -> OpenObject:
        """Open an object for streaming; ``ObjectNotFound`` before any byte if it is missing."""
        try:
            result = await obstore.get_async(self.store, _path(key))
        except FileNotFoundError as error:
            raise ObjectNotFound(str(key)) from error
        except obstore.exceptions.BaseError as error:
            raise StorageError(f"cannot read {key}: {type(error).__name__}") from error
        return OpenObject(size=int(result.meta["size"]), chunks=_chunks(result.stream(chunk_size)))

    async def stream(self, key: ObjectKey, *, chunk_size: int = STREAM_CHUNK_BYTES) -> AsyncIterator[bytes]:
        """The object's bytes as chunks (``ObjectNotFound`` if it is missing)."""
        opened = await self.open(key, chunk_size=chunk_size)
        async for chunk in opened.chunks:
            yield chunk

    async def read(self, key: ObjectKey, *, max_bytes: int) -> bytes:
        """The whole object, refused (``ValueError``) beyond ``max_bytes``: for the worker's images."""
        opened = await self.open(key)
        if opened.size > max_bytes:
            raise ValueError(f"{key} holds {opened.size} bytes, more than {max_bytes}")
        parts: list[bytes] = []
        total = 0
        async for chunk in opened.chunks:
            total += len(chunk)
            if total > max_bytes:
                raise ValueError(f"{key} grew beyond {max_bytes} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def head(self, key: ObjectKey) -> ObjectInfo:
        """The object's size, or ``ObjectNotFound``."""
        try:
            meta = await obstore.head_async(self.store, _path(key))
        except FileNotFoundError as error:
            raise ObjectNotFound(str(key)) from error
        except obstore.exceptions.BaseError as error:
            raise StorageError(f"cannot look up {key}: {type(error).__name__}") from error
        return ObjectInfo(size=int(meta["size"]))

    async def delete(self, key: ObjectKey) -> None:
        """Remove the object; a key that holds nothing is already deleted (a retry finds it so)."""
        try:
            await obstore.delete_async(self.store, _path(key))
        except FileNotFoundError:
            return
        except obstore.exceptions.BaseError as error:
            raise StorageError(f"cannot delete {key}: {type(error).__name__}") from error


def _local_store(root: Path) -> _StoreFactory:
    def make() -> ObjectStore:
        return LocalStore(root, mkdir=True)

    return make


def _path(key: ObjectKey) -> str:
    if not isinstance(key, ObjectKey):
        raise TypeError("the store takes keys made by object_key")
    return key.path


class _Counted:
    """Counts the bytes of an upload as they pass to the store."""

    def __init__(self, data: bytes | AsyncIterable[bytes]) -> None:
        self._data = data
        self.size = 0

    async def source(self) -> AsyncIterator[bytes]:
        if isinstance(self._data, bytes):
            self.size = len(self._data)
            yield self._data
            return
        async for chunk in self._data:
            self.size += len(chunk)
            yield chunk


async def _chunks(stream: AsyncIterable[object]) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield bytes(chunk)  # type: ignore[call-overload]  # obstore's Bytes is a buffer
