"""Validation rules: depth per operation; aliases, directives and sign-in fields per document.

They run inside graphql-core's validation, so their results are cached with it
(``schema/pipeline.py``) and a rejected document never reaches a resolver.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    ValidationRule,
)
from graphql.validation import MaxIntrospectionDepthRule, NoSchemaIntrospectionCustomRule
from graphql.validation.rules.max_introspection_depth_rule import MAX_LIST_DEPTH

from schema.error_codes import ErrorCode
from schema.limits.config import QueryLimits
from schema.limits.errors import LimitCode, in_words, limit_error
from schema.limits.shape import EMPTY, Shape, ShapeCounter


def limit_rules(limits: QueryLimits) -> tuple[type[ASTValidationRule], ...]:
    """The rules enforcing ``limits``; graphql-core's introspection depth rule gives way to ours."""
    return (document_limits_rule(limits), IntrospectionListDepth)


def document_limits_rule(limits: QueryLimits) -> type[ASTValidationRule]:
    class DocumentLimits(ValidationRule):
        # Leaving the document: graphql-core has already aborted documents that nest
        # (through fragments) too deeply to walk recursively.
        def leave_document(self, node: DocumentNode, *_args: Any) -> None:
            counter = ShapeCounter(self.context.schema, node, limits.sensitive_fields)
            totals = EMPTY
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    shape = counter.operation(definition)
                    self._check_depth(definition, shape)
                    totals = totals.beside(shape)
            self._check_totals(totals)

        def _check_depth(self, operation: OperationDefinitionNode, shape: Shape) -> None:
            if shape.depth > limits.max_depth:
                self.report_error(
                    limit_error(
                        LimitCode.QUERY_TOO_DEEP,
                        f"The operation nests fields {shape.depth} levels deep; "
                        f"at most {limits.max_depth} are allowed.",
                        limit=limits.max_depth,
                        requested=shape.depth,
                        nodes=operation,
                    )
                )
            if shape.introspection_depth > limits.max_introspection_depth:
                self.report_error(
                    limit_error(
                        LimitCode.QUERY_TOO_DEEP,
                        f"The introspection nests fields {shape.introspection_depth} levels deep; "
                        f"at most {limits.max_introspection_depth} are allowed.",
                        limit=limits.max_introspection_depth,
                        requested=shape.introspection_depth,
                        nodes=operation,
                    )
                )

        def _check_totals(self, totals: Shape) -> None:
            if totals.aliases > limits.max_aliases:
                self.report_error(
                    limit_error(
                        LimitCode.TOO_MANY_ALIASES,
                        f"The document uses {in_words(totals.aliases)} aliases (each fragment spread counts); "
                        f"at most {limits.max_aliases} are allowed.",
                        limit=limits.max_aliases,
                        requested=totals.aliases,
                    )
                )
            if totals.directives > limits.max_directives:
                self.report_error(
                    limit_error(
                        LimitCode.TOO_MANY_DIRECTIVES,
                        f"The document uses {in_words(totals.directives)} directives (each fragment spread counts); "
                        f"at most {limits.max_directives} are allowed.",
                        limit=limits.max_directives,
                        requested=totals.directives,
                    )
                )
            if totals.sensitive_fields > limits.max_sensitive_fields:
                names = ", ".join(f"`{name}`" for name in sorted(limits.sensitive_fields))
                self.report_error(
                    limit_error(
                        LimitCode.TOO_MANY_SENSITIVE_FIELDS,
                        f"The document calls {names} {in_words(totals.sensitive_fields)} times in all; "
                        f"at most {limits.max_sensitive_fields} is allowed per document.",
                        limit=limits.max_sensitive_fields,
                        requested=totals.sensitive_fields,
                    )
                )

    return DocumentLimits


class IntrospectionListDepth(MaxIntrospectionDepthRule):
    """graphql-core's recommended cap on `fields { type { fields ... } }` nesting, with our error code."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(
            limit_error(
                LimitCode.QUERY_TOO_DEEP,
                f"{error.message}: introspection lists (`fields`, `interfaces`, `possibleTypes`, "
                f"`inputFields`) may be nested at most {MAX_LIST_DEPTH - 1} deep.",
                limit=MAX_LIST_DEPTH - 1,
                nodes=error.nodes,
            )
        )


class IntrospectionDisabled(NoSchemaIntrospectionCustomRule):
    """graphql-core's refusal of `__schema` and `__type`, with a code a client can tell apart."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(
            GraphQLError(
                error.message,
                error.nodes,
                extensions={"code": ErrorCode.INTROSPECTION_DISABLED.value},
            )
        )
