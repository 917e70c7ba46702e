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
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.export.target import DEFAULT_SCHEMAS
from workbench.engines.pgserver import MAX_IDENTIFIER_BYTES
from workbench.errors import WorkbenchError
from workbench.schema.model import Column, Index, Schema, Table, View

SANDBOX_PREFIX = "workbench_"
_READ_ONLY_COMMANDS = frozenset({"SHOW", "VACUUM"})
PINNED_SETTINGS = frozenset({"search_path", "role", "session_authorization"})
_WRITES = (exp.Create, exp.Drop, exp.Alter, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable,
           exp.Copy, exp.Into, exp.Grant, exp.Command)


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
    except SqlglotError as error:
        return f"the guard cannot parse it: {str(error).splitlines()[0]}"
    for statement in statements:
        if isinstance(statement, exp.Set):
            changed = {i.name.lower() for i in statement.find_all(exp.Identifier, exp.Column)} & PINNED_SETTINGS
            if changed:
                return f"it changes {', '.join(sorted(changed))}"
        if next(statement.find_all(*_WRITES), None) is None:
            continue
        if isinstance(statement, exp.Command):
            if statement.name.upper() in _READ_ONLY_COMMANDS:
                continue
            named = _named_schemas(statement.sql("postgres"))
            if named is None:
                return f"the guard cannot check {statement.name.upper()} commands"
            if outside := [n for n in named if n != sandbox and not n.startswith(sandbox + "_")]:
                return f"it names schema {outside[0]!r}"
            continue
        if isinstance(statement, exp.Drop | exp.Create) and statement.kind in ("DATABASE", "TABLESPACE"):
            return f"a {statement.kind} belongs to the whole server"
        for table in statement.find_all(exp.Table):  # a schema in CREATE/DROP SCHEMA is a Table's ``db`` too
            if table.db and table.db != sandbox and not table.db.startswith(sandbox + "_"):
                return f"it names schema {table.db!r}"
    return None


def _named_schemas(sql_text: str) -> list[str] | None:
    """Schemas a statement sqlglot cannot read names (``ALTER SEQUENCE ... OWNED BY``, ``ALTER TABLE ...
    VALIDATE CONSTRAINT``, ``ALTER TYPE ... ADD VALUE``, triggers...), read by PostgreSQL's own parser: every
    relation's schema and the schema of every qualified type, function or object name. None when it cannot
    tell (unparsable, or a DO block whose body is PL/pgSQL): the guard then refuses the statement.
    """
    try:
        parsed = pglast.parse_sql(sql_text)
    except pglast.parser.ParseError:
        return None
    named: list[str] = []

    def walk(node: object) -> bool:
        if isinstance(node, pglast.ast.DoStmt):
            return False
        if isinstance(node, pglast.ast.RangeVar):
            named.extend([node.schemaname] if node.schemaname else [])
        elif isinstance(node, tuple):
            strings = [item.sval for item in node if isinstance(item, pglast.ast.String)]
            if len(strings) >= 2 and len(strings) == len(node):
                named.append(strings[0])  # a qualified name: schema first
            return all(walk(item) for item in node)
        if isinstance(node, pglast.ast.Node):
            return all(walk(getattr(node, attribute)) for attribute in node.__slots__)
        return True

    if not all(walk(raw.stmt) for raw in parsed):
        return None
    return named


def _outside(sql_text: str, why: str, sandbox: str) -> WorkbenchError:
    return WorkbenchError(
        f"refusing to run this outside the workbench sandbox ({why}); this engine writes only in schema "
        f"{sandbox} and {sandbox}_<namespace>:\n    {sql_text.strip()[:300]}\n"
        f"fix: use unqualified names (search_path is the sandbox), or run it yourself outside the workbench"
    )
