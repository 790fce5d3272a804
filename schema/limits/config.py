"""How much one GraphQL document may ask for (the defaults are the documented ``RIGBOOK_*`` ones)."""

from __future__ import annotations

from dataclasses import dataclass, field

from resolvers.pagination import DEFAULT_PAGE_SIZE

# Sign-in and token fields: each call costs an argon2 hash or a token lookup and is
# what an attacker batches (1,000 aliased `login`s in one request otherwise all run).
SENSITIVE_MUTATIONS = frozenset(
    {"login", "refreshToken", "registerTenant", "requestPasswordReset", "resetPassword"}
)

# The standard introspection query (graphql-js >= 16 and graphql-core, `typeDepth` 9,
# as GraphiQL sends it) reaches depth 14 through `ofType { ofType { ... } }`.
INTROSPECTION_QUERY_DEPTH = 14


@dataclass(frozen=True)
class CostModel:
    """What a field is assumed to cost; a list multiplies the cost of what is selected inside it."""

    object_cost: int = 1
    scalar_cost: int = 0
    # `first`/`last` when a paginated field is queried without them (the resolvers' default).
    default_page_size: int = DEFAULT_PAGE_SIZE
    # Length assumed for lists without pagination arguments (e.g. `Reservation.lines`).
    assumed_list_size: int = 10
    slicing_arguments: tuple[str, ...] = ("first", "last")


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_directives: int = 50
    max_cost: int = 20_000
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
    sensitive_fields: frozenset[str] = SENSITIVE_MUTATIONS
    cost_model: CostModel = field(default_factory=CostModel)

    @property
    def max_introspection_depth(self) -> int:
        """Introspection is limited too, but never below what the standard introspection query needs."""
        return max(self.max_depth, INTROSPECTION_QUERY_DEPTH)
