"""Relay connection types and the pagination arguments every list field takes.

Cursors are encoded when a field asks for one: an edge keeps its row and its page,
and ``cursor``, ``startCursor`` and ``endCursor`` are ``@from_parent`` fields, so
both the projection and field-by-field resolution compute them from the object
alone and a document that selects none of them encodes none.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from resolvers.pagination import MAX_PAGE_SIZE, Page, PageArgs
from schema.relations import from_parent

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")
T = TypeVar("T")

First = Annotated[
    int | None,
    strawberry.argument(description=f"Return the first n items (0–{MAX_PAGE_SIZE}; default 20)."),
]
After = Annotated[str | None, strawberry.argument(description="Return items after this cursor.")]
Last = Annotated[int | None, strawberry.argument(description=f"Return the last n items (0–{MAX_PAGE_SIZE}).")]
Before = Annotated[str | None, strawberry.argument(description="Return items before this cursor.")]

PAGE_ARGUMENTS = (("first", First), ("after", After), ("last", Last), ("before", Before))


def paginated(resolver: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """A connection field's resolver taking ``paging: PageArgs``, published with the four arguments.

    The field shows ``first``, ``after``, ``last`` and ``before`` (as described above)
    where the resolver declares ``paging``, and the resolver gets them as one ``PageArgs``.
    Strawberry reads a resolver's arguments from ``inspect.signature``, which answers the
    ``__signature__`` given here: the resolver's own, with ``paging`` replaced by the four.
    """
    signature = inspect.signature(resolver)
    parameters = list(signature.parameters.values())
    names = [parameter.name for parameter in parameters]
    if "paging" not in names:
        raise TypeError(f"{resolver.__qualname__} takes no `paging: PageArgs` to publish as page arguments")
    at = names.index("paging")
    arguments = [
        inspect.Parameter(name, parameters[at].kind, default=None, annotation=annotation)
        for name, annotation in PAGE_ARGUMENTS
    ]

    @functools.wraps(resolver)
    async def with_page(
        *args: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        **kwargs: Any,
    ) -> T:
        paging = PageArgs(first=first, after=after, last=last, before=before)
        return await resolver(*args, paging=paging, **kwargs)

    with_page.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*parameters[:at], *arguments, *parameters[at + 1 :]]
    )
    return with_page


@from_parent
def _start_cursor(self: PageInfo) -> str | None:
    return self._page.start_cursor()


@from_parent
def _end_cursor(self: PageInfo) -> str | None:
    return self._page.end_cursor()


@from_parent
def _edge_cursor(self: Edge[Any]) -> str:
    return self._page.cursor(self._row)


# The resolvers are given to annotated fields (rather than written as methods) so the
# fields keep their place in the schema.
@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="More items precede this page.")
    start_cursor: str | None = strawberry.field(
        resolver=_start_cursor, description="Cursor of the first item of the page."
    )
    end_cursor: str | None = strawberry.field(
        resolver=_end_cursor, description="Cursor of the last item of the page."
    )
    _page: strawberry.Private[Page[Any]]


@strawberry.type(description="An item of a list with its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(
        resolver=_edge_cursor, description="Pass to `after`/`before` to page from this item."
    )
    node: NodeT = strawberry.field(description="The item.")
    _row: strawberry.Private[Any]
    _page: strawberry.Private[Page[Any]]


@strawberry.type(description="A page of a list, Relay-style.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page with their cursors.")
    page_info: PageInfo = strawberry.field(
        description="Whether more pages exist, and the page's end cursors."
    )
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list has (all pages, with the filter applied).")
    @from_parent
    async def total_count(self) -> int:
        return await self._count()


def to_connection(page: Page[RowT], convert: Callable[[RowT], NodeT]) -> Connection[NodeT]:
    return Connection(
        edges=[Edge(node=convert(row), _row=row, _page=page) for row in page.rows],
        page_info=PageInfo(
            has_next_page=page.has_next_page, has_previous_page=page.has_previous_page, _page=page
        ),
        _count=page.count,
    )
