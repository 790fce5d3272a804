"""The most items a list field answers where nothing else bounds its length.

The cost model prices every list without paging by its real bound
(``schema/limits/config.py``); for these lists the bound is a cap the code
enforces, so the cost limit bounds the work whatever the data holds.
"""

from __future__ import annotations

# `availability(...)`: items, by name; more by paging `equipment { availability }`.
MAX_AVAILABILITY_ITEMS = 100
# `Equipment.reservations(first:)`: its default and its most; more through the
# `reservations(filter: {equipmentId})` connection.
MAX_EQUIPMENT_RESERVATIONS = 100
# Units of one serialized equipment, checked where units are created.
MAX_UNITS_PER_EQUIPMENT = 1_000
# `Design.versions` and `Design.shares`, newest first; older ones by `node(id:)`.
MAX_DESIGN_VERSIONS_LISTED = 100
MAX_DESIGN_SHARES_LISTED = 100
# Reservations listed as holding stock, with an availability or a shortage.
MAX_HOLDERS_LISTED = 100
# Files attached to one equipment, unit, design, version or reservation (the gallery pages),
# checked where a file is attached.
MAX_ATTACHMENTS_PER_OWNER = 100
# Notes and replies on one enquiry, checked where one is added.
MAX_MESSAGES_PER_ENQUIRY = 500
