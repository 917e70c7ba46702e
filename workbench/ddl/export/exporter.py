"""Export the schema model as DDL for any sqlglot dialect, with a note for every construct the target
cannot express (never a silent drop).

Statements are sqlglot expressions rendered for the target; the order is schemas, types, sequences,
tables (referenced tables first), foreign keys (ALTER TABLE where the target can), sequence owners,
indexes, views. DuckDB, which runs in-process, checks the tables written for it (:mod:`.verify`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace

from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from workbench.ddl.export.context import Context, ExportNote
from workbench.ddl.export.indexes import create_index
from workbench.ddl.export.names import all_tables
from workbench.ddl.export.objects import (
    create_schemas,
    create_sequences,
    create_types,
    create_views,
    sequence_owners,
)
from workbench.ddl.export.order import topological
from workbench.ddl.export.tables import add_constraint, create_table, foreign_key
from workbench.ddl.export.target import target_for
from workbench.ddl.export.verify import verified
from workbench.schema.model import ForeignKey, Index, Schema, Table

__all__ = ["DDLExport", "ExportNote", "to_ddl"]


@dataclass(frozen=True)
class DDLExport:
    """DDL for one target dialect: rendered statements, the expressions behind them, and the notes."""

    dialect: str
    statements: tuple[str, ...]
    notes: tuple[ExportNote, ...]
    expressions: tuple[exp.Expression, ...] = field(default=(), repr=False, compare=False)

    @property
    def sql(self) -> str:
        """All statements, ``;``-separated, ready for a SQL client or ``executescript``."""
        return ";\n".join(self.statements) + ";" if self.statements else ""

    def __str__(self) -> str:
        return self.sql

    def __repr__(self) -> str:
        return f"<DDLExport {self.dialect}: {len(self.statements)} statements, {len(self.notes)} notes>"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(n.object)}</td><td>{html.escape(n.construct)}</td>"
                       f"<td>{html.escape(n.message)}</td></tr>" for n in self.notes)
        notes = (f"<table><thead><tr><th>object</th><th>construct</th><th>note</th></tr></thead>"
                 f"<tbody>{rows}</tbody></table>") if self.notes else "<p>No notes: everything was exported.</p>"
        return (f"<p><b>DDL for {html.escape(self.dialect)}</b>: {len(self.statements)} statements, "
                f"{len(self.notes)} notes</p><pre>{html.escape(self.sql)}</pre>{notes}")


def to_ddl(schema: Schema, dialect: str = "postgres", *, include_views: bool = True,
           keys_apart: bool = False) -> DDLExport:
    """The schema as DDL for ``dialect`` (any sqlglot dialect name), with notes for what it cannot hold;
    ``keys_apart``: primary and unique keys as ALTER TABLE ... ADD after each table (pg_dump's layout)."""
    ctx = Context(schema, target_for(dialect), keys_apart=keys_apart)
    tables, foreign_keys = _tables(ctx)
    owners = sequence_owners(ctx)
    indexes = _indexes(ctx)
    created = {t.key for t in _created_tables(ctx, schema.tables)}
    all_keys = {t.key for t in all_tables(schema.tables)}
    views = create_views(ctx, all_keys - created) if include_views else []
    if not include_views and schema.views:
        ctx.note(schema.name or "schema", "view", f"{len(schema.views)} view(s) left out (include_views=False)")
    ordered = [*create_schemas(ctx), *create_types(ctx), *create_sequences(ctx), *tables, *foreign_keys,
               *owners, *indexes, *views]
    pairs = [(statement, _render(ctx, statement)) for statement in ordered]
    if ctx.target.dialect == "duckdb":
        pairs = verified(ctx, pairs, lambda statement: _render(ctx, statement))
    return DDLExport(ctx.target.dialect, tuple(sql for _, sql in pairs), tuple(ctx.notes),
                     tuple(statement for statement, _ in pairs))


def _tables(ctx: Context) -> tuple[list[exp.Expression], list[exp.Expression]]:
    """CREATE TABLE statements in dependency order, and the ALTER TABLE ... FOREIGN KEY ones."""
    by_key = {t.key: t for t in ctx.schema.tables}

    def edges(key: str) -> list[tuple[str, ForeignKey]]:
        found = ((ctx.schema.referenced_table(fk), fk) for fk in by_key[key].foreign_keys)
        return [(ref.key, fk) for ref, fk in found if ref is not None]

    order, cut = topological(by_key, edges)
    dropped = set()
    if ctx.target.fk_inline:
        for key, fk in cut:
            ctx.note(f"{key}.{fk.name or fk.columns}", "foreign key cycle",
                     f"{ctx.label} creates referenced tables first and cannot add keys later; foreign key "
                     f"{fk.name or fk.columns} -> {fk.ref_key} closes a cycle and is not exported")
            dropped.add(id(fk))
    if ctx.target.dialect == "duckdb":
        for key, table in by_key.items():
            for fk in table.foreign_keys:
                if ctx.schema.referenced_table(fk) is table:
                    ctx.note(f"{key}.{fk.name or fk.columns}", "self-referencing foreign key",
                             "DuckDB checks a key only against rows that existed before the statement, so a "
                             "table that references itself cannot be bulk-loaded; the key is not exported")
                    dropped.add(id(fk))
    creates: list[exp.Expression] = []
    alters: list[exp.Expression] = []
    for key in order:
        for table, parent in _with_partitions(ctx, by_key[key], None):
            fks = [fk for fk in table.foreign_keys if id(fk) not in dropped and not _inherited(fk, parent, "fk")]
            built = [c for c in (foreign_key(ctx, table, fk) for fk in fks) if c is not None]
            if ctx.target.fk_inline:
                creates += create_table(ctx, table, built, parent)
            else:
                creates += create_table(ctx, table, [], parent)
                alters += [add_constraint(ctx, table, constraint) for constraint in built]
    return creates, alters


def _indexes(ctx: Context) -> list[exp.Expression]:
    statements = []
    for table in ctx.schema.tables:
        for part, parent in _with_partitions(ctx, table, None):
            for index in part.indexes:
                if not _inherited(index, parent, "index") and (made := create_index(ctx, part, index)):
                    statements.append(made)
    return statements


def _with_partitions(ctx: Context, table: Table, parent: Table | None) -> list[tuple[Table, Table | None]]:
    """The table and, where the target partitions, its partitions (each with its parent)."""
    pairs = [(table, parent)]
    if ctx.target.partitioning and table.partitioning is not None:
        for partition in table.partitions:
            pairs += _with_partitions(ctx, partition, table)
    return pairs


def _created_tables(ctx: Context, tables: tuple[Table, ...]) -> list[Table]:
    return [pair[0] for table in tables for pair in _with_partitions(ctx, table, None)]


def _inherited(item: ForeignKey | Index, parent: Table | None, kind: str) -> bool:
    """True when a partition's key or index is the one it inherits from its parent (names aside)."""
    if parent is None:
        return False
    inherited = parent.foreign_keys if kind == "fk" else parent.indexes
    return replace(item, name=None) in {replace(i, name=None) for i in inherited}


def _render(ctx: Context, statement: exp.Expression) -> str:
    """The statement in the target dialect; what sqlglot would drop silently becomes a note."""
    try:
        return statement.sql(dialect=ctx.target.dialect, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as error:
        ctx.note(_statement_object(statement), "rendering", f"sqlglot left out part of it for {ctx.label}: "
                                                            f"{str(error).strip().splitlines()[0]}")
        return statement.sql(dialect=ctx.target.dialect, unsupported_level=ErrorLevel.IGNORE)


def _statement_object(statement: exp.Expression) -> str:
    table = statement.find(exp.Table)
    return table.sql() if table is not None else statement.key
