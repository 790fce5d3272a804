"""Abuse limits for GraphQL documents: depth, aliases, tokens, directives, cost, sign-in fields."""

from schema.limits.config import CostModel, QueryLimits
from schema.limits.errors import LimitCode
from schema.limits.rules import limit_rules

__all__ = ["CostModel", "LimitCode", "QueryLimits", "limit_rules"]
