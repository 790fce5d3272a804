"""Writing a tenant's export: every chosen table, page by page, from one snapshot into one ZIP.

All reads go through one ``Database.reads`` transaction: on PostgreSQL
``REPEATABLE READ READ ONLY`` (one snapshot for every statement, under row-level
security for the tenant), on SQLite one read transaction (WAL keeps its snapshot
while writers commit). A write that commits during the export is either wholly in
it or wholly out: a reservation never appears without its lines.

Each table is read in keyset pages of ``PAGE_ROWS`` by primary key (``id > :after
ORDER BY id LIMIT n``), every statement scoped to the tenant (``db/scoped.py``), and
each page is encoded and written to its archive member before the next is read:
memory holds one page, whatever the tenant's size. The archive is written by
``zipfile`` in streaming mode (ZIP64, deflated) to any binary file object, so a
sink that cannot seek works too; compression runs in a thread, off the event loop.

``manifest.json`` comes last: the format, the tenant, the schema version (the
database's Alembic revision), the time, and each file with its row count.
"""

from __future__ import annotations

import asyncio
import uuid
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from sqlalchemy import bindparam, column, func, select, table
from sqlmodel import col

from db.database import Database
from db.reads import Reads
from db.scoped import in_tenant, scoped_records
from db.tables import Tenant
from resolvers.exports.formats import Encoder, ExportFormat
from resolvers.exports.tables import ExportTable

PAGE_ROWS = 1000
MANIFEST = "manifest.json"

Progress = Callable[[str, int, int], None]
"""Told after each page: the file's name, its rows written so far, and its rows in all."""


class ExportTooLarge(Exception):
    """The archive's files together would pass the size allowed (uncompressed)."""


class TenantGone(Exception):
    """The tenant to export does not exist."""


def file_name(entry: ExportTable, form: ExportFormat) -> str:
    return f"{entry.name}.{form.value}"


async def _count(reads: Reads, entry: ExportTable, tenant_id: uuid.UUID) -> int:
    statement = (
        select(func.count().label("n")).select_from(entry.model).where(in_tenant(entry.model, tenant_id))
    )
    rows = await reads.rows(statement)
    return int(rows[0].n)


def _pages(entry: ExportTable, tenant_id: uuid.UUID) -> tuple[Any, Any]:
    """The first page's statement, and the next one's (after ``:after``)."""
    key: Any = col(entry.model.id)
    first = scoped_records(entry.model, tenant_id, entry.columns).order_by(key).limit(PAGE_ROWS)
    return first, first.where(key > bindparam("after", type_=key.type))


def _member(name: str, now: datetime) -> zipfile.ZipInfo:
    """An archive member dated ``now`` (in UTC), deflated, readable by its owner only when unpacked."""
    info = zipfile.ZipInfo(name, date_time=now.astimezone(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


async def _schema_version(reads: Reads) -> str | None:
    versions = await reads.rows(select(column("version_num")).select_from(table("alembic_version")))
    return ",".join(sorted(str(row.version_num) for row in versions)) or None


async def write_export(
    database: Database,
    tenant_id: uuid.UUID,
    sink: IO[bytes],
    *,
    tables: Sequence[ExportTable],
    form: ExportFormat,
    now: datetime,
    max_bytes: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the tenant's ``tables`` as a ZIP to ``sink``; returns the manifest written into it.

    ``ExportTooLarge`` once the files pass ``max_bytes`` (uncompressed); the sink then
    holds a partial archive, which the caller throws away.
    """
    reads = database.reads(tenant_id)
    try:
        tenant_rows = await reads.rows(
            select(col(Tenant.id), col(Tenant.slug), col(Tenant.name), col(Tenant.timezone)).where(
                col(Tenant.id) == tenant_id
            )
        )
        if not tenant_rows:
            raise TenantGone(str(tenant_id))
        tenant = tenant_rows[0]
        version = await _schema_version(reads)
        totals = [await _count(reads, entry, tenant_id) for entry in tables]
        files: list[dict[str, Any]] = []
        written = 0
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for entry, total in zip(tables, totals, strict=True):
                name = file_name(entry, form)
                rows_written = 0
                encoder = Encoder(form, entry.columns)
                first, after = _pages(entry, tenant_id)
                with archive.open(_member(name, now), "w", force_zip64=True) as member:

                    async def put(data: bytes, member: IO[bytes] = member) -> None:
                        nonlocal written
                        written += len(data)
                        if written > max_bytes:
                            raise ExportTooLarge(f"the export is over {max_bytes} bytes")
                        if data:
                            await asyncio.to_thread(member.write, data)

                    await put(encoder.start())
                    last: uuid.UUID | None = None
                    while True:
                        page = await (
                            reads.rows(first) if last is None else reads.rows(after, {"after": last})
                        )
                        if not page:
                            break
                        await put(encoder.rows(page))
                        rows_written += len(page)
                        last = page[-1].id
                        if progress is not None:
                            progress(name, rows_written, max(total, rows_written))
                        if len(page) < PAGE_ROWS:
                            break
                    await put(encoder.end())
                if progress is not None and rows_written == 0:
                    progress(name, 0, 0)
                files.append(
                    {"name": name, "table": entry.table, "rows": rows_written, "columns": list(entry.columns)}
                )
            manifest = {
                "format": form.value,
                "tenant": {
                    "id": str(tenant.id),
                    "slug": tenant.slug,
                    "name": tenant.name,
                    "timezone": tenant.timezone,
                },
                "schema_version": version,
                "exported_at": now.isoformat(),
                "groups": list(dict.fromkeys(entry.group for entry in tables)),
                "files": files,
            }
            archive.writestr(
                _member(MANIFEST, now), orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"
            )
        return manifest
    finally:
        await reads.close()
