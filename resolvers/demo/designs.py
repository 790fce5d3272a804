"""Demo designs for the demo tenants: a few setups with one or two versions over the demo catalogue.

Each is made as a client makes one — ``createDesign`` with version 1, ``saveDesignVersion``
for the next, ``updateDesign`` to publish, ``shareDesign`` — by its owner (the manager, or
the customer for their own idea). Items name equipment by code and are looked up at run
time; a code the tenant's catalogue lacks is skipped, so this never fails on a catalogue
that is still being written. One design per tenant is PUBLISHED with a share link whose
token is derived from the tenant id, so seeding again (or ``demo_share_token``) gives the
same token. That is fine for demo data only — real links use 256 random bits — and demo
seeding is refused in production.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from auth.services import Services
from db.scoped import in_tenant, scoped
from db.tables import Design, DesignStatus, Equipment, Role, User
from resolvers.demo.acting import Acting, demo_step
from resolvers.design_rules import ItemRequest
from resolvers.design_shares import share_design, share_token
from resolvers.designs import (
    DesignChanges,
    DesignDraft,
    VersionDraft,
    create_design,
    save_version,
    update_design,
)

log = logging.getLogger("rigbook.seed")

Items = tuple[tuple[str, int, str], ...]  # (equipment code, quantity, notes)


@dataclass(frozen=True)
class DemoVersion:
    configuration: dict[str, Any]
    items: Items
    note: str


@dataclass(frozen=True)
class DemoDesign:
    name: str
    description: str
    versions: tuple[DemoVersion, ...]
    status: DesignStatus = DesignStatus.DRAFT
    shared: bool = False
    by_customer: bool = False


# fmt: off
ESR_DESIGNS = (
    DemoDesign(
        "Outdoor LED stage 6x4m",
        "Open-air stage of 12 decks with a daylight LED wall behind it, for festivals and city events.",
        (
            DemoVersion(
                {"stage": {"width_m": 6, "depth_m": 4, "height_cm": 100},
                 "screen": {"width_m": 4, "height_m": 3, "pitch_mm": 3.9, "mount": "ground stack"},
                 "power": "1 x 63 A CEE"},
                (("ESR-STG-2X1", 12, "6 x 4 m"), ("ESR-STG-LEG", 48, "4 per deck"),
                 ("ESR-LED-P39", 24, "4 x 3 m"), ("ESR-GND-STK", 1, ""), ("ESR-PRC-VX1K", 1, ""),
                 ("ESR-CBL-PWR", 8, "")),
                "First layout: 4 m screen.",
            ),
            DemoVersion(
                {"stage": {"width_m": 6, "depth_m": 4, "height_cm": 100},
                 "screen": {"width_m": 6, "height_m": 3, "pitch_mm": 3.9, "mount": "ground stack"},
                 "power": "1 x 63 A CEE", "video": {"inputs": ["SDI 1", "SDI 2"]}},
                (("ESR-STG-2X1", 12, "6 x 4 m"), ("ESR-STG-LEG", 48, "4 per deck"),
                 ("ESR-LED-P39", 36, "6 x 3 m, full stage width"), ("ESR-GND-STK", 2, ""),
                 ("ESR-PRC-VX1K", 1, ""), ("ESR-CBL-PWR", 12, ""), ("ESR-CBL-SDI", 2, "FOH to processor")),
                "Screen widened to the full stage.",
            ),
        ),
        status=DesignStatus.PUBLISHED,
        shared=True,
    ),
    DemoDesign(
        "Conference LED wall 4x2m",
        "Flown indoor wall for keynotes, driven by a Brompton processor.",
        (
            DemoVersion(
                {"screen": {"width_m": 4, "height_m": 2, "pitch_mm": 2.6, "mount": "flown"}, "trim_height_m": 2.5},
                (("ESR-LED-P26", 32, "8 x 4 panels"), ("ESR-LED-BAR", 8, ""), ("ESR-TRS-3M", 2, ""),
                 ("ESR-HST-1T", 2, ""), ("ESR-PRC-SX40", 1, ""), ("ESR-CBL-PWR", 6, "")),
                "",
            ),
        ),
    ),
    DemoDesign(
        "Product launch backdrop",
        "My idea for the launch: a small wall behind the lectern.",
        (DemoVersion({"screen": {"width_m": 2, "height_m": 2}}, (("ESR-LED-P26", 16, ""),), "Draft"),),
        by_customer=True,
    ),
)

CMH_DESIGNS = (
    DemoDesign(
        "Gala marquee 10x20 for 160 guests",
        "Heated marquee with a floor, banquet tables and a cocktail area for the show-jumping gala dinner.",
        (
            DemoVersion(
                {"marquee": {"width_m": 10, "length_m": 20}, "layout": "banquet", "guests": 160},
                (("CMH-TNT-1020", 1, ""), ("CMH-TNT-FLR", 200, ""), ("CMH-FRN-TBL", 20, "8 per table"),
                 ("CMH-FRN-CHR", 160, ""), ("CMH-TNT-HTR", 2, "")),
                "Banquet layout.",
            ),
            DemoVersion(
                {"marquee": {"width_m": 10, "length_m": 20}, "layout": "banquet + cocktail", "guests": 160,
                 "zones": ["dinner", "bar"]},
                (("CMH-TNT-1020", 1, ""), ("CMH-TNT-FLR", 200, ""), ("CMH-FRN-TBL", 20, "8 per table"),
                 ("CMH-FRN-CHR", 160, ""), ("CMH-FRN-BAR", 10, "bar zone"), ("CMH-TNT-HTR", 3, "one more for the bar")),
                "Cocktail area at the entrance.",
            ),
        ),
        status=DesignStatus.PUBLISHED,
        shared=True,
    ),
    DemoDesign(
        "Show-jumping broadcast kit",
        "Three-camera coverage of the main arena with bonded-cellular uplink.",
        (
            DemoVersion(
                {"cameras": 3, "uplink": "LiveU x2", "commentary": 2},
                (("CMH-CAM-HDC", 3, ""), ("CMH-TRI-HD", 3, ""), ("CMH-CBL-FIB", 3, ""),
                 ("CMH-ENC-LU800", 2, ""), ("CMH-MIC-COM", 2, "")),
                "",
            ),
        ),
    ),
)
# fmt: on

DEMO_DESIGNS = {"esr": ESR_DESIGNS, "cmh": CMH_DESIGNS}


def _derived(tenant_id: uuid.UUID, design_name: str) -> tuple[uuid.UUID, str]:
    """The demo share's id and secret (256 bits), stable for a tenant and design."""
    digest = hashlib.sha256(f"rigbook demo share|{tenant_id}|{design_name}".encode()).digest()
    secret = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return uuid.uuid5(tenant_id, f"demo share {design_name}"), secret


def demo_share_token(tenant_id: uuid.UUID, design_name: str) -> str:
    return share_token(tenant_id, *_derived(tenant_id, design_name))


async def seed_demo_designs(services: Services, tenant_id: uuid.UUID, slug: str) -> dict[str, str]:
    """Add the demo designs of tenant ``slug`` that are missing; returns design name → share token."""
    database = services.database
    tokens: dict[str, str] = {}
    async with database.session(tenant_id) as session:
        users = {Role(user.role): user for user in (await session.scalars(scoped(User, tenant_id))).all()}
        existing = set((await session.scalars(select(Design.name).where(in_tenant(Design, tenant_id)))).all())
        codes = {code for demo in DEMO_DESIGNS.get(slug, ()) for v in demo.versions for code, _, _ in v.items}
        statement = select(Equipment.code, Equipment.id).where(
            in_tenant(Equipment, tenant_id), col(Equipment.code).in_(codes)
        )
        equipment = {code: equipment_id for code, equipment_id in (await session.execute(statement)).all()}
    staff = users.get(Role.MANAGER) or users.get(Role.ADMIN) or users.get(Role.STAFF)
    for demo in DEMO_DESIGNS.get(slug, ()):
        owner = users.get(Role.CUSTOMER) if demo.by_customer else staff
        if owner is None:
            continue
        if demo.name not in existing:
            await _add(services, Acting.as_user(database, owner), demo, equipment)
        if demo.shared:
            tokens[demo.name] = demo_share_token(tenant_id, demo.name)
    for name, token in tokens.items():
        log.info("demo share link of %r (%s): sharedDesign(token: %r)", name, slug, token)
    return tokens


def _version(version: DemoVersion, equipment: dict[str, uuid.UUID]) -> VersionDraft:
    found = [(code, quantity, notes) for code, quantity, notes in version.items if code in equipment]
    items = [
        ItemRequest(field=f"items.{index}", equipment_id=equipment[code], quantity=quantity, notes=notes)
        for index, (code, quantity, notes) in enumerate(found)
    ]
    return VersionDraft(configuration=version.configuration, items=items, note=version.note)


async def _add(services: Services, owner: Acting, demo: DemoDesign, equipment: dict[str, uuid.UUID]) -> None:
    """The design as its owner makes it: version 1 with it, then each next version, publish, share."""
    transactions, caller, settings = owner.transactions, owner.caller, services.settings
    first, *more = (_version(version, equipment) for version in demo.versions)
    draft = DesignDraft(
        name=demo.name,
        description=demo.description,
        configuration=first.configuration,
        items=first.items,
        note=first.note,
    )
    what = f"design {demo.name!r}"
    design = await demo_step(what, create_design(transactions, caller, settings, draft))
    for number, version in enumerate(more, start=1):
        await demo_step(what, save_version(transactions, caller, settings, design.id, version, number))
    if demo.status != DesignStatus.DRAFT:
        changes = DesignChanges(status=demo.status)
        await demo_step(what, update_design(transactions, caller, design.id, changes))
    if demo.shared:
        share_id, secret = _derived(caller.tenant_id, demo.name)
        await demo_step(
            what,
            share_design(transactions, caller, settings, design.id, None, share_id=share_id, secret=secret),
        )
