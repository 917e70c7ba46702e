"""Views, types, sequences, comments and drops: the statements around the tables."""

from __future__ import annotations

from dataclasses import replace

from pglast import ast
from pglast.enums import ConstrType, ObjectType

from workbench.ddl.postgres.context import Context
from workbench.ddl.postgres.deparse import deparse, names_of
from workbench.ddl.postgres.tables import NotModelled, walk
from workbench.ddl.postgres.types import type_text
from workbench.errors import UnknownNameError
from workbench.schema.model import CheckConstraint, Domain, Enum, Sequence, View, qualified


def create_view(ctx: Context, relation: ast.RangeVar, query: ast.Node, columns: tuple[str, ...],
                materialized: bool) -> None:
    schema, name = ctx.qualify(relation.schemaname, relation.relname)
    ctx.relations(schema).add(name)
    ctx.builder.add_view(View(name, schema, deparse(query), _reads(ctx, query),
                              materialized, columns or _output_names(query)))


def _reads(ctx: Context, query: ast.Node) -> tuple[str, ...]:
    """Qualified keys of the relations a query reads, CTE names excluded, in order of appearance."""
    nodes = list(walk(query))
    ctes = {n.ctename for n in nodes if isinstance(n, ast.CommonTableExpr)}
    keys = [ctx.relation_key(n.schemaname, n.relname) for n in nodes
            if isinstance(n, ast.RangeVar) and not (n.schemaname is None and n.relname in ctes)]
    return tuple(dict.fromkeys(keys))


def _output_names(query: ast.Node) -> tuple[str, ...]:
    """Output column names when they follow from the query text alone; () when ``*`` hides them."""
    while isinstance(query, ast.SelectStmt) and query.larg is not None:
        query = query.larg
    if not isinstance(query, ast.SelectStmt) or not query.targetList:
        return ()
    names = []
    for target in query.targetList:
        value = target.val
        if target.name:
            names.append(target.name)
        elif isinstance(value, ast.ColumnRef) and isinstance(value.fields[-1], ast.String):
            names.append(value.fields[-1].sval)
        elif isinstance(value, ast.ColumnRef):
            return ()  # a star
        elif isinstance(value, ast.FuncCall):
            names.append(value.funcname[-1].sval)
        else:
            names.append("?column?")
    return tuple(names)


def create_enum(ctx: Context, node: ast.CreateEnumStmt) -> None:
    schema, name = _split(ctx, names_of(node.typeName))
    ctx.builder.add_enum(Enum(name, tuple(v.sval for v in node.vals or ()), schema))


def create_domain(ctx: Context, node: ast.CreateDomainStmt) -> None:
    schema, name = _split(ctx, names_of(node.domainname))
    domain = Domain(name, type_text(node.typeName), schema)
    for constraint in node.constraints or ():
        if constraint.contype == ConstrType.CONSTR_NOTNULL:
            domain = replace(domain, nullable=False)
        elif constraint.contype == ConstrType.CONSTR_DEFAULT:
            domain = replace(domain, default=deparse(constraint.raw_expr))
        elif constraint.contype == ConstrType.CONSTR_CHECK:
            check = CheckConstraint(deparse(constraint.raw_expr), constraint.conname or f"{name}_check")
            domain = replace(domain, checks=(*domain.checks, check))
    ctx.builder.add_domain(domain)


def create_sequence(ctx: Context, node: ast.CreateSeqStmt) -> bool:
    """Add the sequence; False when IF NOT EXISTS found it already there."""
    schema, name = ctx.qualify(node.sequence.schemaname, node.sequence.relname)
    if node.if_not_exists and qualified(schema, name) in ctx.builder.sequences:
        return False
    ctx.relations(schema).add(name)
    ctx.builder.add_sequence(_with_options(ctx, Sequence(name, schema), node.options))
    return True


def alter_sequence(ctx: Context, node: ast.AlterSeqStmt) -> None:
    key = _sequence_key(ctx, node.sequence)
    ctx.builder.add_sequence(_with_options(ctx, ctx.builder.sequences[key], node.options))


def _sequence_key(ctx: Context, relation: ast.RangeVar) -> str:
    schemas = [relation.schemaname] if relation.schemaname else list(ctx.lookup_path())
    for schema in schemas:
        if (key := qualified(schema, relation.relname)) in ctx.builder.sequences:
            return key
    raise UnknownNameError("sequence", qualified(relation.schemaname, relation.relname), ctx.builder.sequences)


def _with_options(ctx: Context, sequence: Sequence, options: tuple | None) -> Sequence:
    for option in options or ():
        if option.defname in ("start", "increment") and isinstance(option.arg, (ast.Integer, ast.Float)):
            value = option.arg.ival if isinstance(option.arg, ast.Integer) else int(option.arg.fval)
            sequence = replace(sequence, **{option.defname: value})
        elif option.defname == "owned_by":
            owner = names_of(option.arg)
            table = ctx.relation_key(owner[-3] if len(owner) > 2 else None, owner[-2]) if len(owner) > 1 else None
            sequence = replace(sequence, owned_by=f"{table}.{owner[-1]}" if table else None)  # None: OWNED BY NONE
    return sequence


def comment(ctx: Context, node: ast.CommentStmt) -> None:
    """COMMENT ON TABLE / COLUMN; other objects are reported as not modelled."""
    names = names_of(node.object) if node.objtype in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_COLUMN) else ()
    if node.objtype == ObjectType.OBJECT_TABLE:
        draft = ctx.table(ast.RangeVar(schemaname=names[-2] if len(names) > 1 else None, relname=names[-1]))
        draft.comment = node.comment
        return
    if node.objtype == ObjectType.OBJECT_COLUMN:
        table = names[:-1]
        draft = ctx.table(ast.RangeVar(schemaname=table[-2] if len(table) > 1 else None, relname=table[-1]))
        draft.update_column(names[-1], comment=node.comment)
        return
    raise NotModelled(f"comments on {node.objtype.name.removeprefix('OBJECT_').lower()}s are not modelled")


def drop(ctx: Context, node: ast.DropStmt) -> str:
    """Remove dropped tables, views, indexes, sequences and types that the model holds."""
    store = {ObjectType.OBJECT_TABLE: ctx.builder.tables, ObjectType.OBJECT_VIEW: ctx.builder.views,
             ObjectType.OBJECT_MATVIEW: ctx.builder.views, ObjectType.OBJECT_SEQUENCE: ctx.builder.sequences,
             ObjectType.OBJECT_TYPE: ctx.builder.enums, ObjectType.OBJECT_DOMAIN: ctx.builder.domains}
    if node.removeType == ObjectType.OBJECT_INDEX:
        return _drop_indexes(ctx, node)
    if node.removeType not in store:
        raise NotModelled(f"DROP {node.removeType.name.removeprefix('OBJECT_')} is not modelled")
    objects, dropped = store[node.removeType], []
    for obj in node.objects:
        names = names_of(obj.names if isinstance(obj, ast.TypeName) else obj)
        schemas = [names[0]] if len(names) > 1 else list(ctx.lookup_path())
        key = next((k for s in schemas if (k := qualified(s, names[-1])) in objects), None)
        if key is None and not node.missing_ok:
            raise UnknownNameError(node.removeType.name.removeprefix("OBJECT_").lower(), ".".join(names), objects)
        if key is not None:
            del objects[key]
            dropped.append(key)
    return f"dropped {', '.join(dropped)}" if dropped else "nothing to drop (IF EXISTS)"


def _drop_indexes(ctx: Context, node: ast.DropStmt) -> str:
    dropped = []
    for obj in node.objects:
        names = names_of(obj)
        key = ctx.index_key(names[0] if len(names) > 1 else None, names[-1])
        if key is None:
            if node.missing_ok:
                continue
            raise UnknownNameError("index", ".".join(names), ctx.index_tables)
        table = ctx.builder.tables.get(ctx.index_tables.pop(key))
        if table is not None:
            table.indexes = [i for i in table.indexes if i.name != names[-1]]
        dropped.append(key)
    return f"dropped {', '.join(dropped)}" if dropped else "nothing to drop (IF EXISTS)"


def _split(ctx: Context, names: tuple[str, ...]) -> tuple[str, str]:
    return ctx.qualify(names[-2] if len(names) > 1 else None, names[-1])
