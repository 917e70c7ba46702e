"""The sandbox on a user's server: the model moved into schemas the workbench owns, and a guard on writes.

On a server given by URL the workbench creates ``workbench_<id>`` (or the schema the user names to keep a
load) and ``<sandbox>_<namespace>`` for the model's other namespaces, and must write nowhere else.
``into_sandbox`` renames the model's namespaces, including names inside SQL text (pg_dump qualifies types,
defaults, checks, views and sequence owners with ``public.``); ``check`` refuses a statement that would write
outside the schemas the engine owns, or reach past them: database-wide maintenance (``VACUUM``/``ANALYZE``
without tables, ``CLUSTER``, ``REINDEX DATABASE``, ``CHECKPOINT``), functions that reset or signal shared
state (``pg_stat_statements_reset``...), or a change of the pinned search_path (a guard against mistakes,
not malice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import lru_cache

import pglast
import sqlglot
from pglast import ast
from pglast.visitors import Visitor
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.export.target import DEFAULT_SCHEMAS
from workbench.engines.pgserver import MAX_IDENTIFIER_BYTES
from workbench.errors import WorkbenchError
from workbench.schema.model import CheckConstraint, Column, Index, Schema, Table, View

SANDBOX_PREFIX = "workbench_"
_READ_ONLY_COMMANDS = frozenset({"SHOW"})
PINNED_SETTINGS = frozenset({"search_path", "role", "session_authorization"})
_WRITES = (exp.Create, exp.Drop, exp.Alter, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable,
           exp.Copy, exp.Into, exp.Grant, exp.Command, exp.Analyze)
# Functions whose effect reaches past the sandbox: shared statistics, other sessions, the server itself.
_SHARED_FUNCTIONS = frozenset({
    "pg_stat_statements_reset", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_switch_wal", "pg_promote", "pg_create_restore_point", "pg_log_backend_memory_contexts",
    "pg_drop_replication_slot", "pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
    "lo_unlink", "lo_import", "lo_export", "pg_read_file", "pg_read_binary_file", "pg_ls_dir"})
_SHARED_PREFIXES = ("pg_stat_reset", "pg_stat_statements_reset", "pg_replication_origin_")


def check(sql_text: str, owned: Iterable[str]) -> None:
    """Raise unless every write in ``sql_text`` stays in the ``owned`` schemas (decisions cached per text)."""
    owned = frozenset(owned)
    if why := verdict(sql_text, owned):
        raise _outside(sql_text, why, owned)


def into_sandbox(schema: Schema, sandbox: str) -> Schema:
    """The model with its namespaces renamed into the sandbox: defaults -> ``sandbox``, ``x`` -> ``sandbox_x``."""

    namespaces = frozenset(schema.schemas) | DEFAULT_SCHEMAS | {t.schema for t in schema.tables if t.schema}
    dialect = schema.dialect or "postgres"

    def place(namespace: str | None) -> str:
        if namespace is None or namespace in DEFAULT_SCHEMAS:
            return sandbox
        name = f"{sandbox}_{namespace}"
        if len(name.encode()) > MAX_IDENTIFIER_BYTES:
            raise WorkbenchError(f"schema {namespace!r} is too long for a sandbox name ({name!r} exceeds "
                                 f"{MAX_IDENTIFIER_BYTES} bytes); shorten it in the model")
        return name

    def column(c: Column) -> Column:
        return replace(c, type=_moved_key(c.type, place, only=namespaces))

    def table(t: Table) -> Table:
        return replace(t, schema=place(t.schema), partitions=tuple(table(p) for p in t.partitions),
                       columns=tuple(map(column, t.columns)),
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
        """The view reading the sandboxed tables (a view is created, so it may name only the sandbox)."""
        return replace(view, schema=place(view.schema), depends_on=tuple(_moved_key(key, place)
                                                                         for key in view.depends_on))

    moved = map_sql(schema, lambda text: _moved_text(text, place, namespaces, dialect))
    sequences = tuple(replace(s, owned_by=owner(s.owned_by)) for s in objects(moved.sequences))
    return replace(moved, tables=tuple(table(t) for t in moved.tables), views=tuple(map(reads, moved.views)),
                   enums=objects(moved.enums), domains=objects(moved.domains),
                   sequences=sequences, schemas=tuple(dict.fromkeys(place(s) for s in moved.schemas)))


def map_sql(schema: Schema, rewrite: Callable[[str], str]) -> Schema:
    """The model with ``rewrite`` applied to every SQL text it holds: defaults, generated columns, checks,
    index expressions and predicates, views, domains."""

    def text(value: str | None) -> str | None:
        return value and rewrite(value)

    def checks(items: tuple[CheckConstraint, ...]) -> tuple[CheckConstraint, ...]:
        return tuple(replace(c, expression=rewrite(c.expression)) for c in items)

    def index(i: Index) -> Index:
        return replace(i, where=text(i.where), elements=tuple(
            replace(e, expression=rewrite(e.expression)) if e.is_expression else e for e in i.elements))

    def table(t: Table) -> Table:
        return replace(t, partitions=tuple(map(table, t.partitions)), checks=checks(t.checks),
                       columns=tuple(replace(c, default=text(c.default), generated=text(c.generated))
                                     for c in t.columns),
                       indexes=tuple(map(index, t.indexes)))

    return replace(schema, tables=tuple(map(table, schema.tables)),
                   views=tuple(replace(v, sql=rewrite(v.sql)) for v in schema.views),
                   domains=tuple(replace(d, default=text(d.default), checks=checks(d.checks)) for d in schema.domains))


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
                and node.parent.to.sql("postgres").lower() == "regclass":
            return exp.Literal.string(_moved_key(node.this, place, only=namespaces))
        return node

    return sqlglot.parse_one(text, read=dialect).transform(move).sql(dialect)


@lru_cache(maxsize=4096)
def verdict(sql_text: str, owned: frozenset[str]) -> str | None:
    """Why the statement would reach outside the ``owned`` schemas, or None (unqualified names resolve there).

    Cached per text: a study runs the same statements thousands of times, and parsing costs milliseconds.
    """
    if why := _reach(sql_text, owned):
        return why
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
            if statement.name.upper() in _READ_ONLY_COMMANDS or statement.name.upper() in _CHECKED_BY_PGLAST:
                continue
            named = _named_schemas(statement.sql("postgres"))
            if named is None:
                return f"the guard cannot check {statement.name.upper()} commands"
            if outside := [n for n in named if n not in owned]:
                return f"it names schema {outside[0]!r}"
            continue
        if isinstance(statement, exp.Drop | exp.Create) and statement.kind in ("DATABASE", "TABLESPACE"):
            return f"a {statement.kind} belongs to the whole server"
        for table in statement.find_all(exp.Table):  # a schema in CREATE/DROP SCHEMA is a Table's ``db`` too
            if isinstance(table.parent, exp.Opclass):  # an operator class (an extension's) is read, not written
                continue
            if table.db and table.db not in owned:
                return f"it names schema {table.db!r}"
    return None


_CHECKED_BY_PGLAST = frozenset({"VACUUM", "ANALYZE", "CLUSTER", "REINDEX", "DO"})
_DYNAMIC_SQL = ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors", "PLpgSQL_stmt_open")


def _reach(sql_text: str, owned: frozenset[str]) -> str | None:
    """What PostgreSQL's own parser shows reaching past the sandbox: maintenance without (or outside) its
    tables, shared-state functions, the pinned settings (None when pglast cannot parse: sqlglot decides)."""
    try:
        parsed = pglast.parse_sql(sql_text)
    except pglast.parser.ParseError:
        return None
    found = _Reach(owned)
    found(parsed)
    return found.why


class _Reach(Visitor):
    def __init__(self, owned: frozenset[str]):
        super().__init__()
        self.owned, self.why = owned, None

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
        if options.get("language", "plpgsql").lower() != "plpgsql":
            self.why = self.why or f"the guard cannot check a DO block in language {options['language']}"
            return
        for query in _plpgsql_queries(options["as"]):
            why = verdict(query, self.owned) if query else "the guard cannot check dynamic SQL (EXECUTE) in a DO block"
            self.why = self.why or why

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


def _plpgsql_queries(body: str) -> list[str | None]:
    """Every SQL statement and expression a PL/pgSQL block runs (expressions as ``SELECT ...``), read by
    PostgreSQL's own PL/pgSQL parser; None stands for dynamic SQL, which no parser can check."""
    try:
        parsed = pglast.parse_plpgsql(f"DO $wb_guard$ {body} $wb_guard$")
    except pglast.parser.ParseError:
        return [None]
    found: list[str | None] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if any(key in node for key in _DYNAMIC_SQL) or "dynquery" in node:
                found.append(None)
            if "PLpgSQL_expr" in node:
                expression = node["PLpgSQL_expr"]
                found.append(expression["query"] if expression.get("parseMode", 0) == 0
                             else f"SELECT {expression['query']}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(parsed)
    return found


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


def _outside(sql_text: str, why: str, owned: frozenset[str]) -> WorkbenchError:
    return WorkbenchError(
        f"refusing to run this outside the workbench sandbox ({why}); this engine writes only in schema(s) "
        f"{', '.join(sorted(owned))}:\n    {sql_text.strip()[:300]}\n"
        f"fix: use unqualified names (search_path is the sandbox), name the sandbox's own tables, or run it "
        f"yourself outside the workbench"
    )
