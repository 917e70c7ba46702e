"""CREATE TABLE with its keys, checks, partitioning and comments; foreign keys for either placement.

A PostgreSQL partition is ``CREATE TABLE p PARTITION OF parent FOR VALUES ...``: it inherits the
parent's columns, keys and indexes, so only what the partition adds of its own is exported for it.
"""

from __future__ import annotations

from dataclasses import replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.export.columns import column_def, rowid_column
from workbench.ddl.export.context import Context
from workbench.schema.model import CheckConstraint, ForeignKey, PrimaryKey, Table, UniqueConstraint


def create_table(ctx: Context, table: Table, fks: list[exp.Expression],
                 parent: Table | None = None) -> list[exp.Expression]:
    """CREATE TABLE (with ``fks`` inline) plus its COMMENT ON statements; partitions follow in PG.

    With ``ctx.keys_apart`` the primary key and unique constraints follow as ALTER TABLE ... ADD, as
    pg_dump writes them: a bulk load then builds their indexes once, by sorting, after the data is in.
    """
    ref = ctx.names.table(table.key)
    properties: list[exp.Expression] = []
    if parent is not None:
        properties.append(exp.PartitionedOfProperty(this=ctx.names.table(parent.key),
                                                     expression=_bound(ctx, table)))
        items, after = [], [_add(ref, item) for item in _constraints(ctx, _own(table, parent), None) + fks]
    else:
        rowid = rowid_column(ctx, table)
        keys, checks = _keys(ctx, table, rowid), _checks(ctx, table)
        items = [column_def(ctx, table, c, ref, rowid=c.name == rowid) for c in table.columns]
        items += ([] if ctx.keys_apart else keys) + checks + fks
        after = [_add(ref, key) for key in keys] if ctx.keys_apart else []
    if table.partitioning is not None:
        properties += _partition_by(ctx, table)
    if table.comment and ctx.target.comments == "inline":
        properties.append(exp.SchemaCommentProperty(this=exp.Literal.string(table.comment)))
    create = exp.Create(kind="TABLE", this=exp.Schema(this=ref, expressions=items) if items else ref,
                        properties=exp.Properties(expressions=properties) if properties else None)
    return [create, *after, *_comments(ctx, table, ref)]


def foreign_key(ctx: Context, table: Table, fk: ForeignKey) -> exp.Expression | None:
    """The FOREIGN KEY constraint as the target can hold it, or None (with a note) when it cannot."""
    obj = f"{table.key}.{fk.name or '(' + ', '.join(fk.columns) + ')'}"
    referenced = ctx.schema.referenced_table(fk)
    if referenced is None:
        ctx.note(obj, "foreign key", f"references {fk.ref_key}, which the schema does not hold; not exported")
        return None
    here, there = ctx.names.place(table.key), ctx.names.place(referenced.key)
    if ctx.target.fk_same_schema and here and there and here[0] != there[0]:
        ctx.note(obj, "foreign key", f"{ctx.label} has no foreign keys across schemas ({here[0] or 'default'} -> "
                                     f"{there[0] or 'default'}); not exported")
        return None
    ref_columns = fk.ref_columns or (referenced.primary_key.columns if referenced.primary_key else ())
    if ctx.target.fk_needs_declared_key and not _declared_key(referenced, ref_columns):
        ctx.note(obj, "foreign key", f"{ctx.label} needs a PRIMARY KEY or UNIQUE constraint on "
                                     f"{referenced.key}({', '.join(ref_columns)}); not exported")
        return None
    options = []
    for event, action in (("DELETE", fk.on_delete), ("UPDATE", fk.on_update)):
        if action is None:
            continue
        if action.upper() in ctx.target.fk_actions:
            options.append(f"ON {event} {action.upper()}")
        else:
            ctx.note(obj, "foreign key action", f"{ctx.label} rejects ON {event} {action.upper()}; "
                                                f"the key is exported without the action")
    if fk.deferrable and ctx.target.deferrable:
        options += ["DEFERRABLE", "INITIALLY DEFERRED" if fk.initially_deferred else "INITIALLY IMMEDIATE"]
    elif fk.deferrable:
        ctx.note(obj, "foreign key", f"{ctx.label} has no deferrable constraints; exported as immediate")
    key = exp.ForeignKey(
        expressions=[ctx.ident(c) for c in fk.columns],
        reference=exp.Reference(
            this=exp.Schema(this=ctx.names.table(referenced.key), expressions=[ctx.ident(c) for c in ref_columns]),
            options=options,
        ),
    )
    return _named(ctx, fk.name, key)


def add_constraint(ctx: Context, table: Table, constraint: exp.Expression) -> exp.Alter:
    return _add(ctx.names.table(table.key), constraint)


def _add(ref: exp.Table, constraint: exp.Expression) -> exp.Alter:
    return exp.Alter(this=ref.copy(), kind="TABLE", actions=[exp.AddConstraint(expressions=[constraint])])


def _named(ctx: Context, name: str | None, constraint: exp.Expression) -> exp.Expression:
    return exp.Constraint(this=ctx.ident(name), expressions=[constraint]) if name else constraint


def _declared_key(table: Table, columns: tuple[str, ...]) -> bool:
    keys = [table.primary_key.columns] if table.primary_key else []
    keys += [u.columns for u in table.uniques]
    return any(set(key) == set(columns) for key in keys)


def _constraints(ctx: Context, table: Table, rowid: str | None) -> list[exp.Expression]:
    """Primary key (unless declared inline as SQLite's rowid), unique constraints, checks."""
    return _keys(ctx, table, rowid) + _checks(ctx, table)


def _keys(ctx: Context, table: Table, rowid: str | None) -> list[exp.Expression]:
    """Primary key (unless declared inline as SQLite's rowid) and unique constraints."""
    keys = [primary_key_constraint(ctx, table.primary_key)] if table.primary_key and rowid is None else []
    return keys + [unique_constraint(ctx, table, unique) for unique in table.uniques]


def _checks(ctx: Context, table: Table) -> list[exp.Expression]:
    """The checks the target can express (the others become notes)."""
    checks = (check_constraint(ctx, table, check) for check in table.checks)
    return [check for check in checks if check is not None]


def primary_key_constraint(ctx: Context, key: PrimaryKey) -> exp.Expression:
    """``[CONSTRAINT name] PRIMARY KEY (...)``, for CREATE TABLE or ALTER TABLE ... ADD."""
    return _named(ctx, key.name, exp.PrimaryKey(expressions=[ctx.ident(c) for c in key.columns]))


def unique_constraint(ctx: Context, table: Table, unique: UniqueConstraint) -> exp.Expression:
    """``[CONSTRAINT name] UNIQUE [NULLS NOT DISTINCT] (...)`` as the target can hold it."""
    nnd = unique.nulls_not_distinct and ctx.target.nulls_not_distinct
    if unique.nulls_not_distinct and not nnd:
        ctx.note(f"{table.key}.{unique.name or ', '.join(unique.columns)}", "unique constraint",
                 f"{ctx.label} has no NULLS NOT DISTINCT; exported as a plain UNIQUE")
    key = exp.UniqueColumnConstraint(this=exp.Schema(expressions=[ctx.ident(c) for c in unique.columns]),
                                     nulls=nnd or None)
    return _named(ctx, unique.name, key)


def check_constraint(ctx: Context, table: Table, check: CheckConstraint) -> exp.Expression | None:
    """``[CONSTRAINT name] CHECK (...)``, or None (with a note) when the target cannot express it."""
    obj = f"{table.key}.{check.name or 'check'}"
    tree = ctx.parse(check.expression, obj, "check")
    if tree is None or not ctx.renders(tree, obj, "check"):
        return None
    return _named(ctx, check.name, exp.CheckColumnConstraint(this=tree))


def _own(partition: Table, parent: Table) -> Table:
    """The partition without the keys and checks it inherits from its parent (matched without names)."""
    def unnamed(items: tuple) -> set:
        return {replace(item, name=None) for item in items}
    return replace(
        partition,
        primary_key=None if parent.primary_key else partition.primary_key,
        uniques=tuple(u for u in partition.uniques if replace(u, name=None) not in unnamed(parent.uniques)),
        checks=tuple(c for c in partition.checks if replace(c, name=None) not in unnamed(parent.checks)),
    )


def _bound(ctx: Context, partition: Table) -> exp.Expression | None:
    """The FOR VALUES bound, parsed in the source dialect inside a scaffold CREATE ... PARTITION OF."""
    text = partition.bound or "DEFAULT"
    try:
        found = sqlglot.parse_one(f"CREATE TABLE p PARTITION OF t {text}", read=ctx.read).find(
            exp.PartitionedOfProperty)
    except SqlglotError:
        found = None
    if found is None:
        ctx.note(partition.key, "partition bound", f"cannot parse bound {text!r}; exported as DEFAULT")
        return exp.var("DEFAULT")
    return found.expression


def _partition_by(ctx: Context, table: Table) -> list[exp.Expression]:
    partitioning = table.partitioning
    assert partitioning is not None
    if not ctx.target.partitioning:
        keys = [p.key for p in table.partitions]
        names = ", ".join(keys if len(keys) <= 6 else [*keys[:3], "...", keys[-1]]) or "none declared"
        ctx.note(table.key, "partitioning",
                 f"partitioning not expressible in {ctx.label} ({partitioning.strategy} on "
                 f"{', '.join(partitioning.key)}); exported as one plain table, "
                 f"{len(keys)} partition(s) not created: {names}")
        return []
    keys = [exp.column(ctx.ident(k)) if table.has_column(k) else ctx.parse(k, table.key, "partition key")
            for k in partitioning.key]
    return [exp.PartitionedByProperty(this=exp.Anonymous(this=partitioning.strategy.upper(),
                                                         expressions=[k for k in keys if k is not None]))]


def _comments(ctx: Context, table: Table, ref: exp.Table) -> list[exp.Expression]:
    commented = [c for c in table.columns if c.comment]
    if ctx.target.comments != "comment_on":
        if ctx.target.comments is None and (table.comment or commented):
            ctx.note(table.key, "comment", f"{ctx.label} has no comments; the comments of the table and "
                                           f"{len(commented)} column(s) are not exported")
        return []
    statements: list[exp.Expression] = []
    if table.comment:
        statements.append(exp.Comment(this=ref.copy(), kind="TABLE", expression=exp.Literal.string(table.comment)))
    for column in commented:
        db = ref.args.get("db")
        target = exp.Column(this=ctx.ident(column.name), table=ref.this.copy(), db=db.copy() if db else None)
        statements.append(exp.Comment(this=target, kind="COLUMN", expression=exp.Literal.string(column.comment)))
    return statements
