"""ALTER TABLE / ALTER INDEX subcommands, each reported as its own outcome.

pg_dump puts keys, defaults, identities and partition attachments in ALTER TABLE ONLY statements,
so these are applied to the drafts created earlier in the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pglast import ast
from pglast.enums import AlterTableType as At
from pglast.enums import ObjectType

from workbench.ddl.postgres.context import Context
from workbench.ddl.postgres.deparse import deparse
from workbench.ddl.postgres.tables import NotModelled, add_column, add_constraint, identity
from workbench.ddl.postgres.types import type_text
from workbench.ddl.report import ERROR, MODELLED, NOT_MODELLED
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.builder import TableDraft
from workbench.schema.model import qualified

_LABELS = {
    At.AT_AddConstraint: "ADD CONSTRAINT", At.AT_AddColumn: "ADD COLUMN", At.AT_ColumnDefault: "ALTER COLUMN DEFAULT",
    At.AT_SetNotNull: "ALTER COLUMN SET NOT NULL", At.AT_DropNotNull: "ALTER COLUMN DROP NOT NULL",
    At.AT_AddIdentity: "ALTER COLUMN ADD IDENTITY", At.AT_DropIdentity: "ALTER COLUMN DROP IDENTITY",
    At.AT_AttachPartition: "ATTACH PARTITION", At.AT_DetachPartition: "DETACH PARTITION",
    At.AT_DropConstraint: "DROP CONSTRAINT", At.AT_DropColumn: "DROP COLUMN",
    At.AT_AlterColumnType: "ALTER COLUMN TYPE", At.AT_ChangeOwner: "OWNER TO",
}
_NOT_MODELLED = {At.AT_ChangeOwner: "ownership is not modelled"}
_OBJECTS = {ObjectType.OBJECT_INDEX: "ALTER INDEX", ObjectType.OBJECT_SEQUENCE: "ALTER SEQUENCE",
            ObjectType.OBJECT_VIEW: "ALTER VIEW", ObjectType.OBJECT_MATVIEW: "ALTER MATERIALIZED VIEW",
            ObjectType.OBJECT_FOREIGN_TABLE: "ALTER FOREIGN TABLE", ObjectType.OBJECT_TYPE: "ALTER TYPE"}


def alter_table(ctx: Context, node: ast.AlterTableStmt) -> None:
    """Apply each subcommand of ALTER TABLE/INDEX and report one outcome per subcommand."""
    statement = _OBJECTS.get(node.objtype, "ALTER TABLE")
    for command in node.cmds:
        kind = f"{statement} {label(command.subtype)}"
        apply = _TABLE_COMMANDS.get(command.subtype) if statement == "ALTER TABLE" else None
        if node.objtype == ObjectType.OBJECT_INDEX and command.subtype == At.AT_AttachPartition:
            apply = _attach_index
        if apply is None:
            reason = _NOT_MODELLED.get(command.subtype, f"{label(command.subtype)} is not modelled")
            ctx.outcome(kind, NOT_MODELLED, reason)
            continue
        target = None if apply is _attach_index else ctx.find_table(node.relation)
        if target is None and apply is not _attach_index:
            name = qualified(node.relation.schemaname, node.relation.relname)
            if node.missing_ok:
                ctx.outcome(kind, NOT_MODELLED, f"table {name} does not exist (IF EXISTS)")
            else:
                error = UnknownNameError("table", name, ctx.builder.tables)
                ctx.outcome(kind, ERROR, f"{error}; create the table before altering it")
            continue
        try:
            reason = apply(ctx, target, node, command)
        except NotModelled as skipped:
            ctx.outcome(kind, NOT_MODELLED, str(skipped))
        except WorkbenchError as error:
            ctx.outcome(kind, ERROR, str(error))
        else:
            ctx.outcome(kind, MODELLED, reason or "")


def label(subtype: At) -> str:
    """``AT_SetStatistics`` -> ``SET STATISTICS``: how a subcommand is named in the report."""
    return _LABELS.get(subtype) or " ".join(re.findall(r"[A-Z][a-z]*", subtype.name.removeprefix("AT_"))).upper()


def _add_constraint(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    return add_constraint(ctx, draft, command.def_)


def _add_column(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    if command.missing_ok and draft.has_column(command.def_.colname):
        raise NotModelled(f"column {command.def_.colname} already exists (IF NOT EXISTS)")
    for constraint, column in add_column(ctx, draft, command.def_):
        add_constraint(ctx, draft, constraint, column)
    return ""


def _default(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    draft.update_column(command.name, default=deparse(command.def_) if command.def_ is not None else None)
    return ""


def _set_not_null(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    draft.update_column(command.name, nullable=False)
    return ""


def _drop_not_null(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    draft.update_column(command.name, nullable=True)
    return ""


def _add_identity(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    draft.column_position(command.name)
    draft.update_column(command.name, **identity(ctx, draft, command.name, command.def_))
    return ""


def _drop_identity(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    draft.update_column(command.name, identity=None)
    return ""


def _column_type(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    draft.update_column(command.name, type=type_text(command.def_.typeName))
    return ""


def _drop_column(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    if command.missing_ok and not draft.has_column(command.name):
        raise NotModelled(f"column {command.name} does not exist (IF EXISTS)")
    del draft.columns[draft.column_position(command.name)]
    return ""


def _drop_constraint(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    name = command.name
    if draft.primary_key is not None and draft.primary_key.name == name:
        draft.primary_key = None
        return ""
    for holder in (draft.uniques, draft.foreign_keys, draft.checks):
        for position, constraint in enumerate(holder):
            if constraint.name == name:
                del holder[position]
                return ""
    if command.missing_ok:
        raise NotModelled(f"constraint {name} does not exist (IF EXISTS)")
    names = [c.name or "" for c in (*draft.uniques, *draft.foreign_keys, *draft.checks)]
    raise UnknownNameError(f"constraint of {draft.key}", name, names)


def _attach(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    partition = ctx.table(command.def_.name)
    partition.parent, partition.bound = draft.key, deparse(command.def_.bound)
    return ""


def _detach(ctx: Context, draft: TableDraft, _node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    partition = ctx.table(command.def_.name)
    partition.parent = partition.bound = None
    return ""


def _attach_index(ctx: Context, _draft: None, node: ast.AlterTableStmt, command: ast.AlterTableCmd) -> str:
    """ALTER INDEX parent ATTACH PARTITION child: both must exist; the model keeps each on its table."""
    parent, child = node.relation, command.def_.name
    keys = [ctx.index_key(parent.schemaname, parent.relname), ctx.index_key(child.schemaname, child.relname)]
    for relation, key in zip((parent, child), keys, strict=True):
        if key is None:
            raise UnknownNameError("index", qualified(relation.schemaname, relation.relname), ctx.index_tables)
    return f"index {keys[1]} attached to {keys[0]}"


_Apply = Callable[[Context, TableDraft, ast.AlterTableStmt, ast.AlterTableCmd], str]
_TABLE_COMMANDS: dict[At, _Apply] = {
    At.AT_AddConstraint: _add_constraint, At.AT_AddColumn: _add_column, At.AT_ColumnDefault: _default,
    At.AT_SetNotNull: _set_not_null, At.AT_DropNotNull: _drop_not_null, At.AT_AddIdentity: _add_identity,
    At.AT_DropIdentity: _drop_identity, At.AT_AlterColumnType: _column_type, At.AT_DropColumn: _drop_column,
    At.AT_DropConstraint: _drop_constraint, At.AT_AttachPartition: _attach, At.AT_DetachPartition: _detach,
}
