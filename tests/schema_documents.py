"""Query documents derived from the schema: every field of every type, through every relation.

``relation_paths`` walks the object types from each root field of ``Query``: every
path of relations that visits no type twice (it stops at the first type it meets
again). ``relation_documents`` writes them down, a path per document or paths
sharing documents: at each level a document selects ``__typename``, every leaf
field, every small object (one of leaves only, such as ``PageInfo``) and the next
relations of its paths. A field added to the schema is then selected without
anyone writing a document for it; a field whose required arguments ``ARGUMENTS``
does not know fails here until it does.

``node_documents`` read an object by id, one document per type that implements
``Node``: its leaves and its relations one level down.

``fields_selected`` tells which ``(type, field)`` pairs a set of documents selects,
so tests can check that generated documents reach what they claim to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    is_interface_type,
    is_leaf_type,
    is_object_type,
    is_required_argument,
    parse,
    visit,
)

# Arguments written into the documents, by field; the variables they use are declared
# with the types in ``VARIABLES``. Other optional arguments are left out.
ARGUMENTS = {
    "Query.tenants": "(first: $page)",
    "Query.users": "(first: $page)",
    "Query.equipment": "(first: $page)",
    "Query.reservations": "(first: $page)",
    "Query.designs": "(first: $page, filter: {status: [DRAFT, PUBLISHED, ARCHIVED]})",
    "Query.auditEvents": "(first: $page)",
    "Query.monthlyReports": "(first: $page)",
    "Query.monthlyReport": '(month: "2024-03")',
    "Query.availability": "(from: $from, to: $to)",
    "Query.stats": "(from: $from, to: $to)",
    "Query.sharedDesign": "(token: $token)",
    "Query.webhooks": "(first: $page)",
    "Query.tenantExports": "(first: $page)",
    "Query.tenantExport": "(id: $id)",
    "Query.webhookDeliveries": "(webhookId: $webhook, first: $page)",
    "Equipment.reservations": "(from: $since, to: $until, first: $few)",
    "Equipment.availability": "(from: $from, to: $to)",
    "Attachment.thumbnailUrl": "(size: 128)",
    "SharedDesignImage.thumbnailUrl": "(size: 512)",
}
VARIABLES = {
    "page": "Int",
    "few": "Int!",
    "from": "DateTime!",
    "to": "DateTime!",
    "since": "DateTime",
    "until": "DateTime",
    "token": "String!",
    "webhook": "ID!",
    "id": "ID!",
}
# The root read by ``node_documents`` instead (an interface has no fields of its own to walk).
NODE_ROOT = "node"


def _is_small(named: GraphQLNamedType) -> bool:
    """An object of leaves only, selected whole wherever it appears."""
    return is_object_type(named) and all(
        is_leaf_type(get_named_type(field.type)) and not field.args for field in named.fields.values()
    )


def _arguments(owner: GraphQLObjectType, name: str, field: GraphQLField) -> str:
    written = ARGUMENTS.get(f"{owner.name}.{name}")
    if written is not None:
        return written
    missing = [argument for argument, value in field.args.items() if is_required_argument(value)]
    if missing:
        raise LookupError(f"ARGUMENTS has no value for {owner.name}.{name}({', '.join(missing)})")
    return ""


def _leaves(owner: GraphQLObjectType) -> list[str]:
    """``__typename``, the leaf fields and the small objects of ``owner``, as selections."""
    selections = ["__typename"]
    for name, field in owner.fields.items():
        named = get_named_type(field.type)
        if is_leaf_type(named):
            selections.append(name + _arguments(owner, name, field))
        elif _is_small(named):
            assert isinstance(named, GraphQLObjectType)
            inner = " ".join(_leaves(named))
            selections.append(f"{name}{_arguments(owner, name, field)} {{ {inner} }}")
    return selections


def _relations(owner: GraphQLObjectType) -> Iterator[tuple[str, GraphQLField, GraphQLObjectType]]:
    for name, field in owner.fields.items():
        named = get_named_type(field.type)
        if isinstance(named, GraphQLObjectType) and not _is_small(named):
            yield name, field, named


Path = tuple[str, ...]


def relation_paths(schema: GraphQLSchema) -> list[Path]:
    """Every path of relations from a root of ``Query`` that meets no type twice before its end."""
    query = schema.query_type
    assert query is not None
    paths: list[Path] = []

    def walk(owner: GraphQLObjectType, path: Path, seen: frozenset[str]) -> None:
        ends_here = True
        for name, _field, target in _relations(owner):
            ends_here = False
            if target.name in seen:
                paths.append((*path, name))
            else:
                walk(target, (*path, name), seen | {target.name})
        if ends_here:
            paths.append(path)

    for name, field in query.fields.items():
        named = get_named_type(field.type)
        if isinstance(named, GraphQLObjectType):
            if _is_small(named):
                paths.append((name,))
            else:
                walk(named, (name,), frozenset({named.name}))
        else:
            assert name == NODE_ROOT or is_leaf_type(named), f"Query.{name} returns {named}"
            if name != NODE_ROOT:
                paths.append((name,))  # a leaf of the root, read on its own
    return paths


def _operation(name: str, body: str) -> str:
    used = [variable for variable in VARIABLES if re.search(rf"\${variable}\b", body)]
    declared = ", ".join(f"${variable}: {VARIABLES[variable]}" for variable in used)
    return f"query {name}{f'({declared})' if declared else ''} {{ {body} }}"


def tree_document(schema: GraphQLSchema, paths: Sequence[Path]) -> str:
    """The document selecting everything along each of ``paths``, leaves at every level.

    Paths sharing a beginning share its selections: the document is their tree.
    """
    query = schema.query_type
    assert query is not None
    tree: dict[str, Any] = {}
    for path in paths:
        branch = tree
        for name in path:
            branch = branch.setdefault(name, {})

    def level(owner: GraphQLObjectType, branches: dict[str, Any]) -> list[str]:
        selections = [] if owner is query else _leaves(owner)
        for name, below in branches.items():
            field = owner.fields[name]
            named = get_named_type(field.type)
            call = name + _arguments(owner, name, field)
            if is_leaf_type(named):
                selections.append(call)
                continue
            assert isinstance(named, GraphQLObjectType)
            selections.append(f"{call} {{ {' '.join(level(named, below))} }}")
        return selections

    name = "".join(part[:1].upper() + part[1:] for part in paths[0])
    return _operation(name, " ".join(level(query, tree)))


def relation_documents(schema: GraphQLSchema, fits: Callable[[str], bool], *, merge: bool) -> list[str]:
    """The paths of ``relation_paths``, one per document, or as few documents as ``fits`` allows.

    ``fits`` is the server's own budget (depth, fields, tokens, the cost of nested
    lists): a document past it would be refused alike by every engine and test
    nothing. A path that does not fit alone is cut to its longest prefix that does;
    what a cut leaves out is reached from other roots (tests check that every field
    still is). With ``merge``, paths with a common beginning share a document while
    it fits; without, each level is read through one relation only.
    """
    paths: dict[Path, None] = {}
    for path in relation_paths(schema):
        for length in range(len(path), 0, -1):
            if fits(tree_document(schema, [path[:length]])):
                paths[path[:length]] = None
                break
    if not merge:
        return [tree_document(schema, [path]) for path in paths]
    documents: list[str] = []

    def pack(group: list[Path], depth: int) -> None:
        document = tree_document(schema, group)
        if len(group) == 1 or fits(document):
            documents.append(document)
            return
        # Too big together: apart by the relation taken at ``depth`` (the one path
        # that ends before it, if any, goes alone).
        branches: dict[str, list[Path]] = {}
        for path in group:
            branches.setdefault(path[depth] if depth < len(path) else "", []).append(path)
        for branch in branches.values():
            pack(branch, depth + 1)

    pack(list(paths), 0)
    return documents


def node_documents(schema: GraphQLSchema) -> dict[str, str]:
    """By type implementing ``Node``: ``node(id: $id)`` with its leaves and its relations one level down.

    One document per type: fields of one name but different types (``status``) cannot
    share a selection.
    """
    node = schema.get_type("Node")
    assert node is not None and is_interface_type(node)
    documents: dict[str, str] = {}
    for implementation in schema.get_implementations(node).objects:
        inner = _leaves(implementation)
        for name, field, target in _relations(implementation):
            call = name + _arguments(implementation, name, field)
            inner.append(f"{call} {{ {' '.join(_leaves(target))} }}")
        fragment = f"... on {implementation.name} {{ {' '.join(inner)} }}"
        documents[implementation.name] = _operation(
            f"{implementation.name}Node", f"node(id: $id) {{ __typename id {fragment} }}"
        )
    return documents


def fields_selected(schema: GraphQLSchema, documents: Iterable[str | DocumentNode]) -> set[str]:
    """``Type.field`` for every field the documents select (``__typename`` aside)."""
    found: set[str] = set()
    type_info = TypeInfo(schema)

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_args: object) -> None:
            parent = type_info.get_parent_type()
            name = node.name.value
            if parent is not None and type_info.get_field_def() is not None and name != "__typename":
                found.add(f"{parent.name}.{name}")

    for document in documents:
        parsed = parse(document) if isinstance(document, str) else document
        visit(parsed, TypeInfoVisitor(type_info, Collect()))
    return found


def readable_fields(schema: GraphQLSchema) -> set[str]:
    """``Type.field`` for every field of every object type a query can reach."""
    query = schema.query_type
    assert query is not None
    found: set[str] = set()
    pending: list[GraphQLNamedType] = [query]
    seen: set[str] = set()
    while pending:
        owner = pending.pop()
        if owner.name in seen:
            continue
        seen.add(owner.name)
        if is_interface_type(owner):
            pending.extend(schema.get_implementations(owner).objects)
            continue
        if not isinstance(owner, GraphQLObjectType):
            continue
        for name, field in owner.fields.items():
            found.add(f"{owner.name}.{name}")
            pending.append(get_named_type(field.type))
    return found


def is_query_only(document: DocumentNode) -> bool:
    """Whether every operation of ``document`` is a query (no mutation, no subscription)."""
    operations = [
        definition.operation for definition in document.definitions if hasattr(definition, "operation")
    ]
    return bool(operations) and all(operation is OperationType.QUERY for operation in operations)
