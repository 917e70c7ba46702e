"""The names PostgreSQL gives unnamed constraints, indexes and serial sequences.

Mirrors makeObjectName / ChooseRelationName / ChooseConstraintName (src/backend/commands/indexcmds.c,
catalog/pg_constraint.c), so the model's names match what pg_catalog shows after loading the DDL.
"""

from __future__ import annotations

from collections.abc import Iterable

NAMEDATALEN = 64


def object_name(name1: str, name2: str | None, label: str | None) -> str:
    """``name1_name2_label`` with name1/name2 shortened (longer one first) to fit 63 bytes."""
    overhead = (len(label.encode()) + 1 if label else 0) + (1 if name2 else 0)
    available = NAMEDATALEN - 1 - overhead
    first, second = name1.encode(), (name2 or "").encode()
    n1, n2 = len(first), len(second)
    while n1 + n2 > available:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    parts = [_clip(first, n1)] + ([_clip(second, n2)] if name2 else []) + ([label] if label else [])
    return "_".join(parts)


def choose_name(name1: str, name2: str | None, label: str, taken: set[str]) -> str:
    """The first of ``name1_name2_label``, ``..._label1``, ``..._label2``... not in ``taken``; adds it."""
    name, attempt = object_name(name1, name2, label), 0
    while name in taken:
        attempt += 1
        name = object_name(name1, name2, f"{label}{attempt}")
    taken.add(name)
    return name


def column_part(columns: Iterable[str]) -> str:
    """Column names joined by ``_``, cut at NAMEDATALEN (ChooseIndexNameAddition)."""
    joined = b""
    for column in columns:
        joined += (b"_" if joined else b"") + column.encode()
        if len(joined) >= NAMEDATALEN:
            break
    return _clip(joined, NAMEDATALEN - 1)


def _clip(raw: bytes, size: int) -> str:
    """The first ``size`` bytes, never cutting a UTF-8 character in half (pg_mbcliplen)."""
    return raw[:size].decode("utf-8", errors="ignore")
