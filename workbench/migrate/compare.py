"""Comparison keys: two spellings of the same type or expression compare equal.

The model keeps text as its source wrote it (``int4`` or ``integer``; ``(price > (0)::numeric)`` from
a catalog, ``price > 0`` from a file). A key is that text normalized: types through PostgreSQL's own
``format_type`` spelling (or sqlglot's for other dialects), expressions through sqlglot with redundant
parentheses, casts of constants and the default schema dropped, and column renames applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.export.target import DEFAULT_SCHEMAS
from workbench.ddl.postgres import canonical_type
from workbench.errors import WorkbenchError


@lru_cache(maxsize=65536)
def type_key(text: str, dialect: str | None) -> str:
    """The type as one canonical spelling (``int4``, ``int`` and ``integer`` give ``integer``)."""
    if dialect in (None, "postgres"):
        try:
            return canonical_type(text)
        except WorkbenchError:
            return " ".join(text.lower().split())
    try:
        return exp.DataType.build(text, dialect=dialect, udt=True).sql(dialect).lower()
    except SqlglotError:
        return " ".join(text.lower().split())


def expression_key(text: str | None, dialect: str | None, columns: Mapping[str, str] | None = None) -> str | None:
    """An expression (default, check, predicate, index key, view) normalized for comparison.

    ``columns`` maps old column names to new ones (a rename): the key is the one of the renamed text.
    """
    if text is None:
        return None
    return _key(text, dialect, tuple(sorted((columns or {}).items())))


@lru_cache(maxsize=65536)
def _key(text: str, dialect: str | None, columns: tuple[tuple[str, str], ...]) -> str:
    tree = parse_expression(text, dialect)
    if tree is None:
        return " ".join(text.split())
    renamed = dict(columns)

    def simplify(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Paren):
            return node.this
        if isinstance(node, exp.Cast) and isinstance(node.this, (exp.Literal, exp.Null, exp.Boolean, exp.Neg)):
            return node.this
        if isinstance(node, exp.Column) and node.name in renamed:
            node.set("this", exp.to_identifier(renamed[node.name], quoted=node.this.quoted))
        if isinstance(node, exp.Table) and node.db in DEFAULT_SCHEMAS:
            node.set("db", None)
        if isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier) and node.this.name in DEFAULT_SCHEMAS:
            return node.expression
        return node

    return tree.transform(simplify).sql(dialect=dialect or "postgres", normalize=True)


def parse_expression(text: str, dialect: str | None) -> exp.Expression | None:
    """An expression or a query parsed by sqlglot, or None when it cannot.

    A bare expression naming a column like a keyword (``lock = 'X'``) parses inside a ``SELECT`` scaffold.
    """
    for attempt in (lambda: sqlglot.parse_one(text, read=dialect, into=exp.Condition),
                    lambda: sqlglot.parse_one(text, read=dialect),
                    lambda: sqlglot.parse_one(f"SELECT {text}", read=dialect).expressions[0]):
        try:
            tree = attempt()
        except (SqlglotError, IndexError, AttributeError):
            continue
        if tree is not None and not isinstance(tree, exp.Command):
            return tree
    return None


def rename_in(text: str | None, dialect: str | None, columns: Mapping[str, str],
              tables: Mapping[str, str] | None = None) -> str | None:
    """The expression text with columns (and tables, by bare name) renamed, for the renamed old model."""
    if text is None or (not columns and not tables):
        return text
    tree = parse_expression(text, dialect)
    if tree is None:
        return text
    tables = tables or {}

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name in columns:
            node.set("this", exp.to_identifier(columns[node.name], quoted=node.this.quoted))
        elif isinstance(node, exp.Table) and node.name in tables:
            node.set("this", exp.to_identifier(tables[node.name], quoted=node.this.quoted))
        return node

    return tree.transform(rename).sql(dialect=dialect or "postgres")
