"""Column definitions: type, nullability, default, identity / auto-increment, generated expression.

Auto-increment has four shapes: PostgreSQL identity (or its own serial/sequence default), DuckDB
sequence + ``nextval`` default, MySQL ``AUTO_INCREMENT``, SQLite ``INTEGER PRIMARY KEY
AUTOINCREMENT`` (only on a single-column integer key). A ``nextval`` default is re-pointed at the
exported sequence, or becomes the target's auto-increment where it has no sequences.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.export.context import Context
from workbench.ddl.export.types import SERIALS, VALUE, resolve_type
from workbench.schema.model import Column, Table

_INTEGERS = (exp.DataType.INTEGER_TYPES - {exp.DataType.Type.BIT}) | set(SERIALS)


def rowid_column(ctx: Context, table: Table) -> str | None:
    """SQLite: the single integer key column that auto-increments, declared inline as the rowid."""
    if ctx.target.autoincrement != "rowid" or not table.primary_key or len(table.primary_key.columns) != 1:
        return None
    name = table.primary_key.columns[0]
    column = table.column(name) if table.has_column(name) else None
    if column is None or not (column.autoincrement or column.identity or nextval_sequence(ctx, column)):
        return None
    try:
        kind = exp.DataType.build(column.type, dialect=ctx.read, udt=True).this
    except SqlglotError:
        return None
    return name if kind in _INTEGERS else None


def column_def(ctx: Context, table: Table, column: Column, table_ref: exp.Table, *, rowid: bool) -> exp.ColumnDef:
    """The ``exp.ColumnDef`` of one column, with notes for whatever the target cannot hold."""
    obj = f"{table.key}.{column.name}"
    resolved = resolve_type(ctx, column.type, obj)
    constraints: list[exp.Expression] = []
    kind = exp.DataType.build("integer") if rowid else resolved.kind
    default = _default(ctx, column, resolved.default, obj)
    sequence = nextval_sequence(ctx, column)
    auto = column.autoincrement or column.identity is not None or resolved.serial
    if sequence is not None and not ctx.target.sequences:
        auto, default = True, None
    if column.generated:
        constraints += _generated(ctx, column.generated, obj)
    elif auto and default is None and not (resolved.serial and ctx.target.dialect == "postgres"):
        kind_constraints, default = _autoincrement(ctx, table, column, table_ref, rowid=rowid)
        constraints += kind_constraints
    if not column.nullable or resolved.not_null:
        constraints.append(exp.NotNullColumnConstraint())
    if default is not None:
        constraints.append(exp.DefaultColumnConstraint(this=default))
    if column.comment and ctx.target.comments == "inline":
        constraints.append(exp.CommentColumnConstraint(this=exp.Literal.string(column.comment)))
    for check in resolved.checks:
        constraints.append(exp.CheckColumnConstraint(this=over_column(check, column.name, ctx)))
    return exp.ColumnDef(this=ctx.ident(column.name), kind=kind,
                         constraints=[exp.ColumnConstraint(kind=c) for c in constraints])


def over_column(check: exp.Expression, column: str, ctx: Context) -> exp.Expression:
    """A domain or enum check written over ``VALUE``, rewritten over the real column."""
    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name.upper() == VALUE:
            return exp.Column(this=ctx.ident(column))
        return node
    return check.copy().transform(swap)


def _default(ctx: Context, column: Column, domain_default: str | None, obj: str) -> exp.Expression | None:
    text = column.default or domain_default
    if text is None:
        return None
    if (sequence := nextval_sequence(ctx, column)) is not None:
        return _nextval(ctx, sequence, obj) if ctx.target.sequences else None
    tree = ctx.parse(text, obj, "default")
    if tree is None or not ctx.renders(tree, obj, "default"):
        return None
    return exp.Paren(this=tree) if ctx.target.default_parens and not _constant(tree) else tree


def _constant(tree: exp.Expression) -> bool:
    """A default every dialect takes bare: a literal, a signed number, NULL, TRUE/FALSE, CURRENT_*."""
    if isinstance(tree, exp.Neg):
        tree = tree.this
    return isinstance(tree, (exp.Literal, exp.Null, exp.Boolean, exp.CurrentTimestamp, exp.CurrentDate,
                             exp.CurrentTime))


def nextval_sequence(ctx: Context, column: Column) -> str | None:
    """The sequence a ``nextval('...')`` default draws from, unquoted, or None for other defaults."""
    if not column.default or "nextval" not in column.default.lower():
        return None
    try:
        call = sqlglot.parse_one(column.default, read=ctx.read)
    except SqlglotError:
        return None
    if not (isinstance(call, exp.Anonymous) and call.name.lower() == "nextval" and call.expressions):
        return None
    argument = call.expressions[0]
    while isinstance(argument, exp.Cast):
        argument = argument.this
    return argument.name.replace('"', "") if isinstance(argument, exp.Literal) and argument.is_string else None


def _nextval(ctx: Context, sequence: str, obj: str) -> exp.Expression | None:
    if ctx.names.place(sequence) is None:
        ctx.note(obj, "default", f"nextval draws from sequence {sequence}, which the schema does not hold; "
                                 f"default omitted")
        return None
    return nextval_call(ctx, ctx.names.table(sequence))


def nextval_call(ctx: Context, sequence: exp.Table) -> exp.Expression:
    return exp.Anonymous(this="nextval", expressions=[exp.Literal.string(sequence.sql(ctx.target.dialect))])


def _generated(ctx: Context, expression: str, obj: str) -> list[exp.Expression]:
    tree = ctx.parse(expression, obj, "generated column")
    if tree is None or not ctx.renders(tree, obj, "generated column"):
        ctx.note(obj, "generated column", "exported as a plain column")
        return []
    if not ctx.target.stored_generated:
        ctx.note(obj, "generated column", f"{ctx.label} has only virtual generated columns; exported virtual")
    return [exp.ComputedColumnConstraint(this=exp.Paren(this=tree), persisted=ctx.target.stored_generated)]


def _autoincrement(ctx: Context, table: Table, column: Column, table_ref: exp.Table,
                   *, rowid: bool) -> tuple[list[exp.Expression], exp.Expression | None]:
    """Constraints (and a default) that make the column count up by itself in the target."""
    obj, style = f"{table.key}.{column.name}", ctx.target.autoincrement
    if column.identity and style != "identity":
        ctx.note(obj, "identity", f"{ctx.label} has no identity columns; exported as {style.replace('_', ' ')}")
    if style == "identity":
        return [exp.GeneratedAsIdentityColumnConstraint(this=column.identity == "always")], None
    if style == "auto_increment":
        return [exp.AutoIncrementColumnConstraint()], None
    if style == "sequence":
        owned = next((s for s in ctx.schema.sequences if s.owned_by == obj), None)
        if owned is not None:  # the model's own sequence (e.g. an identity's) is exported already
            return [], nextval_call(ctx, ctx.names.table(owned.key))
        sequence = exp.Table(this=ctx.ident(f"{table.name}_{column.name}_seq"), db=table_ref.args.get("db"))
        ctx.extra_sequences.append(sequence)
        return [], nextval_call(ctx, sequence)
    if rowid:
        return [exp.PrimaryKeyColumnConstraint(), exp.AutoIncrementColumnConstraint()], None
    ctx.note(obj, "autoincrement", f"{ctx.label} auto-increments only a single INTEGER PRIMARY KEY; "
                                   f"exported as a plain column")
    return [], None
