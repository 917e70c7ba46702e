"""Migrations on a real PostgreSQL: round trips verified with rows, measured locks and waits, psql scripts."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import matplotlib
import psycopg
import pytest

import workbench as wb
from workbench.engines import connect
from workbench.engines.introspect import schema_from_catalog
from workbench.engines.pgserver import Server
from workbench.migrate import plan_migration
from workbench.migrate.catalog import differences, shape
from workbench.migrate.locks import ACCESS_EXCLUSIVE

matplotlib.use("Agg")
DATASETS = Path(__file__).resolve().parents[1] / "datasets" / "ecommerce"
V1, V2 = DATASETS / "schema.sql", DATASETS / "schema_v2.sql"


@pytest.fixture(scope="module")
def shop():
    return wb.domain("ecommerce")


@pytest.fixture(scope="module")
def v2():
    return wb.import_ddl(V2)


@pytest.fixture
def engine(pg_server: Server):
    with connect("postgres", server=pg_server) as engine:
        yield engine


@pytest.mark.parametrize("safe", [False, True], ids=["naive", "safe"])
def test_round_trip_keeps_catalog_and_rows(engine, shop, v2, safe: bool):
    result = plan_migration(shop.imported, v2, safe=safe).verify(engine, shop, scale="ci", progress=False)
    assert result.ok, "\n".join(result.all_differences)
    assert result.tables_checked == 8 and result.rows_checked > 1000
    assert "round trip verified" in repr(result)


def test_verify_lists_every_difference(engine, shop, v2):
    plan = plan_migration(shop.imported, v2)
    without_index = replace(plan, up=tuple(s for s in plan.up if "CREATE INDEX" not in s.sql))
    result = without_index.verify(engine, progress=False)
    assert not result.ok
    assert any("orders_status_ordered_at_idx" in d for d in result.up_differences), result.up_differences
    failing = replace(plan, up=(replace(plan.up[0], sql="ALTER TABLE public.orders RENAME COLUMN nope TO x"),
                                *plan.up[1:]))
    result = failing.verify(engine, progress=False)
    assert result.failures and result.failures[0].startswith("up statement 1 of")
    assert "<li>" in result._repr_html_()


def test_measure_naive_safe_and_phases(engine, shop, v2):
    naive = plan_migration(shop.imported, v2).measure(engine, shop, progress=False, pause_s=0.02, warmup_s=0.2)
    safe = plan_migration(shop.imported, v2, safe=True).measure(engine, shop, progress=False, pause_s=0.02,
                                                                 warmup_s=0.2)
    frame = naive.frame
    volatile = frame[frame.statement.str.contains("ADD COLUMN public_id")].iloc[0]
    assert volatile.rewrote and volatile.observed_lock == ACCESS_EXCLUSIVE
    held = frame[frame.observed_lock != ""]
    assert (held.observed_lock == held.expected_lock).all(), held[["statement", "expected_lock", "observed_lock"]]
    assert not safe.frame.rewrote.fillna(False).any()
    assert naive.errors > 0, "the rename breaks the old queries: the measurement sees it"
    phases = plan_migration(shop.imported, v2).measure(engine, shop, phases=True, progress=False, pause_s=0.02,
                                                       warmup_s=0.2)
    by_phase = phases.by_phase()
    assert list(by_phase.phase) == ["expand", "backfill", "contract"]
    assert by_phase.workload_errors.sum() == 0, phases.frame[phases.frame.workload_errors > 0]
    ax = naive.plot(safe)
    assert ax.get_ylabel() == "blocked ms (measured)" and len(ax.patches) == len(naive.frame) + len(safe.frame)
    assert "<table" in naive._repr_html_()


def _psql(server: Server, dbname: str, file: Path) -> None:
    result = subprocess.run([str(server.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(file),
                             server.url(dbname)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})
    assert result.returncode == 0, result.stderr


def test_psql_runs_the_written_scripts(pg_server: Server, tmp_path: Path):
    from workbench.cli import main

    up, down = tmp_path / "up.sql", tmp_path / "down.sql"
    assert main(["migrate", str(V1), str(V2), "--safe", "-o", str(up), "--down", str(down)]) == 0
    old_db, new_db = pg_server.create_database("mig"), pg_server.create_database("mig")
    try:
        for name in (old_db, new_db):  # the dump grants usage on a schema "shop" it does not create
            with psycopg.connect(pg_server.url(name), autocommit=True) as connection:
                connection.execute("CREATE SCHEMA shop")
        _psql(pg_server, old_db, V1)
        _psql(pg_server, new_db, V2)
        before = shape(schema_from_catalog(pg_server.url(old_db)))
        _psql(pg_server, old_db, up)
        after_up = shape(schema_from_catalog(pg_server.url(old_db)))
        target = shape(schema_from_catalog(pg_server.url(new_db)))
        _psql(pg_server, old_db, down)
        after_down = shape(schema_from_catalog(pg_server.url(old_db)))
    finally:
        pg_server.drop_database(old_db)
        pg_server.drop_database(new_db)
    assert differences(target, after_up, "v2", "v1 + up") == []
    assert differences(before, after_down, "v1", "v1 + up + down") == []


def test_verify_on_a_url_stays_in_sandboxes(pg_url: str, shop, v2):
    with connect(pg_url) as engine:
        result = plan_migration(shop.imported, v2).verify(engine, shop, scale="ci", progress=False)
    assert result.ok, "\n".join(result.all_differences)
    with psycopg.connect(pg_url) as connection:
        schemas = {n for (n,) in connection.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' "
                                                    "AND nspname <> 'information_schema'")}
    assert schemas == {"public"}, "every sandbox the verification made is gone"


def test_phases_end_in_the_new_schema_with_the_rows_moved(engine, shop, v2):
    from workbench.migrate.verify import catalog, fresh_places, run_steps

    plan = plan_migration(shop.imported, v2)
    with fresh_places(engine, 2) as (old, new):
        old.load(shop.schema, shop.generate("ci", seed=3, progress=False), progress=False)
        cities = old.query("SELECT count(*) FROM customers WHERE city IS NOT NULL").iloc[0, 0]
        failures: list[str] = []
        for phase in plan.phases:
            run_steps(old, phase.steps, phase.name, failures)
        assert not failures, failures
        new.create_schema(v2.schema)
        assert differences(shape(catalog(new)), shape(catalog(old)), "v2", "v1 + phases") == []
        moved = old.query("SELECT count(*) FROM addresses WHERE city IS NOT NULL").iloc[0, 0]
        totals = old.query("SELECT count(*) FROM orders WHERE amount IS NULL").iloc[0, 0]
    assert moved == cities > 0 and totals == 0


def test_type_change_phases_keep_values_checks_and_indexes(engine):
    from workbench.migrate.verify import catalog, fresh_places, run_steps

    old = wb.import_ddl("CREATE TABLE t (id int PRIMARY KEY, n int CHECK (n > 0), v text);"
                        "CREATE INDEX t_n_idx ON t (n);").schema
    new = wb.import_ddl("CREATE TABLE t (id int PRIMARY KEY, n bigint CHECK (n > 0), v text);"
                        "CREATE INDEX t_n_idx ON t (n);").schema
    with fresh_places(engine, 2) as (before, after):
        before.create_schema(old)
        before.execute("INSERT INTO t SELECT i, i * 10, 'x' FROM generate_series(1, 2500) AS i")
        failures: list[str] = []
        for phase in plan_migration(old, new).phases:
            run_steps(before, phase.steps, phase.name, failures)
        assert not failures, failures
        after.create_schema(new)
        assert differences(shape(catalog(after)), shape(catalog(before)), "new", "old + phases") == []
        assert before.query("SELECT sum(n) FROM t").iloc[0, 0] == 10 * 2500 * 2501 // 2
