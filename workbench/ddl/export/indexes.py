"""CREATE INDEX for the target, dropping (with a note) what it cannot express.

DuckDB has only ART indexes (no gin/gist/brin, no INCLUDE, no WHERE); MySQL has no partial or
(here) expression indexes; only PostgreSQL has operator classes. A partial UNIQUE index is skipped
where WHERE is missing, since indexing all rows would reject rows the model allows.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from workbench.ddl.export.context import Context
from workbench.ddl.export.target import target_for
from workbench.schema.model import Index, IndexElement, Schema, Table

_EQUALITY_METHODS = {"hash"}  # served by a b-tree/ART where the method itself is missing


def index_statement(schema: Schema, table: Table, index: Index, dialect: str) -> tuple[exp.Create | None, str]:
    """One index's CREATE INDEX in ``dialect`` outside a whole export, and the exporter's notes ("" when none)."""
    ctx = Context(schema, target_for(dialect))
    statement = create_index(ctx, table, index)
    return statement, "; ".join(note.message for note in ctx.notes)


def create_index(ctx: Context, table: Table, index: Index) -> exp.Create | None:
    """The index statement, or None (with a note) when the target cannot hold a useful version."""
    target = ctx.target
    obj = f"{table.key}.{index.name or '(' + ', '.join(index.columns) + ')'}"
    method = (index.method or "btree").lower()
    if target.index_methods is not None and method not in target.index_methods:
        if method not in _EQUALITY_METHODS:
            ctx.note(obj, "index method", f"{target.label} has no {method} index; index not exported")
            return None
        ctx.note(obj, "index method", f"{target.label} has no {method} index; exported as its default index")
        method = "btree"
    keys = [_key(ctx, element, obj) for element in index.elements]
    if any(key is None for key in keys):
        return None
    where = None
    if index.where is not None:
        if target.index_where:
            where = ctx.parse(index.where, obj, "partial index")
            if where is None:
                return None
        elif index.unique:
            ctx.note(obj, "partial index", f"{target.label} has no partial indexes; a unique index over all "
                                           f"rows would be stricter than WHERE {index.where}: not exported")
            return None
        else:
            ctx.note(obj, "partial index", f"{target.label} has no partial indexes; exported over all rows "
                                           f"(WHERE {index.where} dropped)")
    include = list(index.include)
    if include and not target.index_include:
        ctx.note(obj, "index include", f"{target.label} has no INCLUDE columns; {', '.join(include)} dropped")
        include = []
    if index.nulls_not_distinct:
        ctx.note(obj, "index nulls", "sqlglot cannot build NULLS NOT DISTINCT on an index; exported without it")
    params = exp.IndexParameters(
        using=exp.var(method) if target.index_using and method != "btree" else None,
        columns=keys,
        include=[ctx.ident(c) for c in include] or None,
        where=exp.Where(this=where) if where is not None else None,
    )
    statement = exp.Create(kind="INDEX", unique=index.unique, this=exp.Index(
        this=ctx.ident(_name(ctx, table, index, obj)), table=ctx.names.table(table.key), params=params))
    return statement if ctx.renders(statement, obj, "index") else None


def _name(ctx: Context, table: Table, index: Index, obj: str) -> str:
    """The index name, unique among the relations of its target schema (MySQL names are per table)."""
    name = index.name or "_".join([table.name, *(c.strip("<>") for c in index.columns), "idx"])
    schema = (ctx.names.place(table.key) or (None, ""))[0]
    taken = ctx.relation_names(schema)
    if name.lower() in taken:
        renamed = f"{table.name}_{name}"
        if index.name:
            ctx.note(obj, "index name", f"{name} is already taken in the target schema; exported as {renamed}")
        name = renamed
    taken.add(name.lower())
    return name


def _key(ctx: Context, element: IndexElement, obj: str) -> exp.Ordered | None:
    target = ctx.target
    if element.is_expression:
        if not target.index_expressions:
            ctx.note(obj, "expression index", f"{target.label} has no expression keys here "
                                              f"({element.expression}); index not exported")
            return None
        key = ctx.parse(element.expression, obj, "index expression")
        if key is None:
            return None
    else:
        key = exp.column(ctx.ident(element.expression))
    if element.collation:
        if target.index_opclass:
            key = exp.Collate(this=key, expression=exp.to_identifier(element.collation, quoted=True))
        else:
            ctx.note(obj, "index collation", f"collation {element.collation} dropped for {target.label}")
    if element.opclass:
        if target.index_opclass:
            key = exp.Opclass(this=key, expression=exp.to_table(element.opclass))
        else:
            ctx.note(obj, "index operator class", f"{target.label} has no operator classes; "
                                                  f"{element.opclass} dropped")
    nulls_first = element.nulls_first
    if nulls_first is None:
        nulls_first = _default_nulls_first(target.dialect, element.descending)
    return exp.Ordered(this=key, desc=element.descending or None, nulls_first=nulls_first)


def _default_nulls_first(dialect: str, descending: bool) -> bool:
    """The target's own null placement, so that nothing is written when the model says nothing."""
    ordering = Dialect.get_or_raise(dialect).NULL_ORDERING
    if ordering == "nulls_are_last":
        return False
    return descending if ordering == "nulls_are_large" else not descending
