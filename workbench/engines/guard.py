"""The guard on a user's server: refuse a statement that would write outside the sandbox or reach past it.

On a server given by URL an engine may write only in the schemas it created (``owned``) and name only the
roles it created (``wb_<id>_...``, cluster-wide objects). ``check`` reads each statement with sqlglot and,
where sqlglot sees an opaque command, with PostgreSQL's own parser (pglast), down to the statements inside
PL/pgSQL blocks and function bodies. It refuses database-wide maintenance (``VACUUM``/``ANALYZE`` without
tables, ``CLUSTER``, ``REINDEX DATABASE``, ``CHECKPOINT``), functions that reset or signal shared state
(``pg_stat_statements_reset``...), a change of the pinned settings, dynamic SQL, and any kind of statement
it cannot check. A guard against mistakes, not malice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import pglast
import sqlglot
from pglast import ast
from pglast.enums import GrantTargetType, ObjectType, RoleSpecType
from pglast.visitors import Visitor
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.postgres.tables import walk
from workbench.engines.sandbox import SANDBOX_PREFIX
from workbench.errors import WorkbenchError

ROLE_PREFIX = "wb_"  # roles are cluster-wide: each sandbox's roles are named wb_<its id>_<name>
PINNED_SETTINGS = frozenset({"search_path", "role", "session_authorization"})
_READ_ONLY_COMMANDS = frozenset({"SHOW"})
_CHECKED_BY_REACH = frozenset({"VACUUM", "ANALYZE", "CLUSTER", "REINDEX", "DO"})  # see _Reach
_WRITES = (exp.Create, exp.Drop, exp.Alter, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable,
           exp.Copy, exp.Into, exp.Grant, exp.Revoke, exp.Command, exp.Analyze)
# Functions whose effect reaches past the sandbox: shared statistics, other sessions, the server itself.
_SHARED_FUNCTIONS = frozenset({
    "pg_stat_statements_reset", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_switch_wal", "pg_promote", "pg_create_restore_point", "pg_log_backend_memory_contexts",
    "pg_drop_replication_slot", "pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
    "lo_unlink", "lo_import", "lo_export", "pg_read_file", "pg_read_binary_file", "pg_ls_dir"})
_SHARED_PREFIXES = ("pg_stat_reset", "pg_stat_statements_reset", "pg_replication_origin_")
# Statements sqlglot leaves opaque that PostgreSQL's parser reads here: every schema and role they name is
# checked. Any other kind (ALTER SYSTEM, CREATE DATABASE, ALTER ... SET SCHEMA...) is refused.
_POSTGRES_CHECKED = (
    ast.AlterDomainStmt, ast.AlterEnumStmt, ast.AlterSeqStmt, ast.AlterTableStmt, ast.CommentStmt,
    ast.CreateDomainStmt, ast.CreateEnumStmt, ast.CreateFunctionStmt, ast.CreatePolicyStmt, ast.CreateRoleStmt,
    ast.CreateSeqStmt, ast.CreateStmt, ast.CreateTrigStmt, ast.DropOwnedStmt, ast.DropRoleStmt, ast.DropStmt,
    ast.GrantRoleStmt, ast.GrantStmt, ast.IndexStmt, ast.RenameStmt, ast.ViewStmt)
_GRANT_OBJECTS = frozenset({ObjectType.OBJECT_TABLE, ObjectType.OBJECT_SCHEMA, ObjectType.OBJECT_SEQUENCE})
_DYNAMIC_SQL = ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors", "PLpgSQL_stmt_open")
# pglast attributes holding qualified object names (lists of strings: schema first); others, such as a
# GRANT's column list, hold plain names.
_NAME_ATTRIBUTES = frozenset({"names", "funcname", "objname", "object", "objects", "typeName", "opclass",
                              "collname", "defnames", "conversion_name", "handler_name"})
_STATEMENT, _EXPRESSION = 0, 2  # PLpgSQL_expr parse modes; the others are assignments (``x := ...``)
_ASSIGNED = re.compile(r"^[^=]*?:?=")  # the target of a PL/pgSQL assignment, up to its := or =


def role_prefix(place: str) -> str:
    """``wb_<id>_``: the prefix of every role the workbench creates for sandbox or database ``place``
    (``workbench_<id>``, or a kept load's name)."""
    return f"{ROLE_PREFIX}{place.removeprefix(SANDBOX_PREFIX)}_"


def check(sql_text: str, owned: Iterable[str], roles: str) -> None:
    """Raise unless ``sql_text`` writes only in the ``owned`` schemas and names only roles starting with
    ``roles`` (decisions cached per text)."""
    owned = frozenset(owned)
    if why := verdict(sql_text, owned, roles):
        raise WorkbenchError(
            f"refusing to run this outside the workbench sandbox ({why}); this engine writes only in schema(s) "
            f"{', '.join(sorted(owned))}:\n    {sql_text.strip()[:300]}\n"
            f"fix: use unqualified names (search_path is the sandbox), name the sandbox's own tables, or run it "
            f"yourself outside the workbench")


@lru_cache(maxsize=4096)
def verdict(sql_text: str, owned: frozenset[str], roles: str) -> str | None:
    """Why the statement would reach outside the ``owned`` schemas, or None (unqualified names resolve there).

    Cached per text: a study runs the same statements thousands of times, and parsing costs milliseconds.
    """
    if why := _reach(sql_text, owned, roles):
        return why
    try:
        statements = [s for s in sqlglot.parse(sql_text, read="postgres") if s is not None]
    except SqlglotError:  # e.g. GENERATED ... VIRTUAL: PostgreSQL's own parser reads what sqlglot cannot
        return _postgres_verdict(sql_text, owned, roles)
    for statement in statements:
        if isinstance(statement, exp.Set):
            changed = {i.name.lower() for i in statement.find_all(exp.Identifier, exp.Column)} & PINNED_SETTINGS
            if changed:
                return f"it changes {', '.join(sorted(changed))}"
        if next(statement.find_all(*_WRITES), None) is None:
            continue
        routines = isinstance(statement, exp.Create) and statement.kind in ("FUNCTION", "PROCEDURE")  # bodies
        if isinstance(statement, exp.Command | exp.Grant | exp.Revoke) or routines:
            if isinstance(statement, exp.Command) and statement.name.upper() in _READ_ONLY_COMMANDS | _CHECKED_BY_REACH:
                continue
            if why := _postgres_verdict(statement.sql("postgres"), owned, roles):
                return why
            continue
        if isinstance(statement, exp.Drop | exp.Create) and statement.kind in ("DATABASE", "TABLESPACE"):
            return f"a {statement.kind} belongs to the whole server"
        for table in statement.find_all(exp.Table):  # a schema in CREATE/DROP SCHEMA is a Table's ``db`` too
            if isinstance(table.parent, exp.Opclass):  # an operator class (an extension's) is read, not written
                continue
            if table.db and table.db not in owned:
                return f"it names schema {table.db!r}"
    return None


def _reach(sql_text: str, owned: frozenset[str], roles: str) -> str | None:
    """What PostgreSQL's own parser shows reaching past the sandbox: maintenance without (or outside) its
    tables, shared-state functions, the pinned settings, what a DO block runs (None when pglast cannot
    parse: sqlglot decides)."""
    try:
        parsed = pglast.parse_sql(sql_text)
    except pglast.parser.ParseError:
        return None
    found = _Reach(owned, roles)
    found(parsed)
    return found.why


class _Reach(Visitor):
    def __init__(self, owned: frozenset[str], roles: str):
        super().__init__()
        self.owned, self.roles, self.why = owned, roles, None

    def _outside(self, schema: str | None) -> bool:
        return schema is not None and schema not in self.owned

    def visit_VacuumStmt(self, ancestors, node: ast.VacuumStmt) -> None:
        command = "VACUUM" if node.is_vacuumcmd else "ANALYZE"
        if not node.rels:
            self.why = self.why or f"{command} without a table list reaches every table of the database"
        for rel in node.rels or ():
            if rel.relation is not None and self._outside(rel.relation.schemaname):
                self.why = self.why or f"{command} names schema {rel.relation.schemaname!r}"

    def visit_ClusterStmt(self, ancestors, node: ast.ClusterStmt) -> None:
        if node.relation is None:
            self.why = self.why or "CLUSTER without a table reaches every clustered table of the database"
        elif self._outside(node.relation.schemaname):
            self.why = self.why or f"CLUSTER names schema {node.relation.schemaname!r}"

    def visit_ReindexStmt(self, ancestors, node: ast.ReindexStmt) -> None:
        kind = node.kind.name.removeprefix("REINDEX_OBJECT_")
        if kind in ("DATABASE", "SYSTEM"):
            self.why = self.why or f"REINDEX {kind} reaches past the sandbox"
        elif kind == "SCHEMA" and node.name not in self.owned:
            self.why = self.why or f"it names schema {node.name!r}"
        elif node.relation is not None and self._outside(node.relation.schemaname):
            self.why = self.why or f"REINDEX names schema {node.relation.schemaname!r}"

    def visit_DoStmt(self, ancestors, node: ast.DoStmt) -> None:
        options = {option.defname: option.arg.sval for option in node.args}
        self.why = self.why or _body_verdict(options.get("language", "plpgsql"), options["as"], "DO",
                                             self.owned, self.roles)

    def visit_CheckPointStmt(self, ancestors, node: ast.CheckPointStmt) -> None:
        self.why = self.why or "CHECKPOINT acts on the whole server"

    def visit_DiscardStmt(self, ancestors, node: ast.DiscardStmt) -> None:
        if node.target.name == "DISCARD_ALL":
            self.why = self.why or "DISCARD ALL resets search_path"

    def visit_VariableSetStmt(self, ancestors, node: ast.VariableSetStmt) -> None:
        if node.kind.name == "VAR_RESET_ALL" or (node.name or "").lower() in PINNED_SETTINGS:
            self.why = self.why or f"it changes {node.name or 'every setting'}"

    def visit_FuncCall(self, ancestors, node: ast.FuncCall) -> None:
        name = node.funcname[-1].sval.lower()
        if name in _SHARED_FUNCTIONS or name.startswith(_SHARED_PREFIXES):
            self.why = self.why or f"{name}() acts beyond the sandbox (shared statistics, other sessions, the server)"
        elif name == "set_config":
            first = node.args[0] if node.args else None
            setting = first.val.sval.lower() if isinstance(first, ast.A_Const) and \
                isinstance(first.val, ast.String) else None
            if setting is None or setting in PINNED_SETTINGS:
                self.why = self.why or f"set_config() changes {setting or 'a setting it does not name'}"


def _postgres_verdict(sql_text: str, owned: frozenset[str], roles: str) -> str | None:
    """Why statements sqlglot cannot check reach outside the sandbox, read by PostgreSQL's own parser: schemas
    must be owned, roles must carry the sandbox's prefix (the workbench never alters a role it did not
    create), a function's body is checked like a DO block, kinds outside ``_POSTGRES_CHECKED`` are refused."""
    try:
        parsed = pglast.parse_sql(sql_text)
    except pglast.parser.ParseError as error:
        return f"the guard cannot parse it: {error}"
    for raw in parsed:
        statement = raw.stmt
        if not isinstance(statement, _POSTGRES_CHECKED):
            return f"the guard cannot check {type(statement).__name__} statements"
        if isinstance(statement, ast.GrantStmt) and statement.objtype not in _GRANT_OBJECTS:
            return f"a grant on a {statement.objtype.name.removeprefix('OBJECT_').lower()} reaches past the sandbox"
        if outside := [n for n in _schemas_named(statement) if n not in owned]:
            return f"it names schema {outside[0]!r}"
        if foreign := [r for r in _roles_named(statement) if not r.startswith(roles)]:
            return f"it names role {foreign[0]!r}, which the workbench did not create (its roles start with {roles})"
        if isinstance(statement, ast.CreateFunctionStmt):
            options = {o.defname: o.arg for o in statement.options or ()}
            body = options["as"][0].sval if "as" in options else None
            language = options["language"].sval if "language" in options else "sql"
            if body is None:
                return "the guard cannot check a function without its body in SQL text"
            if why := _body_verdict(language, body, "CREATE FUNCTION", owned, roles):
                return why
    return None


def _body_verdict(language: str, body: str, what: str, owned: frozenset[str], roles: str) -> str | None:
    """Why the body of a DO block or function reaches outside the sandbox: each statement and expression it
    runs is checked as if run alone; dynamic SQL and languages other than SQL and PL/pgSQL are refused."""
    if language.lower() == "sql":
        return verdict(body, owned, roles)
    if language.lower() != "plpgsql":
        return f"the guard cannot check a {what} in language {language}"
    for query in _plpgsql_queries(body):
        if query is None:
            return f"the guard cannot check dynamic SQL (EXECUTE) in a {what}"
        if why := verdict(query, owned, roles):
            return why
    return None


def _plpgsql_queries(body: str) -> list[str | None]:
    """Every SQL statement and expression a PL/pgSQL body runs (expressions as ``SELECT ...``), read by
    PostgreSQL's own PL/pgSQL parser; None stands for dynamic SQL, which no parser can check. The body is
    compiled as a trigger function, so that ``NEW`` and ``OLD`` are known."""
    function = f"CREATE FUNCTION pg_temp.wb_guard() RETURNS trigger LANGUAGE plpgsql AS $wb_guard${body}$wb_guard$"
    try:
        parsed = pglast.parse_plpgsql(function)
    except pglast.parser.ParseError:
        return [None]
    found: list[str | None] = []

    def visit(node: object) -> None:
        if isinstance(node, dict):
            if any(key in node for key in _DYNAMIC_SQL) or "dynquery" in node:
                found.append(None)
            if "PLpgSQL_expr" in node:
                query, mode = node["PLpgSQL_expr"]["query"], node["PLpgSQL_expr"].get("parseMode", _STATEMENT)
                found.append(query if mode == _STATEMENT else
                             f"SELECT {query if mode == _EXPRESSION else _ASSIGNED.sub('', query, count=1)}")
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(parsed)
    return found


def _schemas_named(statement: ast.Node) -> list[str]:
    """Every schema a statement names: of its relations, of every qualified type, function or object name
    (built-ins in ``pg_catalog`` are read, not written), and the schemas a GRANT or COMMENT is on."""
    named = [node.schemaname for node in walk(statement) if isinstance(node, ast.RangeVar) and node.schemaname]
    named += [names[0].sval for node in walk(statement) for attribute in node if attribute in _NAME_ATTRIBUTES
              for names in _name_lists(getattr(node, attribute)) if names[0].sval != "pg_catalog"]
    if isinstance(statement, ast.GrantStmt) and (statement.objtype == ObjectType.OBJECT_SCHEMA or
                                                 statement.targtype == GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA):
        named += [item.sval for item in statement.objects]
    if isinstance(statement, ast.CommentStmt) and statement.objtype == ObjectType.OBJECT_SCHEMA:
        named.append(statement.object.sval)
    return named


def _name_lists(value: object) -> list[tuple[ast.String, ...]]:
    """The qualified names (``schema.name``, ``schema.table.column``) held by a node's attribute."""
    if not isinstance(value, tuple):
        return []
    if len(value) >= 2 and all(isinstance(item, ast.String) for item in value):
        return [value]
    return [names for item in value for names in _name_lists(item)]


def _roles_named(statement: ast.Node) -> list[str]:
    """Every role a statement names (created, granted, commented on, or in a role specification)."""
    named = [node.rolename for node in walk(statement)
             if isinstance(node, ast.RoleSpec) and node.roletype == RoleSpecType.ROLESPEC_CSTRING]
    if isinstance(statement, ast.CreateRoleStmt):
        named.append(statement.role)
    if isinstance(statement, ast.GrantRoleStmt):
        named += [granted.priv_name for granted in statement.granted_roles]
    if isinstance(statement, ast.CommentStmt) and statement.objtype == ObjectType.OBJECT_ROLE:
        named.append(statement.object.sval)
    return named
