"""The SQL of a policy: roles, least-privilege grants, masks, views, row-level security and ownership.

Statement skeletons are built with ``psycopg.sql`` (identifiers quoted by it), expressions (the tenant
predicate, masks, view queries) with sqlglot; nothing is pasted into strings. The order is the order
:func:`workbench.security.apply.apply` runs them in, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlglot
from psycopg import sql
from sqlglot import exp

from workbench.errors import WorkbenchError
from workbench.security.spec import Grant, Mask, Policy, Role

DRY_RUN_PREFIX = "wb_dryrun_"
ISOLATION, CROSS_TENANT = "tenant_isolation", "cross_tenant_read"
_ATTRIBUTES = sql.SQL("NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")


@dataclass(frozen=True)
class Target:
    """Where a policy goes: the role prefix, each table's qualified name, the namespace, the server."""

    prefix: str
    tables: dict[str, exp.Table]  # bare table name -> the table as the engine stores it
    namespace: str
    superuser: bool = True
    version: int = 18
    place: str = "a dry run"

    @classmethod
    def of(cls, policy: Policy, engine: Any = None) -> Target:
        schema = policy.model
        if engine is None:
            return cls(DRY_RUN_PREFIX, {t.name: exp.table_(exp.to_identifier(t.name)) for t in schema.tables},
                       "public")
        require_postgres(engine)
        places = engine.places(schema)
        tables = {t.name: places[t.key] for t in schema.tables}
        namespace = next(iter(tables.values())).db or "public"
        superuser, number = engine.query("SELECT rolsuper, current_setting('server_version_num')::int AS version "
                                         "FROM pg_roles WHERE rolname = current_user").iloc[0]
        return cls(engine.role_prefix, tables, namespace, bool(superuser), int(number) // 10000,
                   engine.sandbox or engine.database or "its database")

    def role(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def table(self, name: str) -> sql.Identifier:
        stored = self.tables[name]
        return sql.Identifier(stored.db, stored.name) if stored.db else sql.Identifier(stored.name)

    def view(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.namespace, name) if self.namespace != "public" else sql.Identifier(name)

    def relation(self, name: str) -> sql.Identifier:
        return self.table(name) if name in self.tables else self.view(name)


def require_postgres(engine: Any) -> None:
    if getattr(engine, "dialect", None) != "postgres" or not hasattr(engine, "role_prefix"):
        raise WorkbenchError(f"{engine!r} has no roles or row-level security: access control needs PostgreSQL; "
                             f"connect('postgres') for the embedded server, or a postgresql:// URL")


def statements(policy: Policy, engine: Any = None) -> list[str]:
    """Every statement of ``policy`` for ``engine`` (or a dry run), in the order they run."""
    target = Target.of(policy, engine)
    parts: list[sql.Composable] = []
    for role in policy.roles:
        parts += _create_role(target, role)
    for role in policy.roles:
        parts += [sql.SQL("GRANT {} TO {}").format(_role(target, included), _role(target, role.name))
                  for included in role.includes]
    for mask in policy.masks:
        parts.append(add_masked_column(target.table(mask.table), mask, virtual=target.version >= 18))
    for view in policy.views:
        parts.append(_create_view(policy, target, view))
    relations = [*policy.tables, *(v.name for v in policy.views)]
    parts.append(sql.SQL("REVOKE ALL ON TABLE {} FROM PUBLIC").format(
        sql.SQL(", ").join(target.relation(r) for r in relations)))
    parts.append(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(target.namespace)))
    parts.append(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
        sql.Identifier(target.namespace), sql.SQL(", ").join(_role(target, r.name) for r in policy.roles)))
    for role in policy.roles:
        parts += _grants(policy, target, role)
    for table in policy.tenant_tables if policy.row_security else ():
        parts += _row_security(policy, target, table)
    if (owner := policy.owner) is not None:  # it runs migrations: it creates in the schema, and owns the tables
        parts.append(sql.SQL("GRANT CREATE ON SCHEMA {} TO {}").format(sql.Identifier(target.namespace),
                                                                      _role(target, owner.name)))
        if not target.superuser:  # ALTER ... OWNER TO needs membership of the new owner
            parts.append(sql.SQL("GRANT {} TO CURRENT_USER").format(_role(target, owner.name)))
        parts += [sql.SQL("ALTER TABLE {} OWNER TO {}").format(target.table(t), _role(target, owner.name))
                  for t in policy.tables]
        parts += [sql.SQL("ALTER VIEW {} OWNER TO {}").format(target.view(v.name), _role(target, owner.name))
                  for v in policy.views]
    return [part.as_string(None) for part in parts]


def role_names(policy: Policy, prefix: str) -> dict[str, str]:
    """Policy role name -> the role's name on the server."""
    return {role.name: f"{prefix}{role.name}" for role in policy.roles}


def tenant_predicate(policy: Policy, per_row: bool | None = None) -> exp.Expression:
    """``tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', TRUE), '')::INT)``.

    No tenant set gives NULL, so no row (fail closed). The sub-select is an InitPlan: evaluated once per
    query and usable as an index condition; ``per_row`` (the naive form) calls current_setting() for each row
    a filter sees.
    """
    per_row = policy.predicate == "per_row" if per_row is None else per_row
    column = next(t for t in policy.model.tables if t.name == policy.tenant_tables[0]).column(policy.tenant_column)
    setting = exp.func("current_setting", exp.Literal.string(policy.tenant_setting), exp.true())
    value: exp.Expression = exp.cast(exp.func("nullif", setting, exp.Literal.string("")),
                                     exp.DataType.build(column.type, dialect="postgres"))
    if not per_row:
        value = exp.Subquery(this=exp.select(value))
    return exp.EQ(this=exp.column(policy.tenant_column), expression=value)


def mask_expression(mask: Mask) -> exp.Expression:
    """The masked value of ``mask.column`` from built-in immutable functions (a generated column allows no other)."""
    column = exp.column(mask.column)
    text = exp.cast(column, "text")
    if mask.kind == "email":
        return exp.DPipe(this=exp.DPipe(this=exp.func("left", text, exp.Literal.number(1)),
                                        expression=exp.Literal.string("***@")),
                         expression=exp.func("split_part", text, exp.Literal.string("@"), exp.Literal.number(2)))
    if mask.kind == "phone":
        return exp.DPipe(this=exp.Literal.string("***"), expression=exp.func("right", text, exp.Literal.number(4)))
    if mask.kind == "hash":
        return exp.func("md5", text)
    return exp.Case(ifs=[exp.If(this=column.is_(exp.null()), true=exp.null())], default=exp.Literal.string("***"))


def _role(target: Target, name: str) -> sql.Identifier:
    return sql.Identifier(target.role(name))


def _create_role(target: Target, role: Role) -> list[sql.Composable]:
    login = sql.SQL("LOGIN" if role.login else "NOLOGIN")
    about = f"workbench policy role {role.name} for {target.place}; dropped with it"
    return [sql.SQL("CREATE ROLE {} {} {}").format(_role(target, role.name), login, _ATTRIBUTES),
            sql.SQL("COMMENT ON ROLE {} IS {}").format(_role(target, role.name), sql.Literal(about))]


def add_masked_column(table: sql.Composable, mask: Mask, *, virtual: bool = True) -> sql.Composable:
    """The masked value as a generated column: VIRTUAL (computed on read, PostgreSQL 18) or STORED before."""
    return sql.SQL("ALTER TABLE {} ADD COLUMN {} text GENERATED ALWAYS AS ({}) {}").format(
        table, sql.Identifier(mask.masked_column), sql.SQL(mask_expression(mask).sql("postgres")),
        sql.SQL("VIRTUAL" if virtual else "STORED"))


def _create_view(policy: Policy, target: Target, view: Any) -> sql.Composable:
    def qualify(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.db and node.name in target.tables:
            stored = target.tables[node.name].copy()
            if node.alias:
                stored.set("alias", node.args["alias"].copy())
            return stored
        return node

    query = sqlglot.parse_one(view.sql, read="postgres").transform(qualify).sql("postgres")
    invoker = sql.SQL("true" if view.security_invoker else "false")
    return sql.SQL("CREATE VIEW {} WITH (security_invoker = {}) AS {}").format(
        target.view(view.name), invoker, sql.SQL(query))


def _grants(policy: Policy, target: Target, role: Role) -> list[sql.Composable]:
    parts: list[sql.Composable] = []
    masked = {m.table: m for m in policy.masks if role.name in m.roles}
    for relation, grants in role.grants.items():
        whole = [g.privilege for g in grants if not g.columns]
        columns = [g for g in grants if g.columns]
        mask = masked.get(relation)
        if mask is not None and "select" in whole:  # every column but the raw one, and its masked twin
            whole.remove("select")
            table = policy.model.table(relation)
            visible = [c.name for c in table.columns if c.name != mask.column] + [mask.masked_column]
            columns.append(Grant("select", tuple(visible)))
        if whole:
            parts.append(sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                sql.SQL(", ").join(sql.SQL(p.upper()) for p in whole), target.relation(relation),
                _role(target, role.name)))
        parts += [sql.SQL("GRANT {} ({}) ON TABLE {} TO {}").format(
            sql.SQL(g.privilege.upper()), sql.SQL(", ").join(map(sql.Identifier, g.columns)),
            target.relation(relation), _role(target, role.name)) for g in columns]
    return parts


def _row_security(policy: Policy, target: Target, table: str) -> list[sql.Composable]:
    """ENABLE (and FORCE) row-level security; the tenant policy for tenant-scoped roles, a read policy for
    cross-tenant ones. A role no policy names sees no row (PostgreSQL's default deny)."""
    touching = [r.name for r in policy.roles
                if r.owner or any(policy.can(r.name, p, table) for p in ("select", "insert", "update", "delete"))]
    scoped = [name for name in touching if not policy.is_cross_tenant(name)]
    readers = [name for name in touching if policy.is_cross_tenant(name) and policy.can(name, "select", table)]
    parts: list[sql.Composable] = [sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target.table(table))]
    if policy.force:
        parts.append(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(target.table(table)))
    predicate = sql.SQL(tenant_predicate(policy).sql("postgres"))
    check = predicate if policy.with_check else sql.SQL("true")
    if scoped:
        parts.append(sql.SQL("CREATE POLICY {} ON {} AS PERMISSIVE FOR ALL TO {} USING ({}) WITH CHECK ({})").format(
            sql.Identifier(ISOLATION), target.table(table),
            sql.SQL(", ").join(_role(target, n) for n in scoped), predicate, check))
    if readers:
        parts.append(sql.SQL("CREATE POLICY {} ON {} AS PERMISSIVE FOR SELECT TO {} USING (true)").format(
            sql.Identifier(CROSS_TENANT), target.table(table), sql.SQL(", ").join(_role(target, n) for n in readers)))
    return parts
