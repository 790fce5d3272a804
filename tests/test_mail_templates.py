"""Every mail the notice table names renders, text and HTML, and the templates ship with the package."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from resolvers.mail_render import render
from resolvers.notices import RULES, Notice

ROOT = Path(__file__).parents[1]
RESERVATION = SimpleNamespace(
    number=12,
    title="Gala",
    starts_at=datetime(2031, 5, 1, 8, 0, tzinfo=UTC),
    ends_at=datetime(2031, 5, 1, 16, 0, tzinfo=UTC),
)
ENQUIRY = SimpleNamespace(
    name="Dee <script>",
    email="dee@example.com",
    phone="+43 1 234",
    event_date=datetime(2031, 5, 1, tzinfo=UTC).date(),
    event_end_date=None,
    venue="Hall",
    guest_count=120,
    items=[{"equipment_id": "x", "quantity": 2}],
    message="A wedding.",
)
FACTS = {
    "reservation": RESERVATION,
    "enquiry": ENQUIRY,
    "reply": "We can do it.",
    "author": "Bo",
    "customer": "Ada",
    "month": "April 2031",
    "url": "https://hooks.example/x",
    "reason": None,
    "design": "Marquee",
    "sharer": "Bo",
    "link": "https://app.example/shared?token=t",
    "token": "t",
    "expires_at": None,
}
NOTICES = [notice for rule in RULES.values() for notice in rule.notices]


@pytest.mark.parametrize("notice", NOTICES, ids=[notice.template for notice in NOTICES])
def test_each_notice_renders_a_subject_a_text_and_an_html_part_naming_the_tenant(notice: Notice) -> None:
    letter = render(
        notice.template,
        **FACTS,
        tenant="Event Sound & Rigging",
        timezone="Europe/Vienna",
        recipient="Cy",
        preference="these mails",
    )
    assert letter.subject.startswith("Event Sound & Rigging: ") and "\n" not in letter.subject
    assert "Event Sound & Rigging" in letter.text and "Hello Cy," in letter.text
    assert "Event Sound &amp; Rigging" in letter.html and letter.html.startswith("<!DOCTYPE html>")


def test_times_are_shown_on_the_tenants_clocks() -> None:
    letter = render(
        "pickup_reminder", **FACTS, tenant="ESR", timezone="Europe/Vienna", recipient="Cy", preference=None
    )
    assert letter.subject == "ESR: your pickup is on Thu 1 May 2031, 10:00 (Europe/Vienna)"


def test_the_templates_are_inside_a_package_the_wheel_includes() -> None:
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert "resolvers" in build["packages"] and "resolvers" in build["only-include"]
    templates = {path.name for path in (ROOT / "resolvers" / "mail_templates").iterdir()}
    for notice in NOTICES:
        assert {f"{notice.template}.txt", f"{notice.template}.html"} <= templates
