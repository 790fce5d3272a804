"""A share link made for a user is mailed to them: sealed while queued, once, in their tenant only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from auth.services import Services
from schema.node import to_global_id
from settings import Settings
from tests.api import Api, TenantUsers, make_user
from tests.conftest import settings_for
from tests.designs import ERROR_FIELDS, create_design, mutate, shared
from tests.mailbox import Mailbox, free_port, part, smtp_server
from tests.notify import SHARE_LINK, Clock, counts, deliver, turn

SHARE = f"""
mutation($input: ShareDesignInput!) {{
  shareDesign(input: $input) {{
    __typename
    ... on ShareDesignSuccess {{ token share {{ id expiresAt recipient {{ email }} }} }}
    {ERROR_FIELDS}
  }}
}}
"""
LINK = re.compile(r"https://app\.example/shared\?token=(\S+)")


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, str]]:
    mailbox = Mailbox()
    with smtp_server(mailbox, free_port()) as url:
        yield mailbox, url


@pytest.fixture
def settings(database_url: str, smtp: tuple[Mailbox, str]) -> Settings:
    return settings_for(database_url, smtp_url=smtp[1], design_share_url=SHARE_LINK)


@pytest.fixture
def mailbox(smtp: tuple[Mailbox, str]) -> Mailbox:
    return smtp[0]


@pytest.fixture
async def design(api: Api, manager_token: str) -> dict[str, Any]:
    return await create_design(api, manager_token, "Garden marquee")


async def share_with(
    api: Api, token: str, design: dict[str, Any], recipient: str | None, **more: Any
) -> dict[str, Any]:
    return await mutate(api, SHARE, token, designId=design["id"], recipientId=recipient, **more)


async def test_a_share_made_for_a_customer_mails_them_the_link_sealed_at_rest(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    manager_token: str,
    design: dict[str, Any],
) -> None:
    customer = to_global_id("User", esr.customer.id)
    expires = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
    made = await share_with(api, manager_token, design, customer, expiresAt=expires.isoformat())
    assert made["__typename"] == "ShareDesignSuccess"
    assert made["share"]["recipient"] == {"email": esr.customer.email}
    token = made["token"]
    async with services.database.session(None) as session:
        stored = (await session.execute(text("SELECT * FROM outbox_email"))).mappings().all()
    assert [row["to_address"] for row in stored] == [esr.customer.email]
    assert token not in repr(stored) and token.rsplit(".", 1)[1] not in repr(stored)

    await deliver(services)  # the mail, and the design.shared event (which mails nobody again)
    [message] = mailbox.messages
    assert (message["To"], message["Subject"]) == (
        esr.customer.email,
        'ESR: Manager of esr shared the design "Garden marquee" with you',
    )
    found = LINK.search(part(message, "plain"))
    assert found is not None and found.group(1) == token
    assert f'href="{SHARE_LINK.format(token=token)}"' in part(message, "html")
    assert "until Sun 1 June 2031, 12:00 (UTC)" in part(message, "plain")
    assert (await shared(api, found.group(1)) or {})["name"] == "Garden marquee"
    assert await deliver(services) == 0 and len(mailbox.messages) == 1


async def test_a_recipient_who_turned_design_shares_off_gets_the_share_but_no_mail(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    manager_token: str,
    customer_token: str,
    design: dict[str, Any],
) -> None:
    await turn(api, customer_token, DESIGN_SHARES=False)
    made = await share_with(api, manager_token, design, to_global_id("User", esr.customer.id))
    assert made["__typename"] == "ShareDesignSuccess"
    await deliver(services)
    assert mailbox.messages == []


async def test_a_recipient_must_be_an_active_user_of_the_tenant_the_caller_sees(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    cmh: TenantUsers,
    manager_token: str,
    customer_token: str,
    design: dict[str, Any],
) -> None:
    inactive = await make_user(services, esr.tenant, email="gone@esr.example", is_active=False)
    own = await create_design(api, customer_token, "My tent")
    before = await counts(services, esr.tenant.id)
    refused = [
        await share_with(api, manager_token, design, to_global_id("User", cmh.customer.id)),  # another tenant
        await share_with(api, manager_token, design, to_global_id("User", inactive.id)),
        await share_with(
            api, manager_token, design, to_global_id("Design", esr.customer.id)
        ),  # not a user id
        await share_with(
            api, customer_token, own, to_global_id("User", esr.staff.id)
        ),  # customers see only themselves
    ]
    assert [(result["__typename"], result.get("field")) for result in refused] == [
        ("NotFoundError", "recipientId")
    ] * 4
    assert await counts(services, esr.tenant.id) == before  # no share, no event, no job, no mail
    await deliver(services)
    assert mailbox.messages == []

    mine = await share_with(api, customer_token, own, to_global_id("User", esr.customer.id))
    assert mine["__typename"] == "ShareDesignSuccess"
    await deliver(services)
    assert mailbox.recipients() == [esr.customer.email]


async def test_a_mailed_link_that_expires_before_it_is_sent_is_dropped(
    api: Api,
    services: Services,
    mailbox: Mailbox,
    esr: TenantUsers,
    manager_token: str,
    design: dict[str, Any],
) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    made = await share_with(
        api, manager_token, design, to_global_id("User", esr.staff.id), expiresAt=soon.isoformat()
    )
    assert made["__typename"] == "ShareDesignSuccess"

    clock = Clock()
    clock.advance(timedelta(minutes=10))
    await deliver(services, clock)
    assert mailbox.messages == []
    async with services.database.session(None) as session:
        [stored] = (await session.execute(text("SELECT body, last_error, sent_at FROM outbox_email"))).all()
    assert tuple(stored) == ("", "expired before it could be sent", None)
