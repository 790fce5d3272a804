"""How much one GraphQL document may ask for (the defaults are the documented ``RIGBOOK_*`` ones)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from resolvers.enquiries import MAX_ITEMS as MAX_ENQUIRY_ITEMS
from resolvers.equipment import MAX_UNITS_PER_CALL
from resolvers.list_caps import (
    MAX_ATTACHMENTS_PER_OWNER,
    MAX_AVAILABILITY_ITEMS,
    MAX_DESIGN_SHARES_LISTED,
    MAX_DESIGN_VERSIONS_LISTED,
    MAX_HOLDERS_LISTED,
    MAX_MESSAGES_PER_ENQUIRY,
    MAX_UNITS_PER_EQUIPMENT,
)
from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from settings import Settings

# Sign-in and token fields: each call costs an argon2 hash or a token lookup and is
# what an attacker batches (1,000 aliased `login`s in one request otherwise all run).
SENSITIVE_MUTATIONS = frozenset(
    {"login", "refreshToken", "registerTenant", "requestPasswordReset", "resetPassword"}
)

# The standard introspection query (graphql-js >= 16 and graphql-core, `typeDepth` 9,
# as GraphiQL sends it) reaches depth 14 through `ofType { ofType { ... } }`.
INTROSPECTION_QUERY_DEPTH = 14


def list_sizes(max_reservation_lines: int = 100) -> dict[str, int]:
    """The most items each list without paging arguments can hold, by `Type.field`.

    Each is a bound the code enforces where the items are created or read, never a
    guess: the cost limit then bounds the work. Lists of objects without object
    fields of their own (`ValidationError.fields`) cost the same at any length.
    """
    # Reservation lines and design items (a version is reserved in one go) share the
    # line limit; a conflict has a shortage per line of a booking, or per unit (and
    # one for the stock) of an equipment whose change its bookings would not fit.
    lines = max_reservation_lines
    return {
        "Reservation.lines": lines,
        "DesignVersion.items": lines,
        "ConflictError.shortages": max(lines, MAX_UNITS_PER_EQUIPMENT + 1),
        "Query.availability": MAX_AVAILABILITY_ITEMS,
        "Equipment.units": MAX_UNITS_PER_EQUIPMENT,
        "AddEquipmentUnitsSuccess.units": MAX_UNITS_PER_CALL,
        "Design.versions": MAX_DESIGN_VERSIONS_LISTED,
        "Design.shares": MAX_DESIGN_SHARES_LISTED,
        "EquipmentAvailability.reservations": MAX_HOLDERS_LISTED,
        "Shortage.reservations": MAX_HOLDERS_LISTED,
        "Equipment.attachments": MAX_ATTACHMENTS_PER_OWNER,
        "EquipmentUnit.attachments": MAX_ATTACHMENTS_PER_OWNER,
        "Design.attachments": MAX_ATTACHMENTS_PER_OWNER,
        "DesignVersion.attachments": MAX_ATTACHMENTS_PER_OWNER,
        "Reservation.attachments": MAX_ATTACHMENTS_PER_OWNER,
        "Enquiry.items": MAX_ENQUIRY_ITEMS,
        "Enquiry.messages": MAX_MESSAGES_PER_ENQUIRY,
    }


@dataclass(frozen=True)
class CostModel:
    """What a field costs at most; a list multiplies the cost of what is selected inside it."""

    object_cost: int = 1
    scalar_cost: int = 0
    # `first`/`last` when a paginated field is queried without them and the schema
    # gives them no default (the resolvers' default).
    default_page_size: int = DEFAULT_PAGE_SIZE
    # The most items of each list without paging arguments (``list_sizes``).
    list_sizes: Mapping[str, int] = field(default_factory=list_sizes)
    # A list missing from ``list_sizes`` (tests/test_cost.py keeps there being none).
    unlisted_list_size: int = MAX_PAGE_SIZE
    # Introspection (`__Type.fields`, …) answers from the schema alone, whatever the
    # data, and its nesting has a limit of its own (``max_introspection_depth``).
    introspection_list_size: int = 10
    slicing_arguments: tuple[str, ...] = ("first", "last")

    def list_size(self, type_name: str, field_name: str) -> int:
        if type_name.startswith("__"):
            return self.introspection_list_size
        return self.list_sizes.get(f"{type_name}.{field_name}", self.unlisted_list_size)


# Input type → its fields that hold a whole file's text.
FILE_TEXT_FIELDS: Mapping[str, frozenset[str]] = {"ImportEquipmentInput": frozenset({"csv"})}


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_directives: int = 50
    max_cost: int = 1_100_000
    max_sensitive_fields: int = 1
    # Field selections per document, each fragment spread's again; the standard
    # introspection query has 229.
    max_fields: int = 500
    # Fields merging into one result field (`me { id } me { id }`: 2 at `me` and at `me.id`).
    max_repeated_fields: int = 10
    # The request's variables (schema/limits/variables.py): nesting, values in all, text length.
    max_variable_depth: int = 100
    max_variable_values: int = 10_000
    max_text_length: int = 100_000
    # Input fields that take a whole file (`ImportEquipmentInput.csv`): longer text, up to
    # ``max_file_text_length``, but only in a variable of that input type.
    file_text_fields: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(FILE_TEXT_FIELDS))
    max_file_text_length: int = 1024 * 1024
    sensitive_fields: frozenset[str] = SENSITIVE_MUTATIONS
    cost_model: CostModel = field(default_factory=CostModel)

    @classmethod
    def of(cls, settings: Settings) -> QueryLimits:
        """The limits the server applies, from its ``RIGBOOK_*`` settings."""
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_directives=settings.max_directives,
            max_cost=settings.max_query_cost,
            cost_model=CostModel(list_sizes=list_sizes(settings.max_reservation_lines)),
            max_fields=settings.max_fields,
            max_repeated_fields=settings.max_repeated_fields,
            max_file_text_length=settings.max_import_size,
        )

    @property
    def max_introspection_depth(self) -> int:
        """Introspection is limited too, but never below what the standard introspection query needs."""
        return max(self.max_depth, INTROSPECTION_QUERY_DEPTH)
