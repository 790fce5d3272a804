"""``rigbook export``: a tenant's archive written to a file, and recorded in its audit trail.

The archive is written to a temporary file beside the output and renamed into place
once complete, so a failed or interrupted export leaves no half-written file under
the name asked for. The audit entry (``tenant.exported``, by the system as
``rigbook export``) names the format, the groups and each file's row count.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.audit import ACTOR_INFO_KEY, Actor, record
from db.database import Database
from db.tables import Tenant
from resolvers.exports.formats import ExportFormat
from resolvers.exports.tables import ExportTable
from resolvers.exports.writer import Progress, write_export

COMMAND_ACTOR = Actor(None, "system", "rigbook export")
EXPORTED = "tenant.exported"


class ExportRefused(Exception):
    """The export cannot be made: no such tenant, or an output that cannot be written."""


def audit_changes(manifest: dict[str, Any]) -> dict[str, Any]:
    """What an export's audit entry says: format, groups, and each file's row count."""
    return {
        "format": [None, manifest["format"]],
        "groups": [None, manifest["groups"]],
        "rows": [None, {entry["name"]: entry["rows"] for entry in manifest["files"]}],
        "schema_version": [None, manifest["schema_version"]],
    }


def record_export(session: AsyncSession, tenant_id: uuid.UUID, manifest: dict[str, Any]) -> None:
    """The audit entry of a finished export, in ``session``'s transaction (as its actor)."""
    record(
        session.sync_session,
        tenant_id=tenant_id,
        action=EXPORTED,
        target_type="tenant",
        target_id=tenant_id,
        changes=audit_changes(manifest),
    )


async def tenant_by_slug(database: Database, slug: str) -> Tenant:
    async with database.session(None) as session:
        statement = select(Tenant).where(col(Tenant.slug) == slug.strip().lower())
        tenant = (await session.scalars(statement)).first()
    if tenant is None:
        raise ExportRefused(f"no tenant has the slug {slug!r}")
    return tenant


def _temporary_beside(output: Path) -> tuple[int, Path]:
    directory = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise ExportRefused(f"cannot write {output}: it is a directory")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=directory)
    except OSError as error:
        raise ExportRefused(f"cannot write {output}: {error.strerror or error}") from None
    return handle, Path(name)


async def export_to_file(
    database: Database,
    slug: str,
    output: Path,
    *,
    tables: Sequence[ExportTable],
    form: ExportFormat,
    now: datetime,
    max_bytes: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Export the tenant ``slug`` to ``output``; returns the manifest."""
    tenant = await tenant_by_slug(database, slug)
    handle, partial = _temporary_beside(output)
    try:
        with os.fdopen(handle, "wb") as sink:
            manifest = await write_export(
                database, tenant.id, sink, tables=tables, form=form, now=now, max_bytes=max_bytes,
                progress=progress,
            )  # fmt: skip
        try:
            partial.replace(output)
        except OSError as error:
            raise ExportRefused(f"cannot write {output}: {error.strerror or error}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    async with database.transaction(tenant.id) as session:
        session.info[ACTOR_INFO_KEY] = COMMAND_ACTOR
        record_export(session, tenant.id, manifest)
    return manifest


class ProgressBar:
    """A one-line bar per file on a terminal (``stream``); silent when it is not one."""

    WIDTH = 30

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.shown = bool(getattr(stream, "isatty", lambda: False)())
        self._current: str | None = None

    def __call__(self, name: str, done: int, total: int) -> None:
        if not self.shown:
            return
        if self._current is not None and self._current != name:
            self.stream.write("\n")
        self._current = name
        filled = self.WIDTH if total == 0 else self.WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r{name:<24} [{bar}] {done}/{total}")
        self.stream.flush()

    def finish(self) -> None:
        if self.shown and self._current is not None:
            self.stream.write("\n")
            self.stream.flush()
