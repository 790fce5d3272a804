"""Tenants for export tests: a bit of every exported table, secrets beside them, and how to read an archive.

``seed_tenant`` writes users of every role, bulk and serialized equipment, reservations
with lines, a design with a version, an item and a share link, plus what must never
leave (a webhook signing secret, a sealed mail body, the share link's hash) and an
audit trail of it all. ``secret_values`` reads every value of every secret-bearing
column in the database, so a test can look for each in an archive.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlmodel import SQLModel

from auth.services import Services
from auth.tokens import hash_secret
from db.audit import ACTOR_INFO_KEY, Actor
from db.scoped import scoped_records
from db.tables import (
    Design,
    DesignItem,
    DesignShare,
    DesignVersion,
    Equipment,
    EquipmentUnit,
    OutboxEmail,
    Reservation,
    ReservationLine,
    ReservationStatus,
    Tracking,
    WebhookEndpoint,
)
from tests.api import TenantUsers, make_tenant_with_users

SECRET_COLUMN = re.compile(r"hash|secret|body|token|password")
NO_ID = uuid.UUID(int=0)
START = datetime(2031, 3, 2, 9, tzinfo=UTC)


@dataclass
class Seeded:
    users: TenantUsers
    equipment_ids: tuple[uuid.UUID, uuid.UUID] = (NO_ID, NO_ID)
    unit_id: uuid.UUID = NO_ID

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.users.tenant.id


async def add_reservations(
    services: Services, seeded: Seeded, count: int, *, first_number: int = 1, title: str = "Job"
) -> list[uuid.UUID]:
    """``count`` reservations of the tenant's equipment, each with two lines."""
    tenant_id = seeded.tenant_id
    made: list[uuid.UUID] = []
    bulk, serial = seeded.equipment_ids
    unit = seeded.unit_id
    async with services.database.transaction(tenant_id) as session:
        for offset in range(count):
            number = first_number + offset
            reservation = Reservation(
                tenant_id=tenant_id,
                number=number,
                title=f"{title} {number}",
                customer_id=seeded.users.customer.id,
                starts_at=START + timedelta(days=number),
                ends_at=START + timedelta(days=number, hours=8),
                status=ReservationStatus.REQUESTED,
                notes="=HYPERLINK(1)" if number == 1 else "",
            )
            session.add(reservation)
            session.add_all(
                [
                    ReservationLine(
                        tenant_id=tenant_id,
                        reservation_id=reservation.id,
                        position=0,
                        equipment_id=bulk,
                        quantity=2,
                    ),
                    ReservationLine(
                        tenant_id=tenant_id,
                        reservation_id=reservation.id,
                        position=1,
                        equipment_id=serial,
                        unit_id=unit,
                        quantity=1,
                    ),
                ]
            )
            made.append(reservation.id)
    return made


async def seed_tenant(services: Services, slug: str, reservations: int = 3) -> Seeded:
    return await seed_rows(services, await make_tenant_with_users(services, slug), reservations)


async def seed_rows(services: Services, users: TenantUsers, reservations: int = 3) -> Seeded:
    """``seed_tenant`` for a tenant made already."""
    slug = users.tenant.slug
    seeded = Seeded(users)
    tenant_id = users.tenant.id
    async with services.database.transaction(tenant_id) as session:
        session.info[ACTOR_INFO_KEY] = Actor(users.admin.id, "user", f"seed-{slug}")
        bulk = Equipment(
            tenant_id=tenant_id, name=f"{slug} LED wall", code=f"{slug}-LED", category="LED", tags=["led", slug],
            tracking=Tracking.BULK, quantity=10,
        )  # fmt: skip
        serial = Equipment(
            tenant_id=tenant_id,
            name=f"{slug} camera",
            code=f"{slug}-CAM",
            tracking=Tracking.SERIALIZED,
            quantity=1,
        )
        session.add_all([bulk, serial])
        await session.flush()
        unit = EquipmentUnit(tenant_id=tenant_id, equipment_id=serial.id, serial_number=f"{slug}-SN-1")
        design = Design(tenant_id=tenant_id, name=f"{slug} stage", owner_id=users.manager.id)
        session.add_all([unit, design])
        await session.flush()
        version = DesignVersion(
            tenant_id=tenant_id,
            design_id=design.id,
            number=1,
            configuration={"stage": {"w": 6}},
            note="first",
        )
        session.add(version)
        await session.flush()
        session.add(DesignItem(tenant_id=tenant_id, version_id=version.id, equipment_id=bulk.id, quantity=4))
        session.add(
            DesignShare(
                tenant_id=tenant_id,
                design_id=design.id,
                token_hash=hash_secret(f"share-secret-of-{slug}-{uuid.uuid4().hex}"),
                created_by_id=users.manager.id,
            )
        )
        session.add(
            WebhookEndpoint(
                tenant_id=tenant_id,
                url="https://hooks.example/in",
                signing_secret=f"sealed-webhook-secret-{uuid.uuid4().hex}",
                created_by_id=users.admin.id,
            )
        )
        session.add(
            OutboxEmail(
                tenant_id=tenant_id,
                to_address=users.admin.email,
                subject="hello",
                body=f"sealed-body-{uuid.uuid4().hex}",
            )
        )
    seeded.equipment_ids = (bulk.id, serial.id)
    seeded.unit_id = unit.id
    await add_reservations(services, seeded, reservations)
    return seeded


async def secret_values(services: Services, *tenant_ids: uuid.UUID) -> set[str]:
    """Every value (16 characters or more) of every column whose name says it holds a secret."""
    found: set[str] = set()
    for tenant_id in (None, *tenant_ids):
        async with services.database.session(tenant_id) as session:
            for table in SQLModel.metadata.sorted_tables:
                columns = [column for column in table.columns if SECRET_COLUMN.search(column.name)]
                if not columns:
                    continue
                for row in (await session.execute(select(*columns))).all():
                    found.update(str(value) for value in row if value is not None and len(str(value)) >= 16)
    return found


async def table_ids(services: Services, tenant_id: uuid.UUID, model: type[Any]) -> set[str]:
    """The ids of the tenant's rows of ``model``."""
    async with services.database.session(tenant_id) as session:
        rows = await session.execute(scoped_records(model, tenant_id, ["id"]))
        return {str(row.id) for row in rows.all()}


def read_archive(path: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The archive's manifest, and each file's rows as dictionaries (whatever its format)."""
    with zipfile.ZipFile(path) as archive:
        manifest = orjson.loads(archive.read("manifest.json"))
        files: dict[str, list[dict[str, Any]]] = {}
        for entry in manifest["files"]:
            data = archive.read(entry["name"])
            if manifest["format"] == "ndjson":
                files[entry["name"]] = [orjson.loads(line) for line in data.splitlines() if line]
            elif manifest["format"] == "json":
                files[entry["name"]] = orjson.loads(data)
            else:
                files[entry["name"]] = list(csv.DictReader(io.StringIO(data.decode())))
    return manifest, files


def archive_bytes(path: Path) -> bytes:
    """Every member of the archive, unpacked, one after another."""
    with zipfile.ZipFile(path) as archive:
        return b"\n".join(archive.read(name) for name in archive.namelist())
