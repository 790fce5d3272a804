"""What every GraphQL operation goes through, in one straight line.

Parse (within the token budget), measure against the limits and validate once per
document text (``schema/limits/rules.py``: the cheap counts first, full validation
only for a document within them); then, per request: find the operation, bound its
variables and the lists it receives, check its cost, execute it
(``schema/projection.py``), mask unexpected errors, give every error a code and
hide suggestions.

This stands in for Strawberry's ``Schema.execute`` on requests. Strawberry's
resolvers, types and permissions run unchanged; what goes is its per-request
extension machinery: a context manager per extension and phase, rebuilt for
every request, cost more than executing a small operation such as ``me``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterable, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import Any, TypeGuard, cast

import orjson
import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    Executor,
    GraphQLError,
    OperationDefinitionNode,
    create_source_event_stream,
    execute,
    execute_subscription_event,
    get_operation_ast,
    specified_rules,
    validate,
)
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from db.caches import CacheSize, track
from schema.error_codes import ErrorCode, with_code
from schema.limits import QueryLimits, limit_rules
from schema.limits.cost import cost_report, priced_operation, too_costly
from schema.limits.list_lengths import ArgumentSite, argument_sites, long_lists, operation_root
from schema.limits.parsing import parse_within_budget
from schema.limits.rules import STRUCTURE_RULES, IntrospectionDisabled, limit_errors
from schema.limits.shape import ShapeCounter
from schema.limits.suggestions import without_suggestion
from schema.limits.variables import file_text_variables, variables_problem
from schema.masking import masked
from schema.projection import ProjectingExecutor, Shapes
from schema.text_input import literal_text_problem

DOCUMENTS_KEPT = 512
# Longer documents are parsed every time: a cache of big ones would be a memory sink.
LONGEST_KEPT_DOCUMENT = 16 * 1024
# The kept documents' text, in all: a parsed document takes ~100× its text, so this
# bounds the cache near 50 MB however many distinct documents clients send.
KEPT_DOCUMENTS_TEXT = 512 * 1024
# Shapes are kept for a few sets of variables per document, and only for small ones.
VARIABLE_SETS_KEPT = 16
LONGEST_KEPT_VARIABLES = 1024
# A set of shapes takes ~600 bytes per field its document selects (a fragment spread ten
# times compiles ten times), whatever the text, and the variables are the client's to
# vary: the kept sets hold at most this many fields in all, ~40 MB.
KEPT_SHAPE_FIELDS = 64 * 1024
_IS_AWAITABLE = cast(Callable[[Any], TypeGuard[Awaitable[Any]]], optimized_is_awaitable)


class OperationNotFound(Exception):
    """The document has no operation to run by that name (or several and no name)."""

    def __init__(self, operation_name: str | None, operations: int) -> None:
        if operation_name is not None:
            self.reason = f'Unknown operation named "{operation_name}".'
        elif operations > 1:
            self.reason = "Must provide operation name if query contains multiple operations."
        else:
            self.reason = "Can't get GraphQL operation type"
        super().__init__(self.reason)


@dataclass(frozen=True)
class PreparedDocument:
    """A document text parsed and validated: the document, or why it cannot run."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    literal_problem: GraphQLError | None
    """Why a string literal is refused (``schema/text_input.py``), if one is."""
    costs: dict[str | None, int] = field(default_factory=dict)
    """Cost by operation name, for operations whose page sizes are all written in the document."""
    shapes: OrderedDict[tuple[str | None, bytes], Shapes] = field(default_factory=OrderedDict)
    """Projection shapes by operation name and variables (``schema/projection.py``)."""
    list_arguments: dict[str | None, tuple[ArgumentSite, ...]] = field(default_factory=dict)
    """The arguments that can hold lists, by operation name (``schema/limits/list_lengths.py``)."""
    fields: int = 0
    """Fields the document selects, each fragment spread's again: the most a set of its shapes holds."""


@dataclass(frozen=True, slots=True)
class Checked:
    """An operation found within every limit, ready to run."""

    prepared: PreparedDocument
    document: DocumentNode
    operation: OperationDefinitionNode
    variables: dict[str, Any] | None
    root: Any
    """The root value: lists refused as data (``schema/limits/list_lengths.py``), if any."""
    extensions: dict[str, Any] | None


class Subscribed:
    """A started subscription: its source stream, and how each of its events is rendered."""

    def __init__(self, pipeline: Pipeline, executor: Executor[Any], stream: AsyncIterable[Any]) -> None:
        self._pipeline = pipeline
        self._executor = executor
        self.stream = stream

    async def render(self, root: Any, context: Any) -> ExecutionResult:
        """The subscription's selection over ``root``, resolved with ``context`` (the event's own)."""
        executor = self._executor.build_per_event_executor(root)
        executor.context_value = context
        result = execute_subscription_event(executor)
        if isawaitable(result):
            result = await result
        if not isinstance(result, ExecutionResult):
            raise TypeError(f"execution gave {type(result).__name__}, not an ExecutionResult")
        errors = self._pipeline._visible(result.errors) if result.errors else None
        return ExecutionResult(result.data, errors)


class Pipeline:
    """Runs operations against ``schema`` under ``limits``."""

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        limits: QueryLimits | None = None,
        introspection: bool = True,
        suggestions: bool = True,
        projection: bool = True,
    ) -> None:
        self.schema = schema._schema
        self.limits = limits or QueryLimits()
        self.suggestions = suggestions
        rules: list[type[ASTValidationRule]] = [
            rule
            for rule in specified_rules
            if rule is not MaxIntrospectionDepthRule and rule not in STRUCTURE_RULES
        ]
        rules += limit_rules()
        if not introspection:
            rules.append(IntrospectionDisabled)
        rules += [MaybeNullValidationRule, OneOfInputValidationRule]
        self.rules = tuple(rules)
        self.executor = ProjectingExecutor if projection else StrawberryGraphQLCoreExecutionContext
        self._documents: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._kept_text = 0
        # Every kept set of shapes, least recently used first, across documents.
        self._shape_sets: OrderedDict[tuple[str, str | None, bytes], PreparedDocument] = OrderedDict()
        self._kept_shape_fields = 0
        track(self)

    def cache_sizes(self) -> Iterator[CacheSize]:
        documents = self._documents
        yield CacheSize("schema.pipeline.documents", len(documents), DOCUMENTS_KEPT)
        yield CacheSize(
            "schema.pipeline.shape_sets",
            sum(len(prepared.shapes) for prepared in documents.values()),
            DOCUMENTS_KEPT * VARIABLE_SETS_KEPT,
        )
        yield CacheSize("schema.pipeline.shape_fields", self._kept_shape_fields, KEPT_SHAPE_FIELDS)

    def prepare(self, query: str) -> PreparedDocument:
        """Parse and validate ``query``, or find it done already."""
        documents = self._documents
        prepared = documents.get(query)
        if prepared is not None:
            documents.move_to_end(query)
            return prepared
        prepared = self._prepare(query)
        if len(query) <= LONGEST_KEPT_DOCUMENT:
            documents[query] = prepared
            self._kept_text += len(query)
            while len(documents) > DOCUMENTS_KEPT or self._kept_text > KEPT_DOCUMENTS_TEXT:
                dropped, dropped_document = documents.popitem(last=False)
                self._kept_text -= len(dropped)
                for key in list(dropped_document.shapes):
                    self._forget_shapes(dropped, key)
        return prepared

    def _prepare(self, query: str) -> PreparedDocument:
        try:
            document = parse_within_budget(query, self.limits.max_tokens)
        except GraphQLError as error:
            return PreparedDocument(None, (with_code(error, ErrorCode.GRAPHQL_PARSE_FAILED),), None)
        # Cheap checks first: only a document within every limit is worth validating in full.
        hide = not self.suggestions
        errors = limit_errors(self.schema, document, self.limits, hide_suggestions=hide) or validate(
            self.schema, document, self.rules, hide_suggestions=hide
        )
        coded = tuple(with_code(error, ErrorCode.GRAPHQL_VALIDATION_FAILED) for error in errors)
        counter = ShapeCounter(self.schema, document, frozenset())
        operations = [item for item in document.definitions if isinstance(item, OperationDefinitionNode)]
        fields = 0 if errors else sum(counter.operation(operation).fields for operation in operations)
        return PreparedDocument(
            document, coded, literal_text_problem(document, self.limits.max_text_length), fields=fields
        )

    def check(
        self, query: str, variables: Mapping[str, Any] | None, operation_name: str | None
    ) -> Checked | ExecutionResult:
        """The operation to run, within every limit; or the result refusing it.

        ``OperationNotFound`` when the document has no operation to run by that name.
        """
        prepared = self.prepare(query)
        document = prepared.document
        if document is None:
            return self._refused(prepared.errors)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            operations = sum(
                isinstance(definition, OperationDefinitionNode) for definition in document.definitions
            )
            raise OperationNotFound(operation_name, operations)
        if prepared.errors:
            return self._refused(prepared.errors)

        variable_values = dict(variables) if variables else None
        refused = prepared.literal_problem or variables_problem(
            variable_values, self.limits, file_text_variables(operation, self.limits)
        )
        if refused is not None:
            return ExecutionResult(None, [refused])
        too_long = long_lists(self._sites(prepared, document, operation), operation, variable_values)
        if refusals := [item.error() for item in too_long if not item.site.as_data]:
            return ExecutionResult(None, refusals)
        max_cost = self.limits.max_cost
        cost = self._cost(prepared, document, operation_name, variable_values)
        extensions = {"cost": cost_report(cost, max_cost)} if cost is not None else None
        if cost is not None and cost > max_cost:
            return ExecutionResult(None, [too_costly(cost, max_cost)], extensions)
        return Checked(prepared, document, operation, variable_values, operation_root(too_long), extensions)

    async def execute(
        self,
        query: str,
        *,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        context: Any = None,
    ) -> ExecutionResult:
        """The result of one operation; ``OperationNotFound`` when there is none to run."""
        checked = self.check(query, variables, operation_name)
        if isinstance(checked, ExecutionResult):
            return checked
        shared: dict[str, Any] = {}
        if self.executor is ProjectingExecutor:
            shared["shapes"] = self._shapes(checked.prepared, query, operation_name, checked.variables)
        result = execute(
            self.schema,
            checked.document,
            context_value=context,
            variable_values=checked.variables,
            operation_name=operation_name,
            executor_class=self.executor,
            is_awaitable=_IS_AWAITABLE,
            hide_suggestions=not self.suggestions,
            root_value=checked.root,
            **shared,
        )
        if isawaitable(result):
            result = await result
        if not isinstance(result, ExecutionResult):
            raise TypeError(f"execution gave {type(result).__name__}, not an ExecutionResult")
        errors = self._visible(result.errors) if result.errors else None
        return ExecutionResult(result.data, errors, checked.extensions)

    async def subscribe(
        self, checked: Checked, operation_name: str | None, context: Any
    ) -> Subscribed | ExecutionResult:
        """Start a checked subscription operation: its source stream, or the result refusing it.

        The subscription field runs once, with ``context`` (it checks its arguments and
        the caller); each event is then rendered with ``Subscribed.render``.
        """
        executor = StrawberryGraphQLCoreExecutionContext.build(
            self.schema,
            checked.document,
            root_value=checked.root,
            context_value=context,
            raw_variable_values=checked.variables,
            operation_name=operation_name,
            is_awaitable=_IS_AWAITABLE,
            hide_suggestions=not self.suggestions,
        )
        if isinstance(executor, list):
            return ExecutionResult(None, self._visible(executor))
        stream = create_source_event_stream(executor)
        if isawaitable(stream):
            stream = await stream
        if isinstance(stream, ExecutionResult):
            return ExecutionResult(None, self._visible(stream.errors or []))
        return Subscribed(self, executor, stream)

    def _shapes(
        self,
        prepared: PreparedDocument,
        query: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> Shapes | None:
        """The shapes this execution may share with others of the same document and variables."""
        if self._documents.get(query) is not prepared or prepared.fields > KEPT_SHAPE_FIELDS:
            return None  # a document parsed for this request alone, or one too big to keep shapes of
        try:
            given = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
        except orjson.JSONEncodeError:
            return None
        if len(given) > LONGEST_KEPT_VARIABLES:
            return None
        key = (operation_name, given)
        kept = prepared.shapes
        shapes = kept.get(key)
        if shapes is not None:
            kept.move_to_end(key)
            self._shape_sets.move_to_end((query, *key))
            return shapes
        shapes = kept[key] = {}
        self._shape_sets[(query, *key)] = prepared
        self._kept_shape_fields += prepared.fields
        if len(kept) > VARIABLE_SETS_KEPT:
            self._forget_shapes(query, next(iter(kept)))
        while self._kept_shape_fields > KEPT_SHAPE_FIELDS:
            oldest, oldest_operation, oldest_variables = next(iter(self._shape_sets))
            self._forget_shapes(oldest, (oldest_operation, oldest_variables))
        return shapes

    def _forget_shapes(self, query: str, key: tuple[str | None, bytes]) -> None:
        """Drop the shapes of ``query`` under ``key`` (operation name and variables)."""
        prepared = self._shape_sets.pop((query, *key))
        self._kept_shape_fields -= prepared.fields
        del prepared.shapes[key]

    def _sites(
        self, prepared: PreparedDocument, document: DocumentNode, operation: OperationDefinitionNode
    ) -> tuple[ArgumentSite, ...]:
        """The operation's arguments that can hold lists, found once per document and operation."""
        key = operation.name.value if operation.name is not None else None
        sites = prepared.list_arguments.get(key)
        if sites is None:
            sites = prepared.list_arguments[key] = argument_sites(self.schema, document, operation)
        return sites

    def _cost(
        self,
        prepared: PreparedDocument,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int | None:
        known = prepared.costs.get(operation_name)
        if known is not None:
            return known
        priced = priced_operation(self.schema, document, operation_name, variables, self.limits.cost_model)
        if priced is None:
            return None
        cost, read_variables = priced
        if not read_variables:
            prepared.costs[operation_name] = cost
        return cost

    def _refused(self, errors: tuple[GraphQLError, ...]) -> ExecutionResult:
        return ExecutionResult(None, self._visible(errors))

    def _visible(self, errors: list[GraphQLError] | tuple[GraphQLError, ...]) -> list[GraphQLError]:
        shown = [masked(error) for error in errors]
        # Masking coded the unexpected errors and ours carry their own; what is left are
        # graphql-core's reports of variable and argument values it cannot coerce.
        shown = [with_code(error, ErrorCode.BAD_USER_INPUT) for error in shown]
        if not self.suggestions:
            shown = [without_suggestion(error) for error in shown]
        return shown
