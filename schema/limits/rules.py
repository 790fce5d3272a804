"""The limits on what a document asks for, checked between parsing and validation.

Validation is the expensive step (comparing the fields that merge is quadratic), so
before it, in this order: the counts of ``shape.py`` (depth per operation; aliases,
directives, sign-in fields and fields per document), graphql-core's cheap structural
rules (every fragment defined, used and free of cycles: then fragments expand into a
finite tree) and the fields merging at one place (``repeats.py``). Only a document
within all of them is validated, and the outcome is cached with the document
(``schema/pipeline.py``). The introspection list-depth rule runs inside validation.
"""

from __future__ import annotations

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    validate,
)
from graphql.validation import (
    ExecutableDefinitionsRule,
    KnownFragmentNamesRule,
    MaxIntrospectionDepthRule,
    NoFragmentCyclesRule,
    NoSchemaIntrospectionCustomRule,
    NoUnusedFragmentsRule,
)
from graphql.validation.rules.max_introspection_depth_rule import MAX_LIST_DEPTH

from schema.error_codes import ErrorCode
from schema.limits.config import QueryLimits
from schema.limits.errors import LimitCode, in_words, limit_error
from schema.limits.repeats import most_repeated
from schema.limits.shape import EMPTY, Shape, ShapeCounter

# Linear in the document, and after them each fragment spreads into a finite tree.
STRUCTURE_RULES: tuple[type[ASTValidationRule], ...] = (
    ExecutableDefinitionsRule,
    KnownFragmentNamesRule,
    NoUnusedFragmentsRule,
    NoFragmentCyclesRule,
)


def limit_rules() -> tuple[type[ASTValidationRule], ...]:
    """The limits that run inside validation; graphql-core's introspection depth rule gives way to ours."""
    return (IntrospectionListDepth,)


def limit_errors(
    schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits, *, hide_suggestions: bool
) -> list[GraphQLError]:
    """Why ``document`` is refused before it is validated in full; empty when it is not."""
    errors = document_limit_errors(schema, document, limits)
    if not errors:
        errors = validate(schema, document, STRUCTURE_RULES, hide_suggestions=hide_suggestions)
    if not errors:
        errors = repeat_errors(document, limits)
    return errors


def document_limit_errors(
    schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits
) -> list[GraphQLError]:
    """One error per limit ``document`` breaks, measured without expanding fragments."""
    errors: list[GraphQLError] = []
    counter = ShapeCounter(schema, document, limits.sensitive_fields)
    totals = EMPTY
    operations = [
        definition for definition in document.definitions if isinstance(definition, OperationDefinitionNode)
    ]
    for operation in operations:
        shape = counter.operation(operation)
        errors += _depth_errors(operation, shape, limits)
        totals = totals.beside(shape)
    errors += _total_errors(totals, limits)
    return errors


def _depth_errors(
    operation: OperationDefinitionNode, shape: Shape, limits: QueryLimits
) -> list[GraphQLError]:
    errors = []
    if shape.depth > limits.max_depth:
        errors.append(
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
        errors.append(
            limit_error(
                LimitCode.QUERY_TOO_DEEP,
                f"The introspection nests fields {shape.introspection_depth} levels deep; "
                f"at most {limits.max_introspection_depth} are allowed.",
                limit=limits.max_introspection_depth,
                requested=shape.introspection_depth,
                nodes=operation,
            )
        )
    return errors


def _total_errors(totals: Shape, limits: QueryLimits) -> list[GraphQLError]:
    errors = []
    if totals.aliases > limits.max_aliases:
        errors.append(
            limit_error(
                LimitCode.TOO_MANY_ALIASES,
                f"The document uses {in_words(totals.aliases)} aliases (each fragment spread counts); "
                f"at most {limits.max_aliases} are allowed.",
                limit=limits.max_aliases,
                requested=totals.aliases,
            )
        )
    if totals.directives > limits.max_directives:
        errors.append(
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
        errors.append(
            limit_error(
                LimitCode.TOO_MANY_SENSITIVE_FIELDS,
                f"The document calls {names} {in_words(totals.sensitive_fields)} times in all; "
                f"at most {limits.max_sensitive_fields} is allowed per document.",
                limit=limits.max_sensitive_fields,
                requested=totals.sensitive_fields,
            )
        )
    if totals.fields > limits.max_fields:
        errors.append(
            limit_error(
                LimitCode.TOO_MANY_FIELDS,
                f"The document selects {in_words(totals.fields)} fields (each fragment spread counts); "
                f"at most {limits.max_fields} are allowed.",
                limit=limits.max_fields,
                requested=totals.fields,
            )
        )
    return errors


def repeat_errors(document: DocumentNode, limits: QueryLimits) -> list[GraphQLError]:
    """The operations where more fields merge at one place than allowed.

    Expands fragments: only for a document within the field limit (the walk then visits
    at most that many fields) that passed ``STRUCTURE_RULES`` (no cycles, no unused fragments).
    """
    errors = []
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        count, place = most_repeated(document, operation)
        if count > limits.max_repeated_fields:
            errors.append(
                limit_error(
                    LimitCode.TOO_MANY_REPEATED_FIELDS,
                    f"`{'.'.join(place)}` is selected {count} times (repeated or through fragments); "
                    f"at most {limits.max_repeated_fields} selections may merge into one result field.",
                    limit=limits.max_repeated_fields,
                    requested=count,
                    nodes=operation,
                )
            )
    return errors


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
