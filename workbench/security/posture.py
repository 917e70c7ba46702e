"""A schema's security posture: row-level security, policies, views, definer functions, grants and roles.

The lint rules of :mod:`workbench.security.rules` read it. It comes from SQL text read with PostgreSQL's own
parser (a DDL file, a pg_dump, or a policy's generated SQL: :meth:`Posture.from_sql`) or from a live database's
catalog (:meth:`Posture.from_engine`). Relations are keyed by bare name (the lint works per schema).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pglast
from pglast import ast
from pglast.enums import AlterTableType, FunctionParameterMode, ObjectType, RoleSpecType

from workbench.ddl.postgres.deparse import deparse
from workbench.ddl.postgres.split import SQL, split_script
from workbench.ddl.postgres.tables import walk

PUBLIC = "PUBLIC"
MASKED = "_masked"  # a masked column is named <column>_masked
COMMANDS = {"r": "select", "a": "insert", "w": "update", "d": "delete", "*": "all"}
_INPUT = frozenset({FunctionParameterMode.FUNC_PARAM_IN, FunctionParameterMode.FUNC_PARAM_INOUT,
                    FunctionParameterMode.FUNC_PARAM_VARIADIC, FunctionParameterMode.FUNC_PARAM_DEFAULT})
_TRUE = frozenset({"true", "on", "1", "yes"})
_RLS = {AlterTableType.AT_EnableRowSecurity: ("rls", True), AlterTableType.AT_DisableRowSecurity: ("rls", False),
        AlterTableType.AT_ForceRowSecurity: ("force", True), AlterTableType.AT_NoForceRowSecurity: ("force", False)}


@dataclass(frozen=True)
class RowSecurity:
    rls: bool = False
    force: bool = False


@dataclass(frozen=True)
class PolicyRule:
    """One ``CREATE POLICY``: its command (select, insert, update, delete, all), roles and expressions."""

    name: str
    table: str
    command: str = "all"
    permissive: bool = True
    roles: tuple[str, ...] = (PUBLIC,)
    using: str | None = None
    check: str | None = None
    line: int | None = field(default=None, compare=False)  # where the statement starts in its SQL text


@dataclass(frozen=True)
class ViewSecurity:
    name: str
    invoker: bool = False
    reads: tuple[str, ...] = ()
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Function:
    """A function; ``signature`` as ALTER FUNCTION names it (``schema.f(integer, numeric)``)."""

    signature: str
    definer: bool = False
    search_path: bool = False  # SET search_path fixed on the function
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Privilege:
    """A privilege granted to ``grantee`` (a role, or PUBLIC) on an object (``kind`` table, schema, function)."""

    grantee: str
    privilege: str
    kind: str
    object: str
    columns: tuple[str, ...] = ()
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RoleAttributes:
    name: str
    superuser: bool = False
    bypassrls: bool = False
    login: bool = False


@dataclass(frozen=True)
class Posture:
    """What protects a schema's data; ``source`` says where it was read (``sql`` or ``catalog``)."""

    tables: dict[str, RowSecurity] = field(default_factory=dict)
    policies: tuple[PolicyRule, ...] = ()
    views: tuple[ViewSecurity, ...] = ()
    functions: tuple[Function, ...] = ()
    grants: tuple[Privilege, ...] = ()
    roles: dict[str, RoleAttributes] = field(default_factory=dict)
    masked: frozenset[tuple[str, str]] = frozenset()  # (table, column) pairs with a <column>_masked twin
    source: str = "sql"
    unread: tuple[str, ...] = ()  # statements of the SQL that PostgreSQL's parser rejected, with their line

    @classmethod
    def from_sql(cls, text: str | list[str]) -> Posture:
        """The posture a script builds (statements in order; REVOKE removes what an earlier GRANT gave).

        The script is cut as psql cuts it; a statement PostgreSQL's parser rejects is listed in ``unread`` (with
        its line) and the others are still read.
        """
        reader = _Reader()
        for script in [text] if isinstance(text, str) else text:
            for piece in split_script(script):
                if piece.kind != SQL:
                    continue
                reader.line = script.count("\n", 0, piece.start) + 1
                try:
                    parsed = pglast.parse_sql(piece.text)
                except pglast.parser.ParseError as error:
                    reader.unread.append(f"line {reader.line}: {error}")
                    continue
                for raw in parsed:
                    reader.read(raw.stmt)
        return reader.posture()

    @classmethod
    def from_engine(cls, engine: Any, namespaces: list[str] | None = None) -> Posture:
        """The posture of a live PostgreSQL database, in ``namespaces`` (default: the engine's own)."""
        from workbench.security.catalog import read_catalog

        return read_catalog(engine, namespaces)

    def security(self, table: str) -> RowSecurity:
        return self.tables.get(table, RowSecurity())

    def policies_on(self, table: str) -> list[PolicyRule]:
        return [p for p in self.policies if p.table == table]

    def is_masked(self, table: str, column: str) -> bool:
        return (table, column) in self.masked

    @property
    def restricts(self) -> bool:
        """True once any table privilege is granted: from then on, only grantees read a table."""
        return any(g.kind == "table" for g in self.grants)

    def readers(self, table: str) -> set[str]:
        """Grantees with SELECT on every column of ``table`` (a table-level grant)."""
        return {g.grantee for g in self.grants
                if g.kind == "table" and g.object == table and g.privilege in ("select", "all") and not g.columns}


class _Reader:
    """Accumulates a posture from parsed statements."""

    def __init__(self) -> None:
        self.tables: dict[str, RowSecurity] = {}
        self.policies: list[PolicyRule] = []
        self.views: dict[str, ViewSecurity] = {}
        self.functions: dict[str, Function] = {}
        self.grants: list[Privilege] = []
        self.roles: dict[str, RoleAttributes] = {}
        self.masked: set[tuple[str, str]] = set()
        self.line: int | None = None  # of the statement being read
        self.unread: list[str] = []

    def posture(self) -> Posture:
        return Posture(dict(self.tables), tuple(self.policies), tuple(self.views.values()),
                       tuple(self.functions.values()), tuple(self.grants), dict(self.roles), frozenset(self.masked),
                       unread=tuple(self.unread))

    def read(self, node: ast.Node) -> None:
        reader = getattr(self, f"_{type(node).__name__}", None)
        if reader is not None:
            reader(node)

    def _AlterTableStmt(self, node: ast.AlterTableStmt) -> None:  # one method per pglast node type it reads
        name = node.relation.relname
        for command in node.cmds or ():
            if command.subtype in _RLS:
                attribute, value = _RLS[command.subtype]
                self.tables[name] = replace(self.tables.get(name, RowSecurity()), **{attribute: value})
            elif command.subtype == AlterTableType.AT_AddColumn and command.def_.colname.endswith(MASKED):
                self.masked.add((name, command.def_.colname.removesuffix(MASKED)))
            elif command.subtype == AlterTableType.AT_SetRelOptions and name in self.views:
                options = _options(command.def_)
                if "security_invoker" in options:
                    self.views[name] = replace(self.views[name], invoker=options["security_invoker"])

    def _CreatePolicyStmt(self, node: ast.CreatePolicyStmt) -> None:
        self.policies.append(PolicyRule(
            node.policy_name, node.table.relname, node.cmd_name or "all", bool(node.permissive),
            tuple(_role(r) for r in node.roles or ()) or (PUBLIC,),
            deparse(node.qual) if node.qual is not None else None,
            deparse(node.with_check) if node.with_check is not None else None, self.line))

    def _AlterPolicyStmt(self, node: ast.AlterPolicyStmt) -> None:
        for number, policy in enumerate(self.policies):
            if policy.name == node.policy_name and policy.table == node.table.relname:
                changes: dict[str, Any] = {}
                if node.qual is not None:
                    changes["using"] = deparse(node.qual)
                if node.with_check is not None:
                    changes["check"] = deparse(node.with_check)
                if node.roles:
                    changes["roles"] = tuple(_role(r) for r in node.roles)
                self.policies[number] = replace(policy, **changes)

    def _ViewStmt(self, node: ast.ViewStmt) -> None:
        reads = tuple(sorted({n.relname for n in walk(node.query) if isinstance(n, ast.RangeVar)}))
        self.views[node.view.relname] = ViewSecurity(
            node.view.relname, _options(node.options).get("security_invoker", False), reads, self.line)

    def _CreateFunctionStmt(self, node: ast.CreateFunctionStmt) -> None:
        name = ".".join(s.sval for s in node.funcname)
        arguments = ", ".join(deparse(p.argType) for p in node.parameters or () if p.mode in _INPUT)
        function = _function_options(Function(f"{name}({arguments})", line=self.line), node.options)
        self.functions[function.signature] = function

    def _AlterFunctionStmt(self, node: ast.AlterFunctionStmt) -> None:
        name = ".".join(s.sval for s in node.func.objname)
        signature = f"{name}({', '.join(deparse(t) for t in node.func.objargs or ())})"
        known = self.functions.get(signature) or next(
            (f for s, f in self.functions.items() if s.split("(")[0].split(".")[-1] == name.split(".")[-1]), None)
        function = _function_options(known or Function(signature), node.actions)
        self.functions[function.signature] = function

    def _GrantStmt(self, node: ast.GrantStmt) -> None:
        kind = {ObjectType.OBJECT_TABLE: "table", ObjectType.OBJECT_SCHEMA: "schema",
                ObjectType.OBJECT_FUNCTION: "function", ObjectType.OBJECT_SEQUENCE: "sequence"}.get(node.objtype)
        if kind is None:
            return
        objects = [o.relname if isinstance(o, ast.RangeVar) else _object_name(o) for o in node.objects or ()]
        privileges = [(p.priv_name or "all", tuple(c.sval for c in p.cols or ())) for p in node.privileges or ()] \
            or [("all", ())]
        changes = [Privilege(_role(g), privilege, kind, name, columns, self.line)
                   for g in node.grantees for name in objects for privilege, columns in privileges]
        if node.is_grant:
            self.grants += changes
        else:
            revoked = {(c.grantee, c.kind, c.object) for c in changes if c.privilege == "all"}
            named = {(c.grantee, c.privilege, c.kind, c.object, c.columns) for c in changes}
            self.grants = [g for g in self.grants if (g.grantee, g.kind, g.object) not in revoked
                           and (g.grantee, g.privilege, g.kind, g.object, g.columns) not in named]

    def _CreateRoleStmt(self, node: ast.CreateRoleStmt) -> None:
        self.roles[node.role] = _role_options(RoleAttributes(node.role), node.options)

    def _AlterRoleStmt(self, node: ast.AlterRoleStmt) -> None:
        name = _role(node.role)
        self.roles[name] = _role_options(self.roles.get(name, RoleAttributes(name)), node.options)


def _role(spec: ast.RoleSpec) -> str:
    if spec.roletype == RoleSpecType.ROLESPEC_PUBLIC:
        return PUBLIC
    if spec.roletype == RoleSpecType.ROLESPEC_CSTRING:
        return spec.rolename
    return spec.roletype.name.removeprefix("ROLESPEC_")


def _object_name(node: Any) -> str:
    if isinstance(node, ast.String):
        return node.sval
    if isinstance(node, ast.ObjectWithArgs):
        return ".".join(s.sval for s in node.objname)
    return deparse(node)


def _options(elements: Any) -> dict[str, bool]:
    """``WITH (security_invoker = true, ...)`` as booleans."""
    found = {}
    for element in elements or ():
        value = element.arg
        text = value.sval if isinstance(value, ast.String) else str(getattr(value, "boolval", getattr(value, "ival",
                                                                                                    "true")))
        found[element.defname] = text.lower() in _TRUE
    return found


def _function_options(function: Function, elements: Any) -> Function:
    for element in elements or ():
        if element.defname == "security":
            function = replace(function, definer=bool(element.arg.boolval))
        elif element.defname == "set" and getattr(element.arg, "name", None) == "search_path":
            function = replace(function, search_path=True)
    return function


def _role_options(role: RoleAttributes, elements: Any) -> RoleAttributes:
    names = {"superuser": "superuser", "bypassrls": "bypassrls", "canlogin": "login"}
    for element in elements or ():
        if element.defname in names:
            role = replace(role, **{names[element.defname]: bool(getattr(element.arg, "boolval", True))})
    return role
