"""Lesson 7, tenancy: row-level security written by hand, then attacked on a real PostgreSQL.

The ``multitenant`` shop is loaded into PostgreSQL. Its access policy (three roles: ``app_ro`` reads one
tenant's data, ``app_rw`` also writes it, ``migrator`` owns the tables) is the workbench's, with its
row-level security left out: that is the attendee's part. Each answer runs on a copy of the database,
the policy's roles and grants are applied, and the workbench's attack suite
(:func:`workbench.security.prove`) logs in as each role and tries to reach tenant B's rows as tenant A.
The checks read the attacks that still get through, and whether each role still reaches its own
tenant's rows (a table with row-level security and no policy hides everything, which is no answer).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import psycopg
from psycopg import sql
from sqlglot import exp

from workbench.domains import domain
from workbench.engines import Engine, connect
from workbench.security import Policy, Proof, prove
from workbench.security.prove import two_tenants
from workbench.workshop import answers
from workbench.workshop.feedback import Feedback
from workbench.workshop.lesson import Exercise, Lesson, closed_on_failure

TABLES = ("customers", "orders", "order_items")
SPEC = {"tenant_column": "tenant_id", "tenant_tables": list(TABLES), "tenant_setting": "app.tenant_id",
        "roles": {"app_ro": {"grants": {"customers": "select", "orders": "select", "order_items": "select",
                                        "products": "select", "tenants": "select"}},
                  "app_rw": {"includes": ["app_ro"], "grants": {"customers": "insert, update",
                                                                "orders": "insert, update, delete",
                                                                "order_items": "insert, update, delete"}},
                  "migrator": {"owner": True}}}
ROLES_HINT = ("check the table and column names; write policies without TO: they then apply to every role (the "
              "lesson's roles are all tenant-scoped, and on the server their names carry the sandbox's id)")


@dataclass(frozen=True)
class Goal:
    """What one exercise asks of the answer: the attacks it must block, as which roles."""

    exercise: str
    title: str
    attacks: frozenset[str]
    roles: frozenset[str]
    hint: str


READS = Goal("reads", "each tenant reads its own rows", frozenset({
    "read_other_tenant", "read_without_tenant", "copy_out", "leaky_function", "statistics_leak", "row_security_off"}),
    frozenset({"app_ro", "app_rw"}),
    "ALTER TABLE t ENABLE ROW LEVEL SECURITY, then CREATE POLICY p ON t USING (tenant_id = "
    "NULLIF(current_setting('app.tenant_id', true), '')::int) for each tenant table: no tenant set gives NULL, "
    "which matches no row")
WRITES = Goal("writes", "each tenant writes its own rows", frozenset({
    "update_other_tenant", "delete_other_tenant", "insert_forged_tenant", "move_row_to_other_tenant",
    "copy_in_forged"}), frozenset({"app_rw"}),
    "a policy FOR ALL checks new and changed rows with WITH CHECK (the USING expression when WITH CHECK is left "
    "out); FOR SELECT alone leaves writes with no policy (refused), WITH CHECK (true) lets any tenant id in")
OWNER = Goal("owner", "the owner too", frozenset({
    "owner_without_force", "read_other_tenant", "read_without_tenant", "update_other_tenant", "delete_other_tenant",
    "insert_forged_tenant", "move_row_to_other_tenant", "copy_out", "copy_in_forged", "leaky_function",
    "statistics_leak", "row_security_off"}), frozenset({"migrator"}),
    "the owner of a table skips its policies unless ALTER TABLE t FORCE ROW LEVEL SECURITY")


def build(scale: str | float = "ci", *, seed: int = 42) -> Lesson:
    """The lesson with ``lesson.engine`` (PostgreSQL) holding the multitenant shop at ``scale``, no access policy."""
    shop = domain("multitenant")
    engine = connect("postgres")
    with closed_on_failure(engine):
        shop.load(engine, scale, seed=seed, progress=False)
    context = Context(engine, replace(Policy.from_dict(SPEC, schema=shop.schema), row_security=False))
    lesson = Lesson("tenancy", "Lesson 7 · Tenancy",
                    "every tenant's customers and orders share three tables: which row-level security keeps "
                    "each tenant to its own rows, for every role, and how do we know?", [
                        Exercise(goal.exercise, goal.title, prompt, lambda answer, goal=goal: context.judge(goal,
                                                                                                        answer))
                        for goal, prompt in (
                            (READS, "row-level security with which app_ro and app_rw read only their tenant's rows "
                                    "of customers, orders and order_items"),
                            (WRITES, "row-level security with which app_rw also writes only its tenant's rows"),
                            (OWNER, "row-level security that holds for the tables' owner (migrator) too"))],
                    closers=[engine.close])
    lesson.engine, lesson.policy, lesson.attack = engine, context.policy, context.attack
    return lesson


class Context:
    """The loaded shop and the policy without row-level security; each answer is attacked on a copy."""

    def __init__(self, engine: Engine, policy: Policy):
        self.engine, self.policy = engine, policy
        self.tenant = two_tenants(engine, policy)[0]
        self.own = {table: int(engine.query(_count(table).where(exp.column("tenant_id").eq(self.tenant)).sql(
            "postgres"))["n"].iloc[0]) for table in TABLES}

    def attack(self, answer: str = "") -> Proof:
        """The attack suite on a copy with ``answer`` run first (none: the roles and grants alone)."""
        statements = answers.postgres_statements(answer, "statement", READS.hint) if answer.strip() else []
        with answers.on_a_copy(self.engine, statements, hint=ROLES_HINT) as twin:
            return prove(twin, self.policy, progress=False)

    def judge(self, goal: Goal, answer: str) -> Feedback:
        statements = answers.postgres_statements(answer, "row-level security", goal.hint)
        with answers.on_a_copy(self.engine, statements, hint=ROLES_HINT) as twin:
            proof = prove(twin, self.policy, progress=False)
            state = _state(twin)
            reach = self._reach(twin, goal)
        tried = proof.frame[proof.frame["attack"].isin(goal.attacks) & proof.frame["role"].isin(goal.roles)]
        holes = proof.holes.merge(tried[["attack", "role", "target", "tenant"]])
        right, missing = [], []
        if holes.empty:
            right.append(f"the attack suite blocked all {len(tried)} attempts of {', '.join(sorted(goal.attacks))} "
                         f"as {', '.join(sorted(goal.roles))}")
        for attack, found in holes.groupby("attack", sort=False):
            missing.append(f"{attack} got through as {', '.join(found['role'].unique())} on "
                           f"{', '.join(found['target'].unique())}: {found['detail'].iloc[0]}")
        missing += reach
        if goal is not OWNER and not reach:
            right.append(f"tenant {self.tenant} still reaches all its own rows")
        hints = [f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY: until then a policy on {t} does nothing"
                 for t, (enabled, _, _) in state.items() if not enabled]
        hints += [f"{t} has row-level security but no policy: every role sees nothing of it (default deny)"
                  for t, (enabled, _, policies) in state.items() if enabled and not policies]
        if goal is OWNER:
            hints += [f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY" for t, (_, forced, _) in state.items() if not forced]
        measured = [f"{len(proof.frame)} attacks as {proof.frame['role'].nunique()} roles in {proof.seconds:.1f} s; "
                    f"{len(proof.holes)} got through in all"]
        return Feedback(goal.exercise, goal.title, not missing, right, missing,
                        "; ".join(hints[:3]) or goal.hint, measured)

    def _reach(self, twin: Engine, goal: Goal) -> list[str]:
        """What a role can no longer do with its own tenant's rows: read them all (reads), update them (writes)."""
        if goal is OWNER:
            return []
        role, verb = ("app_ro", "reads") if goal is READS else ("app_rw", "updates")
        server_role = f"{twin.role_prefix}{role}"
        lost = []
        with psycopg.connect(twin.server.url(twin.database), autocommit=True) as connection:
            for table in TABLES:
                statement = (_count(table) if goal is READS else
                             exp.update(table, {"tenant_id": exp.column("tenant_id")})).sql("postgres")
                try:
                    with connection.transaction(force_rollback=True):
                        connection.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(server_role)))
                        connection.execute("SELECT set_config('app.tenant_id', %s, true)", [str(self.tenant)])
                        cursor = connection.execute(statement)
                        reached = cursor.fetchone()[0] if goal is READS else cursor.rowcount
                except psycopg.Error as error:
                    reached, why = 0, str(error).strip().splitlines()[0]
                else:
                    why = "other tenants' rows too" if reached > self.own[table] else "the policies hide them"
                if reached != self.own[table]:
                    lost.append(f"{role} {verb} {reached:,} of tenant {self.tenant}'s {self.own[table]:,} {table} "
                                f"rows: {why}")
        return lost


def _count(table: str) -> exp.Select:
    return exp.select(exp.Count(this=exp.Star()).as_("n")).from_(table)


def _state(twin: Engine) -> dict[str, tuple[bool, bool, int]]:
    """Per tenant table: row-level security enabled, forced, and how many policies it has."""
    found = twin.query("SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced, "
                       "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies FROM pg_class c "
                       "WHERE c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace", [list(TABLES)])
    rows = {row.name: (bool(row.enabled), bool(row.forced), int(row.policies)) for row in found.itertuples()}
    return {table: rows[table] for table in TABLES if table in rows}

