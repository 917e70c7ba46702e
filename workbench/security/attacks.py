"""The attack suite: small functions that each try one way across a tenant boundary or past a grant.

Each attack runs on a connection logged in as a policy role (:mod:`workbench.security.logins`), with its own
tenant set for the transaction, against a victim tenant; everything runs in a transaction rolled back after.
An attack returns ``blocked`` or ``allowed`` with what happened (the error, or the rows it reached). Whether the
policy *should* block it comes from the policy's intent (roles, grants, cross-tenant readers, masks), not from
how it was generated: a weakened policy is expected to block the same attacks, and the suite finds where it
does not. Only ``insufficient_privilege`` (42501) and ``feature_not_supported`` (0A000, e.g. COPY FROM into a
table under row-level security) count as blocked; any other error means the barrier let the attempt through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import psycopg
import sqlglot
from psycopg import sql

from workbench.security.generate import Target
from workbench.security.spec import Policy

BLOCKED, ALLOWED = "blocked", "allowed"
BLOCKING_STATES = frozenset({"42501", "0A000"})
_TIMEOUT_MS = 10_000


class Outcome(NamedTuple):
    result: str  # BLOCKED | ALLOWED
    detail: str


@dataclass
class Probe:
    """One attacker: a policy role's login connection, its own tenant and the victim's, and what it may aim at."""

    role: str  # the policy role
    connection: psycopg.Connection
    tenant: Any
    victim: Any
    policy: Policy
    target: Target
    server_roles: dict[str, str]  # policy role -> server role
    workbench_user: str  # the session user that owns the sandbox
    forged: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> a valid row of the victim, new keys

    @contextmanager
    def transaction(self, tenant: Any = "own") -> Iterator[psycopg.Cursor]:
        """A cursor in a transaction rolled back after; the role's tenant set for it (``tenant=None``: none)."""
        tenant = self.tenant if tenant == "own" else tenant
        with self.connection.transaction(force_rollback=True), self.connection.cursor() as cursor:
            cursor.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(_TIMEOUT_MS))
            if tenant is not None:
                self.set_tenant(cursor, tenant)
            yield cursor

    def set_tenant(self, cursor: psycopg.Cursor, tenant: Any) -> None:
        cursor.execute("SELECT set_config(%s, %s, true)", [self.policy.tenant_setting, str(tenant)])

    def table(self, name: str) -> sql.Identifier:
        return self.target.relation(name)

    def column(self) -> sql.Identifier:
        return sql.Identifier(self.policy.tenant_column)

    def count(self, cursor: psycopg.Cursor, relation: str, tenant: Any | None) -> int:
        """Rows of ``relation`` this role sees (of ``tenant`` only, unless None)."""
        query = sql.SQL("SELECT count(*) FROM {}").format(self.table(relation))
        if tenant is not None:
            query = sql.SQL("{} WHERE {} = %s").format(query, self.column())
        return cursor.execute(query, [tenant] if tenant is not None else None).fetchone()[0]


@dataclass(frozen=True)
class Attack:
    """An attack: its name, what it aims at, how it runs, and whether the policy should block it."""

    name: str
    on: str  # "tenant tables" | "shared tables" | "views" | "masks" | "roles" | "session"
    run: Callable[[Probe, str], Outcome] = field(repr=False)
    expect: Callable[[Policy, str, str], str] = field(repr=False)

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip()


ATTACKS: list[Attack] = []


def attack(name: str, on: str, expect: Callable[[Policy, str, str], str]) -> Callable[[Callable], Callable]:
    """Register ``f(probe, target) -> Outcome`` as an attack aimed at each ``on`` target."""
    def register(run: Callable[[Probe, str], Outcome]) -> Callable[[Probe, str], Outcome]:
        ATTACKS.append(Attack(name, on, run, expect))
        return run

    return register


def refused(error: psycopg.Error) -> Outcome:
    """A database error as an outcome: blocked when it is a privilege (or unsupported-feature) refusal."""
    message = str(error).strip().splitlines()[0]
    if error.sqlstate in BLOCKING_STATES:
        return Outcome(BLOCKED, message)
    return Outcome(ALLOWED, f"not stopped by a privilege or policy; the statement then failed: {message}")


def attempt(run: Callable[[], Outcome]) -> Outcome:
    try:
        return run()
    except psycopg.Error as error:
        return refused(error)


def succeeds(probe: Probe, statement: sql.Composable, done: str, params: list[Any] | None = None) -> Outcome:
    """Run one statement in the probe's transaction: ``done`` when it got through, else how it was refused."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            cursor.execute(statement, params)
            return Outcome(ALLOWED, done)
    return attempt(run)


# -- what the policy intends ------------------------------------------------------------------------

def _reads_across(policy: Policy, role: str, relation: str) -> str:
    return ALLOWED if policy.is_cross_tenant(role) and policy.can(role, "select", relation) else BLOCKED


def _never(policy: Policy, role: str, target: str) -> str:
    return BLOCKED


def _owner_only(policy: Policy, role: str, target: str) -> str:
    return ALLOWED if any(r.owner for r in policy.ancestry(role)) else BLOCKED


def _leaks(rows: int, tenant: Any, how: str) -> Outcome:
    if rows:
        return Outcome(ALLOWED, f"{how} {rows:,} rows of tenant {tenant}")
    return Outcome(BLOCKED, f"{how} no row of tenant {tenant}")


# -- the attacks ------------------------------------------------------------------------------------

@attack("read_other_tenant", "tenant tables", _reads_across)
def read_other_tenant(probe: Probe, table: str) -> Outcome:
    """SELECT another tenant's rows with its own tenant set. Blocked by the tenant policy's USING clause (a
    role no policy names sees nothing), or by the missing SELECT grant."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            return _leaks(probe.count(cursor, table, probe.victim), probe.victim, "read")
    return attempt(run)


@attack("owner_without_force", "tenant tables", _reads_across)
def owner_without_force(probe: Probe, table: str) -> Outcome:
    """The table owner reads another tenant's rows. Owners skip row-level security unless the table has
    FORCE ROW LEVEL SECURITY; with FORCE the tenant policy applies to them too."""
    return read_other_tenant(probe, table)


@attack("read_without_tenant", "tenant tables", _reads_across)
def read_without_tenant(probe: Probe, table: str) -> Outcome:
    """SELECT with no tenant set at all. Blocked by the predicate failing closed: NULLIF(current_setting(...,
    true), '') is NULL, and no row equals NULL."""
    def run() -> Outcome:
        with probe.transaction(tenant=None) as cursor:
            rows = probe.count(cursor, table, None)
        return Outcome(ALLOWED, f"read {rows:,} rows with no tenant set") if rows else \
            Outcome(BLOCKED, "no row with no tenant set")
    return attempt(run)


@attack("update_other_tenant", "tenant tables", _never)
def update_other_tenant(probe: Probe, table: str) -> Outcome:
    """UPDATE another tenant's rows (SET a column to itself). Blocked by the USING clause: the rows are
    invisible to the UPDATE, which then touches none; or by the missing UPDATE grant."""
    column = _plain_column(probe, table)

    def run() -> Outcome:
        with probe.transaction() as cursor:
            cursor.execute(sql.SQL("UPDATE {} SET {} = {} WHERE {} = %s").format(
                probe.table(table), column, column, probe.column()), [probe.victim])
            return _leaks(cursor.rowcount, probe.victim, "updated")
    return attempt(run)


@attack("delete_other_tenant", "tenant tables", _never)
def delete_other_tenant(probe: Probe, table: str) -> Outcome:
    """DELETE another tenant's rows. Blocked by the USING clause (no row visible to delete) or the missing
    DELETE grant; a foreign-key error means the rows were visible, so it counts as allowed."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            cursor.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(probe.table(table), probe.column()),
                           [probe.victim])
            return _leaks(cursor.rowcount, probe.victim, "deleted")
    return attempt(run)


@attack("insert_forged_tenant", "tenant tables", _never)
def insert_forged_tenant(probe: Probe, table: str) -> Outcome:
    """INSERT a valid row that carries the victim's tenant id. Blocked by the policy's WITH CHECK clause
    (``WITH CHECK (true)`` lets it in), or by the missing INSERT grant."""
    row = probe.forged[table]
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(probe.table(table), sql.SQL(", ").join(
        map(sql.Identifier, row)), sql.SQL(", ").join(sql.Placeholder() * len(row)))
    return succeeds(probe, insert, f"inserted a row of tenant {probe.victim}", list(row.values()))


@attack("move_row_to_other_tenant", "tenant tables", _never)
def move_row_to_other_tenant(probe: Probe, table: str) -> Outcome:
    """UPDATE one of its own rows to the victim's tenant id. Blocked on the new row: by WITH CHECK, and because an
    UPDATE that reads columns (its WHERE) needs the new row visible through the USING clause as well."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            cursor.execute(sql.SQL("UPDATE {t} SET {c} = %s WHERE ctid = (SELECT ctid FROM {t} WHERE {c} = %s "
                                   "LIMIT 1)").format(t=probe.table(table), c=probe.column()),
                           [probe.victim, probe.tenant])
            if not cursor.rowcount:
                return Outcome(BLOCKED, f"no own row of tenant {probe.tenant} to move")
            return Outcome(ALLOWED, f"moved a row into tenant {probe.victim}")
    return attempt(run)


@attack("copy_out", "tenant tables", _reads_across)
def copy_out(probe: Probe, table: str) -> Outcome:
    """COPY the table TO STDOUT and count the victim's rows in the stream. Blocked because COPY TO applies the
    SELECT policies as a query does."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            copy = sql.SQL("COPY {} ({}) TO STDOUT").format(probe.table(table), probe.column())
            with cursor.copy(copy) as stream:
                rows = sum(1 for (value,) in stream.rows() if value == str(probe.victim))
            return _leaks(rows, probe.victim, "copied out")
    return attempt(run)


@attack("copy_in_forged", "tenant tables", _never)
def copy_in_forged(probe: Probe, table: str) -> Outcome:
    """COPY FROM STDIN a row of the victim's tenant. Blocked because PostgreSQL refuses COPY FROM into a table
    with row-level security (0A000), or by the missing INSERT grant."""
    row = probe.forged[table]

    def run() -> Outcome:
        with probe.transaction() as cursor:
            copy = sql.SQL("COPY {} ({}) FROM STDIN").format(probe.table(table),
                                                              sql.SQL(", ").join(map(sql.Identifier, row)))
            with cursor.copy(copy) as stream:
                stream.write_row(list(row.values()))
            return Outcome(ALLOWED, f"copied in a row of tenant {probe.victim}")
    return attempt(run)


@attack("truncate", "tenant tables", _owner_only)
def truncate(probe: Probe, table: str) -> Outcome:
    """TRUNCATE the table (and what references it): row-level security does not apply to TRUNCATE, so only
    the missing TRUNCATE grant blocks it (least privilege never grants it; the owner always may)."""
    return succeeds(probe, sql.SQL("TRUNCATE {} CASCADE").format(probe.table(table)), "truncated every tenant's rows")


@attack("leaky_function", "tenant tables", _reads_across)
def leaky_function(probe: Probe, table: str) -> Outcome:
    """A cheap, non-leakproof function in WHERE that raises a NOTICE for each victim row it sees. Blocked
    because PostgreSQL evaluates policy conditions before any non-leakproof function (security barrier);
    creating it needs only the TEMP privilege."""
    seen: list[str] = []

    def note(diagnostic: psycopg.errors.Diagnostic) -> None:
        if (diagnostic.message_primary or "").startswith("wb_leak "):
            seen.append(diagnostic.message_primary)

    def run() -> Outcome:
        probe.connection.add_notice_handler(note)
        try:
            with probe.transaction() as cursor:
                cursor.execute(sql.SQL(
                    "CREATE FUNCTION pg_temp.wb_leak(value anyelement, victim text) RETURNS boolean LANGUAGE plpgsql "
                    "COST 0.0001 AS $$ BEGIN IF value::text = victim THEN RAISE NOTICE 'wb_leak %', value; END IF; "
                    "RETURN true; END $$"))
                cursor.execute(sql.SQL("SELECT count(*) FROM {} WHERE pg_temp.wb_leak({}, %s)").format(
                    probe.table(table), probe.column()), [str(probe.victim)])
        finally:
            probe.connection.remove_notice_handler(note)
        return _leaks(len(seen), probe.victim, "a leaky function saw")
    return attempt(run)


@attack("statistics_leak", "tenant tables", _never)
def statistics_leak(probe: Probe, table: str) -> Outcome:
    """Read the planner's most common values of the tenant column from pg_stats. Blocked because pg_stats hides
    the statistics of a table whose row-level security applies to the reader (a cross-tenant reader too)."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            stored = probe.target.tables[table]
            found = cursor.execute("SELECT most_common_vals::text FROM pg_stats WHERE schemaname = %s AND "
                                   "tablename = %s AND attname = %s",
                                   [stored.db or "public", stored.name, probe.policy.tenant_column]).fetchone()
        if found and found[0]:
            return Outcome(ALLOWED, f"pg_stats shows the most common tenants {found[0][:60]}")
        return Outcome(BLOCKED, "pg_stats shows nothing of this table")
    return attempt(run)


@attack("row_estimates", "tenant tables", lambda policy, role, target: ALLOWED)
def row_estimates(probe: Probe, table: str) -> Outcome:
    """Read the table's row estimate from pg_class. Not blockable by a policy: the catalog is readable by every
    role, so every tenant's total (not a row) is visible; keep tenant counts out of sensitive decisions."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            estimate = cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                                      [probe.table(table).as_string(cursor)]).fetchone()[0]
        return Outcome(ALLOWED, f"pg_class estimates {estimate:,} rows over all tenants") if estimate > 0 else \
            Outcome(BLOCKED, "no estimate (the table was never analyzed)")
    return attempt(run)


@attack("disable_row_security", "tenant tables", _owner_only)
def disable_row_security(probe: Probe, table: str) -> Outcome:
    """ALTER TABLE ... DISABLE ROW LEVEL SECURITY. Blocked for every role but the owner (only an owner may
    alter a table): keep the owner role out of the application."""
    return succeeds(probe, sql.SQL("ALTER TABLE {} DISABLE ROW LEVEL SECURITY").format(probe.table(table)),
                    "disabled row-level security")


@attack("row_security_off", "tenant tables", _never)
def row_security_off(probe: Probe, table: str) -> Outcome:
    """SET row_security = off, then read the victim's rows. Blocked because PostgreSQL then raises an error
    for any query a policy applies to, however permissive (FORCE makes that true for the owner too)."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            cursor.execute("SET LOCAL row_security = off")
            return _leaks(probe.count(cursor, table, probe.victim), probe.victim, "with row_security off, read")
    return attempt(run)


@attack("tamper_setting", "session", lambda policy, role, target: ALLOWED)
def tamper_setting(probe: Probe, target: str) -> Outcome:
    """Mid-transaction, switch the tenant setting to the victim's and read its rows. Not blocked by a SET-based
    tenant context: the setting is trusted, so any SQL the role can run (an injection) can switch tenants;
    only the application may set it. A role per tenant (tenant derived from the login) would block it."""
    table = probe.policy.tenant_tables[0]

    def run() -> Outcome:
        with probe.transaction() as cursor:
            own = probe.count(cursor, table, probe.tenant)
            probe.set_tenant(cursor, probe.victim)
            rows = probe.count(cursor, table, probe.victim)
        return _leaks(rows, probe.victim, f"after reading {own:,} own rows, switched tenants and read")
    return attempt(run)


@attack("set_role", "roles", lambda policy, role, target: ALLOWED if target in
        {r.name for r in policy.ancestry(role)} else BLOCKED)
def set_role(probe: Probe, target: str) -> Outcome:
    """SET ROLE to another role (another policy role, or the user that owns the sandbox). Blocked unless the
    login is a member of that role: login roles are members of their own group (and what it includes) only."""
    name = probe.server_roles.get(target, probe.workbench_user)
    return succeeds(probe, sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(name)), f"became {name}")


@attack("definer_function", "session", _never)
def definer_function(probe: Probe, target: str) -> Outcome:
    """Call every SECURITY DEFINER function of the sandbox the role may execute (with the victim's id where it
    takes one argument). Blocked when there is none: a definer function runs as its owner, who may skip
    row-level security; revoke EXECUTE from PUBLIC and fix its search_path."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            found = cursor.execute(
                "SELECT p.oid::regprocedure::text, p.pronargs FROM pg_proc p JOIN pg_namespace n ON n.oid = "
                "p.pronamespace WHERE p.prosecdef AND n.nspname = %s AND p.pronargs <= 1 AND "
                "has_function_privilege(p.oid, 'EXECUTE')", [probe.target.namespace]).fetchall()
            reached = []
            for signature, arguments in found:
                name = signature.split("(")[0]
                call = sql.SQL("SELECT count(*) FROM (SELECT {}({})) AS reached").format(
                    sql.SQL(name), sql.Placeholder() if arguments else sql.SQL(""))
                if cursor.execute(call, [probe.victim] if arguments else None).fetchone()[0]:
                    reached.append(signature)
        if reached:
            return Outcome(ALLOWED, f"called SECURITY DEFINER {', '.join(reached)}")
        return Outcome(BLOCKED, "no SECURITY DEFINER function this role may execute")
    return attempt(run)


@attack("write_shared_table", "shared tables", lambda policy, role, table: ALLOWED if
        policy.can(role, "update", table) else BLOCKED)
def write_shared_table(probe: Probe, table: str) -> Outcome:
    """UPDATE a table every tenant shares (the catalog). Blocked by the missing UPDATE grant: shared tables are
    read-only to application roles unless the policy grants more."""
    column = _plain_column(probe, table)

    def run() -> Outcome:
        with probe.transaction() as cursor:
            cursor.execute(sql.SQL("UPDATE {} SET {} = {}").format(probe.table(table), column, column))
            return Outcome(ALLOWED, f"updated {cursor.rowcount:,} shared rows")
    return attempt(run)


@attack("view_other_tenant", "views", _reads_across)
def view_other_tenant(probe: Probe, view: str) -> Outcome:
    """Read the victim's rows through a view. Blocked when the view has security_invoker (it reads with the
    reader's rights and policies); a view without it reads as its owner, who skips row-level security unless
    FORCE applies."""
    def run() -> Outcome:
        with probe.transaction() as cursor:
            return _leaks(probe.count(cursor, view, probe.victim), probe.victim, "read through the view")
    return attempt(run)


@attack("masked_column", "masks", lambda policy, role, target: BLOCKED if any(
        f"{m.table}.{m.column}" == target for m in policy.masks_for(role)) else ALLOWED)
def masked_column(probe: Probe, target: str) -> Outcome:
    """SELECT the raw column behind a mask. Blocked for masked roles by column grants (they may read
    ``<column>_masked`` only); roles without the mask read it if they may read the table."""
    table, _, column = target.partition(".")
    return succeeds(probe, sql.SQL("SELECT {} FROM {} LIMIT 1").format(sql.Identifier(column), probe.table(table)),
                    f"read {target} unmasked")


def targets(attack: Attack, policy: Policy, role: str) -> list[str]:
    """What ``attack`` aims at when ``role`` runs it."""
    is_owner = any(r.owner for r in policy.ancestry(role))
    if attack.on == "tenant tables":
        owner_only, not_owner = attack.name == "owner_without_force", attack.name == "read_other_tenant"
        return [] if (owner_only and not is_owner) or (not_owner and is_owner) else list(policy.tenant_tables)
    if attack.on == "shared tables":
        return policy.shared_tables
    if attack.on == "views":
        return [v.name for v in policy.views if policy.tenant_column in _view_columns(policy, v.name)]
    if attack.on == "masks":
        return [f"{m.table}.{m.column}" for m in policy.masks]
    if attack.on == "roles":
        return [r.name for r in policy.roles if r.name != role] + ["workbench user"]
    return ["session"]


def _view_columns(policy: Policy, view: str) -> list[str]:
    query = sqlglot.parse_one(next(v.sql for v in policy.views if v.name == view), read="postgres")
    return [e.alias_or_name for e in query.selects]


def _plain_column(probe: Probe, table: str) -> sql.Identifier:
    """A column outside every key of ``table``: writing it to itself changes nothing but proves the write."""
    model = probe.policy.model.table(table)
    keyed = {c for key in ([model.primary_key] if model.primary_key else []) for c in key.columns}
    keyed |= {c for fk in model.foreign_keys for c in fk.columns} | {probe.policy.tenant_column}
    return sql.Identifier(next((c.name for c in model.columns if c.name not in keyed), model.columns[0].name))
