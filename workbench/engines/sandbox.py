"""The sandbox on a user's server: the model moved into schemas the workbench owns, and a guard on writes.

On a server given by URL the workbench creates ``workbench_<id>`` (and ``workbench_<id>_<namespace>``) and
must write nowhere else. ``into_sandbox`` renames the model's namespaces, including names inside SQL text
(pg_dump qualifies types, defaults, checks, views and sequence owners with ``public.``); ``check`` refuses a
statement that would write outside (a guard against mistakes, not malice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

import pglast
import sqlglot
from pglast import ast
from pglast.enums import GrantTargetType, ObjectType, RoleSpecType
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.export.target import DEFAULT_SCHEMAS
from workbench.ddl.postgres.tables import walk
from workbench.engines.pgserver import MAX_IDENTIFIER_BYTES
from workbench.errors import WorkbenchError
from workbench.schema.model import Column, Index, Schema, Table, View

SANDBOX_PREFIX = "workbench_"
ROLE_PREFIX = "wb_"  # roles are cluster-wide: each sandbox's roles are named wb_<its id>_<name>
_READ_ONLY_COMMANDS = frozenset({"SHOW", "VACUUM"})
PINNED_SETTINGS = frozenset({"search_path", "role", "session_authorization"})
_WRITES = (exp.Create, exp.Drop, exp.Alter, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable,
           exp.Copy, exp.Into, exp.Grant, exp.Revoke, exp.Command)


def check(sql_text: str, sandbox: str) -> None:
    """Raise unless every write in ``sql_text`` stays in the sandbox (decisions cached per text)."""
    if why := verdict(sql_text, sandbox):
        raise _outside(sql_text, why, sandbox)


def into_sandbox(schema: Schema, sandbox: str) -> Schema:
    """The model with its namespaces renamed into the sandbox: defaults -> ``sandbox``, ``x`` -> ``sandbox_x``."""

    namespaces = frozenset(schema.schemas) | DEFAULT_SCHEMAS | {t.schema for t in schema.tables if t.schema}
    dialect = schema.dialect or "postgres"

    def moved(text: str) -> str:
        return _moved_text(text, place, namespaces, dialect)

    def place(namespace: str | None) -> str:
        if namespace is None or namespace in DEFAULT_SCHEMAS:
            return sandbox
        name = f"{sandbox}_{namespace}"
        if len(name.encode()) > MAX_IDENTIFIER_BYTES:
            raise WorkbenchError(f"schema {namespace!r} is too long for a sandbox name ({name!r} exceeds "
                                 f"{MAX_IDENTIFIER_BYTES} bytes); shorten it in the model")
        return name

    def column(c: Column) -> Column:
        return replace(c, type=_moved_key(c.type, place, only=namespaces),
                       default=c.default and moved(c.default))

    def index(i: Index) -> Index:
        return replace(i, where=i.where and moved(i.where), elements=tuple(
            replace(e, expression=moved(e.expression)) if e.is_expression else e for e in i.elements))

    def table(t: Table) -> Table:
        return replace(t, schema=place(t.schema), partitions=tuple(table(p) for p in t.partitions),
                       columns=tuple(map(column, t.columns)),
                       checks=tuple(replace(c, expression=moved(c.expression)) for c in t.checks),
                       indexes=tuple(map(index, t.indexes)),
                       foreign_keys=tuple(replace(fk, ref_schema=place(fk.ref_schema) if fk.ref_schema else None)
                                          for fk in t.foreign_keys))

    def objects(items: tuple) -> tuple:
        return tuple(replace(item, schema=place(item.schema)) for item in items)

    def owner(owned_by: str | None) -> str | None:
        """``schema.table.column`` with the schema moved into the sandbox (bare ``table.column`` resolves there)."""
        if owned_by is None or owned_by.count(".") < 2:
            return owned_by
        namespace, _, rest = owned_by.partition(".")
        return f"{place(namespace)}.{rest}"

    def reads(view: View) -> View:
        """The view's query reading the sandboxed tables (a view is created, so it may name only the sandbox)."""
        return replace(view, schema=place(view.schema), sql=moved(view.sql),
                       depends_on=tuple(_moved_key(key, place) for key in view.depends_on))

    sequences = tuple(replace(s, owned_by=owner(s.owned_by)) for s in objects(schema.sequences))
    return replace(schema, tables=tuple(table(t) for t in schema.tables), views=tuple(map(reads, schema.views)),
                   enums=objects(schema.enums), domains=objects(schema.domains),
                   sequences=sequences, schemas=tuple(dict.fromkeys(place(s) for s in schema.schemas)))


def _moved_key(key: str, place: Callable[[str | None], str], only: frozenset[str] | None = None) -> str:
    """A ``schema.name`` key (or type name) with its schema moved by ``place``; bare names stay bare.

    ``only`` limits the move to the model's namespaces (a type such as ``pg_catalog.int4`` stays).
    """
    namespace, dot, name = key.partition(".")
    if not dot or (only is not None and namespace not in only):
        return key
    return f"{place(namespace)}.{name}"


def _moved_text(text: str, place: Callable[[str | None], str], namespaces: frozenset[str], dialect: str) -> str:
    """SQL text (a view, default or check) whose qualified tables, types and ``'schema.sequence'`` move too."""

    def move(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.db in namespaces:
            node.set("db", exp.to_identifier(place(node.db), quoted=True))
        elif isinstance(node, exp.Dot) and isinstance(node.parent, exp.DataType) and node.this.name in namespaces:
            node.set("this", exp.to_identifier(place(node.this.name), quoted=True))
        elif isinstance(node, exp.Literal) and node.is_string and isinstance(node.parent, exp.Cast) \
                and node.parent.to.is_type("regclass"):
            return exp.Literal.string(_moved_key(node.this, place, only=namespaces))
        return node

    return sqlglot.parse_one(text, read=dialect).transform(move).sql(dialect)


@lru_cache(maxsize=4096)
def verdict(sql_text: str, sandbox: str) -> str | None:
    """Why the statement would write outside the sandbox, or None (unqualified names resolve into it).

    Cached per text: a study runs the same statements thousands of times, and parsing costs milliseconds.
    """
    try:
        statements = [s for s in sqlglot.parse(sql_text, read="postgres") if s is not None]
    except SqlglotError:  # e.g. GENERATED ... VIRTUAL: PostgreSQL's own parser reads what sqlglot cannot
        return _postgres_verdict(sql_text, sandbox)
    for statement in statements:
        if isinstance(statement, exp.Set):
            changed = {i.name.lower() for i in statement.find_all(exp.Identifier, exp.Column)} & PINNED_SETTINGS
            if changed:
                return f"it changes {', '.join(sorted(changed))}"
        if next(statement.find_all(*_WRITES), None) is None:
            continue
        if isinstance(statement, exp.Command | exp.Grant | exp.Revoke):
            if isinstance(statement, exp.Command) and statement.name.upper() in _READ_ONLY_COMMANDS:
                continue
            if why := _postgres_verdict(statement.sql("postgres"), sandbox):
                return why
            continue
        if isinstance(statement, exp.Drop | exp.Create) and statement.kind in ("DATABASE", "TABLESPACE"):
            return f"a {statement.kind} belongs to the whole server"
        for table in statement.find_all(exp.Table):  # a schema in CREATE/DROP SCHEMA is a Table's ``db`` too
            if table.db and table.db != sandbox and not table.db.startswith(sandbox + "_"):
                return f"it names schema {table.db!r}"
    return None


def role_prefix(place: str) -> str:
    """``wb_<id>_``: the prefix of every role the workbench creates for sandbox or database ``workbench_<id>``."""
    return f"{ROLE_PREFIX}{place.rpartition('_')[2]}_"


# Statements sqlglot leaves opaque that the guard reads with PostgreSQL's parser: what they name is checked.
_POSTGRES_CHECKED = (ast.AlterSeqStmt, ast.AlterTableStmt, ast.CommentStmt, ast.CreatePolicyStmt, ast.CreateRoleStmt,
                     ast.DropOwnedStmt, ast.DropRoleStmt, ast.GrantRoleStmt, ast.GrantStmt, ast.ViewStmt)
_GRANT_OBJECTS = frozenset({ObjectType.OBJECT_TABLE, ObjectType.OBJECT_SCHEMA, ObjectType.OBJECT_SEQUENCE})


def _postgres_verdict(sql_text: str, sandbox: str) -> str | None:
    """Why a statement sqlglot cannot check writes outside the sandbox, read by PostgreSQL's own parser.

    Schemas must be the sandbox's; roles must carry the sandbox's role prefix (``wb_<id>_``), so the
    workbench never alters a role it did not create. Kinds not in ``_POSTGRES_CHECKED`` are refused.
    """
    try:
        parsed = pglast.parse_sql(sql_text)
    except pglast.parser.ParseError as error:
        return f"the guard cannot parse it: {error}"
    for raw in parsed:
        statement = raw.stmt
        if not isinstance(statement, _POSTGRES_CHECKED) or (
                isinstance(statement, ast.CommentStmt) and statement.objtype != ObjectType.OBJECT_ROLE):
            return f"the guard cannot check {type(statement).__name__} statements"
        if isinstance(statement, ast.GrantStmt) and statement.objtype not in _GRANT_OBJECTS:
            return f"a grant on a {statement.objtype.name.removeprefix('OBJECT_').lower()} reaches past the sandbox"
        outside = [n for n in _schemas_named(statement) if n != sandbox and not n.startswith(sandbox + "_")]
        if outside:
            return f"it names schema {outside[0]!r}"
        prefix = role_prefix(sandbox)
        if foreign := [r for r in _roles_named(statement) if not r.startswith(prefix)]:
            return f"it names role {foreign[0]!r}, which the workbench did not create (its roles start with {prefix})"
    return None


def _schemas_named(statement: ast.Node) -> list[str]:
    named = [n.schemaname for n in walk(statement) if isinstance(n, ast.RangeVar) and n.schemaname]
    if isinstance(statement, ast.GrantStmt) and (statement.objtype == ObjectType.OBJECT_SCHEMA or
                                                 statement.targtype == GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA):
        named += [item.sval for item in statement.objects]
    if isinstance(statement, ast.AlterSeqStmt):  # OWNED BY schema.table.column
        named += [option.arg[0].sval for option in statement.options or ()
                  if option.defname == "owned_by" and len(option.arg) == 3]
    return named


def _roles_named(statement: ast.Node) -> list[str]:
    named = [n.rolename for n in walk(statement)
             if isinstance(n, ast.RoleSpec) and n.roletype == RoleSpecType.ROLESPEC_CSTRING]
    if isinstance(statement, ast.CreateRoleStmt):
        named.append(statement.role)
    if isinstance(statement, ast.GrantRoleStmt):
        named += [granted.priv_name for granted in statement.granted_roles]
    if isinstance(statement, ast.CommentStmt):
        named.append(statement.object.sval)
    return named


def _outside(sql_text: str, why: str, sandbox: str) -> WorkbenchError:
    return WorkbenchError(
        f"refusing to run this outside the workbench sandbox ({why}); this engine writes only in schema "
        f"{sandbox} and {sandbox}_<namespace>:\n    {sql_text.strip()[:300]}\n"
        f"fix: use unqualified names (search_path is the sandbox), or run it yourself outside the workbench"
    )
