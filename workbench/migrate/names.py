"""The names PostgreSQL gives unnamed constraints and indexes, so the plan can drop or validate them."""

from __future__ import annotations

NAMEDATALEN = 63


def make_object_name(table: str, columns: tuple[str, ...] | None, label: str) -> str:
    """PostgreSQL's ``makeObjectName``: ``table_col1_col2_label`` clipped to 63 bytes, longer part first."""
    middle = "_".join(columns) if columns else ""
    overhead = len(label) + 1 + (1 if middle else 0)
    available = NAMEDATALEN - overhead
    first, second = len(table), len(middle)
    while first + second > available:
        if first > second:
            first -= 1
        else:
            second -= 1
    parts = [table[:first], *([middle[:second]] if middle else []), label]
    return "_".join(parts)


def primary_key_name(table: str) -> str:
    return make_object_name(table, None, "pkey")


def unique_name(table: str, columns: tuple[str, ...]) -> str:
    return make_object_name(table, columns, "key")


def foreign_key_name(table: str, columns: tuple[str, ...]) -> str:
    return make_object_name(table, columns, "fkey")


def check_name(table: str, columns: tuple[str, ...]) -> str:
    """A check over one column is ``table_column_check``; over none or several, ``table_check``."""
    return make_object_name(table, columns if len(columns) == 1 else None, "check")


def not_null_check_name(table: str, column: str) -> str:
    """The temporary check the safe SET NOT NULL validates before the real NOT NULL."""
    return make_object_name(table, (column,), "not_null_check")
