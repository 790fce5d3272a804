"""How often one place of the result is selected: all the fields that merge into one response key.

`{ me { id } me { id } }` selects `me` twice and `me.id` twice; fragments spread
beside each other add to the same places. Validation compares every pair of fields
merging at a place (graphql-core's OverlappingFieldsCanBeMergedRule), so its work
grows with the square of these counts: 480 `me { id }` took 1.7 s. A cap on the
count per place bounds that work by (fields × cap) pairs.

The walk expands fragments, so it runs only on documents whose fields, counted
through every spread, are within the field limit and whose fragments form no cycle.
"""

from __future__ import annotations

from collections import Counter

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

Place = tuple[str, ...]
"""Response keys from the operation's root: `("me", "id")`."""


def most_repeated(document: DocumentNode, operation: OperationDefinitionNode) -> tuple[int, Place]:
    """The largest number of fields merging at one place of ``operation``'s result, and that place."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    counts: Counter[Place] = Counter()
    # Iterative: a chain of fragments spread into each other must not recurse.
    stack: list[tuple[SelectionSetNode, Place]] = [(operation.selection_set, ())]
    while stack:
        selection_set, place = stack.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = (*place, (selection.alias or selection.name).value)
                counts[key] += 1
                if selection.selection_set is not None:
                    stack.append((selection.selection_set, key))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, place))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    stack.append((fragment.selection_set, place))
    if not counts:
        return 0, ()
    place, count = counts.most_common(1)[0]
    return count, place
