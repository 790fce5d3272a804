"""The demo designs: seeded once, over whatever part of the catalogue exists, with a working link."""

from __future__ import annotations

from auth.services import Services
from db.tables import Equipment, Tracking
from resolvers.demo.designs import demo_share_token, seed_demo_designs
from tests.api import Api, TenantUsers, make_tenant_with_users
from tests.designs import shared

LIST = """
{ designs(first: 10, orderBy: {field: NAME}) { totalCount edges { node {
  name status owner { role } versions { number items { quantity equipment { code } } }
} } } }
"""


async def test_demo_designs_skip_missing_equipment_and_are_seeded_once(api: Api, services: Services) -> None:
    esr: TenantUsers = await make_tenant_with_users(services, "esr")
    async with services.database.transaction(esr.tenant.id) as session:
        session.add(
            Equipment(
                tenant_id=esr.tenant.id, name="Panel", code="ESR-LED-P26", tracking=Tracking.BULK, quantity=50
            )
        )
    tokens = await seed_demo_designs(services, esr.tenant.id, "esr")
    again = await seed_demo_designs(services, esr.tenant.id, "esr")
    assert (
        tokens
        == again
        == {"Outdoor LED stage 6x4m": demo_share_token(esr.tenant.id, "Outdoor LED stage 6x4m")}
    )

    token = await api.token("esr", esr.manager.email)
    designs = (await api.data(LIST, token=token))["designs"]
    assert designs["totalCount"] == 3
    by_name = {edge["node"]["name"]: edge["node"] for edge in designs["edges"]}
    stage = by_name["Outdoor LED stage 6x4m"]
    assert (stage["status"], stage["owner"]) == ("PUBLISHED", {"role": "MANAGER"})
    assert [version["number"] for version in stage["versions"]] == [2, 1]
    assert stage["versions"][0]["items"] == []  # none of its equipment exists in this catalogue
    assert by_name["Conference LED wall 4x2m"]["versions"][0]["items"] == [
        {"quantity": 32, "equipment": {"code": "ESR-LED-P26"}}
    ]
    assert by_name["Product launch backdrop"]["owner"] == {"role": "CUSTOMER"}

    seen = await shared(api, tokens["Outdoor LED stage 6x4m"])
    assert seen is not None
    assert (seen["name"], seen["tenantName"], seen["currentVersion"]["number"]) == (
        "Outdoor LED stage 6x4m",
        "ESR",
        2,
    )
