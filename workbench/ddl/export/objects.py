"""Everything around the tables: schemas, enum and domain types, sequences, views."""

from __future__ import annotations

from sqlglot import exp

from workbench.ddl.export.context import Context
from workbench.ddl.export.order import topological
from workbench.ddl.export.types import enum_values, resolve_type
from workbench.schema.model import Domain, Enum, Sequence, View


def create_schemas(ctx: Context) -> list[exp.Expression]:
    """CREATE SCHEMA IF NOT EXISTS where the target has schemas; a note per flattened one otherwise."""
    for schema, keys in ctx.names.flattened.items():
        ctx.note(schema, "schema", f"{ctx.label} has no schemas; the {len(keys)} object(s) of {schema} are "
                                   f"exported without the qualifier (as schema_name when the name clashes)")
    return [exp.Create(kind="SCHEMA", exists=True, this=exp.Table(db=ctx.ident(s)))
            for s in ctx.names.namespaces(ctx.schema.schemas)]


def create_types(ctx: Context) -> list[exp.Expression]:
    """CREATE TYPE ... AS ENUM and CREATE DOMAIN where the target has them (else columns inline them)."""
    statements: list[exp.Expression] = []
    if ctx.target.enums == "type":
        statements += [create_enum(ctx, e) for e in ctx.schema.enums]
    if ctx.target.domains:
        statements += [create_domain(ctx, d) for d in ctx.schema.domains]
    return statements


def create_enum(ctx: Context, enum: Enum) -> exp.Expression:
    """``CREATE TYPE name AS ENUM (...)``."""
    return exp.Create(kind="TYPE", this=ctx.names.table(enum.key),
                      expression=exp.DataType(this=exp.DataType.Type.ENUM, expressions=enum_values(enum)))


def create_domain(ctx: Context, domain: Domain) -> exp.Expression:
    """``CREATE DOMAIN name AS type [DEFAULT ...] [NOT NULL] [CHECK ...]``."""
    resolved = resolve_type(ctx, domain.type, domain.key)
    constraints: list[exp.Expression] = []
    if domain.default is not None and (default := ctx.parse(domain.default, domain.key, "default")):
        constraints.append(exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(this=default)))
    if not domain.nullable:
        constraints.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
    for check in domain.checks:
        tree = ctx.parse(check.expression, domain.key, "domain check")
        if tree is not None:
            constraints.append(exp.ColumnConstraint(
                this=ctx.ident(check.name) if check.name else None,
                kind=exp.CheckColumnConstraint(this=tree)))
    return exp.Create(kind="DOMAIN", this=ctx.names.table(domain.key),
                      expression=exp.ColumnDef(kind=resolved.kind, constraints=constraints))


def create_sequences(ctx: Context) -> list[exp.Expression]:
    """The model's sequences plus those invented for auto-increment columns, where the target has them."""
    if not ctx.target.sequences:
        for sequence in ctx.schema.sequences:
            owner = f" (owned by {sequence.owned_by}, exported as auto-increment)" if sequence.owned_by else ""
            ctx.note(sequence.key, "sequence", f"{ctx.label} has no sequences; not exported{owner}")
        return []
    statements = [create_sequence(ctx, sequence) for sequence in ctx.schema.sequences]
    statements += [exp.Create(kind="SEQUENCE", this=table) for table in ctx.extra_sequences]
    return statements


def create_sequence(ctx: Context, sequence: Sequence) -> exp.Expression:
    """``CREATE SEQUENCE name [START WITH n] [INCREMENT BY n]``."""
    options = {"start": sequence.start, "increment": sequence.increment}
    properties = exp.SequenceProperties(**{k: exp.Literal.number(v) for k, v in options.items() if v is not None})
    return exp.Create(kind="SEQUENCE", this=ctx.names.table(sequence.key),
                      properties=exp.Properties(expressions=[properties]))


def sequence_owners(ctx: Context) -> list[exp.Expression]:
    """ALTER SEQUENCE ... OWNED BY after the tables exist (PostgreSQL), a note elsewhere."""
    statements: list[exp.Expression] = []
    for sequence in ctx.schema.sequences:
        if not sequence.owned_by or not ctx.target.sequences:
            continue
        if ctx.target.dialect != "postgres":
            ctx.note(sequence.key, "sequence owner", f"{ctx.label} has no OWNED BY; the sequence is independent "
                                                     f"of {sequence.owned_by}")
            continue
        statements.append(sequence_owner(ctx, sequence))
    return statements


def sequence_owner(ctx: Context, sequence: Sequence) -> exp.Expression:
    """``ALTER SEQUENCE name OWNED BY table.column`` (or ``OWNED BY NONE``) in PostgreSQL."""
    if not sequence.owned_by:
        owner: exp.Expression = exp.var("NONE")
    else:
        table_key, _, column = sequence.owned_by.rpartition(".")
        table = ctx.names.table(table_key)
        owner = exp.Column(this=ctx.ident(column), table=table.this, db=table.args.get("db"))
    return exp.Alter(this=ctx.names.table(sequence.key), kind="SEQUENCE", actions=[exp.SequenceProperties(owned=owner)])


def create_views(ctx: Context, missing: set[str]) -> list[exp.Expression]:
    """Views in dependency order; a view that cannot be transpiled, or reads one that was skipped
    (or a table in ``missing``), is skipped with a note."""
    views = {v.key: v for v in ctx.schema.views}
    order, _ = topological(views, lambda key: ((d, d) for d in views[key].depends_on))
    skipped = set(missing)
    statements: list[exp.Expression] = []
    for key in order:
        view = views[key]
        blocked = [d for d in view.depends_on if d in skipped]
        if blocked:
            ctx.note(key, "view", f"reads {', '.join(blocked)}, which is not exported; view not exported")
        elif (statement := create_view(ctx, view)) is not None:
            statements.append(statement)
            continue
        skipped.add(key)
    return statements


def create_view(ctx: Context, view: View) -> exp.Expression | None:
    """``CREATE [MATERIALIZED] VIEW``, or None (with a note) when the target cannot hold it."""
    query = ctx.parse(view.sql, view.key, "view", statement=True)
    if query is None:
        ctx.note(view.key, "view", "view not exported")
        return None
    functions = sorted({f"{dot.this.sql(ctx.read)}.{_function_name(dot.expression)}"
                        for dot in query.find_all(exp.Dot) if isinstance(dot.expression, exp.Func)})
    if functions:
        ctx.note(view.key, "view", f"calls {', '.join(functions)}, which the schema model does not hold; "
                                   f"view not exported")
        return None
    properties = None
    if view.materialized and ctx.target.materialized_views:
        properties = exp.Properties(expressions=[exp.MaterializedProperty()])
    elif view.materialized:
        ctx.note(view.key, "materialized view", f"{ctx.label} has no materialized views; exported as a view")
    ref = ctx.names.table(view.key)
    this = exp.Schema(this=ref, expressions=[ctx.ident(c) for c in view.columns]) if view.columns else ref
    statement = exp.Create(kind="VIEW", this=this, expression=query, properties=properties)
    if not ctx.renders(statement, view.key, "view"):
        ctx.note(view.key, "view", "view not exported")
        return None
    return statement


def _function_name(function: exp.Func) -> str:
    return function.name if isinstance(function, exp.Anonymous) else function.sql_name().lower()
