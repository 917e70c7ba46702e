"""Exact PostgreSQL DDL import with pglast (PostgreSQL's own parser), pg_dump output included.

The script is split the way psql splits it, each statement is parsed on its own (a syntax error
fails that statement alone), and every statement gets an outcome in the import report: modelled,
not modelled (with the reason) or error (with file:line:column). Unqualified names resolve
through the current search_path (default ``public``), as the server would.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pglast import ast, parse_sql, parser
from pglast.enums import ObjectType, VariableSetKind
from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS, UNRESERVED_KEYWORDS
from pglast.parser import ParseError

from workbench.ddl.postgres import objects as pg_objects
from workbench.ddl.postgres.alter import alter_table
from workbench.ddl.postgres.context import Context, Where
from workbench.ddl.postgres.deparse import names_of
from workbench.ddl.postgres.split import META, Piece, split_script
from workbench.ddl.postgres.tables import NotModelled, create_index, create_table
from workbench.ddl.postgres.types import canonical_type
from workbench.ddl.report import (
    ERROR,
    MODELLED,
    NESTED_TOO_DEEPLY,
    NOT_MODELLED,
    NOTHING_READ,
    NUL_BYTE,
    ImportReport,
    ImportResult,
)
from workbench.errors import WorkbenchError
from workbench.schema.builder import SchemaBuilder

__all__ = ["canonical_type", "import_postgres"]

_KEYWORDS = RESERVED_KEYWORDS | UNRESERVED_KEYWORDS | COL_NAME_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS
_DATA = "data (INSERT/COPY) is not modelled"
_COMMENT = re.compile(r"--[^\n]*|/\*.*?(?:\*/|$)", re.DOTALL)
_DATA_HEAD = re.compile(r"(insert|copy|update|delete|truncate)\b", re.IGNORECASE)
_REASONS = {
    "CreateFunctionStmt": "functions are not modelled", "AlterFunctionStmt": "functions are not modelled",
    "CreateTrigStmt": "triggers are not modelled", "RuleStmt": "rules are not modelled",
    "CreatePolicyStmt": "row security policies are not modelled", "AlterPolicyStmt": "policies are not modelled",
    "GrantStmt": "privileges are not modelled", "GrantRoleStmt": "privileges are not modelled",
    "AlterDefaultPrivilegesStmt": "privileges are not modelled", "AlterOwnerStmt": "ownership is not modelled",
    "CreateExtensionStmt": "extensions are not modelled", "AlterExtensionStmt": "extensions are not modelled",
    "CreateCastStmt": "casts are not modelled", "CreateEventTrigStmt": "event triggers are not modelled",
    "CreatePublicationStmt": "publications are not modelled", "AlterPublicationStmt": "publications are not modelled",
    "CreateSubscriptionStmt": "subscriptions are not modelled", "CompositeTypeStmt": "composite types are not modelled",
    "CreateRangeStmt": "range types are not modelled", "CreateForeignTableStmt": "foreign tables are not modelled",
    "CreateRoleStmt": "roles are not modelled", "AlterRoleStmt": "roles are not modelled",
    "CreatedbStmt": "databases are not modelled", "DropdbStmt": "databases are not modelled",
    "InsertStmt": _DATA, "CopyStmt": _DATA, "UpdateStmt": _DATA, "DeleteStmt": _DATA, "TruncateStmt": _DATA,
    "RefreshMatViewStmt": _DATA, "TransactionStmt": "transaction control is not modelled",
    "VariableSetStmt": "session setting", "RenameStmt": "renames are not applied to the model",
    "CreateTableAsStmt": "CREATE TABLE AS takes its columns from running the query; not modelled",
    "DoStmt": "anonymous code blocks (DO) are not modelled", "CreateStatsStmt": "extended statistics are not modelled",
    "ClusterStmt": "maintenance commands are not modelled", "VacuumStmt": "maintenance commands are not modelled",
}
_KINDS = {
    "CreateStmt": "CREATE TABLE", "IndexStmt": "CREATE INDEX", "ViewStmt": "CREATE VIEW",
    "CreateEnumStmt": "CREATE TYPE", "CreateDomainStmt": "CREATE DOMAIN", "CreateSeqStmt": "CREATE SEQUENCE",
    "AlterSeqStmt": "ALTER SEQUENCE", "CommentStmt": "COMMENT", "CreateSchemaStmt": "CREATE SCHEMA",
    "SelectStmt": "SELECT", "InsertStmt": "INSERT", "CopyStmt": "COPY", "AlterEnumStmt": "ALTER TYPE",
    "AlterTableStmt": "ALTER TABLE",
}


def import_postgres(text: str, *, file: str | None = None) -> ImportResult:
    """Import a PostgreSQL script (pg_dump or hand-written) into a schema model and an import report."""
    ctx = Context(SchemaBuilder(dialect="postgres"), ImportReport(file=file, dialect="postgres"), text)
    for piece in split_script(text):
        line, column = ctx.position(piece.start)
        ctx.where = Where(line, column, piece.text)
        before = len(ctx.report.outcomes)
        try:
            _import_piece(ctx, piece)
            failure = NOTHING_READ if len(ctx.report.outcomes) == before else None  # never dropped silently
        except RecursionError:
            del ctx.report.outcomes[before:]
            failure = NESTED_TOO_DEEPLY
        if failure:
            ctx.where = Where(line, column, piece.text)
            ctx.outcome(_kind_from_text(piece.text), ERROR, failure)
    return ImportResult(ctx.builder.build(), ctx.report)


def _import_piece(ctx: Context, piece: Piece) -> None:
    if piece.kind == META:
        command = piece.text.split()[0]
        ctx.outcome(f"psql {command}", NOT_MODELLED, "psql meta-commands are not SQL; not modelled")
        return
    if "\x00" in piece.text:  # the C parser would stop reading at it
        ctx.where = Where(*ctx.position(piece.start + piece.text.index("\x00")), piece.text)
        ctx.outcome(_kind_from_text(piece.text), ERROR, NUL_BYTE)
        return
    try:
        if _DATA_HEAD.match(piece.text):  # check the syntax without building a large Python tree
            parser.parse_sql_json(piece.text)
            _data(ctx, piece)
            return
        statements = parse_sql(piece.text)
    except ParseError as error:
        _syntax_error(ctx, piece, error)
        return
    for raw in statements:
        if len(statements) > 1:
            offset = len(piece.text.encode()[: raw.stmt_location].decode(errors="ignore"))
            line, column = ctx.position(piece.start + offset)
            ctx.where = Where(line, column, piece.text[offset:])
        _import_statement(ctx, raw.stmt, piece)


def _data(ctx: Context, piece: Piece) -> None:
    rows = f" ({piece.copy_rows} rows of COPY data skipped)" if piece.copy_rows else ""
    ctx.outcome(_DATA_HEAD.match(piece.text).group(1).upper(), NOT_MODELLED, _DATA + rows)


def _syntax_error(ctx: Context, piece: Piece, error: ParseError) -> None:
    message, location = error.args[0], error.args[1] if len(error.args) > 1 else 0
    line, column = ctx.position(piece.start + min(location, len(piece.text)))
    head, near, rest = message.partition(' at or near "')
    if near and ("\n" in rest or len(rest) > 60):  # the server quotes the rest of the statement: keep a line
        message = f'{head}{near}{rest.splitlines()[0][:60]}…"'
    if message.startswith("unterminated") and not ctx.text[piece.start + len(piece.text):].strip():
        last = ctx.position(len(ctx.text.rstrip()))[0]
        message += (f"; everything from here to the end of the file (line {last}) is inside it and was not "
                    f"imported: close it")
    ctx.report.add(line, _kind_from_text(piece.text), ERROR, message, piece.text, column)


def _import_statement(ctx: Context, node: ast.Node, piece: Piece) -> None:
    name = type(node).__name__
    kind = _statement_kind(node, piece.text)
    handler = _HANDLERS.get(name)
    if handler is None:
        ctx.outcome(kind, NOT_MODELLED, _REASONS.get(name) or f"{kind} is not modelled")
        return
    before = len(ctx.report.outcomes)
    try:
        result = handler(ctx, node)
    except NotModelled as skipped:
        ctx.outcome(kind, NOT_MODELLED, str(skipped))
    except WorkbenchError as error:
        ctx.outcome(kind, ERROR, str(error))
    else:
        status, reason = result if isinstance(result, tuple) else (MODELLED, result or "")
        if len(ctx.report.outcomes) == before:
            ctx.outcome(kind, status, reason)


def _statement_kind(node: ast.Node, text: str) -> str:
    name = type(node).__name__
    if name in _KINDS:
        return _KINDS[name]
    if isinstance(node, ast.CreateTableAsStmt):
        return "CREATE MATERIALIZED VIEW" if node.objtype == ObjectType.OBJECT_MATVIEW else "CREATE TABLE AS"
    if isinstance(node, ast.CreateFunctionStmt):
        return "CREATE PROCEDURE" if node.is_procedure else "CREATE FUNCTION"
    if isinstance(node, ast.GrantStmt):
        return "GRANT" if node.is_grant else "REVOKE"
    if isinstance(node, ast.AlterOwnerStmt):
        return f"ALTER {node.objectType.name.removeprefix('OBJECT_')} OWNER TO"
    if isinstance(node, ast.DropStmt):
        return f"DROP {node.removeType.name.removeprefix('OBJECT_').replace('_', ' ')}"
    if isinstance(node, ast.VariableSetStmt):
        return "RESET" if node.kind in (VariableSetKind.VAR_RESET, VariableSetKind.VAR_RESET_ALL) else "SET"
    return _kind_from_text(text)


def _kind_from_text(text: str) -> str:
    """The leading keywords of a statement (at most two, ``OR REPLACE`` skipped): ``CREATE TRIGGER``."""
    words = []
    for word in re.findall(r"[A-Za-z_]+", _COMMENT.sub(" ", text[:300])[:120]):
        if word.lower() not in _KEYWORDS or len(words) == 2:
            break
        if word.lower() not in ("or", "replace"):
            words.append(word.upper())
    return " ".join(words) or "UNKNOWN"


# -- handlers: record outcomes themselves, or return a reason (MODELLED) or a (status, reason) pair --


def _create_table(ctx: Context, node: ast.CreateStmt) -> tuple[str, str] | None:
    schema, name = ctx.qualify(node.relation.schemaname, node.relation.relname)
    if f"{schema}.{name}" in ctx.builder.tables and node.if_not_exists:
        return NOT_MODELLED, f"table {schema}.{name} already exists (IF NOT EXISTS)"
    notes = create_table(ctx, node)
    ctx.outcome("CREATE TABLE", MODELLED)
    for note in notes:
        ctx.outcome("CREATE TABLE (part)", NOT_MODELLED, note)
    return None


def _create_index(ctx: Context, node: ast.IndexStmt) -> tuple[str, str] | str:
    if create_index(ctx, node):
        return "unique index" if node.unique else ""
    return NOT_MODELLED, f"index {node.idxname} already exists (IF NOT EXISTS)"


def _alter_table(ctx: Context, node: ast.AlterTableStmt) -> None:
    alter_table(ctx, node)


def _view(ctx: Context, node: ast.ViewStmt) -> None:
    pg_objects.create_view(ctx, node.view, node.query, names_of(node.aliases), materialized=False)


def _table_as(ctx: Context, node: ast.CreateTableAsStmt) -> tuple[str, str] | None:
    if node.objtype != ObjectType.OBJECT_MATVIEW:
        return NOT_MODELLED, _REASONS["CreateTableAsStmt"]
    pg_objects.create_view(ctx, node.into.rel, node.query, names_of(node.into.colNames), materialized=True)
    return None


def _sequence(ctx: Context, node: ast.CreateSeqStmt) -> tuple[str, str] | None:
    if pg_objects.create_sequence(ctx, node):
        return None
    return NOT_MODELLED, "sequence already exists (IF NOT EXISTS)"


def _schema(ctx: Context, node: ast.CreateSchemaStmt) -> None:
    schema = node.schemaname or (node.authrole.rolename if node.authrole else None)
    ctx.builder.add_namespace(schema)
    ctx.outcome("CREATE SCHEMA", MODELLED)
    saved = ctx.search_path
    ctx.search_path = [schema, *saved] if schema else saved
    try:
        for element in node.schemaElts or ():
            _import_statement(ctx, element, Piece(META, "", 0))
    finally:
        ctx.search_path = saved


def _set(ctx: Context, node: ast.VariableSetStmt) -> tuple[str, str]:
    if (node.name or "").lower() != "search_path":
        return NOT_MODELLED, "session setting"
    if node.kind == VariableSetKind.VAR_SET_VALUE:
        values = [a.val.sval for a in node.args or () if isinstance(a, ast.A_Const) and isinstance(a.val, ast.String)]
        _set_search_path(ctx, ",".join(values))
    else:
        ctx.search_path = ["$user", "public"]
    return MODELLED, f"search_path is now {', '.join(ctx.search_path) or 'empty'} (used to resolve names)"


def _select(ctx: Context, node: ast.SelectStmt) -> tuple[str, str]:
    calls = [t.val for t in node.targetList or () if isinstance(t.val, ast.FuncCall)]
    for call in calls:
        function = call.funcname[-1].sval
        arguments = [a.val.sval if isinstance(a, ast.A_Const) and isinstance(a.val, ast.String) else None
                     for a in call.args or ()]
        if function == "set_config" and arguments[:1] == ["search_path"] and len(arguments) > 1:
            _set_search_path(ctx, arguments[1] or "")
            return MODELLED, f"search_path is now {', '.join(ctx.search_path) or 'empty'} (used to resolve names)"
        if function == "setval":
            return NOT_MODELLED, "sequence positions are data; not modelled"
    return NOT_MODELLED, "queries are not modelled"


def _set_search_path(ctx: Context, value: str) -> None:
    parts = [p.strip() for p in value.split(",")]
    ctx.search_path = [p[1:-1].replace('""', '"') if p.startswith('"') else p.lower() for p in parts if p]


def _alter_enum(ctx: Context, node: ast.AlterEnumStmt) -> str:
    names = names_of(node.typeName)
    schemas = [names[0]] if len(names) > 1 else list(ctx.lookup_path())
    key = next((k for s in schemas if (k := f"{s}.{names[-1]}") in ctx.builder.enums), None)
    if key is None or not node.newVal:
        raise NotModelled("ALTER TYPE is modelled only for ADD VALUE to an enum of this script")
    enum = ctx.builder.enums[key]
    values = list(enum.values)
    if node.newVal in values and node.skipIfNewValExists:
        return "value already present (IF NOT EXISTS)"
    position = len(values)
    if node.newValNeighbor in values:
        position = values.index(node.newValNeighbor) + (1 if node.newValIsAfter else 0)
    values.insert(position, node.newVal)
    ctx.builder.add_enum(type(enum)(enum.name, tuple(values), enum.schema))
    return ""


_Handler = Callable[[Context, ast.Node], object]
_HANDLERS: dict[str, _Handler] = {
    "CreateStmt": _create_table, "IndexStmt": _create_index, "AlterTableStmt": _alter_table,
    "ViewStmt": _view, "CreateTableAsStmt": _table_as, "CreateEnumStmt": pg_objects.create_enum,
    "CreateDomainStmt": pg_objects.create_domain, "CreateSeqStmt": _sequence,
    "AlterSeqStmt": pg_objects.alter_sequence, "CommentStmt": pg_objects.comment, "CreateSchemaStmt": _schema,
    "VariableSetStmt": _set, "SelectStmt": _select, "DropStmt": pg_objects.drop, "AlterEnumStmt": _alter_enum,
}
