"""The workshop's checks: each judges right, wrong and empty answers on real data, and never only says "wrong".

The solutions notebooks run every right answer under nbval; here each check also meets the wrong
answers an attendee writes (a table that does not exist, the index on the wrong table or column, a
DELETE for retention, a migration that rewrites a live table, a cache too small, a policy that forgets
a table), and the exercise notebooks are checked to be their solutions minus the
solution blocks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from workbench import workshop
from workbench.bench.partitioning import PartitionSpec
from workbench.errors import WorkbenchError
from workbench.workshop.feedback import Feedback
from workbench.workshop.notebooks import SUFFIX, exercise_notebook, exercise_path, without_solutions

WORKSHOP = Path(__file__).resolve().parents[1] / "notebooks" / "workshop"


def not_yet(feedback: Feedback, *words: str) -> None:
    """A "not yet" that says what is missing (containing ``words``) and gives a hint."""
    assert not feedback.passed and feedback.missing and feedback.hint, str(feedback)
    assert all(any(word in point for point in feedback.missing) for word in words), str(feedback)
    assert "Not yet" in feedback._repr_html_() and "Hint:" in feedback._repr_html_()


def test_feedback_never_only_says_wrong():
    with pytest.raises(WorkbenchError, match="without naming what is missing and a hint"):
        Feedback("x", "an exercise", False, missing=("something",))
    done = Feedback("x", "an exercise", True, right=("all of it",), measured=("1.0 ms",))
    assert done.status == "done" and "Hint" not in done._repr_html_() and "measured: 1.0 ms" in str(done)


def test_unknown_lesson_and_exercise_name_the_choices():
    with pytest.raises(WorkbenchError, match="unknown lesson 'indexes'; did you mean 'indexing'"):
        workshop.lesson("indexes")


@pytest.fixture(scope="module")
def modelling():
    with workshop.lesson("modelling") as lesson:
        yield lesson


def test_modelling_design_names_each_missing_dependency(modelling):
    not_yet(modelling.check("design", "-- nothing yet"), "no CREATE TABLE statement yet")
    wide = modelling.check("design", "CREATE TABLE flat (order_id int, ordered_at timestamptz, status text, "
                                     "email text, city text, country text, sku text, product_name text, quantity int, "
                                     "unit_price numeric)")
    not_yet(wide, "flat has no primary key", "email is not unique", "sku is not unique")
    split = modelling.check("design", """
        CREATE TABLE customers (email text PRIMARY KEY, city text, country text);
        CREATE TABLE orders (order_id bigint PRIMARY KEY, email text REFERENCES customers, ordered_at timestamptz,
                             status text, city text);
        CREATE TABLE lines (order_id bigint REFERENCES orders, sku text, product_name text, quantity int,
                            unit_price numeric, PRIMARY KEY (order_id, sku));""")
    not_yet(split, "city is kept in customers and orders", "lines holds sku with product_name, but sku is not unique")
    assert any("ordered_at, status sit with order_id in orders" in point for point in split.right)
    with pytest.raises(WorkbenchError, match="unknown exercise of lesson 'modelling' 'desing'"):
        modelling.check("desing", "")


def test_modelling_queries_compare_rows(modelling):
    not_yet(modelling.check("rebuild", "SELECT * FROM orders"), "rows have")
    not_yet(modelling.check("damage", "SELECT email FROM nowhere"), "the query fails on the loaded data")
    not_yet(modelling.check("damage", "SELECT email FROM order_lines_flat WHERE (city"), "does not parse")
    assert modelling.check("damage", "SELECT email FROM order_lines_flat GROUP BY email "
                                     "HAVING count(DISTINCT city) > 1").passed
    progress = modelling.progress()
    assert [status for *_, status in progress.rows] == ["not yet", "done", "not yet"]
    assert str(progress).startswith("Lesson 1 · Modelling and normalization: 1 of 3 exercises done")


@pytest.fixture(scope="module")
def indexing(pg_server):
    with workshop.lesson("indexing", orders=60_000, customers=6_000) as lesson:
        yield lesson


def test_indexing_checks_table_plan_and_measurement(indexing):
    not_yet(indexing.check("history-5x", "CREATE INDEX ON customers (email)"),
            "the index is on customers, but the query reads orders")
    not_yet(indexing.check("history-5x", "CREATE TABLE t (a int)"), "no index")
    measured = indexing.check("history-5x", "CREATE INDEX ON orders (customer_id)")
    assert measured.measured and "95% interval" in measured.measured[0]
    assert any("PostgreSQL uses it" in point for point in measured.right), measured
    not_yet(indexing.check("no-sort", "CREATE INDEX ON orders (customer_id)"), "the plan still sorts")
    assert indexing.check("no-sort", "CREATE INDEX ON orders (customer_id, ordered_at DESC)").passed
    not_yet(indexing.check("email", "CREATE INDEX ON customers (email)"), "does not use your index")
    not_yet(indexing.check("email", "CREATE INDEX ON customers (lowr(email))"), "PostgreSQL refused")
    assert indexing.check("email", "CREATE INDEX ON customers (lower(email))").passed
    assert set(indexing.engine.index_sizes()["index"]) & {"orders_customer_id_idx", "customers_lower_idx"} == set()


@pytest.fixture(scope="module")
def partitioning(pg_server):
    with workshop.lesson("partitioning") as lesson:
        yield lesson


def test_partitioning_checks_pruning_retention_and_query(partitioning):
    not_yet(partitioning.check("prune", None), "no partitioning yet")
    not_yet(partitioning.check("prune", PartitionSpec("readings", "hash", "device_id", 8)),
            "the last day reads 8 of 8 partitions")
    not_yet(partitioning.check("prune", PartitionSpec("readings", "range", "recorded_at", 2)), "barely prune")
    assert partitioning.check("prune", PartitionSpec("readings", "range", "recorded_at", 12)).passed
    oldest = partitioning.partitions["partition"].iloc[0]
    not_yet(partitioning.check("retention", f"DELETE FROM {oldest}"), "DELETE removes the rows one by one")
    not_yet(partitioning.check("retention", "DROP TABLE readings_p11"), "readings remain")
    assert partitioning.check("retention", f"DROP TABLE {oldest}").passed
    assert partitioning.partitions["rows"].sum() == partitioning.engine.row_counts()["public.readings"]  # untouched
    everything = f"SELECT * FROM readings WHERE device_id = {partitioning.device}"
    not_yet(partitioning.check("device-day", everything), "returned that should not be", "reads 12 of 12")
    assert partitioning.check("device-day", f"{everything} AND recorded_at >= '{partitioning.since}'").passed


@pytest.fixture(scope="module")
def plans(pg_server):
    with workshop.lesson("plans") as lesson:
        yield lesson


def test_plans_checks_reading_rewriting_and_covering(plans):
    heaviest = plans.slow_plan.to_frame().sort_values("self_ms").iloc[-1]["operator"]
    assert plans.check("where-time-goes", heaviest).passed
    not_yet(plans.check("where-time-goes", "Merge Join"), "no operator of this plan is called 'Merge Join'")
    not_yet(plans.check("where-time-goes", ""), "no operator named yet")
    not_yet(plans.check("sargable", plans.day_sql), "does not read orders_ordered_at_idx")
    not_yet(plans.check("sargable", f"SELECT order_id, total FROM orders WHERE ordered_at < DATE '{plans.day}' + 1"),
            "returned that should not be")
    not_yet(plans.check("index-only", "CREATE INDEX ON orders (customer_id, ordered_at DESC)"),
            "it still visits the table")


@pytest.fixture(scope="module")
def migrations(pg_server):
    with workshop.lesson("migrations") as lesson:
        yield lesson


def test_migrations_name_the_statement_that_locks_the_shop_out(migrations):
    not_yet(migrations.check("index", "-- your migration"), "no migration yet")
    not_yet(migrations.check("index", "CREATE INDX"), "does not parse as PostgreSQL")
    not_yet(migrations.check("index", "CREATE INDEX ON ordrs (status)"), 'relation "ordrs" does not exist')
    not_yet(migrations.check("index", "CREATE INDEX ON orders (status, ordered_at)"),
            "holding SHARE on orders", "require-concurrent-index-creation")
    assert migrations.check("index", "CREATE INDEX CONCURRENTLY ON orders (status, ordered_at)").passed
    not_yet(migrations.check("foreign-key", "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers"),
            "scanned the rows to validate", "SHARE ROW EXCLUSIVE")
    fk = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers NOT VALID"
    not_yet(migrations.check("foreign-key", fk), "is NOT VALID")
    assert migrations.check("foreign-key", f"{fk}; ALTER TABLE orders VALIDATE CONSTRAINT fk").passed
    naive = "ALTER TABLE orders ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid()"
    not_yet(migrations.check("public-id", naive), "rewrote orders", "ACCESS EXCLUSIVE")
    backfill = ("ALTER TABLE orders ADD COLUMN public_id uuid; "
                "ALTER TABLE orders ALTER COLUMN public_id SET DEFAULT gen_random_uuid(); "
                "UPDATE orders SET public_id = gen_random_uuid(); ")
    not_yet(migrations.check("public-id", backfill), "public_id may be NULL")
    not_yet(migrations.check("public-id", backfill + "ALTER TABLE orders ALTER COLUMN public_id SET NOT NULL"),
            "scanned orders to verify it holding ACCESS EXCLUSIVE")
    proven = backfill + ("ALTER TABLE orders ADD CONSTRAINT nn CHECK (public_id IS NOT NULL) NOT VALID; "
                         "ALTER TABLE orders VALIDATE CONSTRAINT nn; "
                         "ALTER TABLE orders ALTER COLUMN public_id SET NOT NULL")
    assert migrations.check("public-id", proven).passed
    observed = migrations.observe(naive)
    assert observed[["lock", "squawk"]].iloc[0].tolist() == ["ACCESS EXCLUSIVE", "adding-field-with-default"]
    assert "public_id" not in set(migrations.engine.query("SELECT attname FROM pg_attribute WHERE attrelid = "
                                                          "'orders'::regclass")["attname"])  # answers ran on copies


@pytest.fixture(scope="module")
def caching():
    with workshop.lesson("caching", requests=5_000) as lesson:
        yield lesson


def test_caching_checks_answers_against_the_simulation(caching):
    not_yet(caching.check("size", None), "no cache size yet")
    not_yet(caching.check("size", "lots"), "cannot read cache size 'lots'")
    not_yet(caching.check("size", "1kB"), "points short of 80%")
    not_yet(caching.check("size", "10MB"), "already reaches 80%")
    reference = caching.exercises["size"].judge.__self__  # the figures the lesson measured on its stream
    assert caching.check("size", reference.smallest).passed
    not_yet(caching.check("policy", ""), "no policy named yet")
    not_yet(caching.check("policy", "belady"), "a policy this lesson does not compare")
    hits = caching.compare_policies(("lru", "s3fifo", "sieve", "lfu"))
    worst = hits[hits.policy != "belady"].sort_values("hit_ratio").iloc[0]["policy"]
    not_yet(caching.check("policy", worst), "points more in the same memory")
    not_yet(caching.check("ttl", "soon"), "is not a number of seconds")
    not_yet(caching.check("ttl", 3600), "of reads are stale: more than 15%")
    not_yet(caching.check("ttl", reference.longest_ttl / 4), "gives hits away")
    assert caching.check("ttl", reference.longest_ttl).passed


@pytest.fixture(scope="module")
def tenancy(pg_server):
    with workshop.lesson("tenancy") as lesson:
        yield lesson


TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::int"


def security(tables=("customers", "orders", "order_items"), *, force=False, clause=f"USING (tenant_id = {TENANT})"):
    lines = [f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;" for t in tables]
    lines += [f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY;" for t in tables if force]
    return "\n".join(lines + [f"CREATE POLICY tenant ON {t} {clause};" for t in tables])


def test_tenancy_runs_the_attack_suite_on_the_answer(tenancy):
    not_yet(tenancy.check("reads", "-- your row-level security"), "no row-level security yet")
    not_yet(tenancy.check("reads", "CREATE POLICY p ON customers TO app_ro USING (true)"), 'role "app_ro" does not')
    partial = tenancy.check("reads", security(("customers", "orders")))
    not_yet(partial, "read_other_tenant got through as app_ro, app_rw on order_items")
    assert "ALTER TABLE order_items ENABLE ROW LEVEL SECURITY" in partial.hint
    not_yet(tenancy.check("reads", "ALTER TABLE orders ENABLE ROW LEVEL SECURITY"), "app_ro reads 0 of tenant")
    assert tenancy.check("reads", security()).passed
    not_yet(tenancy.check("writes", security(clause=f"FOR SELECT USING (tenant_id = {TENANT})")), "app_rw updates 0")
    not_yet(tenancy.check("writes", security(clause=f"USING (tenant_id = {TENANT}) WITH CHECK (true)")),
            "insert_forged_tenant got through as app_rw")
    assert tenancy.check("writes", security()).passed
    owner = tenancy.check("owner", security())
    not_yet(owner, "owner_without_force got through as migrator")
    assert "FORCE ROW LEVEL SECURITY" in owner.hint
    assert tenancy.check("owner", security(force=True)).passed
    assert [status for *_, status in tenancy.progress().rows] == ["done", "done", "done"]


def test_exercise_notebooks_are_their_solutions_without_the_solutions():
    solutions = sorted(WORKSHOP.glob(f"*{SUFFIX}.ipynb"))
    assert len(solutions) == len(workshop.LESSONS)
    for path in solutions:
        expected = exercise_notebook(nbformat.read(path, as_version=4), path.name)
        stored = nbformat.read(exercise_path(path), as_version=4)
        assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in expected.cells], \
            f"{exercise_path(path).name} differs from {path.name} without its solutions: run " \
            "python -m workbench.workshop.notebooks notebooks/workshop, then execute it"
        assert "BEGIN SOLUTION" not in "".join(c.source for c in stored.cells)
        assert all(c.execution_count for c in stored.cells if c.cell_type == "code"), \
            f"{exercise_path(path).name} is stored without its outputs: execute it"


def test_solution_markers_must_pair():
    assert without_solutions("a\n# BEGIN SOLUTION\nb\n# END SOLUTION\nc\n") == "a\nc\n"
    assert without_solutions("x = '''\n-- BEGIN SOLUTION\nSELECT 1\n-- END SOLUTION\n'''") == "x = '''\n'''"
    with pytest.raises(WorkbenchError, match="cell, line 2: END SOLUTION without a BEGIN SOLUTION"):
        without_solutions("a\n# END SOLUTION\n")
    with pytest.raises(WorkbenchError, match="BEGIN SOLUTION is never closed"):
        without_solutions("<!-- BEGIN SOLUTION -->\nsecret\n")
