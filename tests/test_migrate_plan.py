"""Plans: dependency order, lock/rewrite/scan/loss marks, safe forms, squawk, phases, incomplete targets."""

from __future__ import annotations

from pathlib import Path

import pytest

import workbench as wb
from workbench.migrate import IncompleteMigration, Kind, plan_migration
from workbench.migrate.locks import ACCESS_EXCLUSIVE, LOCKS, SHARE, SHARE_UPDATE_EXCLUSIVE, Form, type_change_rewrites
from workbench.migrate.squawk import compare

DATASETS = Path(__file__).resolve().parents[1] / "datasets" / "ecommerce"


def schema(ddl: str):
    return wb.import_ddl(ddl).schema


def position(migration, text: str, direction: str = "up") -> int:
    steps = migration.up if direction == "up" else migration.down
    return next(i for i, s in enumerate(steps) if text in s.sql)


@pytest.fixture(scope="module")
def shop():
    return wb.import_ddl(DATASETS / "schema.sql"), wb.import_ddl(DATASETS / "schema_v2.sql")


def test_foreign_keys_wait_for_their_targets_and_go_before_drops():
    old = schema("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE gone (id int PRIMARY KEY);"
                 "CREATE TABLE b (id int PRIMARY KEY, g int REFERENCES gone (id));")
    new = schema("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, c int REFERENCES c (id));"
                 "CREATE TABLE c (id int PRIMARY KEY, a int REFERENCES a (id));")
    plan = plan_migration(old, new)
    assert position(plan, "DROP CONSTRAINT b_g_fkey") < position(plan, "DROP TABLE public.gone")
    assert position(plan, "CREATE TABLE public.c") < position(plan, "ADD CONSTRAINT b_c_fkey")
    down = position(plan, "CREATE TABLE public.gone", "down"), position(plan, "ADD CONSTRAINT b_g_fkey", "down")
    assert down[0] < down[1]


def test_enum_values_come_before_the_columns_that_use_them():
    old = schema("CREATE TYPE e AS ENUM ('a'); CREATE TABLE t (id int);")
    new = schema("CREATE TYPE e AS ENUM ('a', 'b'); CREATE TABLE t (id int, s e NOT NULL DEFAULT 'b');")
    plan = plan_migration(old, new)
    assert position(plan, "ADD VALUE 'b' AFTER 'a'") < position(plan, "ADD COLUMN s")


def test_views_are_dropped_and_created_around_the_columns_they_read():
    old = schema("CREATE TABLE t (id int, n int); CREATE VIEW v AS SELECT id, n FROM t;"
                 "CREATE VIEW w AS SELECT id FROM v;")
    new = schema("CREATE TABLE t (id int, n bigint); CREATE VIEW v AS SELECT id, n FROM t;"
                 "CREATE VIEW w AS SELECT id FROM v;")
    plan = plan_migration(old, new)
    order = [position(plan, text) for text in ("DROP VIEW public.w", "DROP VIEW public.v", "TYPE bigint",
                                               "CREATE VIEW public.v", "CREATE VIEW public.w")]
    assert order == sorted(order)


def test_partitions_after_their_parent():
    old = schema("CREATE TABLE x (id int);")
    new = schema("CREATE TABLE x (id int); CREATE TABLE m (id int, at date NOT NULL) PARTITION BY RANGE (at);"
                 "CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');")
    plan = plan_migration(old, new)
    assert position(plan, "CREATE TABLE public.m ") < position(plan, "PARTITION OF public.m")


def test_each_statement_says_what_it_locks_rewrites_and_loses(shop):
    plan = plan_migration(*shop)
    add = next(s for s in plan.up if "ADD COLUMN public_id" in s.sql)
    assert (add.lock, add.rewrite) == (ACCESS_EXCLUSIVE, True)
    index = next(s for s in plan.up if s.form == Form.CREATE_INDEX)
    assert (index.lock, index.scan, index.blocks) == (SHARE, True, "writes (reads go on)")
    drop = next(s for s in plan.down if "DROP COLUMN IF EXISTS public_id" in s.sql or "DROP COLUMN public_id" in s.sql)
    assert drop.data_loss == "the values of public.orders.public_id"
    moved = next(s for s in plan.up if "DROP COLUMN city" in s.sql)
    assert not moved.data_loss and "copied" in moved.note
    assert "DATA LOSS" in plan.down_sql()


def test_the_lock_table_cites_its_source_for_every_form():
    assert all(fact.source for fact in LOCKS.values()) and set(LOCKS) == set(Form)
    assert not type_change_rewrites("character varying(20)", "text")
    assert not type_change_rewrites("numeric(10,2)", "numeric(12,2)")
    assert type_change_rewrites("integer", "bigint") and type_change_rewrites("numeric(10,2)", "numeric(10,3)")


def test_safe_forms(shop):
    plan = plan_migration(*shop, safe=True)
    sql = plan.up_sql()
    assert sql.index("SET lock_timeout") < sql.index("ALTER TABLE")
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_ordered_at_idx" in sql
    assert "FOREIGN KEY (customer_id) REFERENCES public.customers (customer_id) ON DELETE CASCADE NOT VALID" in sql
    assert "VALIDATE CONSTRAINT addresses_customer_id_fkey" in sql
    order = [position(plan, t) for t in ("ADD COLUMN IF NOT EXISTS public_id UUID", "SET DEFAULT gen_random_uuid()",
                                         "DO $$", "orders_public_id_not_null_check CHECK", "VALIDATE CONSTRAINT "
                                         "orders_public_id_not_null_check", "ALTER COLUMN public_id SET NOT NULL")]
    assert order == sorted(order)
    concurrent = next(s for s in plan.up if s.form == Form.CREATE_INDEX_CONCURRENTLY)
    assert concurrent.lock == SHARE_UPDATE_EXCLUSIVE and not concurrent.transactional
    assert "BEGIN;" in sql and "COMMIT;" in sql


def test_squawk_finds_nothing_avoidable_in_the_safe_script(shop):
    naive, safe = plan_migration(*shop).lint(), plan_migration(*shop, safe=True).lint()
    assert safe.avoidable == [], [(f.rule, f.statement) for f in safe.avoidable]
    assert {"require-concurrent-index-creation", "adding-field-with-default"} <= {f.rule for f in naive.avoidable}
    table = compare(naive, safe)
    renaming = table[table.rule == "renaming-column"].iloc[0]
    assert (renaming.naive, renaming.safe, renaming.category) == (1, 1, "needed by the change")
    assert "<table" in safe._repr_html_()


def test_phases_keep_running_code_working(shop):
    phases = plan_migration(*shop).phases
    assert [p.name for p in phases] == ["expand", "backfill", "switch", "contract"]
    expand, backfill, switch, contract = phases
    assert "CREATE TRIGGER orders_amount_sync" in expand.sql and "DROP COLUMN" not in expand.sql
    assert "UPDATE public.orders SET amount = total" in backfill.sql
    assert not switch.steps and "public.orders.amount" in switch.application
    assert contract.sql.index("DROP TRIGGER IF EXISTS orders_amount_sync") < contract.sql.index("DROP COLUMN IF "
                                                                                                 "EXISTS total")
    assert "RENAME COLUMN" not in "".join(p.sql for p in phases)


def test_a_target_that_cannot_express_a_change_gets_no_partial_script():
    old = schema("CREATE TABLE t (id int PRIMARY KEY, n int);")
    new = schema("CREATE TABLE t (id int PRIMARY KEY, n int CHECK (n > 0));")
    plan = plan_migration(old, new, "duckdb")
    assert not plan.complete
    with pytest.raises(IncompleteMigration, match=r"DuckDB cannot run ALTER TABLE ADD CONSTRAINT"):
        plan.up_sql()
    assert "INCOMPLETE" in plan.up_sql(allow_incomplete=True)


def test_duckdb_gets_what_its_alter_can_do():
    old = schema("CREATE TABLE t (id int PRIMARY KEY, n int);")
    new = schema("CREATE TABLE t (id int PRIMARY KEY, m int, extra text DEFAULT 'x');"
                 "CREATE TABLE u (id int PRIMARY KEY, t_id int REFERENCES t (id));")
    plan = plan_migration(old, new, "duckdb", renames={"t.n": "t.m"})
    assert not any(n.blocking for n in plan.notes), plan.notes
    assert "ALTER TABLE t RENAME COLUMN n TO m" in plan.up_sql()
    assert "ADD COLUMN extra TEXT DEFAULT 'x'" in plan.up_sql()
    assert "FOREIGN KEY (t_id) REFERENCES t (id)" in plan.up_sql(), "inside CREATE TABLE: DuckDB cannot add keys"
    with pytest.raises(IncompleteMigration, match=r"DuckDB refuses ALTER TABLE RENAME COLUMN on public\.t"):
        plan.down_sql()  # the way back renames t.m while u references t


def test_display_and_json(shop):
    plan = plan_migration(*shop)
    assert "<details>" in plan._repr_html_() and "ACCESS EXCLUSIVE" in repr(plan)
    document = plan.to_dict()
    assert document["complete"] and {"sql", "lock", "rewrites", "scans", "data_loss"} <= set(document["up"][0])
    assert plan.diff.of_kind(Kind.MOVE_COLUMNS)


def test_what_up_destroys_is_marked_on_the_way_back_with_a_backup_offered(shop):
    plan = plan_migration(shop[1], shop[0])  # v2 -> v1 drops orders.public_id
    assert "CREATE TABLE public.orders_public_id_backup AS SELECT order_id, public_id FROM public.orders" in \
        plan.backup_sql()
    back = next(s for s in plan.down if "ADD COLUMN public_id" in s.sql)
    assert "public.orders.public_id dropped by up do not come back" in back.note
    merged = next(s for s in plan.up if "DROP TABLE public.addresses" in s.sql)
    assert not merged.data_loss and "merged" in merged.note


def test_duckdb_refuses_alter_under_a_foreign_key():
    old = schema("CREATE TABLE t (id int PRIMARY KEY, n int); CREATE TABLE u (id int PRIMARY KEY, "
                 "t_id int REFERENCES t (id));")
    new = schema("CREATE TABLE t (id int PRIMARY KEY, n int, extra text); CREATE TABLE u (id int PRIMARY KEY, "
                 "t_id int REFERENCES t (id));")
    plan = plan_migration(old, new, "duckdb")
    assert [n.message for n in plan.notes if n.blocking] == [
        "DuckDB refuses ALTER TABLE ADD COLUMN on public.t while a foreign key references it; drop the referencing "
        "table's key (re-create that table) around the change"]
