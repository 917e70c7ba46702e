"""The access-control spec: roles, what each may do on which tables and columns, which tables are tenant-scoped.

A small TOML file (``datasets/multitenant/policy.toml`` is the example)::

    tenant_column = "tenant_id"
    tenant_tables = ["customers", "orders", "order_items"]   # rows isolated per tenant (row-level security)
    tenant_setting = "app.tenant_id"                         # the application runs SET app.tenant_id = '42'

    [roles.app_ro]                       # a group role (NOLOGIN): privileges, and the policies that apply
    grants = { orders = "select", customers = "select(tenant_id, customer_id, name)" }
    [roles.app_rw]
    includes = ["app_ro"]                # member of app_ro: its grants too
    grants = { orders = "insert, update, delete", order_items = "all" }   # all = select, insert, update, delete
    [roles.analyst]
    cross_tenant = true                  # reads every tenant's rows (never writes across tenants)
    grants = { "*" = "select" }
    [roles.migrator]
    owner = true                         # owns the tables; row-level security applies to it too (FORCE)

    [views.customer_order_totals]        # created WITH (security_invoker = true)
    sql = "SELECT tenant_id, customer_id, sum(total) AS revenue FROM orders GROUP BY 1, 2"

    [masks."customers.email"]            # analyst reads customers.email_masked, never customers.email
    kind = "email"
    roles = ["analyst"]

``force``, ``with_check`` and a view's ``security_invoker`` default to true; :meth:`Policy.weakened` turns them
off (the deliberate holes the attack suite must find). Every name is checked against the schema.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.errors import UnknownNameError, WorkbenchError, did_you_mean
from workbench.schema.model import Schema

PRIVILEGES = ("select", "insert", "update", "delete")  # "all" means these: no TRUNCATE, REFERENCES or TRIGGER
MASK_KINDS = ("email", "phone", "hash", "redact")
PREDICATES = ("initplan", "per_row")  # (SELECT current_setting(...)) once per query, or current_setting() per row
MAX_ROLE = 40  # role names get a prefix wb_<id>_ of up to 16 bytes: PostgreSQL names hold 63
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_SETTING = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_GRANT = re.compile(r"^\s*([a-z]+)\s*(?:\(([^)]*)\))?\s*$")
_KEYS = frozenset({"tenant_column", "tenant_tables", "tenant_setting", "predicate", "force", "with_check", "roles",
                   "views", "masks"})
_ROLE_KEYS = frozenset({"about", "grants", "includes", "cross_tenant", "owner", "login"})
_VIEW_KEYS = frozenset({"sql", "security_invoker", "about"})
_MASK_KEYS = frozenset({"kind", "roles"})


@dataclass(frozen=True)
class Grant:
    """One privilege on a table or view, on every column or only on ``columns``."""

    privilege: str
    columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.privilege}({', '.join(self.columns)})" if self.columns else self.privilege


@dataclass(frozen=True)
class Role:
    """A group role of the policy (created NOLOGIN unless ``login``), by its name in the spec."""

    name: str
    grants: Mapping[str, tuple[Grant, ...]] = field(default_factory=dict)  # table or view -> privileges
    includes: tuple[str, ...] = ()
    cross_tenant: bool = False
    owner: bool = False
    login: bool = False
    about: str = ""

    def privileges(self, relation: str) -> set[str]:
        """What this role itself may do on ``relation`` (``select``...), any columns."""
        return {g.privilege for g in self.grants.get(relation, ())}


@dataclass(frozen=True)
class View:
    """A view the policy creates; ``security_invoker`` makes it read with the reader's rights and policies."""

    name: str
    sql: str
    security_invoker: bool = True
    about: str = ""

    def reads(self) -> list[str]:
        """The tables (and views) its query names."""
        return sorted({t.name for t in sqlglot.parse_one(self.sql, read="postgres").find_all(exp.Table)})


@dataclass(frozen=True)
class Mask:
    """``table.column`` shown masked to ``roles``: they read ``<column>_masked`` and never the column itself."""

    table: str
    column: str
    kind: str
    roles: tuple[str, ...]

    @property
    def masked_column(self) -> str:
        return f"{self.column}_masked"


@dataclass(frozen=True)
class Policy:
    """Access control for one schema; build it with :meth:`from_toml`, then ``sql()``/``apply()``/``prove``."""

    tenant_column: str
    tenant_tables: tuple[str, ...]
    roles: tuple[Role, ...]
    views: tuple[View, ...] = ()
    masks: tuple[Mask, ...] = ()
    tenant_setting: str = "app.tenant_id"
    predicate: str = "initplan"
    force: bool = True
    with_check: bool = True
    row_security: bool = True  # False: roles and grants only, the row-level security written by hand (a workshop)
    schema: Schema | None = field(default=None, compare=False, repr=False)
    file: str | None = None

    @classmethod
    def from_toml(cls, path: str | Path, schema: Schema | None = None) -> Policy:
        """A policy from its TOML file; the schema defaults to ``schema.sql`` beside it (a domain folder)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except OSError as error:
            raise WorkbenchError(f"cannot read policy file {path}: {error}") from error
        except tomllib.TOMLDecodeError as error:
            raise WorkbenchError(f"{path}: not valid TOML: {error}") from error
        if schema is None and (path.parent / "schema.sql").is_file():
            from workbench.domains import domain

            schema = domain(path.parent).schema
        return cls.from_dict(data, schema=schema, file=str(path), text=text)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, schema: Schema | None = None, file: str | None = None,
                  text: str | None = None) -> Policy:
        """A policy from the TOML structure as a dict; checked against ``schema`` when given."""
        where = _Where(file, text)
        _known(data, _KEYS, "key of the policy", where)
        for required in ("tenant_column", "tenant_tables", "roles"):
            if required not in data:
                raise WorkbenchError(f"{where.at(required)}: a policy needs `{required} = ...` "
                                     f"(see datasets/multitenant/policy.toml)")
        roles = tuple(_role(name, spec, where) for name, spec in _table(data, "roles", where).items())
        views = tuple(_view(name, spec, where) for name, spec in _table(data, "views", where).items())
        masks = tuple(_mask(key, spec, where) for key, spec in _table(data, "masks", where).items())
        tables = data["tenant_tables"]
        if isinstance(tables, str) or not isinstance(tables, list):
            raise WorkbenchError(f"{where.at('tenant_tables')}: tenant_tables is a list of table names, "
                                 f"e.g. [\"orders\", \"customers\"]")
        policy = cls(tenant_column=str(data["tenant_column"]), tenant_tables=tuple(map(str, tables)), roles=roles,
                     views=views, masks=masks, tenant_setting=str(data.get("tenant_setting", "app.tenant_id")),
                     predicate=str(data.get("predicate", "initplan")), force=bool(data.get("force", True)),
                     with_check=bool(data.get("with_check", True)), file=file)
        policy._check_own(where)
        return policy.bind(schema, where) if schema is not None else policy

    def bind(self, schema: Schema, _where: _Where | None = None) -> Policy:
        """This policy checked against ``schema`` (every table, column, view and role it names)."""
        bound = _expand_wildcards(replace(self, schema=schema))
        bound._check_schema(_where or _Where(self.file, None))
        return bound

    def weakened(self) -> Policy:
        """The same roles and grants with the classic holes: no FORCE (the owner skips row-level security), WITH
        CHECK (true) (new rows go unchecked) and views without security_invoker (they read as their owner)."""
        return replace(self, force=False, with_check=False,
                       views=tuple(replace(v, security_invoker=False) for v in self.views))

    # -- questions the generator and the attack suite ask -------------------------------------------

    def role(self, name: str) -> Role:
        for role in self.roles:
            if role.name == name:
                return role
        raise UnknownNameError("role of the policy", name, [r.name for r in self.roles])

    @property
    def owner(self) -> Role | None:
        return next((r for r in self.roles if r.owner), None)

    def ancestry(self, name: str) -> list[Role]:
        """The role and every role it includes, transitively (its effective privileges come from all of them)."""
        seen: dict[str, Role] = {}
        todo = [name]
        while todo:
            role = self.role(todo.pop())
            if role.name not in seen:
                seen[role.name] = role
                todo += list(role.includes)
        return list(seen.values())

    def can(self, role: str, privilege: str, relation: str) -> bool:
        """True when ``role`` (or a role it includes, or its ownership) allows ``privilege`` on ``relation``."""
        roles = self.ancestry(role)
        return any(r.owner for r in roles) or any(privilege in r.privileges(relation) for r in roles)

    def is_cross_tenant(self, role: str) -> bool:
        return any(r.cross_tenant for r in self.ancestry(role))

    def masks_for(self, role: str) -> list[Mask]:
        names = {r.name for r in self.ancestry(role)}
        return [m for m in self.masks if names & set(m.roles)]

    @property
    def tables(self) -> list[str]:
        """Every table of the bound schema (bare names), in model order."""
        return [t.name for t in self.model.tables]

    @property
    def shared_tables(self) -> list[str]:
        return [t for t in self.tables if t not in self.tenant_tables]

    @property
    def model(self) -> Schema:
        if self.schema is None:
            raise WorkbenchError("this policy is not bound to a schema; give one: Policy.from_toml(path, schema=...) "
                                 "or policy.bind(schema)")
        return self.schema

    # -- generation and application (workbench.security.generate / apply) --------------------------

    def sql(self, engine: Any = None) -> list[str]:
        """The statements :meth:`apply` runs on ``engine`` (its role prefix and sandbox), without running them.

        Without an engine, roles are prefixed ``wb_dryrun_`` and tables are unqualified.
        """
        from workbench.security.generate import statements

        return statements(self, engine)

    def apply(self, engine: Any) -> Any:
        """Create the roles, grants, row-level security, views and masks in the engine's sandbox, all or nothing.

        Returns :class:`workbench.security.apply.Applied`; the roles are dropped when the engine closes.
        """
        from workbench.security.apply import apply

        return apply(self, engine)

    def __repr__(self) -> str:
        bound = f" on {self.schema.name or 'a schema'}" if self.schema is not None else " (unbound)"
        holes = [label for label, on in (("no FORCE", not self.force), ("WITH CHECK (true)", not self.with_check),
                                          ("definer views", any(not v.security_invoker for v in self.views))) if on]
        return (f"<Policy{bound}: {len(self.roles)} roles ({', '.join(r.name for r in self.roles)}), "
                f"{len(self.tenant_tables)} tenant tables by {self.tenant_column}, {len(self.views)} views, "
                f"{len(self.masks)} masks{'; weakened: ' + ', '.join(holes) if holes else ''}>")

    # -- checks ---------------------------------------------------------------------------------

    def _check_own(self, where: _Where) -> None:
        if not _SETTING.match(self.tenant_setting):
            raise WorkbenchError(f"{where.at(self.tenant_setting)}: tenant_setting {self.tenant_setting!r} must be "
                                 f"a custom setting with a dot, e.g. \"app.tenant_id\"")
        if self.predicate not in PREDICATES:
            raise UnknownNameError("tenant predicate", self.predicate, PREDICATES)
        names = [r.name for r in self.roles]
        if len(set(names)) != len(names):
            raise WorkbenchError(f"{where.at('roles')}: role names must be unique, got {names}")
        if not self.roles:
            raise WorkbenchError(f"{where.at('roles')}: a policy needs at least one role ([roles.app_rw] ...)")
        if len(owners := [r.name for r in self.roles if r.owner]) > 1:
            raise WorkbenchError(f"{where.at(owners[1])}: only one role can own the tables; {', '.join(owners)} "
                                 f"all say owner = true")
        for role in self.roles:
            for included in role.includes:
                if included not in names:
                    raise WorkbenchError(f"{where.at(included)}: role {role.name!r} includes unknown role "
                                         f"{included!r}{did_you_mean(included, names)}")
            if role.owner and role.grants:
                raise WorkbenchError(f"{where.at(role.name)}: role {role.name!r} owns the tables, so grants to it "
                                     f"mean nothing; give grants to application roles instead")
        for role in self.roles:
            if any(r.name == role.name for r in self.ancestry(role.name)[1:]):
                raise WorkbenchError(f"{where.at(role.name)}: role {role.name!r} includes itself (a cycle)")
        for mask in self.masks:
            for name in mask.roles:
                if name not in names:
                    raise WorkbenchError(f"{where.at(name)}: mask of {mask.table}.{mask.column} names unknown role "
                                         f"{name!r}{did_you_mean(name, names)}")

    def _check_schema(self, where: _Where) -> None:
        schema = self.model
        tables = {t.name: t for t in schema.tables}
        views = [v.name for v in self.views]
        for name in self.tenant_tables:
            if name not in tables:
                raise _unknown(where, "tenant table", name, tables)
            if not tables[name].has_column(self.tenant_column):
                raise WorkbenchError(
                    f"{where.at(name)}: tenant table {name!r} has no column {self.tenant_column!r}, so its rows "
                    f"cannot be isolated per tenant; columns: {', '.join(c.name for c in tables[name].columns)}. "
                    f"fix: add {self.tenant_column} (and lead its keys with it), or drop {name!r} from tenant_tables")
        for view in self.views:
            if view.name in tables:
                raise WorkbenchError(f"{where.at(view.name)}: view {view.name!r} has the name of a table")
            for read in view.reads():
                if read not in tables and read not in views:
                    raise _unknown(where, f"table read by view {view.name!r}", read, tables)
        relations = [*tables, *views]
        for role in self.roles:
            for relation, grants in role.grants.items():
                if relation not in relations:
                    raise _unknown(where, f"table or view granted to {role.name!r}", relation, relations)
                for grant in grants:
                    if relation in tables:
                        for column in grant.columns:
                            if not tables[relation].has_column(column):
                                raise _unknown(where, f"column of {relation} granted to {role.name!r}", column,
                                               [c.name for c in tables[relation].columns])
                    elif grant.columns:
                        raise WorkbenchError(f"{where.at(relation)}: column grants on view {relation!r} are not "
                                             f"supported; grant the view whole, or name the columns in its query")
        for mask in self.masks:
            if mask.table not in tables:
                raise _unknown(where, "masked table", mask.table, tables)
            if not tables[mask.table].has_column(mask.column):
                raise _unknown(where, f"masked column of {mask.table}", mask.column,
                               [c.name for c in tables[mask.table].columns])
            if tables[mask.table].has_column(mask.masked_column):
                raise WorkbenchError(f"{where.at(mask.column)}: {mask.table} already has a column "
                                     f"{mask.masked_column!r}, where the mask would go")
            for name in mask.roles:
                if not self.can(name, "select", mask.table):
                    raise WorkbenchError(f"{where.at(name)}: role {name!r} has a mask on {mask.table}.{mask.column} "
                                         f"but may not select from {mask.table}; grant it select, or drop the mask")
                explicit = [g for r in self.ancestry(name) for g in r.grants.get(mask.table, ()) if mask.column in
                            g.columns]
                if explicit:
                    raise WorkbenchError(f"{where.at(mask.column)}: role {name!r} is granted {mask.table}."
                                         f"{mask.column} explicitly ({explicit[0]}) and masked at the same time; "
                                         f"keep one")
                through = [r.name for r in self.ancestry(name)[1:] if "select" in {
                    g.privilege for g in r.grants.get(mask.table, ()) if not g.columns}]
                if through:
                    raise WorkbenchError(f"{where.at(name)}: role {name!r} would read {mask.table}.{mask.column} "
                                         f"unmasked through included role {through[0]!r} (it selects every column "
                                         f"of {mask.table}); grant the masked role its own select instead")


class _Where:
    """``file:line`` of a name in the policy text, for error messages (the file alone when not found)."""

    def __init__(self, file: str | None, text: str | None):
        self.file, self.lines = file or "<policy>", (text or "").splitlines()

    def at(self, token: str) -> str:
        pattern = re.compile(rf"(?<![\w.]){re.escape(str(token))}(?![\w])")
        for number, line in enumerate(self.lines, 1):
            if pattern.search(line.split("#", 1)[0]):
                return f"{self.file}:{number}"
        return self.file


def _unknown(where: _Where, kind: str, name: str, choices: Any) -> WorkbenchError:
    error = UnknownNameError(kind, name, choices)
    return WorkbenchError(f"{where.at(name)}: {error}")


def _known(data: Mapping[str, Any], keys: frozenset[str], kind: str, where: _Where) -> None:
    if unknown := sorted(set(data) - keys):
        raise _unknown(where, kind, unknown[0], keys)


def _table(data: Mapping[str, Any], key: str, where: _Where) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise WorkbenchError(f"{where.at(key)}: `{key}` must be a table ([{key}.NAME] sections)")
    return value


def _role(name: str, spec: Any, where: _Where) -> Role:
    if not isinstance(spec, Mapping):
        raise WorkbenchError(f"{where.at(name)}: [roles.{name}] must be a table of keys "
                             f"({', '.join(sorted(_ROLE_KEYS))})")
    _known(spec, _ROLE_KEYS, f"key of role {name!r}", where)
    if not _NAME.match(name) or len(name) > MAX_ROLE:
        raise WorkbenchError(f"{where.at(name)}: role name {name!r} must be lower case letters, digits and _ "
                             f"(at most {MAX_ROLE} characters: the workbench adds a prefix wb_<id>_)")
    grants = {}
    for relation, given in dict(spec.get("grants", {})).items():
        grants[relation] = _grants(given, f"role {name!r} on {relation!r}", where)
    includes = spec.get("includes", [])
    return Role(name, grants, tuple([includes] if isinstance(includes, str) else includes),
                bool(spec.get("cross_tenant", False)), bool(spec.get("owner", False)), bool(spec.get("login", False)),
                str(spec.get("about", "")))


def _grants(given: Any, label: str, where: _Where) -> tuple[Grant, ...]:
    """``"select, insert"``, ``["select(a, b)", "update"]`` or ``"all"`` as Grants."""
    items = _split(given) if isinstance(given, str) else [str(g) for g in given]
    grants: list[Grant] = []
    for item in items:
        match = _GRANT.match(item.lower())
        privilege = match.group(1) if match else item
        if privilege == "all" and match and not match.group(2):
            grants += [Grant(p) for p in PRIVILEGES]
            continue
        if match is None or privilege not in PRIVILEGES:
            raise WorkbenchError(f"{where.at(item.split('(')[0].strip())}: {label}: unknown privilege {item!r}"
                                 f"{did_you_mean(privilege, [*PRIVILEGES, 'all'])} (least privilege: TRUNCATE, "
                                 f"REFERENCES and TRIGGER are never granted)")
        columns = tuple(c.strip() for c in match.group(2).split(",") if c.strip()) if match.group(2) else ()
        grants.append(Grant(privilege, columns))
    return tuple(dict.fromkeys(grants))


def _split(text: str) -> list[str]:
    """``"select(a, b), insert"`` -> ``["select(a, b)", "insert"]`` (commas inside parentheses kept)."""
    return [part.strip() for part in re.findall(r"[^,(]+(?:\([^)]*\))?", text) if part.strip()]


def _view(name: str, spec: Any, where: _Where) -> View:
    if not isinstance(spec, Mapping) or "sql" not in spec:
        raise WorkbenchError(f"{where.at(name)}: [views.{name}] needs sql = \"SELECT ...\"")
    _known(spec, _VIEW_KEYS, f"key of view {name!r}", where)
    if not _NAME.match(name):
        raise WorkbenchError(f"{where.at(name)}: view name {name!r} must be lower case letters, digits and _")
    text = str(spec["sql"]).strip().rstrip(";")
    try:
        parsed = sqlglot.parse_one(text, read="postgres")
    except SqlglotError as error:
        raise WorkbenchError(f"{where.at(name)}: the query of view {name!r} does not parse: "
                             f"{str(error).splitlines()[0]}") from error
    if not isinstance(parsed, exp.Query):
        raise WorkbenchError(f"{where.at(name)}: view {name!r} must be a SELECT, not {parsed.key.upper()}")
    return View(name, text, bool(spec.get("security_invoker", True)), str(spec.get("about", "")))


def _mask(key: str, spec: Any, where: _Where) -> Mask:
    table, dot, column = key.partition(".")
    if not dot or not table or not column:
        raise WorkbenchError(f"{where.at(key)}: a mask is named \"table.column\", e.g. [masks.\"customers.email\"]; "
                             f"got {key!r}")
    if not isinstance(spec, Mapping):
        raise WorkbenchError(f"{where.at(key)}: [masks.\"{key}\"] needs kind = \"...\" and roles = [...]")
    _known(spec, _MASK_KEYS, f"key of mask {key!r}", where)
    kind = str(spec.get("kind", ""))
    if kind not in MASK_KINDS:
        raise WorkbenchError(f"{where.at(key)}: unknown mask kind {kind!r}{did_you_mean(kind, MASK_KINDS)}")
    roles = spec.get("roles", [])
    roles = (roles,) if isinstance(roles, str) else tuple(roles)
    if not roles:
        raise WorkbenchError(f"{where.at(key)}: mask {key!r} names no roles; give roles = [\"analyst\"]")
    return Mask(table, column, kind, roles)


def _expand_wildcards(policy: Policy) -> Policy:
    """``"*"`` grants as the same grants on every table of the bound schema (views are named one by one)."""
    roles = []
    for role in policy.roles:
        grants = dict(role.grants)
        if "*" in grants:
            every = grants.pop("*")
            for table in policy.tables:
                grants[table] = tuple(dict.fromkeys([*grants.get(table, ()), *every]))
        roles.append(replace(role, grants=grants))
    return replace(policy, roles=tuple(roles))
