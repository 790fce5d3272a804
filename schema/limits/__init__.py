"""Abuse limits for GraphQL documents and their inputs.

Documents: depth, aliases, tokens, directives, fields, fields merging at one place,
cost, sign-in fields. Inputs: the length of each list (``@maxItems``), and the
nesting, number of values and text length of the variables.
"""

from schema.limits.config import CostModel, QueryLimits
from schema.limits.errors import LimitCode
from schema.limits.rules import limit_rules

__all__ = ["CostModel", "LimitCode", "QueryLimits", "limit_rules"]
