"""Tables, columns, constraints and indexes from pglast nodes into the builder's drafts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from pglast import ast
from pglast.enums import ConstrType, SortByDir, SortByNulls

from workbench.ddl.postgres.codes import IDENTITY, PARTITION_STRATEGIES, fk_action, partition_key
from workbench.ddl.postgres.context import Context
from workbench.ddl.postgres.deparse import deparse, names_of, quote_ident
from workbench.ddl.postgres.names import choose_name, column_part
from workbench.ddl.postgres.types import serial_base, type_text
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.builder import TableDraft
from workbench.schema.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    IndexElement,
    Partitioning,
    PrimaryKey,
    Sequence,
    UniqueConstraint,
    qualified,
)

_NULLS = {SortByNulls.SORTBY_NULLS_FIRST: True, SortByNulls.SORTBY_NULLS_LAST: False}


class NotModelled(WorkbenchError):
    """A part of a statement the model has no place for; reported as not modelled, not as an error."""


def walk(node: object) -> Iterator[ast.Node]:
    """Every pglast node under ``node``, itself included."""
    if isinstance(node, ast.Node):
        yield node
        for attribute in node:
            yield from walk(getattr(node, attribute))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from walk(item)


def create_table(ctx: Context, node: ast.CreateStmt) -> list[str]:
    """Fill a new draft from CREATE TABLE; returns notes on the parts the model does not hold.

    A statement that fails half-way leaves no table behind, as on the server.
    """
    schema, name = ctx.qualify(node.relation.schemaname, node.relation.relname)
    draft = ctx.builder.add_table(name, schema)
    try:
        return _fill_table(ctx, draft, node)
    except Exception:
        ctx.builder.discard_table(draft.key)
        raise


def _fill_table(ctx: Context, draft: TableDraft, node: ast.CreateStmt) -> list[str]:
    ctx.relations(draft.schema).add(draft.name)
    notes = []
    if node.partbound is not None:
        parent = ctx.table(node.inhRelations[0])
        draft.columns = [replace(c, comment=None) for c in parent.columns]
        draft.parent, draft.bound = parent.key, deparse(node.partbound)
    elif node.inhRelations:
        notes.append("table inheritance (INHERITS) is not modelled")
    if node.ofTypename is not None:
        notes.append("typed tables (OF type) are not modelled")
    pending: list[tuple[ast.Constraint, str | None]] = []
    for element in node.tableElts or ():
        if isinstance(element, ast.ColumnDef):
            pending += add_column(ctx, draft, element)
        elif isinstance(element, ast.Constraint):
            pending.append((element, None))
        else:
            notes.append(f"{type(element).__name__} in CREATE TABLE is not modelled")
    for constraint, column in sorted(pending, key=lambda p: p[0].contype == ConstrType.CONSTR_FOREIGN):
        try:
            add_constraint(ctx, draft, constraint, column)
        except NotModelled as skipped:
            notes.append(str(skipped))
    if node.partspec is not None:
        draft.partitioning = Partitioning(PARTITION_STRATEGIES[node.partspec.strategy],
                                          partition_key(node.partspec))
    return notes


def add_column(ctx: Context, draft: TableDraft, node: ast.ColumnDef) -> list[tuple[ast.Constraint, str]]:
    """Add (or, in a PARTITION OF, refine) a column; returns its key/check constraints for later."""
    existing = draft.parent is not None and draft.has_column(node.colname)
    if existing:
        column = draft.columns[draft.column_position(node.colname)]
    else:
        draft.require_new_column(node.colname)  # before a serial registers its sequence
        base = serial_base(node.typeName)
        column = Column(node.colname, base or type_text(node.typeName))
        if base:
            sequence = add_owned_sequence(ctx, draft, node.colname)
            column = replace(column, autoincrement=True, nullable=False,
                             default=f"nextval('{sequence}'::regclass)")
    later = []
    for constraint in node.constraints or ():
        kind = constraint.contype
        if kind == ConstrType.CONSTR_NOTNULL:
            column = replace(column, nullable=False)
        elif kind == ConstrType.CONSTR_NULL:
            column = replace(column, nullable=True)
        elif kind == ConstrType.CONSTR_DEFAULT:
            column = replace(column, default=deparse(constraint.raw_expr))
        elif kind == ConstrType.CONSTR_IDENTITY:
            column = replace(column, **identity(ctx, draft, node.colname, constraint))
        elif kind == ConstrType.CONSTR_GENERATED:
            column = replace(column, generated=deparse(constraint.raw_expr))
        else:
            later.append((constraint, node.colname))
    if existing:
        draft.update_column(node.colname, **{f: getattr(column, f) for f in ("nullable", "default", "generated")})
    else:
        draft.columns.append(column)
    return later


def identity(ctx: Context, draft: TableDraft, column: str, constraint: ast.Constraint) -> dict[str, object]:
    """Column changes for GENERATED ALWAYS / BY DEFAULT AS IDENTITY, registering its sequence."""
    options = {o.defname: o.arg for o in constraint.options or ()}
    sequence_name = names_of(options.get("sequence_name"))
    add_owned_sequence(ctx, draft, column, sequence_name,
                       start=_number(options.get("start")), increment=_number(options.get("increment")))
    return {"identity": IDENTITY[constraint.generated_when], "nullable": False}


def add_owned_sequence(ctx: Context, draft: TableDraft, column: str, written: tuple[str, ...] = (),
                       start: int | None = None, increment: int | None = None) -> str:
    """Register the sequence behind a serial or identity column; returns its qualified SQL name."""
    schema, name = (written[-2] if len(written) > 1 else draft.schema), written[-1] if written else None
    name = name or choose_name(draft.name, column, "seq", ctx.relations(schema))
    ctx.relations(schema).add(name)
    owner = f"{draft.key}.{column}"
    ctx.builder.add_sequence(Sequence(name, schema, owned_by=owner, start=start, increment=increment))
    return f"{quote_ident(schema)}.{quote_ident(name)}" if schema else quote_ident(name)


def add_constraint(ctx: Context, draft: TableDraft, node: ast.Constraint, column: str | None = None) -> str:
    """Add a table or column constraint to ``draft``; returns the kind it was ("PRIMARY KEY"...)."""
    kind = node.contype
    schema = draft.schema or ctx.creation_schema
    if kind in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
        return _add_key(ctx, draft, node, column, schema)
    if kind == ConstrType.CONSTR_FOREIGN:
        draft.foreign_keys.append(_foreign_key(ctx, draft, node, column, schema))
        return "FOREIGN KEY"
    if kind == ConstrType.CONSTR_CHECK:
        referenced = {n.fields[-1].sval for n in walk(node.raw_expr)
                      if isinstance(n, ast.ColumnRef) and isinstance(n.fields[-1], ast.String)}
        name = node.conname or choose_name(
            draft.name, next(iter(referenced)) if len(referenced) == 1 else None, "check", ctx.constraints(schema))
        draft.checks.append(CheckConstraint(deparse(node.raw_expr), name))
        return "CHECK"
    if kind == ConstrType.CONSTR_NOTNULL:
        for name in names_of(node.keys) or (column,):
            draft.update_column(name, nullable=False)
        return "NOT NULL"
    label = kind.name.removeprefix("CONSTR_").replace("_", " ")
    raise NotModelled(f"{label} constraints are not modelled")


def _add_key(ctx: Context, draft: TableDraft, node: ast.Constraint, column: str | None, schema: str) -> str:
    primary = node.contype == ConstrType.CONSTR_PRIMARY
    nulls_not_distinct = node.nulls_not_distinct
    if node.indexname:  # ADD CONSTRAINT ... USING INDEX: the index becomes the constraint's
        index = _take_index(ctx, draft, node.indexname)
        columns, nulls_not_distinct = tuple(e.expression for e in index.elements), index.nulls_not_distinct
        name = node.conname or node.indexname
        ctx.relations(schema).discard(node.indexname)
        ctx.relations(schema).add(name)
    else:
        columns = names_of(node.keys) or (column,)
        label, addition = ("pkey", None) if primary else ("key", column_part(columns))
        name = node.conname or choose_name(draft.name, addition, label, ctx.relations(schema))
        ctx.relations(schema).add(name)
    ctx.constraints(schema).add(name)
    missing = [c for c in columns if not draft.has_column(c)]
    if missing:
        raise UnknownNameError(f"column of {draft.key}", missing[0], (c.name for c in draft.columns))
    if primary:
        draft.primary_key = PrimaryKey(columns, name)
        for key_column in columns:
            draft.update_column(key_column, nullable=False)
        return "PRIMARY KEY"
    draft.uniques.append(UniqueConstraint(columns, name, nulls_not_distinct))
    return "UNIQUE"


def _take_index(ctx: Context, draft: TableDraft, index_name: str) -> Index:
    for position, index in enumerate(draft.indexes):
        if index.name == index_name:
            if not index.unique or index.where is not None or any(e.is_expression for e in index.elements):
                raise WorkbenchError(f"index {index_name} of {draft.key} is not unique, is partial or has "
                                     "expressions; PostgreSQL refuses it for a constraint: use a plain unique index")
            del draft.indexes[position]
            ctx.index_tables.pop(qualified(draft.schema, index_name), None)
            return index
    raise UnknownNameError(f"index of {draft.key}", index_name, (i.name or "" for i in draft.indexes))


def _foreign_key(ctx: Context, draft: TableDraft, node: ast.Constraint, column: str | None,
                 schema: str) -> ForeignKey:
    columns = names_of(node.fk_attrs) or (column,)
    target = ctx.relation_key(node.pktable.schemaname, node.pktable.relname)
    referenced = ctx.builder.tables.get(target)
    ref_columns = names_of(node.pk_attrs)
    if not ref_columns and referenced is not None and referenced.primary_key is not None:
        ref_columns = referenced.primary_key.columns
    name = node.conname or choose_name(draft.name, column_part(columns), "fkey", ctx.constraints(schema))
    ctx.constraints(schema).add(name)
    ref_schema, ref_table = target.split(".", 1) if referenced is None else (referenced.schema, referenced.name)
    return ForeignKey(
        columns, ref_table, ref_columns, ref_schema, name,
        on_delete=fk_action(node.fk_del_action), on_update=fk_action(node.fk_upd_action),
        deferrable=bool(node.deferrable), initially_deferred=bool(node.initdeferred),
    )


def create_index(ctx: Context, node: ast.IndexStmt) -> bool:
    """Add CREATE INDEX to its table; False when IF NOT EXISTS found the name taken."""
    view = ctx.builder.views.get(ctx.relation_key(node.relation.schemaname, node.relation.relname))
    if view is not None:
        raise NotModelled(f"indexes on materialized views are not modelled ({view.key})")
    draft = ctx.table(node.relation)
    schema = draft.schema or ctx.creation_schema
    if node.idxname and node.if_not_exists and qualified(schema, node.idxname) in ctx.index_tables:
        return False
    elements = tuple(_element(e) for e in node.indexParams)
    include = tuple(e.name for e in node.indexIncludingParams or ())
    keys = (*node.indexParams, *(node.indexIncludingParams or ()))
    addition = column_part(_unique_names([_column_name(e) for e in keys]))
    name = node.idxname or choose_name(draft.name, addition, "idx", ctx.relations(schema))
    ctx.relations(schema).add(name)
    ctx.index_tables[qualified(schema, name)] = draft.key
    draft.indexes.append(Index(
        name, elements, unique=bool(node.unique), method=node.accessMethod or "btree", include=include,
        where=deparse(node.whereClause) if node.whereClause is not None else None,
        nulls_not_distinct=bool(node.nulls_not_distinct),
    ))
    return True


def _element(node: ast.IndexElem) -> IndexElement:
    return IndexElement(
        expression=node.name or deparse(node.expr),
        is_expression=node.name is None,
        descending=node.ordering == SortByDir.SORTBY_DESC,
        nulls_first=_NULLS.get(node.nulls_ordering),
        opclass=".".join(names_of(node.opclass)) or None,
        collation=".".join(names_of(node.collation)) or None,
    )


def _column_name(node: ast.IndexElem) -> str:
    """The name PostgreSQL uses for an index column when naming the index (FigureIndexColname)."""
    return node.indexcolname or node.name or _figure(node.expr) or "expr"


def _figure(expression: ast.Node) -> str | None:
    if isinstance(expression, ast.ColumnRef) and isinstance(expression.fields[-1], ast.String):
        return expression.fields[-1].sval
    if isinstance(expression, ast.FuncCall):
        return expression.funcname[-1].sval
    if isinstance(expression, ast.TypeCast):
        return _figure(expression.arg) or expression.typeName.names[-1].sval
    return None


def _unique_names(names: list[str]) -> list[str]:
    """Number repeated names (``expr``, ``expr1``...) as ChooseIndexColumnNames does."""
    result: list[str] = []
    for name in names:
        candidate, attempt = name, 0
        while candidate in result:
            attempt += 1
            candidate = f"{name}{attempt}"
        result.append(candidate)
    return result


def _number(node: ast.Node | None) -> int | None:
    if isinstance(node, ast.Integer):
        return node.ival
    if isinstance(node, ast.Float):
        return int(node.fval)
    return None
