"""Security lint rules (WB3xx), in the form of the design rules: an id, a severity, a message and fix SQL.

They read a :class:`~workbench.security.posture.Posture` (from SQL text or a live catalog) through a
:class:`SecurityContext`; tenant rules need the tenant-scoped tables (a policy's, or the tables with
``tenant_column``). Each docstring ends with a runnable example; :func:`workbench.security.lint` runs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from psycopg import sql
from sqlglot import exp

from workbench.advisor.rules import Context, Flag, rule
from workbench.advisor.schema_rules import TEXT_TYPES, sql_type, words
from workbench.schema.model import Column, Table
from workbench.security.generate import add_masked_column
from workbench.security.posture import MASKED, PUBLIC, Posture
from workbench.security.spec import Mask

PERSONAL = frozenset({"email", "mail", "phone", "mobile", "cell", "fax", "ssn", "passport", "iban", "birth", "dob",
                      "birthday", "address", "street", "postcode", "zip", "ip"})
DATES = frozenset({"birth", "dob", "birthday"})  # personal dates; every other personal column holds text
DATE_TYPES = (exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ,
              exp.DataType.Type.DATETIME)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
SAMPLE = {"rows": 200, "min_values": 20, "share": 0.8}  # sampled values: how many, and the share that must match
_WRITE_COMMANDS = frozenset({"all", "insert", "update"})


@dataclass
class SecurityContext(Context):
    """The lint context plus the security posture and the tenant-scoped tables (bare names)."""

    posture: Posture = field(default_factory=Posture)
    tenant_tables: tuple[str, ...] = ()

    def locate(self, source: object) -> tuple[str | None, int | None]:
        """Tables and indexes as the design lint locates them; posture entries by their statement's line."""
        line = getattr(source, "line", None)
        if isinstance(line, int) and not isinstance(source, Table):
            return (self.report.file if self.report else None), line
        return super().locate(source)

    def tenant_scoped(self) -> list[Table]:
        """Tables isolated per tenant: those named, else those with ``tenant_column`` (not the tenants table)."""
        if self.tenant_tables:
            return [t for t in self.schema.tables if t.name in self.tenant_tables]
        if self.tenant_column is None:
            return []
        return [t for t in self.schema.tables if t.has_column(self.tenant_column)
                and not (t.primary_key and t.primary_key.columns == (self.tenant_column,))]


def _command(statement: sql.Composable) -> exp.Command:
    """A statement sqlglot has no tree for, built by psycopg.sql (identifiers quoted there), as a fix."""
    text = statement.as_string(None)
    head, _, rest = text.partition(" ")
    return exp.Command(this=head, expression=rest)


def _table(ctx: Context, table: Table) -> sql.Composable:
    return sql.SQL(ctx.table_expr(table).sql("postgres"))


@rule("WB301 tenant-table-without-rls", "error")
def tenant_table_without_rls(ctx: SecurityContext) -> Iterator[Flag]:
    """A tenant-scoped table without row-level security: one missing ``WHERE tenant_id = ...`` in the
    application shows every tenant's rows. The fix enables and forces it, with a policy on the tenant setting.

    >>> from workbench.ddl import import_ddl
    >>> schema = import_ddl("CREATE TABLE orders (tenant_id int, id int, PRIMARY KEY (tenant_id, id));").schema
    >>> ctx = SecurityContext(schema, tenant_column="tenant_id")
    >>> [f.fix[0].sql("postgres") for f in tenant_table_without_rls.check(ctx)]
    ['ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY']
    """
    for table in ctx.tenant_scoped():
        if ctx.posture.security(table.name).rls:
            continue
        column = ctx.tenant_column or "tenant_id"
        predicate = sql.SQL("{} = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::{})").format(
            sql.Identifier(column), sql.SQL(table.column(column).type if table.has_column(column) else "integer"))
        fix = [_command(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(_table(ctx, table))),
               _command(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(_table(ctx, table))),
               _command(sql.SQL("CREATE POLICY tenant_isolation ON {} USING ({}) WITH CHECK ({})").format(
                   _table(ctx, table), predicate, predicate))]
        yield Flag(table.key, "is tenant-scoped but has no row-level security: isolation rests on every query "
                   "remembering its tenant filter", tuple(fix), table)


@rule("WB302 rls-not-forced", "warning")
def rls_not_forced(ctx: SecurityContext) -> Iterator[Flag]:
    """Row-level security without ``FORCE``: the table's owner (and any role that inherits it, such as a
    migration or application role that owns the tables) skips every policy.

    >>> from workbench.ddl import import_ddl
    >>> schema = import_ddl("CREATE TABLE orders (tenant_id int PRIMARY KEY);").schema
    >>> ctx = SecurityContext(schema, posture=Posture.from_sql("ALTER TABLE orders ENABLE ROW LEVEL SECURITY"))
    >>> [f.fix[0].sql("postgres") for f in rls_not_forced.check(ctx)]
    ['ALTER TABLE public.orders FORCE ROW LEVEL SECURITY']
    """
    for table in ctx.schema.tables:
        security = ctx.posture.security(table.name)
        if security.rls and not security.force:
            yield Flag(table.key, "has row-level security but not FORCE: its owner reads and writes every row",
                       (_command(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(_table(ctx, table))),),
                       table)


@rule("WB303 policy-without-with-check", "warning")
def policy_without_with_check(ctx: SecurityContext) -> Iterator[Flag]:
    """A policy that lets rows be written (ALL, INSERT, UPDATE) with no WITH CHECK, or WITH CHECK (true):
    new rows are not checked, so a tenant can insert rows into another tenant. (Without WITH CHECK,
    PostgreSQL reuses USING for ALL and UPDATE: write it explicitly so a looser USING never loosens writes.)

    >>> from workbench.ddl import import_ddl
    >>> schema = import_ddl("CREATE TABLE orders (tenant_id int PRIMARY KEY);").schema
    >>> ctx = SecurityContext(schema, posture=Posture.from_sql(
    ...     "CREATE POLICY p ON orders USING (tenant_id = 1) WITH CHECK (true)"))
    >>> [f.fix[0].sql("postgres") for f in policy_without_with_check.check(ctx)]
    ['ALTER POLICY "p" ON public.orders WITH CHECK (tenant_id = 1)']
    """
    for policy in ctx.posture.policies:
        if policy.command not in _WRITE_COMMANDS or not policy.permissive:
            continue
        unchecked = policy.check is None or policy.check.strip().lower() in ("true", "(true)")
        if not unchecked or (policy.using or "").strip().lower() in ("true", "(true)"):
            continue
        table = ctx.schema.find_table(policy.table)
        target = _table(ctx, table) if table is not None else sql.Identifier(policy.table)
        fix = (_command(sql.SQL("ALTER POLICY {} ON {} WITH CHECK ({})").format(
            sql.Identifier(policy.name), target, sql.SQL(policy.using))),) if policy.using else ()
        what = "WITH CHECK (true) checks nothing" if policy.check is not None else "no WITH CHECK"
        yield Flag(f"policy {policy.name} on {policy.table}", f"{what}: rows written through it are not held to "
                   f"USING ({policy.using})", fix, policy)


@rule("WB304 view-without-security-invoker", "warning")
def view_without_security_invoker(ctx: SecurityContext) -> Iterator[Flag]:
    """A view over a table with row-level security (or a tenant-scoped table) without ``security_invoker``:
    it reads with its owner's rights and policies, and an owner (or superuser) skips them.

    >>> from workbench.ddl import import_ddl
    >>> schema = import_ddl("CREATE TABLE orders (tenant_id int PRIMARY KEY);").schema
    >>> ctx = SecurityContext(schema, posture=Posture.from_sql(["ALTER TABLE orders ENABLE ROW LEVEL SECURITY",
    ...                                                        "CREATE VIEW v AS SELECT * FROM orders"]))
    >>> [f.fix[0].sql("postgres") for f in view_without_security_invoker.check(ctx)]
    ['ALTER VIEW "v" SET (security_invoker = true)']
    """
    protected = {name for name, security in ctx.posture.tables.items() if security.rls}
    protected |= {t.name for t in ctx.tenant_scoped()}
    for view in ctx.posture.views:
        reached = sorted(set(view.reads) & protected)
        if reached and not view.invoker:
            yield Flag(f"view {view.name}", f"reads {', '.join(reached)} as its owner: row-level security is "
                       f"checked for the owner, not the reader",
                       (_command(sql.SQL("ALTER VIEW {} SET (security_invoker = true)").format(
                           sql.Identifier(view.name))),), view)


@rule("WB305 definer-without-search-path", "error")
def definer_without_search_path(ctx: SecurityContext) -> Iterator[Flag]:
    """A ``SECURITY DEFINER`` function without a fixed ``search_path``: a caller who can create objects in a
    schema on its path (or in pg_temp) makes the function run the caller's code with the owner's rights.

    >>> from workbench.ddl import import_ddl
    >>> ctx = SecurityContext(import_ddl("CREATE TABLE t (id int PRIMARY KEY);").schema,
    ...     posture=Posture.from_sql("CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql SECURITY DEFINER "
    ...                              "AS 'SELECT x'"))
    >>> [f.fix[0].sql("postgres") for f in definer_without_search_path.check(ctx)]
    ['ALTER FUNCTION f(integer) SET search_path = pg_catalog, pg_temp']
    """
    for function in ctx.posture.functions:
        if function.definer and not function.search_path:
            yield Flag(f"function {function.signature}", "is SECURITY DEFINER without SET search_path: it can be "
                       "made to run another role's objects with its owner's rights",
                       (_command(sql.SQL("ALTER FUNCTION {} SET search_path = pg_catalog, pg_temp").format(
                           sql.SQL(function.signature))),), function)


@rule("WB306 grant-to-public", "warning")
def grant_to_public(ctx: SecurityContext) -> Iterator[Flag]:
    """A privilege granted to PUBLIC (every role, now and later): on a table, view or column, CREATE on a
    schema, or EXECUTE on a SECURITY DEFINER function (functions are executable by PUBLIC by default).

    >>> from workbench.ddl import import_ddl
    >>> ctx = SecurityContext(import_ddl("CREATE TABLE t (id int PRIMARY KEY);").schema,
    ...                       posture=Posture.from_sql("GRANT SELECT ON t TO PUBLIC"))
    >>> [f.fix[0].sql("postgres") for f in grant_to_public.check(ctx)]
    ['REVOKE SELECT ON TABLE "t" FROM PUBLIC']
    """
    definers = {f.signature for f in ctx.posture.functions if f.definer}
    seen = set()
    for grant in ctx.posture.grants:
        if grant.grantee != PUBLIC or (grant.kind, grant.object, grant.privilege) in seen:
            continue
        if grant.kind == "schema" and grant.privilege not in ("create", "all"):
            continue  # USAGE alone reaches nothing without privileges on the objects
        if grant.kind == "function" and grant.object not in definers:
            continue
        seen.add((grant.kind, grant.object, grant.privilege))
        kind = {"table": "TABLE", "schema": "SCHEMA", "function": "FUNCTION", "sequence": "SEQUENCE"}[grant.kind]
        name = sql.SQL(grant.object) if grant.kind == "function" else sql.Identifier(grant.object)
        columns = f" ({', '.join(grant.columns)})" if grant.columns else ""
        yield Flag(f"{grant.kind} {grant.object}", f"grants {grant.privilege.upper()}{columns} to PUBLIC: every "
                   f"role has it, including roles created later",
                   (_command(sql.SQL("REVOKE {} ON {} {} FROM PUBLIC").format(
                       sql.SQL(grant.privilege.upper()), sql.SQL(kind), name)),), grant)


@rule("WB307 privileged-application-role", "error")
def privileged_application_role(ctx: SecurityContext) -> Iterator[Flag]:
    """A role that is granted privileges on the schema's tables, or named in a policy, and is a superuser or
    has BYPASSRLS: every query it runs skips row-level security, whatever the policies say.

    >>> from workbench.ddl import import_ddl
    >>> ctx = SecurityContext(import_ddl("CREATE TABLE t (id int PRIMARY KEY);").schema, posture=Posture.from_sql(
    ...     ["CREATE ROLE app LOGIN BYPASSRLS", "GRANT SELECT ON t TO app"]))
    >>> [f.fix[0].sql("postgres") for f in privileged_application_role.check(ctx)]
    ['ALTER ROLE "app" NOSUPERUSER NOBYPASSRLS']
    """
    used = {g.grantee for g in ctx.posture.grants if g.kind == "table"}
    used |= {r for p in ctx.posture.policies for r in p.roles}
    for name in sorted(used - {PUBLIC}):
        role = ctx.posture.roles.get(name)
        if role is not None and (role.superuser or role.bypassrls):
            what = " and ".join(w for w, on in (("SUPERUSER", role.superuser), ("BYPASSRLS", role.bypassrls)) if on)
            yield Flag(f"role {name}", f"has {what} and is used on the tables: row-level security never applies "
                       f"to it", (_command(sql.SQL("ALTER ROLE {} NOSUPERUSER NOBYPASSRLS").format(
                           sql.Identifier(name))),))


@rule("WB308 personal-data-column", "warning")
def personal_data_column(ctx: SecurityContext) -> Iterator[Flag]:
    """A text column named like personal data (email, phone, address, IBAN, SSN..., or a birth date) that has no
    masked twin (``<column>_masked``) while some role (or PUBLIC, or no grant at all yet) reads the whole table.
    The fix adds a masked column computed on read; grant it instead of the column.

    >>> from workbench.ddl import import_ddl
    >>> ctx = SecurityContext(import_ddl("CREATE TABLE c (id int PRIMARY KEY, email text);").schema)
    >>> [f.fix[0].sql("postgres")[:62] for f in personal_data_column.check(ctx)]
    ['ALTER TABLE public.c ADD COLUMN "email_masked" text GENERATED ']
    """
    def named(table: Table, column: Column) -> str | None:
        parts = set(words(column.name))
        kind = sql_type(column, ctx.dialect)
        holds = kind is not None and (kind.this in TEXT_TYPES or (parts & DATES and kind.is_type(*DATE_TYPES)))
        keyed = words(column.name)[-1:] == ["id"] or any(column.name in fk.columns for fk in table.foreign_keys)
        return f"looks like personal data ({column.name})" if PERSONAL & parts and holds and not keyed else None

    for table, column, reason in _unmasked(ctx, named):
        yield Flag(f"{table.key}.{column.name}", f"{reason} and is readable unmasked{_by(ctx, table)}",
                   _mask_fix(ctx, table, column.name), table)


@rule("WB309 personal-data-values", "warning", needs="data")
def personal_data_values(ctx: SecurityContext) -> Iterator[Flag]:
    """A text column not named like personal data whose sampled values are email addresses or phone numbers
    (80% of at least 20 sampled values), readable unmasked. Needs a loaded engine.

    >>> import pyarrow as pa
    >>> from workbench.ddl import import_ddl
    >>> from workbench.engines import connect
    >>> schema = import_ddl("CREATE TABLE c (id int PRIMARY KEY, contact text);").schema
    >>> engine = connect("duckdb")
    >>> _ = engine.load(schema, {"c": pa.table({"id": range(30), "contact": [f"u{i}@x.org" for i in range(30)]})},
    ...                 progress=False)
    >>> [f.message for f in personal_data_values.check(SecurityContext(schema, engine=engine))]
    ['holds email addresses (30 of 30 sampled values), readable unmasked (no grant restricts it yet)']
    >>> engine.close()
    """
    places = ctx.engine.places(ctx.schema)

    def sampled(table: Table, column: Column) -> str | None:
        kind = sql_type(column, ctx.dialect)
        if PERSONAL & set(words(column.name)) or kind is None or kind.this not in TEXT_TYPES:
            return None
        name = exp.column(column.name, quoted=True)
        query = exp.select(name).from_(places[table.key]).where(name.is_(exp.null()).not_()).limit(SAMPLE["rows"])
        values = [str(v) for v in ctx.engine.query(query.sql(ctx.engine.dialect)).iloc[:, 0]]
        if len(values) < SAMPLE["min_values"]:
            return None
        for label, looks in (("email addresses", _email), ("phone numbers", _phone)):
            hits = sum(1 for v in values if looks(v))
            if hits >= SAMPLE["share"] * len(values):
                return f"holds {label} ({hits} of {len(values)} sampled values)"
        return None

    for table, column, reason in _unmasked(ctx, sampled):
        yield Flag(f"{table.key}.{column.name}", f"{reason}, readable unmasked{_by(ctx, table)}",
                   _mask_fix(ctx, table, column.name, "email" if "email" in reason else "phone"), table)


def _email(value: str) -> bool:
    return EMAIL.match(value) is not None


def _phone(value: str) -> bool:
    return PHONE.match(value) is not None and sum(ch.isdigit() for ch in value) >= 7


def _unmasked(ctx: SecurityContext, test: Callable[[Table, Column], str | None]) -> Iterator[tuple[Table, Column, str]]:
    """(table, column, why) for the columns ``test`` picks that have no masked twin and are readable whole."""
    for table in ctx.schema.tables:
        if ctx.posture.restricts and not ctx.posture.readers(table.name):
            continue  # privileges are granted, and none reads the whole table: restricted
        for column in table.columns:
            if column.name.endswith(MASKED) or table.has_column(column.name + MASKED) \
                    or ctx.posture.is_masked(table.name, column.name):
                continue
            if (reason := test(table, column)) is not None:
                yield table, column, reason


def _by(ctx: SecurityContext, table: Table) -> str:
    readers = sorted(ctx.posture.readers(table.name))
    return f" by {', '.join(readers)}" if readers else " (no grant restricts it yet)"


def _mask_fix(ctx: SecurityContext, table: Table, column: str, kind: str | None = None) -> tuple[exp.Expression, ...]:
    if ctx.dialect != "postgres":
        return ()
    named = set(words(column))
    kind = kind or ("phone" if {"phone", "mobile", "cell", "fax"} & named else
                    "email" if {"email", "mail"} & named else "redact")
    return (_command(add_masked_column(_table(ctx, table), Mask(table.name, column, kind, ()))),)


SECURITY_RULES = (tenant_table_without_rls, rls_not_forced, policy_without_with_check, view_without_security_invoker,
                  definer_without_search_path, grant_to_public, privileged_application_role, personal_data_column,
                  personal_data_values)
