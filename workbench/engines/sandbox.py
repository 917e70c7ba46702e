"""The sandbox on a user's server: the model moved into schemas the workbench owns.

On a server given by URL the workbench creates ``workbench_<id>`` (or the schema the user names to keep a
load) and ``<sandbox>_<namespace>`` for the model's other namespaces, and must write nowhere else
(:mod:`workbench.engines.guard` refuses what would). ``into_sandbox`` renames the model's namespaces,
including names inside SQL text (pg_dump qualifies types, defaults, checks, views and sequence owners with
``public.``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import sqlglot
from sqlglot import exp

from workbench.ddl.export.target import DEFAULT_SCHEMAS
from workbench.engines.pgserver import MAX_IDENTIFIER_BYTES
from workbench.errors import WorkbenchError
from workbench.schema.model import CheckConstraint, Column, Index, Schema, Table, View

SANDBOX_PREFIX = "workbench_"


def into_sandbox(schema: Schema, sandbox: str) -> Schema:
    """The model with its namespaces renamed into the sandbox: defaults -> ``sandbox``, ``x`` -> ``sandbox_x``."""

    namespaces = frozenset(schema.schemas) | DEFAULT_SCHEMAS | {t.schema for t in schema.tables if t.schema}
    dialect = schema.dialect or "postgres"

    def place(namespace: str | None) -> str:
        if namespace is None or namespace in DEFAULT_SCHEMAS:
            return sandbox
        name = f"{sandbox}_{namespace}"
        if len(name.encode()) > MAX_IDENTIFIER_BYTES:
            raise WorkbenchError(f"schema {namespace!r} is too long for a sandbox name ({name!r} exceeds "
                                 f"{MAX_IDENTIFIER_BYTES} bytes); shorten it in the model")
        return name

    def column(c: Column) -> Column:
        return replace(c, type=_moved_key(c.type, place, only=namespaces))

    def table(t: Table) -> Table:
        return replace(t, schema=place(t.schema), partitions=tuple(table(p) for p in t.partitions),
                       columns=tuple(map(column, t.columns)),
                       foreign_keys=tuple(replace(fk, ref_schema=place(fk.ref_schema) if fk.ref_schema else None)
                                          for fk in t.foreign_keys))

    def objects(items: tuple) -> tuple:
        return tuple(replace(item, schema=place(item.schema)) for item in items)

    def owner(owned_by: str | None) -> str | None:
        """``schema.table.column`` with the schema moved into the sandbox (bare ``table.column`` resolves there)."""
        if owned_by is None or owned_by.count(".") < 2:
            return owned_by
        namespace, _, rest = owned_by.partition(".")
        return f"{place(namespace)}.{rest}"

    def reads(view: View) -> View:
        """The view reading the sandboxed tables (a view is created, so it may name only the sandbox)."""
        return replace(view, schema=place(view.schema), depends_on=tuple(_moved_key(key, place)
                                                                         for key in view.depends_on))

    moved = map_sql(schema, lambda text: _moved_text(text, place, namespaces, dialect))
    sequences = tuple(replace(s, owned_by=owner(s.owned_by)) for s in objects(moved.sequences))
    return replace(moved, tables=tuple(table(t) for t in moved.tables), views=tuple(map(reads, moved.views)),
                   enums=objects(moved.enums), domains=objects(moved.domains),
                   sequences=sequences, schemas=tuple(dict.fromkeys(place(s) for s in moved.schemas)))


def map_sql(schema: Schema, rewrite: Callable[[str], str]) -> Schema:
    """The model with ``rewrite`` applied to every SQL text it holds: defaults, generated columns, checks,
    index expressions and predicates, views, domains."""

    def text(value: str | None) -> str | None:
        return value and rewrite(value)

    def checks(items: tuple[CheckConstraint, ...]) -> tuple[CheckConstraint, ...]:
        return tuple(replace(c, expression=rewrite(c.expression)) for c in items)

    def index(i: Index) -> Index:
        return replace(i, where=text(i.where), elements=tuple(
            replace(e, expression=rewrite(e.expression)) if e.is_expression else e for e in i.elements))

    def table(t: Table) -> Table:
        return replace(t, partitions=tuple(map(table, t.partitions)), checks=checks(t.checks),
                       columns=tuple(replace(c, default=text(c.default), generated=text(c.generated))
                                     for c in t.columns),
                       indexes=tuple(map(index, t.indexes)))

    return replace(schema, tables=tuple(map(table, schema.tables)),
                   views=tuple(replace(v, sql=rewrite(v.sql)) for v in schema.views),
                   domains=tuple(replace(d, default=text(d.default), checks=checks(d.checks)) for d in schema.domains))


def _moved_key(key: str, place: Callable[[str | None], str], only: frozenset[str] | None = None) -> str:
    """A ``schema.name`` key (or type name) with its schema moved by ``place``; bare names stay bare.

    ``only`` limits the move to the model's namespaces (a type such as ``pg_catalog.int4`` stays).
    """
    namespace, dot, name = key.partition(".")
    if not dot or (only is not None and namespace not in only):
        return key
    return f"{place(namespace)}.{name}"


def _moved_text(text: str, place: Callable[[str | None], str], namespaces: frozenset[str], dialect: str) -> str:
    """SQL text (a view, default or check) whose qualified tables, types and ``'schema.sequence'`` move too."""

    def move(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.db in namespaces:
            node.set("db", exp.to_identifier(place(node.db), quoted=True))
        elif isinstance(node, exp.Dot) and isinstance(node.parent, exp.DataType) and node.this.name in namespaces:
            node.set("this", exp.to_identifier(place(node.this.name), quoted=True))
        elif isinstance(node, exp.Literal) and node.is_string and isinstance(node.parent, exp.Cast) \
                and node.parent.to.sql("postgres").lower() == "regclass":
            return exp.Literal.string(_moved_key(node.this, place, only=namespaces))
        return node

    return sqlglot.parse_one(text, read=dialect).transform(move).sql(dialect)
