"""A database full of edge cases, built through the public API, for tests that only read.

Two tenants; users of every role, one without a name, one deactivated; bulk and
serialized equipment with and without descriptions, categories and tags, one
retired, units in every status; reservations in every status, past and future,
with and without a customer, named units and two lines of one equipment; designs
with versions, items, shares (active, expiring, revoked), a clone, an archived one,
a version saved by an operator (no creator) and a reservation made from a design;
webhooks with deliveries (``tests/edge_webhooks.py``); enquiries from guests and
customers in most statuses, assigned or not, with notes and replies, one converted
into a reservation.

Only the platform operator and the monthly report of the past bookings' month are
written directly (nothing in the API creates them); every other row comes from the
mutations clients send. ``build_world``
returns the callers' tokens and what a reading test needs to reach real rows: the
global ids of every object, cursors of every connection, share tokens.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from auth.services import Services
from db.tables import ExportStatus, Operator, TenantExport
from resolvers.reports.months import Month
from resolvers.reports.on_demand import month_report
from schema.node import from_global_id
from tests.api import DEFAULT_PASSWORD, Api
from tests.booking import CREATE_EQUIPMENT, CREATE_RESERVATION, at, line, transition_mutation
from tests.designs import (
    ARCHIVE_DESIGN,
    CLONE_DESIGN,
    CREATE_DESIGN,
    RESERVE_DESIGN,
    REVOKE_SHARE,
    SAVE_VERSION,
    SHARE_DESIGN,
    UPDATE_DESIGN,
    item,
    mutate,
)
from tests.edge_webhooks import seed_webhooks
from tests.enquiries import ADD_MESSAGE, ASSIGN, CONVERT, SET_STATUS, SUBMIT
from tests.notify import deliver

OPERATOR_EMAIL = "ops@rigbook.example"
# Every kind of caller: each role, nobody, an operator, an operator acting in the
# tenant, and an admin of the other tenant.
CALLERS = (
    "admin",
    "manager",
    "staff",
    "customer",
    "anonymous",
    "operator",
    "operator in esr",
    "admin of cmh",
)
PAST = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

CREATE_TENANT = """
mutation($input: CreateTenantInput!) {
  createTenant(input: $input) { __typename ... on CreateTenantSuccess { tenant { id } } }
}
"""
CREATE_USER = """
mutation($input: CreateUserInput!) {
  createUser(input: $input) { __typename ... on UserSuccess { user { id } } ... on Error { code message } }
}
"""
ANONYMIZE_USER = """
mutation($input: AnonymizeUserInput!) { anonymizeUser(input: $input) { __typename } }
"""
DEACTIVATE_USER = """
mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { __typename } }
"""
UPDATE_UNIT = """
mutation($input: UpdateEquipmentUnitInput!) { updateEquipmentUnit(input: $input) { __typename } }
"""
RETIRE_EQUIPMENT = """
mutation($input: RetireEquipmentInput!) { retireEquipment(input: $input) { __typename } }
"""
ASSUME_TENANT = """
mutation($input: AssumeTenantInput!) {
  assumeTenant(input: $input) { __typename ... on AssumeTenantSuccess { accessToken } }
}
"""

# Every object a caller can reach, for ``node(id:)`` and for arguments naming rows; one
# root per query, as a refused root (an operator's ``users``) nulls the whole response.
IDS = (
    "{ me { id tenant { id } } }",
    "{ currentOperator { id } }",
    "{ tenants(first: 100) { edges { cursor node { id } } } }",
    "{ users(first: 100) { edges { cursor node { id } } } }",
    "{ equipment(first: 100) { edges { cursor node { id attachments { id } units { id attachments { id } } } } } }",
    "{ gallery(first: 100) { edges { cursor node { id } } } }",
    "{ reservations(first: 100) { edges { cursor node { id } } } }",
    "{ designs(first: 100, filter: {status: [DRAFT, PUBLISHED, ARCHIVED]}) {"
    " edges { cursor node { id versions { id } shares { id } } } } }",
    "{ auditEvents(first: 100) { edges { cursor node { id } } } }",
    "{ monthlyReports(first: 100) { edges { cursor node { id } } } }",
    "{ webhooks(first: 100) { edges { cursor node { id } } } }",
    "{ tenantExports(first: 100) { edges { cursor node { id } } } }",
    "{ enquiries(first: 100) { edges { cursor node { id messages { id } } } } }",
)
DELIVERY_IDS = (
    "query($id: ID!) { webhookDeliveries(webhookId: $id, first: 100) { edges { cursor node { id } } } }"
)


@dataclass
class World:
    """The tokens of every kind of caller, and handles on the rows they may read."""

    tokens: dict[str, str | None]
    """Bearer tokens by caller (``CALLERS``; ``None``: anonymous)."""
    ids: list[str] = field(default_factory=list)
    """Global ids of every object in both tenants, the operator's included."""
    cursors: dict[str, list[str]] = field(default_factory=dict)
    """By connection (``users``, ``equipment``...): the cursors of its rows in its default order."""
    share_tokens: list[str] = field(default_factory=list)
    """Share links: active, expiring, revoked, of an archived design, of the other tenant."""
    named: dict[str, str] = field(default_factory=dict)
    """Global ids of rows tests name: ``customer``, ``staff``, ``wall``, ``camera``, ``stage``..."""


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def past(hours: float) -> str:
    """An ISO instant ``hours`` after a morning long gone."""
    return (PAST + timedelta(hours=hours)).isoformat()


class _Builder:
    """Seeds through the API, stage by stage; what later stages need is kept on it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.tokens: dict[str, str | None] = {}
        self.named: dict[str, str] = {}
        self.equipment: dict[str, dict[str, Any]] = {}
        self.shares: list[dict[str, Any]] = []

    async def ok(self, query: str, token: str | None, typename: str, **values: Any) -> dict[str, Any]:
        result = await mutate(self.api, query, token, **values)
        assert result["__typename"] == typename, result
        return result

    def token(self, caller: str) -> str:
        token = self.tokens[caller]
        assert token is not None
        return token

    async def user(self, token: str, email: str, role: str, name: str) -> str:
        made = await self.ok(
            CREATE_USER, token, "UserSuccess", email=email, password=DEFAULT_PASSWORD, role=role, name=name
        )
        user_id: str = made["user"]["id"]
        return user_id

    async def item(self, token: str, key: str, **values: Any) -> dict[str, Any]:
        made = await self.ok(CREATE_EQUIPMENT, token, "EquipmentSuccess", code=key.upper(), **values)
        equipment: dict[str, Any] = made["equipment"]
        self.equipment[key] = equipment
        return equipment

    async def reservation(self, caller: str, lines: list[dict[str, Any]], **values: Any) -> str:
        made = await self.ok(
            CREATE_RESERVATION,
            self.token(caller),
            "CreateReservationSuccess",
            title="Gala",
            lines=lines,
            **values,
        )
        reservation_id: str = made["reservation"]["id"]
        return reservation_id

    async def step(self, caller: str, reservation_id: str, *names: str) -> None:
        for name in names:
            await self.ok(
                transition_mutation(name), self.token(caller), "ReservationSuccess", id=reservation_id
            )

    async def design(self, caller: str, name: str, **values: Any) -> str:
        made = await self.ok(CREATE_DESIGN, self.token(caller), "DesignSuccess", name=name, **values)
        design_id: str = made["design"]["id"]
        return design_id

    async def share(self, caller: str, design_id: str, **values: Any) -> dict[str, Any]:
        made = await self.ok(
            SHARE_DESIGN, self.token(caller), "ShareDesignSuccess", designId=design_id, **values
        )
        self.shares.append(made)
        return made

    async def people(self, services: Services) -> None:
        """The operator, both tenants, every role in ``esr`` (one nameless, one deactivated)."""
        async with services.database.transaction(None) as session:
            session.add(
                Operator(
                    email=OPERATOR_EMAIL,
                    name="Platform operator",
                    password_hash=await services.passwords.hash(DEFAULT_PASSWORD),
                )
            )
        operator = self.tokens["operator"] = await self.api.token(None, OPERATOR_EMAIL)
        for slug, name in (("esr", "Event Sound & Rigging"), ("cmh", "City Marquee Hire")):
            made = await self.ok(
                CREATE_TENANT,
                operator,
                "CreateTenantSuccess",
                slug=slug,
                name=name,
                timezone="Europe/Vienna" if slug == "esr" else "UTC",
                adminEmail=f"admin@{slug}.example",
                adminPassword=DEFAULT_PASSWORD,
                adminName=f"Admin of {slug}",
            )
            self.named[slug] = made["tenant"]["id"]
        admin = self.tokens["admin"] = await self.api.token("esr", "admin@esr.example")
        for email, role, name in (
            ("manager@esr.example", "MANAGER", "Mia Manager"),
            ("staff@esr.example", "STAFF", "Sam Staff"),
            ("customer@esr.example", "CUSTOMER", "Cora Customer"),
            ("nameless@esr.example", "CUSTOMER", ""),
            ("idle@esr.example", "CUSTOMER", "Ida Idle"),
        ):
            self.named[email.partition("@")[0]] = await self.user(admin, email, role, name)
        self.named["gone"] = await self.user(admin, "gone@esr.example", "STAFF", "Gus Gone")
        await self.ok(DEACTIVATE_USER, admin, "UserSuccess", id=self.named["gone"])
        # An anonymised user: `anonymizedAt` has a value somewhere.
        self.named["erased"] = await self.user(admin, "erased@esr.example", "CUSTOMER", "Eve Erased")
        await self.ok(ANONYMIZE_USER, admin, "UserSuccess", id=self.named["erased"])
        for caller in ("manager", "staff", "customer", "nameless"):
            self.tokens[caller] = await self.api.token("esr", f"{caller}@esr.example")
        self.tokens["anonymous"] = None

    async def catalogue(self) -> None:
        """Bulk and serialized equipment, bare and described, units in every status."""
        manager = self.token("manager")
        wall = await self.item(
            manager,
            "wall",
            name="LED wall",
            tracking="BULK",
            quantity=10,
            category="LED walls",
            description="P2.6 indoor panels, 500 x 500 mm",
            tags=["led", "indoor"],
            bufferBefore=30,
            bufferAfter=15,
        )
        await self.item(manager, "truss", name="Truss", tracking="BULK", quantity=4)
        camera = await self.item(
            manager,
            "camera",
            name="Camera",
            tracking="SERIALIZED",
            category="Broadcast",
            tags=["video"],
            units=[
                {"serialNumber": "CAM-1", "notes": "new sensor"},
                {"serialNumber": "CAM-2"},
                {"serialNumber": "CAM-3", "notes": ""},
            ],
            bufferAfter=60,
        )
        await self.item(manager, "hall", name="Hall", tracking="SERIALIZED", units=[{"serialNumber": "HALL"}])
        await self.item(manager, "projector", name="Old projector", tracking="BULK", quantity=2)
        _, maintained, retired = camera["units"]
        await self.ok(UPDATE_UNIT, manager, "EquipmentUnitSuccess", id=maintained["id"], status="MAINTENANCE")
        await self.ok(
            UPDATE_UNIT, manager, "EquipmentUnitSuccess", id=retired["id"], status="RETIRED", notes="dropped"
        )
        self.named |= {"wall": wall["id"], "camera": camera["id"]}

    async def bookings(self) -> None:
        """Every status, past and future, with and without a customer, units named or not."""
        wall, truss, camera, hall, projector = (
            self.equipment[key] for key in ("wall", "truss", "camera", "hall", "projector")
        )
        unit = camera["units"][0]
        customer = self.named["customer"]
        self.named["confirmed"] = await self.reservation(
            "staff",
            # Two lines of one equipment.
            [line(wall, 2), line(wall, 1), line(camera, 1, unit), line(truss, 1)],
            startsAt=at(0),
            endsAt=at(6),
            customerId=customer,
            notes="Stage left",
        )
        await self.reservation("staff", [line(hall, 1, hall["units"][0])], startsAt=at(24), endsAt=at(30))
        out = await self.reservation(
            "staff", [line(wall, 3)], startsAt=past(0), endsAt=past(8), customerId=customer
        )
        await self.step("staff", out, "checkOutReservation")
        back = await self.reservation(
            "staff", [line(camera, 1, unit), line(truss, 2)], startsAt=past(24), endsAt=past(30)
        )
        await self.step("staff", back, "checkOutReservation", "returnReservation")
        canceled = await self.reservation("staff", [line(projector, 1)], startsAt=at(48), endsAt=at(50))
        await self.step("manager", canceled, "cancelReservation")
        # Customers' requests: one left open, one declined, one confirmed.
        await self.reservation("nameless", [line(truss, 1), line(wall, 1)], startsAt=at(2), endsAt=at(5))
        declined = await self.reservation("customer", [line(wall, 9)], startsAt=at(72), endsAt=at(80))
        await self.step("staff", declined, "declineReservation")
        approved = await self.reservation("customer", [line(camera, 1)], startsAt=at(96), endsAt=at(100))
        await self.step("staff", approved, "confirmReservation")

    async def reports(self, services: Services) -> None:
        """The report on the month of the past bookings (one still out, one back late), and on the quiet one before."""
        month = Month(PAST.year, PAST.month)
        for reported in (month.previous(), month):
            await month_report(services.database, "esr", reported, datetime.now(UTC))

    async def designs(self) -> None:
        """Versions, a clone, shares of every kind, an archived design, reservations from designs."""
        wall, truss, camera, hall, projector = (
            self.equipment[key] for key in ("wall", "truss", "camera", "hall", "projector")
        )
        manager = self.token("manager")
        # A design keeps its items of equipment retired since.
        booth = await self.design("manager", "Old booth", items=[item(projector, 1)])
        await self.ok(RETIRE_EQUIPMENT, manager, "EquipmentSuccess", id=projector["id"])
        stage = self.named["stage"] = await self.design(
            "staff",
            "Outdoor stage",
            description="6 x 4 m with wings",
            configuration={"stage": {"width": 6, "depth": 4}, "seats": [120, 80], "note": None},
            items=[item(wall, 2, "front"), item(camera, 1)],
            note="first draft",
        )
        staff = self.token("staff")
        await self.ok(
            SAVE_VERSION,
            staff,
            "SaveDesignVersionSuccess",
            designId=stage,
            configuration={"stage": {"width": 8, "depth": 4}},
            items=[item(wall, 3), item(truss, 2, "rear"), item(wall, 1, "spare")],
            note="wider",
            expectedVersion=1,
        )
        await self.ok(
            RESERVE_DESIGN,
            staff,
            "CreateReservationSuccess",
            designId=stage,
            version=2,
            title="Festival",
            startsAt=at(120),
            endsAt=at(126),
            customerId=self.named["customer"],
        )
        await self.ok(UPDATE_DESIGN, staff, "DesignSuccess", id=stage, status="PUBLISHED")
        await self.share("staff", stage)
        await self.share(
            "staff", stage, expiresAt="2040-01-01T10:00:00+00:00", recipientId=self.named["customer"]
        )
        revoked = await self.share("staff", stage)
        await self.ok(REVOKE_SHARE, staff, "DesignShareSuccess", shareId=revoked["share"]["id"])
        await self.ok(
            CLONE_DESIGN, manager, "DesignSuccess", designId=stage, version=1, name="Outdoor stage, copy"
        )
        wedding = await self.design("customer", "Wedding", items=[item(truss, 2), item(hall, 1)])
        await self.ok(
            RESERVE_DESIGN,
            self.token("customer"),
            "CreateReservationSuccess",
            designId=wedding,
            title="Our wedding",
            startsAt=at(200),
            endsAt=at(210),
        )
        await self.design("nameless", "Empty idea")
        await self.share("manager", booth)
        await self.ok(ARCHIVE_DESIGN, manager, "DesignSuccess", id=booth)

    async def files(self) -> None:
        """Images and documents on equipment, a unit, a design and in both tenants' galleries."""
        staff = self.token("staff")
        camera_unit = self.equipment["camera"]["units"][0]["id"]
        for owner, name, data, extra in (
            (self.named["wall"], "wall.png", _png(), {"caption": "Front"}),
            (self.named["wall"], "rider.pdf", PDF, {"position": "1"}),
            (camera_unit, "scratch.png", _png(), {}),
            (self.named["stage"], "render.png", _png(), {}),
            (self.named["confirmed"], "delivery-note.pdf", PDF, {}),
            (await self.current_version("stage"), "v1.png", _png(), {}),
            ("gallery", "show.png", _png(), {"public": "true"}),
            ("gallery", "prices.pdf", PDF, {}),
        ):
            await self.upload(staff, owner, name, data, **extra)
        await self.upload(self.token("admin of cmh"), "gallery", "tent.png", _png(), public="true")

    async def current_version(self, design: str) -> str:
        read = await self.api.data(
            "query($id: ID!) { node(id: $id) { ... on Design { currentVersion { id } } } }",
            {"id": self.named[design]},
            token=self.token("staff"),
        )
        version: str = read["node"]["currentVersion"]["id"]
        return version

    async def upload(self, token: str, owner: str, filename: str, data: bytes, **params: str) -> None:
        response = await self.api.client.post(
            "/files",
            params={"owner": owner, "filename": filename, **params},
            content=data,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 201, response.text

    async def other_tenant(self) -> None:
        """A little of everything in ``cmh``; the operator at work in ``esr``."""
        other = self.tokens["admin of cmh"] = await self.api.token("cmh", "admin@cmh.example")
        await self.user(other, "customer@cmh.example", "CUSTOMER", "Cmh Customer")
        marquee = await self.item(
            other, "marquee", name="Marquee", tracking="BULK", quantity=3, tags=["tent"]
        )
        self.named["marquee"] = marquee["id"]
        await self.reservation("admin of cmh", [line(marquee, 2)], startsAt=at(0), endsAt=at(4))
        tent = await self.design("admin of cmh", "Tent", items=[item(marquee, 1)])
        await self.ok(UPDATE_DESIGN, other, "DesignSuccess", id=tent, status="PUBLISHED")
        await self.share("admin of cmh", tent)
        assumed = await self.ok(
            ASSUME_TENANT,
            self.token("operator"),
            "AssumeTenantSuccess",
            tenantId=self.named["esr"],
            reason="Ticket 7: seating",
        )
        self.tokens["operator in esr"] = assumed["accessToken"]
        # A version saved by an operator in the tenant has no creator.
        await self.ok(
            SAVE_VERSION,
            self.token("operator in esr"),
            "SaveDesignVersionSuccess",
            designId=self.named["stage"],
            configuration={},
            items=[item(self.equipment["truss"], 1)],
            expectedVersion=2,
        )

    async def enquiries(self) -> None:
        """A guest's enquiry with everything (quoted, assigned, a note and a reply), a customer's won
        one, a nameless customer's lost one, a bare guest's in ``cmh``."""
        staff = self.token("staff")
        day = (datetime.now(UTC) + timedelta(days=30)).date()
        await self.ok(
            SUBMIT,
            None,
            "SubmitEnquirySuccess",
            tenant="esr",
            name="Gwen Guest",
            email="gwen@guests.example",
            phone="+43 1 234 567",
            eventDate=day.isoformat(),
            eventEndDate=(day + timedelta(days=2)).isoformat(),
            venue="Castle <Hall> & Garden",
            guestCount=250,
            message="A wedding «en plein air»",
            designShareToken=self.shares[0]["token"],
            items=[{"equipmentId": self.named["wall"], "quantity": 4}, {"equipmentId": self.named["camera"]}],
        )
        [quoted] = (await self.api.data("{ enquiries { edges { node { id } } } }", token=staff))["enquiries"][
            "edges"
        ]
        quoted_id = quoted["node"]["id"]
        self.named["enquiry"] = quoted_id
        await self.ok(ASSIGN, staff, "EnquirySuccess", id=quoted_id, assigneeId=self.named["staff"])
        for status in ("IN_PROGRESS", "QUOTED"):
            await self.ok(SET_STATUS, staff, "EnquirySuccess", id=quoted_id, status=status)
        for kind, text in (
            ("NOTE", "Check the castle's power"),
            ("REPLY", "Yes, we can: 4 walls, 1 camera."),
        ):
            await self.ok(
                ADD_MESSAGE, staff, "EnquiryMessageSuccess", enquiryId=quoted_id, kind=kind, text=text
            )
        won = await self.ok(
            SUBMIT,
            self.token("customer"),
            "SubmitEnquirySuccess",
            message="Truss for the school play",
            items=[{"equipmentId": self.equipment["truss"]["id"], "quantity": 1}],
        )
        await self.ok(
            CONVERT,
            staff,
            "ConvertEnquirySuccess",
            enquiryId=won["enquiry"]["id"],
            startsAt=at(300),
            endsAt=at(304),
        )
        lost = await self.ok(SUBMIT, self.token("nameless"), "SubmitEnquirySuccess", name="No name given")
        await self.ok(SET_STATUS, staff, "EnquirySuccess", id=lost["enquiry"]["id"], status="LOST")
        await self.ok(
            SUBMIT, None, "SubmitEnquirySuccess", tenant="cmh", name="Cy", email="cy@guests.example"
        )


async def _failed_export(services: Services, tenant: str) -> None:
    """An export the worker gave up on, as one past ``RIGBOOK_EXPORT_MAX_BYTES`` ends."""
    decoded = from_global_id(tenant)
    assert decoded is not None
    tenant_id = decoded[1]
    async with services.database.transaction(tenant_id) as session:
        session.add(
            TenantExport(
                tenant_id=tenant_id,
                status=ExportStatus.FAILED,
                format="ndjson",
                groups=["users"],
                error="The export is larger than RIGBOOK_EXPORT_MAX_BYTES allows.",
                finished_at=datetime.now(UTC),
            )
        )


REQUEST_EXPORT = """
mutation($input: RequestTenantExportInput!) {
  requestTenantExport(input: $input) {
    __typename ... on TenantExportSuccess { export { id } } ... on Error { code message }
  }
}
"""


async def build_world(api: Api, services: Services) -> World:
    """Seed both tenants (``esr``, rich; ``cmh``, small) and sign every kind of caller in."""
    build = _Builder(api)
    await build.people(services)
    await build.catalogue()
    await build.bookings()
    await build.designs()
    await build.other_tenant()
    await build.files()
    await build.enquiries()
    build.named |= await seed_webhooks(api, services, build.token("admin"))
    await build.reports(services)
    requested = await build.ok(
        REQUEST_EXPORT, build.token("admin"), "TenantExportSuccess", only=["USERS"], format="CSV"
    )
    build.named["export"] = requested["export"]["id"]
    # The worker writes the export (and the thumbnails), so their finished fields hold values.
    await deliver(services)
    await _failed_export(services, build.named["esr"])
    world = World(
        tokens={caller: build.tokens[caller] for caller in CALLERS},
        share_tokens=[made["token"] for made in build.shares],
        named=build.named,
    )
    await _collect(api, world, [build.token(caller) for caller in ("admin", "admin of cmh", "operator")])
    return world


async def _collect(api: Api, world: World, tokens: list[str]) -> None:
    """Every global id and cursor that ``tokens`` can read."""
    ids: dict[str, None] = {}
    cursors: dict[str, dict[str, None]] = {}

    def walk(value: Any, root: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "id" and isinstance(inner, str):
                    ids[inner] = None
                elif key == "cursor" and isinstance(inner, str):
                    cursors.setdefault(root, {})[inner] = None
                else:
                    walk(inner, root)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, root)

    for token in tokens:
        for query in IDS:
            root = query.split()[1].partition("(")[0]
            walk((await api.post(query, token=token)).get("data"), root)
    for webhook in [found for found in ids if (from_global_id(found) or ("",))[0] == "Webhook"]:
        walk(
            (await api.post(DELIVERY_IDS, {"id": webhook}, token=tokens[0])).get("data"), "webhookDeliveries"
        )
    world.ids = list(ids)
    world.cursors = {root: list(found) for root, found in cursors.items()}
