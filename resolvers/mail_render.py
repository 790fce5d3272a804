"""Mail rendered from templates: a subject, a text part and an HTML part per message.

The templates live beside this module in ``mail_templates/`` (shipped in the wheel
with the ``resolvers`` package): ``<name>.txt`` (whose ``subject`` block is the
subject) and ``<name>.html``, each extending its ``base``. Jinja2 escapes every
value put into HTML (a tenant or reservation title is text its users typed), and
an undefined name fails loudly rather than mailing a blank.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from db.caches import CacheSize, track
from resolvers.mail import Letter

TEMPLATE_CACHE = 64


def when(instant: datetime, timezone: str = "UTC") -> str:
    """``Thu 1 May 2031, 10:00 (Europe/Berlin)``: an instant as the tenant's clocks show it."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    local = instant.astimezone(zone)
    return f"{local:%a} {local.day} {local:%B %Y, %H:%M} ({timezone})"


class Templates:
    """The mail templates, compiled once each (Jinja's own bounded cache, listed in ``db/caches``)."""

    def __init__(self) -> None:
        self.environment = Environment(
            loader=PackageLoader("resolvers", "mail_templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            cache_size=TEMPLATE_CACHE,
            auto_reload=False,
        )
        self.environment.filters["when"] = when
        track(self)

    def cache_sizes(self) -> Iterable[CacheSize]:
        cache = self.environment.cache
        yield CacheSize(
            "resolvers.mail_render.templates", len(cache) if cache is not None else 0, TEMPLATE_CACHE
        )

    def render(self, name: str, **values: Any) -> Letter:
        """The message ``name`` with ``values``; ``tenant`` (its name) is in every one."""
        text = self.environment.get_template(f"{name}.txt")
        html = self.environment.get_template(f"{name}.html")
        # One line, whatever the values held: a header cannot carry a line break.
        subject = " ".join("".join(text.blocks["subject"](text.new_context(values))).split())
        return Letter(subject=subject, text=text.render(values), html=html.render(values, subject=subject))


TEMPLATES = Templates()
render = TEMPLATES.render
