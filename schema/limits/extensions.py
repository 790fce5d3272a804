"""The Strawberry extensions that enforce a ``QueryLimits``, ready for ``strawberry.Schema``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeAlias

from graphql import ASTValidationRule
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.extensions import SchemaExtension

from schema.limits.config import QueryLimits
from schema.limits.cost import CostLimit
from schema.limits.parsing import TokenLimitedParser
from schema.limits.rules import IntrospectionListDepth, document_limits_rule

ExtensionFactory: TypeAlias = type[SchemaExtension] | Callable[[], SchemaExtension]


class LimitRules(SchemaExtension):
    """Adds the limit rules; graphql-core's introspection rule gives way to the one with our error code."""

    def __init__(self, rules: Sequence[type[ASTValidationRule]]) -> None:
        self.rules = tuple(rules)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        kept = tuple(rule for rule in context.validation_rules if rule is not MaxIntrospectionDepthRule)
        context.validation_rules = kept + self.rules
        yield


def limit_extensions(limits: QueryLimits) -> list[ExtensionFactory]:
    """Factories, not instances: extensions hold per-request state.

    The rule classes are made once here, so the validation cache (keyed by the rules)
    recognises them on every request.
    """
    rules = (document_limits_rule(limits), IntrospectionListDepth)
    return [
        lambda: TokenLimitedParser(max_tokens=limits.max_tokens),
        lambda: LimitRules(rules),
        lambda: CostLimit(max_cost=limits.max_cost, model=limits.cost_model),
    ]
