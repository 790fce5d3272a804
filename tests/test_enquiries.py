"""Enquiries over the real app: anyone sends one, staff hear of it by mail, work on it and answer it.

Mail goes through the queue to a real SMTP server on loopback (``tests/mailbox.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select

from auth.services import Services
from db.tables import AuditEvent, Enquiry, EnquiryMessage
from schema.node import to_global_id
from settings import Settings
from tests.api import Api, TenantUsers, error_codes
from tests.booking import create_equipment
from tests.conftest import settings_for
from tests.designs import CREATE_DESIGN, SHARE_DESIGN
from tests.enquiries import (
    ADD_MESSAGE,
    ASSIGN,
    LIST,
    SET_STATUS,
    call,
    guest,
    listed,
    submit,
)
from tests.mailbox import Mailbox, free_port, part, smtp_server
from tests.notify import deliver, turn

TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mailbox(port: int) -> Iterator[Mailbox]:
    box = Mailbox()
    with smtp_server(box, port):
        yield box


@pytest.fixture
def settings(database_url: str, port: int) -> Settings:
    return settings_for(
        database_url,
        smtp_url=f"smtp://127.0.0.1:{port}",
        enquiry_max_per_address=6,
        enquiry_max_per_email=3,
    )


async def stored(services: Services, users: TenantUsers) -> list[Enquiry]:
    async with services.database.session(users.tenant.id) as session:
        statement = select(Enquiry).where(col(Enquiry.tenant_id) == users.tenant.id)
        return list((await session.scalars(statement.order_by(col(Enquiry.created_at)))).all())


async def first_enquiry_id(api: Api, token: str) -> str:
    found = await listed(api, token)
    assert found, "no enquiry"
    enquiry_id: str = found[0]["id"]
    return enquiry_id


async def test_a_guests_enquiry_is_stored_and_mailed_to_the_admins_and_managers(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    staff_token: str,
    wall: dict[str, Any],
) -> None:
    values = guest(
        phone="+43 1 234",
        eventDate=TOMORROW.isoformat(),
        eventEndDate=(TOMORROW + timedelta(days=2)).isoformat(),
        venue="Castle <b>Hall</b>",
        guestCount=120,
        items=[{"equipmentId": wall["id"], "quantity": 2}],
    )
    result = await submit(api, values)
    # The guest sees nothing stored: no enquiry, no stock, nobody else.
    assert result == {
        "__typename": "SubmitEnquirySuccess",
        "message": "Thank you: your enquiry was received. Someone will be in touch.",
        "enquiry": None,
    }
    [row] = await stored(services, esr)
    assert (row.status, row.name, row.email, row.guest_count, row.customer_id) == (
        "NEW",
        "Gwen Guest",
        "gwen@guests.example",
        120,
        None,
    )
    [shown] = await listed(api, staff_token)
    assert shown["items"] == [{"quantity": 2, "equipment": {"name": "LED wall"}}]
    assert shown["eventDate"] == TOMORROW.isoformat() and shown["venue"] == "Castle <b>Hall</b>"

    assert await deliver(services) >= 3
    assert mailbox.recipients() == sorted([esr.admin.email, esr.manager.email])
    message = mailbox.to(esr.manager.email)[0]
    assert message["Subject"] == "ESR: new enquiry from Gwen Guest"
    text, html = part(message, "plain"), part(message, "html")
    assert "A wedding for 120 in June." in text and "Guests: 120" in text
    assert "Castle &lt;b&gt;Hall&lt;/b&gt;" in html  # what a stranger typed is escaped

    # The write is in the audit trail, by an anonymous actor, announcing the event.
    async with services.database.session(esr.tenant.id) as session:
        entry = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.target_type) == "enquiry"))
        ).one()
    assert (entry.event, entry.actor_kind, entry.actor_id) == ("enquiry.created", "anonymous", None)


async def test_a_customers_enquiry_is_linked_to_them_and_reaches_staff_too(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    customer_token: str,
    manager_token: str,
) -> None:
    # Signed in, the tenant comes from the token; name and address default to the account's.
    result = await submit(api, {"message": "Stage for a school play"}, token=customer_token)
    assert result["__typename"] == "SubmitEnquirySuccess", result
    enquiry = result["enquiry"]
    assert (enquiry["status"], enquiry["email"], enquiry["customer"]) == (
        "NEW",
        esr.customer.email,
        {"email": esr.customer.email},
    )
    assert (await submit(api, {"tenant": "ESR", "message": "again"}, token=customer_token))[
        "__typename"
    ] == "SubmitEnquirySuccess"
    # Another tenant's slug is refused: a customer enquires with their own company.
    refused = await submit(api, {"tenant": "cmh", "message": "x"}, token=customer_token)
    assert refused["__typename"] == "ForbiddenError", refused

    await deliver(services)
    assert sorted(mailbox.recipients()) == sorted([esr.admin.email, esr.manager.email] * 2)

    # A manager who turned ENQUIRIES off is not mailed.
    mailbox.messages.clear()
    assert (await turn(api, manager_token, ENQUIRIES=False))["__typename"] == "NotificationPreferencesSuccess"
    await submit(api, guest())
    await deliver(services)
    assert mailbox.recipients() == [esr.admin.email]


async def test_an_unknown_company_is_answered_as_a_known_one_and_nothing_is_stored(
    api: Api, services: Services, esr: TenantUsers
) -> None:
    known = await submit(api, guest())
    unknown = await submit(api, guest(tenant="no-such-company"))
    assert unknown == known
    # Ids a company does not have are refused alike for a known company and an unknown one.
    for tenant in ("esr", "no-such-company"):
        bad_id = await submit(
            api, guest(tenant=tenant, items=[{"equipmentId": to_global_id("Equipment", uuid.UUID(int=1))}])
        )
        assert (bad_id["__typename"], bad_id["field"]) == ("NotFoundError", "items.0.equipmentId")
        bad_token = await submit(api, guest(tenant=tenant, designShareToken="x.y.z"))
        assert (bad_token["__typename"], bad_token["field"]) == ("NotFoundError", "designShareToken")
    # Nothing was stored for either.
    assert len(await stored(services, esr)) == 1


async def test_another_tenants_ids_and_share_links_are_refused_like_unknown_ones(
    api: Api,
    services: Services,
    esr: TenantUsers,
    cmh: TenantUsers,
    manager_token: str,
    cmh_manager_token: str,
    wall: dict[str, Any],
) -> None:
    theirs = await create_equipment(api, cmh_manager_token, name="Marquee", code="MQ-1", quantity=2)
    # (Each from its own address: refusals spend the per-email budget too.)
    refused = await submit(api, guest(email="a@guests.example", items=[{"equipmentId": theirs["id"]}]))
    assert (refused["__typename"], refused["field"]) == ("NotFoundError", "items.0.equipmentId")
    # A malformed id, or an id of another type, is no equipment either.
    for bad in ("nonsense", to_global_id("User", esr.staff.id)):
        refused = await submit(api, guest(email=f"{len(bad)}@guests.example", items=[{"equipmentId": bad}]))
        assert refused["__typename"] == "NotFoundError", refused

    async def share(token: str) -> str:
        design = (await api.data(CREATE_DESIGN, {"input": {"name": "Tent"}}, token=token))["createDesign"]
        shared = (await api.data(SHARE_DESIGN, {"input": {"designId": design["design"]["id"]}}, token=token))[
            "shareDesign"
        ]
        token_text: str = shared["token"]
        return token_text

    cmh_token, esr_token = await share(cmh_manager_token), await share(manager_token)
    refused = await submit(api, guest(email="b@guests.example", designShareToken=cmh_token))
    assert (refused["__typename"], refused["field"]) == ("NotFoundError", "designShareToken")
    accepted = await submit(api, guest(designShareToken=esr_token, items=[{"equipmentId": wall["id"]}]))
    assert accepted["__typename"] == "SubmitEnquirySuccess"
    [row] = await stored(services, esr)
    assert row.design_id is not None
    assert await stored(services, cmh) == []


async def test_one_address_is_throttled_and_so_is_one_email(
    api: Api, services: Services, esr: TenantUsers
) -> None:
    # Three per email and window.
    for _ in range(3):
        assert (await submit(api, guest()))["__typename"] == "SubmitEnquirySuccess"
    limited = await submit(api, guest())
    assert limited["__typename"] == "RateLimitedError" and limited["retryAfter"] > 0
    # Other emails from the same address: six in all per address.
    for index in range(3):
        assert (await submit(api, guest(email=f"g{index}@guests.example")))["__typename"] == (
            "SubmitEnquirySuccess"
        )
    limited = await submit(api, guest(email="fresh@guests.example"))
    assert limited["__typename"] == "RateLimitedError"
    assert len(await stored(services, esr)) == 6


async def test_a_filled_honeypot_is_answered_as_usual_and_nothing_is_kept(
    api: Api, services: Services, mailbox: Mailbox, esr: TenantUsers
) -> None:
    bot = await submit(api, guest(website="http://spam.example"))
    assert bot == await submit(api, guest(email="human@guests.example"))
    assert [row.email for row in await stored(services, esr)] == ["human@guests.example"]


@pytest.mark.usefixtures("esr")
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tenant": None}, "tenant"),
        ({"name": " "}, "name"),
        ({"email": "not-an-address"}, "email"),
        ({"name": "n" * 201}, "name"),
        ({"phone": "1" * 41}, "phone"),
        ({"venue": "v" * 301}, "venue"),
        ({"message": "m" * 5001}, "message"),
        ({"guestCount": 0}, "guestCount"),
        ({"guestCount": 100_001}, "guestCount"),
        ({"eventDate": "2001-01-01"}, "eventDate"),
        ({"eventDate": "2999-01-01"}, "eventDate"),
        (
            {"eventDate": TOMORROW.isoformat(), "eventEndDate": (TOMORROW - timedelta(days=1)).isoformat()},
            "eventEndDate",
        ),
        ({"eventEndDate": TOMORROW.isoformat()}, "eventEndDate"),
        ({"items": [{"equipmentId": "x", "quantity": 0}]}, "items.0.quantity"),
        ({"designShareToken": "t" * 201}, "designShareToken"),
    ],
)
async def test_every_field_is_capped(api: Api, fields: dict[str, Any], field: str) -> None:
    refused = await submit(api, guest(**fields))
    assert refused["__typename"] == "ValidationError", refused
    assert field in [problem["field"] for problem in refused["fields"]]


@pytest.mark.usefixtures("esr")
async def test_too_many_items_are_refused_before_anything_runs(api: Api) -> None:
    items = [{"equipmentId": "x"}] * 51
    refused = await submit(api, guest(items=items))
    assert refused["__typename"] == "ValidationError", refused


async def test_the_status_moves_only_along_its_transitions(
    api: Api, esr: TenantUsers, staff_token: str, customer_token: str
) -> None:
    await submit(api, guest())
    enquiry_id = await first_enquiry_id(api, staff_token)

    async def move(status: str, token: str = staff_token, **extra: Any) -> dict[str, Any]:
        return await call(api, SET_STATUS, "setEnquiryStatus", token, id=enquiry_id, status=status, **extra)

    assert (await move("IN_PROGRESS"))["enquiry"]["status"] == "IN_PROGRESS"
    refused = await move("NEW")
    assert refused["__typename"] == "ConflictError" and "cannot move to NEW" in refused["message"]
    assert (await move("QUOTED", expectedVersion=2))["enquiry"]["version"] == 3
    stale = await move("LOST", expectedVersion=2)
    assert stale["__typename"] == "ConflictError" and "version 3" in stale["message"]
    assert (await move("LOST"))["enquiry"]["status"] == "LOST"
    assert (await move("WON"))["__typename"] == "ConflictError"
    assert (await move("IN_PROGRESS"))["enquiry"]["status"] == "IN_PROGRESS"
    assert (await move("QUOTED"))["enquiry"]["status"] == "QUOTED"
    assert (await move("WON"))["enquiry"]["status"] == "WON"
    for status in ("IN_PROGRESS", "CLOSED", "LOST"):
        assert (await move(status))["__typename"] == "ConflictError"  # WON is final
    # Customers, anonymous callers and unknown ids.
    assert error_codes(
        await api.post(SET_STATUS, {"input": {"id": enquiry_id, "status": "LOST"}}, customer_token)
    ) == ["FORBIDDEN"]
    assert error_codes(await api.post(SET_STATUS, {"input": {"id": enquiry_id, "status": "LOST"}})) == [
        "UNAUTHENTICATED"
    ]
    missing = await call(api, SET_STATUS, "setEnquiryStatus", staff_token, id="nonsense", status="LOST")
    assert (missing["__typename"], missing["field"]) == ("NotFoundError", "id")


async def test_assignment_is_to_staff_of_the_same_tenant_only(
    api: Api, esr: TenantUsers, cmh: TenantUsers, staff_token: str, manager_token: str
) -> None:
    await submit(api, guest())
    enquiry_id = await first_enquiry_id(api, staff_token)

    async def assign(assignee: Any) -> dict[str, Any]:
        return await call(api, ASSIGN, "assignEnquiry", manager_token, id=enquiry_id, assigneeId=assignee)

    done = await assign(to_global_id("User", esr.staff.id))
    assert done["enquiry"]["assignedTo"] == {"email": esr.staff.email}
    refused = await assign(to_global_id("User", esr.customer.id))
    assert refused["__typename"] == "ValidationError" and refused["fields"][0]["field"] == "assigneeId"
    for other in (to_global_id("User", cmh.staff.id), "nonsense", to_global_id("Equipment", esr.staff.id)):
        refused = await assign(other)
        assert (refused["__typename"], refused["field"]) == ("NotFoundError", "assigneeId"), refused
    assert [
        e["id"] for e in await listed(api, staff_token, assignedTo=to_global_id("User", esr.staff.id))
    ] == [enquiry_id]
    assert await listed(api, staff_token, assignedTo=to_global_id("User", cmh.staff.id)) == []
    assert await listed(api, staff_token, assignedTo="nonsense") == []
    assert (await assign(None))["enquiry"]["assignedTo"] is None


async def test_notes_stay_internal_and_replies_are_mailed_to_the_enquirer(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    staff_token: str,
    customer_token: str,
) -> None:
    await submit(api, {"message": "Need a stage"}, token=customer_token)
    await submit(api, guest())
    await deliver(services)
    mailbox.messages.clear()
    mine, theirs = sorted(await listed(api, staff_token), key=lambda e: e["email"] != esr.customer.email)

    for enquiry in (mine, theirs):
        note = await call(
            api,
            ADD_MESSAGE,
            "addEnquiryMessage",
            staff_token,
            enquiryId=enquiry["id"],
            kind="NOTE",
            text="Pricey one",
        )
        assert note["__typename"] == "EnquiryMessageSuccess", note
        reply = await call(
            api,
            ADD_MESSAGE,
            "addEnquiryMessage",
            staff_token,
            enquiryId=enquiry["id"],
            kind="REPLY",
            text="We can do it for 900.",
        )
        assert reply["enquiryMessage"]["author"] == {"email": esr.staff.email}
    await deliver(services)
    # Replies only, one to each enquirer's address; no note is ever mailed.
    assert mailbox.recipients() == sorted([esr.customer.email, "gwen@guests.example"])
    for message in mailbox.messages:
        assert message["Subject"] == "ESR: a reply to your enquiry"
        assert "We can do it for 900." in part(message, "plain") and "Pricey" not in part(message, "plain")

    # Staff see the whole thread; the customer sees their own enquiry and its replies only.
    by_id = {e["id"]: e for e in await listed(api, staff_token)}
    assert [m["kind"] for m in by_id[mine["id"]]["messages"]] == ["NOTE", "REPLY"]
    [own] = await listed(api, customer_token)
    assert own["id"] == mine["id"]
    assert own["messages"] == [{"kind": "REPLY", "text": "We can do it for 900.", "author": None}]
    # Nor through node(id:): the note's id finds nothing for the customer.
    async with services.database.session(esr.tenant.id) as session:
        note_row = (
            await session.scalars(select(EnquiryMessage).where(col(EnquiryMessage.kind) == "NOTE"))
        ).first()
    assert note_row is not None
    node = "query($id: ID!) { node(id: $id) { id ... on EnquiryMessage { text } } }"
    note_id = to_global_id("EnquiryMessage", note_row.id)
    assert (await api.data(node, {"id": note_id}, token=customer_token))["node"] is None
    assert (await api.data(node, {"id": note_id}, token=staff_token))["node"]["text"] == "Pricey one"
    assert (await api.data(node, {"id": theirs["id"]}, token=customer_token))["node"] is None

    # Customers and anonymous callers may not write in a thread; empty text is refused.
    variables = {"input": {"enquiryId": mine["id"], "kind": "REPLY", "text": "hi"}}
    assert error_codes(await api.post(ADD_MESSAGE, variables, customer_token)) == ["FORBIDDEN"]
    assert error_codes(await api.post(ADD_MESSAGE, variables)) == ["UNAUTHENTICATED"]
    empty = await call(
        api, ADD_MESSAGE, "addEnquiryMessage", staff_token, enquiryId=mine["id"], kind="NOTE", text=" "
    )
    assert empty["__typename"] == "ValidationError"


async def test_the_list_filters_and_pages_and_is_for_staff_or_a_customers_own(
    api: Api,
    esr: TenantUsers,
    cmh: TenantUsers,
    staff_token: str,
    admin_token: str,
    customer_token: str,
    cmh_staff_token: str,
    operator_token: str,
) -> None:
    for index in range(3):
        await submit(
            api, guest(name=f"Guest {index}", email=f"g{index}@guests.example", venue=f"Barn {index}")
        )
    await submit(api, {"message": "mine"}, token=customer_token)
    everything = await listed(api, staff_token)
    assert len(everything) == 4 and everything[0]["email"] == esr.customer.email  # newest first
    assert [e["name"] for e in await listed(api, admin_token, search="BARN 1")] == ["Guest 1"]
    assert await listed(api, staff_token, search="100%_") == []
    await call(api, SET_STATUS, "setEnquiryStatus", staff_token, id=everything[1]["id"], status="CLOSED")
    assert [e["id"] for e in await listed(api, staff_token, status=["CLOSED"])] == [everything[1]["id"]]
    assert len(await listed(api, staff_token, status=["NEW"])) == 3
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await listed(api, staff_token, **{"from": later}) == []
    assert len(await listed(api, staff_token, to=later)) == 4
    naive = await api.post(LIST, {"filter": {"from": "2031-01-01T10:00:00"}}, staff_token)
    assert error_codes(naive) == ["BAD_USER_INPUT"]
    too_long = await api.post(LIST, {"filter": {"search": "s" * 101}}, staff_token)
    assert error_codes(too_long) == ["BAD_USER_INPUT"]

    page = (await api.data(LIST, {"first": 2}, token=staff_token))["enquiries"]
    assert page["totalCount"] == 4 and page["pageInfo"]["hasNextPage"]
    rest = (await api.data(LIST, {"first": 2, "after": page["pageInfo"]["endCursor"]}, token=staff_token))[
        "enquiries"
    ]
    assert [e["node"]["id"] for e in page["edges"] + rest["edges"]] == [e["id"] for e in everything]

    [own] = await listed(api, customer_token)
    assert own["email"] == esr.customer.email
    assert await listed(api, cmh_staff_token) == []
    assert error_codes(await api.post(LIST, {})) == ["UNAUTHENTICATED"]
    assert error_codes(await api.post(LIST, {}, operator_token)) == ["FORBIDDEN"]


async def test_enquiry_writes_are_audited_with_their_events(
    api: Api, services: Services, esr: TenantUsers, staff_token: str
) -> None:
    await submit(api, guest())
    enquiry_id = await first_enquiry_id(api, staff_token)
    await call(api, SET_STATUS, "setEnquiryStatus", staff_token, id=enquiry_id, status="IN_PROGRESS")
    await call(
        api, ADD_MESSAGE, "addEnquiryMessage", staff_token, enquiryId=enquiry_id, kind="NOTE", text="n"
    )
    await call(
        api, ADD_MESSAGE, "addEnquiryMessage", staff_token, enquiryId=enquiry_id, kind="REPLY", text="r"
    )
    async with services.database.session(esr.tenant.id) as session:
        events = (
            await session.scalars(
                select(AuditEvent.event)
                .where(col(AuditEvent.target_type).in_(["enquiry", "enquiry_message"]))
                .order_by(col(AuditEvent.created_at))
            )
        ).all()
        actors = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                col(AuditEvent.actor_id) == esr.staff.id,
                col(AuditEvent.target_type).in_(["enquiry", "enquiry_message"]),
            )
        )
    assert list(events) == ["enquiry.created", "enquiry.changed", "enquiry.noted", "enquiry.replied"]
    assert actors == 3


async def test_one_enquiry_holds_a_bounded_number_of_messages(
    api: Api, staff_token: str, customer_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cost model prices `messages` by this cap, so it must hold where messages are added."""
    import resolvers.enquiries

    monkeypatch.setattr(resolvers.enquiries, "MAX_MESSAGES_PER_ENQUIRY", 2)
    await submit(api, {"message": "Need a stage"}, token=customer_token)
    enquiry_id = await first_enquiry_id(api, staff_token)
    for text in ("One", "Two", "Three"):
        added = await call(
            api, ADD_MESSAGE, "addEnquiryMessage", staff_token, enquiryId=enquiry_id, kind="NOTE", text=text
        )
        if text != "Three":
            assert added["__typename"] == "EnquiryMessageSuccess", added
    assert added["__typename"] == "ValidationError", added
    assert added["fields"] == [{"field": "enquiryId", "message": "Holds at most 2 notes and replies."}]
