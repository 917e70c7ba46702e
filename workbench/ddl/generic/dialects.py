"""Dialect names: aliases, validation, and how each dialect folds unquoted identifiers."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot.dialects.dialect import Dialect, Dialects, NormalizationStrategy

from workbench.errors import UnknownNameError

ALIASES = {"postgresql": "postgres", "pg": "postgres", "sqlserver": "tsql", "mssql": "tsql",
           "ansi": "", "generic": ""}
# Dialects where a database is a schema: ``USE db`` makes ``db.t`` the same table as ``t``.
DATABASE_IS_SCHEMA = frozenset({"mysql", "doris", "starrocks", "singlestore", "clickhouse", "hive",
                                 "spark", "spark2", "databricks"})


def resolve_dialect(name: str) -> str:
    """The sqlglot dialect name for ``name`` (aliases accepted); unknown names raise with suggestions."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    valid = {d.value for d in Dialects}
    if key not in valid:
        raise UnknownNameError("dialect", name, sorted((valid - {""}) | set(ALIASES)))
    return key


def folding(dialect: str) -> Callable[[str], str]:
    """How ``dialect`` stores an unquoted identifier: upper-cased, lower-cased, or as written."""
    strategy = Dialect.get_or_raise(dialect).NORMALIZATION_STRATEGY
    if strategy is NormalizationStrategy.UPPERCASE:
        return str.upper
    if strategy is NormalizationStrategy.LOWERCASE and dialect:
        return str.lower
    return str
