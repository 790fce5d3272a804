"""Abuse limits for GraphQL documents: depth, aliases, tokens, directives, cost, sign-in fields."""

from schema.limits.config import CostModel, QueryLimits
from schema.limits.errors import LimitCode
from schema.limits.extensions import limit_extensions
from schema.limits.suggestions import HideSuggestions

__all__ = ["CostModel", "HideSuggestions", "LimitCode", "QueryLimits", "limit_extensions"]
