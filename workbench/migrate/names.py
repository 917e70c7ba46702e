"""The names PostgreSQL gives unnamed constraints, so the plan can drop or validate them by name.

Built on the importer's copy of PostgreSQL's ``makeObjectName`` (``workbench.ddl.postgres.names``).
"""

from __future__ import annotations

from workbench.ddl.postgres.names import column_part, object_name


def make_object_name(table: str, columns: tuple[str, ...] | None, label: str) -> str:
    """``table_col1_col2_label`` clipped to 63 bytes the way PostgreSQL clips it."""
    return object_name(table, column_part(columns) if columns else None, label)


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
