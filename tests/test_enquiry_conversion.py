"""``convertEnquiry``: a reservation under the usual stock rules and the enquiry WON, together or not at all."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlmodel import col, func, select

from auth.services import Services
from db.tables import AuditEvent, Enquiry, Reservation
from schema.node import to_global_id
from tests.api import Api, TenantUsers, error_codes
from tests.booking import at, create_equipment, line, reserve
from tests.enquiries import CONVERT, call, guest, listed, submit

RACERS = 6


async def written(services: Services, users: TenantUsers) -> tuple[int, int]:
    """How many reservations the tenant has, and how many audit entries."""
    async with services.database.session(users.tenant.id) as session:
        reservations = await session.scalar(
            select(func.count()).select_from(Reservation).where(col(Reservation.tenant_id) == users.tenant.id)
        )
        entries = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.tenant_id) == users.tenant.id)
        )
    return int(reservations or 0), int(entries or 0)


async def enquiry_row(services: Services, users: TenantUsers) -> Enquiry:
    async with services.database.session(users.tenant.id) as session:
        statement = select(Enquiry).where(col(Enquiry.tenant_id) == users.tenant.id)
        return (await session.scalars(statement)).one()


async def convert(api: Api, token: str, enquiry_id: str, **values: Any) -> dict[str, Any]:
    return await call(
        api, CONVERT, "convertEnquiry", token, enquiryId=enquiry_id, startsAt=at(0), endsAt=at(4), **values
    )


async def test_a_customers_enquiry_becomes_their_confirmed_reservation_and_is_won(
    api: Api, esr: TenantUsers, customer_token: str, staff_token: str, wall: dict[str, Any]
) -> None:
    made = await submit(
        api, {"message": "Two walls", "items": [{"equipmentId": wall["id"], "quantity": 2}]}, customer_token
    )
    enquiry_id = made["enquiry"]["id"]
    # No lines given: the enquiry's own items are booked.
    done = await convert(api, staff_token, enquiry_id, title="School play")
    assert done["__typename"] == "ConvertEnquirySuccess", done
    reservation = done["reservation"]
    assert (reservation["status"], reservation["customer"], reservation["lines"]) == (
        "CONFIRMED",
        {"email": esr.customer.email},
        [{"quantity": 2, "equipment": {"name": "LED wall"}}],
    )
    assert done["enquiry"]["status"] == "WON"
    assert done["enquiry"]["reservation"] == {"id": reservation["id"], "number": reservation["number"]}
    # The customer sees the link from their enquiry to their reservation.
    [own] = await listed(api, customer_token)
    assert own["reservation"] == {"number": reservation["number"], "status": "CONFIRMED"}
    # Done once: a WON enquiry is not converted again.
    again = await convert(api, staff_token, enquiry_id)
    assert again["__typename"] == "ConflictError", again


async def test_an_overbooked_conversion_writes_nothing_and_leaves_the_enquiry_as_it_was(
    api: Api,
    services: Services,
    esr: TenantUsers,
    staff_token: str,
    wall: dict[str, Any],
    deck: dict[str, Any],
) -> None:
    await submit(api, guest())
    enquiry_id = (await listed(api, staff_token))[0]["id"]
    taken = await reserve(api, staff_token, [line(wall, 5)], starts=1, ends=3)
    assert taken["__typename"] == "CreateReservationSuccess"
    before = await written(services, esr)
    refused = await convert(api, staff_token, enquiry_id, lines=[line(deck, 2), line(wall, 2)])
    assert refused["__typename"] == "ConflictError", refused
    assert refused["shortages"] == [{"requested": 2, "available": 1, "equipment": {"name": "LED wall"}}]
    assert await written(services, esr) == before  # no reservation, no audit entry, nothing
    row = await enquiry_row(services, esr)
    assert (row.status, row.version, row.reservation_id) == ("NEW", 1, None)
    # A guest's enquiry with no items and no lines: there is nothing to book.
    empty = await convert(api, staff_token, enquiry_id)
    assert empty["__typename"] == "ValidationError" and empty["fields"][0]["field"] == "lines"
    bad_window = await call(
        api,
        CONVERT,
        "convertEnquiry",
        staff_token,
        enquiryId=enquiry_id,
        startsAt=at(4),
        endsAt=at(1),
        lines=[line(deck)],
    )
    assert bad_window["__typename"] == "ValidationError"
    assert await written(services, esr) == before
    # With what fits, it goes through, for nobody (a guest has no account).
    done = await convert(api, staff_token, enquiry_id, lines=[line(deck, 2), line(wall, 1)])
    assert done["__typename"] == "ConvertEnquirySuccess" and done["reservation"]["customer"] is None


async def test_another_tenants_ids_and_other_roles_are_refused(
    api: Api,
    esr: TenantUsers,
    staff_token: str,
    customer_token: str,
    cmh_staff_token: str,
    cmh_manager_token: str,
    wall: dict[str, Any],
) -> None:
    await submit(api, guest())
    enquiry_id = (await listed(api, staff_token))[0]["id"]
    # Another tenant's staff find no such enquiry; their equipment is no line here.
    missing = await convert(api, cmh_staff_token, enquiry_id, lines=[line(wall)])
    assert (missing["__typename"], missing["field"]) == ("NotFoundError", "id")
    theirs = await create_equipment(api, cmh_manager_token, name="Marquee", code="MQ", quantity=3)
    refused = await convert(api, staff_token, enquiry_id, lines=[line(theirs)])
    assert (refused["__typename"], refused["field"]) == ("NotFoundError", "lines.0.equipmentId")
    wrong_type = await convert(api, staff_token, to_global_id("Equipment", esr.staff.id), lines=[line(wall)])
    assert wrong_type["__typename"] == "NotFoundError"
    variables = {
        "input": {"enquiryId": enquiry_id, "startsAt": at(0), "endsAt": at(4), "lines": [line(wall)]}
    }
    assert error_codes(await api.post(CONVERT, variables, customer_token)) == ["FORBIDDEN"]
    assert error_codes(await api.post(CONVERT, variables)) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("wall_quantity", [100])
async def test_staff_converting_one_enquiry_at_once_make_exactly_one_reservation(
    api: Api, services: Services, esr: TenantUsers, staff_token: str, manager_token: str, wall: dict[str, Any]
) -> None:
    await submit(api, guest(items=[{"equipmentId": wall["id"], "quantity": 1}]))
    enquiry_id = (await listed(api, staff_token))[0]["id"]
    tokens = [staff_token, manager_token]
    results = await asyncio.wait_for(
        asyncio.gather(*(convert(api, tokens[index % 2], enquiry_id) for index in range(RACERS))), timeout=120
    )
    assert Counter(result["__typename"] for result in results) == {
        "ConvertEnquirySuccess": 1,
        "ConflictError": RACERS - 1,
    }
    reservations, _ = await written(services, esr)
    assert reservations == 1
    row = await enquiry_row(services, esr)
    [won] = [result for result in results if result["__typename"] == "ConvertEnquirySuccess"]
    assert row.status == "WON" and to_global_id("Reservation", row.reservation_id) == won["reservation"]["id"]  # type: ignore[arg-type]
