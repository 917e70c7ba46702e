"""Identifiers as the engine stores them, and (schema, name) of table references."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.errors import ErrorLevel

from workbench.ddl.generic.dialects import DATABASE_IS_SCHEMA


def key_of(node: exp.Expression) -> exp.Identifier | None:
    """The identifier naming a plain column in a key list (Ordered, Column or Identifier)."""
    if isinstance(node, exp.Ordered):
        node = node.this
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier):
        return node.this
    return node if isinstance(node, exp.Identifier) else None


class Names:
    """Folds identifiers like the dialect and resolves table references against USE and CREATE SCHEMA."""

    dialect: str
    fold: Callable[[str], str]
    default_db: str | None  # from USE, where a database is a schema
    nested_schema: str | None  # inside CREATE SCHEMA s CREATE TABLE ...

    def render(self, node: exp.Expression) -> str:
        """A fragment written back in its own dialect; what sqlglot cannot write there stays as it writes it
        (a warning on the terminal would only repeat what the model keeps as text)."""
        return node.sql(dialect=self.dialect, unsupported_level=ErrorLevel.IGNORE)

    def name(self, node: exp.Expression | None) -> str | None:
        """An identifier as the engine stores it: quoted as written, unquoted folded like the dialect."""
        if node is None:
            return None
        if isinstance(node, exp.Identifier):
            return node.this if node.quoted else self.fold(node.this)
        return self.fold(node.name) if node.name else None

    def table_ref(self, table: exp.Table) -> tuple[str | None, str]:
        """(schema, name) of a table reference; the USE'd database reads as no schema."""
        schema = self.name(table.args.get("db"))
        if schema is not None and schema == self.default_db and self.dialect in DATABASE_IS_SCHEMA:
            schema = None
        return schema or self.nested_schema, self.name(table.this) or table.name

    def keys(self, nodes: list[exp.Expression] | exp.Expression) -> tuple[str, ...]:
        items = nodes if isinstance(nodes, list) else [nodes]
        if len(items) == 1 and isinstance(items[0], exp.Tuple | exp.Schema):
            items = items[0].expressions
        names = []
        for item in items:
            ident = key_of(item)
            names.append(self.name(ident) if ident is not None else self.render(item))
        return tuple(names)
