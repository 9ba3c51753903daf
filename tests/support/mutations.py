"""Valid JSON documents with a few parts replaced or removed: the fuzz tests' way to reach every field's check."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key and index path inside `value`, parents before children."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def mutate(draw: Any, document: Any, among: list[tuple], values: st.SearchStrategy) -> Any:
    """`document` (changed in place and returned) with one to three of the paths `among` set to a drawn value or
    removed; a path an earlier change removed or replaced is skipped."""
    for path in draw(st.lists(st.sampled_from(among), min_size=1, max_size=3, unique=True)):
        parent = document
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()):
                parent[path[-1]] = draw(values)
            elif isinstance(parent, dict):
                parent.pop(path[-1], None)
        except (KeyError, IndexError, TypeError):
            continue
    return document
