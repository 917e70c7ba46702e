"""PostgreSQL statements sqlglot cannot build, as pglast syntax trees printed by pglast.

sqlglot (which the exporter uses) has no tree for ``ALTER COLUMN SET NOT NULL``, ``VALIDATE
CONSTRAINT``, ``ALTER TYPE ... ADD VALUE``, identity columns or partition attachment; pglast holds
PostgreSQL's own parse trees and prints them exactly. Types and expressions come from the exporter as
sqlglot trees rendered for PostgreSQL, then parsed here into pglast nodes (inside a scaffold
``SELECT``), so no user text is ever pasted into a statement.
"""

from __future__ import annotations

from functools import lru_cache

import pglast
from pglast import ast, enums
from pglast.stream import RawStream
from sqlglot import exp

AT = enums.AlterTableType


def text(node: ast.Node) -> str:
    """The statement as PostgreSQL text."""
    return RawStream()(node).strip()


def relation(schema: str | None, name: str) -> ast.RangeVar:
    return ast.RangeVar(schemaname=schema, relname=name, inh=True, relpersistence="p")


def relation_of(table: exp.Table) -> ast.RangeVar:
    """The RangeVar of a table reference the exporter built (``NameMap.table``)."""
    return relation(table.db or None, table.name)


@lru_cache(maxsize=4096)
def _parsed_target(sql_text: str) -> ast.Node:
    return pglast.parse_sql(f"SELECT {sql_text}")[0].stmt.targetList[0].val


def expression(tree: exp.Expression) -> ast.Node:
    """A sqlglot expression as a pglast expression node."""
    return _parsed_target(tree.sql("postgres"))


def type_name(kind: exp.DataType) -> ast.TypeName:
    """A sqlglot type as a pglast TypeName."""
    return _parsed_target(f"NULL::{kind.sql('postgres')}").typeName


def alter_table(table: ast.RangeVar, *commands: ast.AlterTableCmd) -> ast.AlterTableStmt:
    return ast.AlterTableStmt(relation=table, cmds=commands, objtype=enums.ObjectType.OBJECT_TABLE)


def command(subtype: AT, name: str | None = None, definition: ast.Node | None = None,
            missing_ok: bool = False) -> ast.AlterTableCmd:
    return ast.AlterTableCmd(subtype=subtype, name=name, num=0, def_=definition, missing_ok=missing_ok,
                             behavior=enums.DropBehavior.DROP_RESTRICT)


def set_not_null(column: str) -> ast.AlterTableCmd:
    return command(AT.AT_SetNotNull, column)


def drop_not_null(column: str) -> ast.AlterTableCmd:
    return command(AT.AT_DropNotNull, column)


def set_default(column: str, value: exp.Expression | None) -> ast.AlterTableCmd:
    """SET DEFAULT value, or DROP DEFAULT when ``value`` is None."""
    return command(AT.AT_ColumnDefault, column, expression(value) if value is not None else None)


def set_type(column: str, kind: exp.DataType, using: exp.Expression | None) -> ast.AlterTableCmd:
    definition = ast.ColumnDef(typeName=type_name(kind), raw_default=expression(using) if using is not None else None)
    return command(AT.AT_AlterColumnType, column, definition)


def validate(constraint: str) -> ast.AlterTableCmd:
    return command(AT.AT_ValidateConstraint, constraint)


def add_identity(column: str, always: bool) -> ast.AlterTableCmd:
    identity = ast.Constraint(contype=enums.ConstrType.CONSTR_IDENTITY, generated_when="a" if always else "d")
    return command(AT.AT_AddIdentity, column, identity)


def drop_identity(column: str) -> ast.AlterTableCmd:
    return command(AT.AT_DropIdentity, column, missing_ok=True)


def drop_expression(column: str) -> ast.AlterTableCmd:
    return command(AT.AT_DropExpression, column)


def set_expression(column: str, value: exp.Expression) -> ast.AlterTableCmd:
    return command(AT.AT_SetExpression, column, expression(value))


def detach_partition(partition: ast.RangeVar) -> ast.AlterTableCmd:
    return command(AT.AT_DetachPartition, definition=ast.PartitionCmd(name=partition, concurrent=False))


def constraint_using_index(name: str, primary: bool, index: str) -> ast.AlterTableCmd:
    kind = enums.ConstrType.CONSTR_PRIMARY if primary else enums.ConstrType.CONSTR_UNIQUE
    return command(AT.AT_AddConstraint, definition=ast.Constraint(contype=kind, conname=name, indexname=index))


def rename_constraint(table: ast.RangeVar, old: str, new: str) -> ast.RenameStmt:
    return ast.RenameStmt(renameType=enums.ObjectType.OBJECT_TABCONSTRAINT, relation=table, subname=old,
                          newname=new, behavior=enums.DropBehavior.DROP_RESTRICT)


def _names(schema: str | None, name: str) -> tuple[ast.String, ...]:
    return tuple(ast.String(sval=part) for part in (schema, name) if part)


def rename_type(schema: str | None, name: str, new: str) -> ast.RenameStmt:
    return ast.RenameStmt(renameType=enums.ObjectType.OBJECT_TYPE, object=_names(schema, name), newname=new,
                          behavior=enums.DropBehavior.DROP_RESTRICT)


def add_enum_value(schema: str | None, name: str, value: str, neighbor: str | None, after: bool,
                   if_not_exists: bool) -> ast.AlterEnumStmt:
    return ast.AlterEnumStmt(typeName=_names(schema, name), newVal=value, newValNeighbor=neighbor,
                             newValIsAfter=after, skipIfNewValExists=if_not_exists)


def rename_enum_value(schema: str | None, name: str, old: str, new: str) -> ast.AlterEnumStmt:
    return ast.AlterEnumStmt(typeName=_names(schema, name), oldVal=old, newVal=new)


def do_block(body: str) -> ast.DoStmt:
    """``DO $$ body $$``: PL/pgSQL has no printer, so the body is text assembled from rendered statements."""
    return ast.DoStmt(args=(ast.DefElem(defname="as", arg=ast.String(sval=body)),))


def create_trigger_function(schema: str | None, name: str, body: str) -> ast.CreateFunctionStmt:
    """``CREATE OR REPLACE FUNCTION name() RETURNS trigger LANGUAGE plpgsql AS $$ body $$``."""
    return ast.CreateFunctionStmt(
        is_procedure=False, replace=True, funcname=_names(schema, name), parameters=None,
        returnType=ast.TypeName(names=(ast.String(sval="trigger"),), typemod=-1),
        options=(ast.DefElem(defname="language", arg=ast.String(sval="plpgsql")),
                 ast.DefElem(defname="as", arg=(ast.String(sval=body),))))


def create_trigger(name: str, table: ast.RangeVar, schema: str | None, function: str, *, before: bool,
                   columns: tuple[str, ...] = ()) -> ast.CreateTrigStmt:
    """``CREATE TRIGGER name {BEFORE|AFTER} INSERT OR UPDATE [OF columns] ON table FOR EACH ROW``."""
    insert, update, before_flag = 1 << 2, 1 << 4, 1 << 1
    return ast.CreateTrigStmt(replace=False, isconstraint=False, trigname=name, relation=table,
                              funcname=_names(schema, function), row=True, timing=before_flag if before else 0,
                              events=insert | update, columns=tuple(ast.String(sval=c) for c in columns) or None,
                              deferrable=False, initdeferred=False)


def drop_trigger(name: str, table: ast.RangeVar) -> ast.DropStmt:
    objects = ((*_names(table.schemaname, table.relname), ast.String(sval=name)),)
    return ast.DropStmt(objects=objects, removeType=enums.ObjectType.OBJECT_TRIGGER, missing_ok=True,
                        behavior=enums.DropBehavior.DROP_RESTRICT, concurrent=False)


def drop_function(schema: str | None, name: str) -> ast.DropStmt:
    function = ast.ObjectWithArgs(objname=_names(schema, name), objargs=(), args_unspecified=False)
    return ast.DropStmt(objects=(function,), removeType=enums.ObjectType.OBJECT_FUNCTION, missing_ok=True,
                        behavior=enums.DropBehavior.DROP_RESTRICT, concurrent=False)


def identifier(name: str) -> str:
    """A name quoted as PostgreSQL needs it, for the PL/pgSQL bodies assembled around rendered SQL."""
    return exp.to_identifier(name, quoted=not _plain(name)).sql("postgres")


def _plain(name: str) -> bool:
    from workbench.ddl.export.names import ident

    return not ident(name, "postgres").quoted
