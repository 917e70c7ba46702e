"""Dependency order for tables (by foreign key) and views (by what they read).

Depth-first, in model order, dependencies first. An edge that closes a cycle is not followed but
returned, so a caller that must create referenced tables first (DuckDB, SQLite) can drop exactly
that foreign key and name it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

Label = TypeVar("Label")


def topological(keys: Iterable[str], edges: Callable[[str], Iterable[tuple[str, Label]]]
                ) -> tuple[list[str], list[tuple[str, Label]]]:
    """``keys`` with each key after the keys it depends on, plus the cycle-closing edges.

    ``edges(key)`` yields ``(dependency_key, label)``; self edges and unknown keys are ignored.
    """
    keys = list(keys)
    known, state, order, cut = set(keys), dict.fromkeys(keys, 0), [], []  # 0 new, 1 visiting, 2 done

    def visit(key: str) -> None:
        state[key] = 1
        for dependency, label in edges(key):
            if dependency == key or dependency not in known:
                continue
            if state[dependency] == 1:
                cut.append((key, label))
            elif state[dependency] == 0:
                visit(dependency)
        state[key] = 2
        order.append(key)

    for key in keys:
        if state[key] == 0:
            visit(key)
    return order, cut
