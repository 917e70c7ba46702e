"""Scale: data generated in blocks and shards, Parquet folders, streamed loads, bad input refused before any work.

Small blocks (``block_rows``) make tables of a few thousand rows span many blocks, so every property
that must hold across blocks is checked in seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_datagen import ROWS, assert_foreign_keys_hold, cycle, order_lines, shop

from workbench.cli import main
from workbench.datagen import generate
from workbench.datagen.blocks import Rows, Shard, table_blocks
from workbench.datagen.generate import stream
from workbench.datagen.parquet import read_parquet, write_parquet
from workbench.datagen.size import check_free_space, estimate
from workbench.domains import domain
from workbench.engines.base import LoadInterrupted, prefetched
from workbench.engines.connect import connect
from workbench.errors import WorkbenchError

MULTITENANT = {"tenants": 5, "products": 300, "customers": 900, "orders": 2000, "order_items": 6000}
NOTIFICATIONS = {"users": 400, "notification_types": 8, "subscriptions": 5000, "preferences": 300, "deliveries": 3000}


def collect(data) -> dict[str, pa.Table]:
    return {key: pa.Table.from_batches(list(table), table.schema) for key, table in data.items()}


def assert_keys_hold(schema, tables):
    """Primary keys and uniques are unique, foreign keys point at parent rows, row counts are exact."""
    for key, table in tables.items():
        model, frame = schema.table(key), table.to_pandas()
        keys = ([model.primary_key.columns] if model.primary_key else []) + [u.columns for u in model.uniques]
        for columns in keys:
            assert not frame.duplicated(list(columns)).any(), (key, columns)
    assert_foreign_keys_hold(schema, tables)


CASES = {
    "shop": lambda: (shop(), {**ROWS, "categories": 900, "products": 2000}, None, 128),
    "line numbers": lambda: (order_lines(), {"orders": 200, "order_items": 3000}, None, 500),
    "multitenant": lambda: (domain("multitenant").schema, MULTITENANT, domain("multitenant").spec, 512),
    "notifications": lambda: (domain("notifications").schema, NOTIFICATIONS, domain("notifications").spec, 333),
    "cycle": lambda: (cycle(False), {"stores": 20, "staff": 2000}, None, 300),
}


@pytest.mark.parametrize("case", CASES)
def test_keys_hold_across_blocks_and_shards_add_up_to_the_whole(case):
    schema, rows, spec, block_rows = CASES[case]()
    whole = collect(stream(schema, rows, seed=5, spec=spec, block_rows=block_rows))
    assert {key: t.num_rows for key, t in whole.items()} == {schema.table(k).key: n for k, n in rows.items()}
    assert_keys_hold(schema, whole)
    for count in (2, 5):
        shards = [collect(stream(schema, rows, seed=5, spec=spec, block_rows=block_rows, shard=Shard(i, count)))
                  for i in range(count)]
        for key, table in whole.items():
            assert pa.concat_tables([shard[key] for shard in shards]).equals(table), (key, count)
    again = collect(stream(schema, rows, seed=5, spec=spec, block_rows=block_rows))
    assert all(again[key].equals(table) for key, table in whole.items())  # same seed, same data


def test_numbers_within_parents_go_on_across_blocks():
    schema, rows, spec, block_rows = CASES["multitenant"]()
    tables = collect(stream(schema, rows, seed=1, spec=spec, block_rows=block_rows))
    orders, items = tables["public.orders"].to_pandas(), tables["public.order_items"].to_pandas()
    for _, group in orders.groupby("tenant_id"):
        assert sorted(group.order_id) == list(range(1, len(group) + 1))
    for _, lines in items.groupby(["tenant_id", "order_id"]):
        assert sorted(lines.line_no) == list(range(1, len(lines) + 1))


def test_a_one_block_table_keeps_the_data_of_whole_table_generation():
    """The data of tables up to one block is what generation made before blocks (fingerprints of that version)."""
    dataset = generate(shop(), ROWS, seed=7, progress=False)
    assert dataset["public.orders"]["order_id"].to_pylist()[:3] == [1, 2, 3]
    first = dataset["public.customers"].slice(0, 2).to_pylist()
    assert [row["email"] for row in first] == ["karen.munoz1@example.org", "yusuf.watson2@example.com"]
    assert dataset["public.order_items"].slice(0, 3).column("order_id").to_pylist() == [2430, 1366, 103]
    for key, table in collect(stream(shop(), ROWS, seed=7)).items():
        assert table.equals(dataset[key]), key


def test_unique_timestamps_beyond_whole_seconds():
    """More rows than the range has seconds: unique timestamps move to milliseconds instead of failing."""
    schema = domain("timeseries").schema
    rows = {"sites": 2, "devices": 5, "readings": 3000}
    from workbench.datagen import DataSpec

    spec = DataSpec.from_dict({"tables": {"readings": {"columns": {"recorded_at": {
        "start": "2024-01-01", "end": "2024-01-01"}}}}})  # 86,400 seconds
    times = collect(stream(schema, {**rows, "readings": 90_000}, spec=spec, block_rows=10_000))
    stamps = times["public.readings"]["recorded_at"]
    assert stamps.to_pandas().is_unique and stamps.to_pandas().is_monotonic_increasing


def test_blocks_and_shards():
    assert table_blocks(0) == [Rows(0, 0, 0)]
    assert [(b.start, b.stop) for b in table_blocks(10, 4)] == [(0, 4), (4, 8), (8, 10)]
    blocks = table_blocks(100, 7)
    for count in (1, 3, 20):
        runs = [Shard(i, count).blocks(blocks) for i in range(count)]
        assert [b for run in runs for b in run] == blocks
        assert [b for shard in Shard(1, count).split(3) for b in shard.blocks(blocks)] == Shard(1, count).blocks(blocks)
    assert Shard.parse("3/4") == Shard(3, 4)
    for bad, message in (("5/4", "numbered 0/4 .. 3/4"), ("4/4", "does not exist"), ("0/0", "does not exist"),
                         ("x", "not of the form I/N"), ("1/2/3", "not of the form")):
        with pytest.raises(WorkbenchError, match=message):
            Shard.parse(bad)


# --- Parquet ---------------------------------------------------------------------------------------------------


def multitenant(shard: Shard | None = None):
    model = domain("multitenant")
    return stream(model.schema, MULTITENANT, seed=3, spec=model.spec, block_rows=512, shard=shard)


def test_parquet_shards_written_by_jobs_read_back_as_the_whole(tmp_path):
    for index in range(3):
        manifest = write_parquet(multitenant(Shard(index, 3)), tmp_path, dataset="multitenant", scale=None,
                                 jobs=2 if index == 1 else 1, progress=False)
        assert manifest.name == f"_manifest-{index}-of-3.json"
    data = read_parquet(tmp_path, domain("multitenant").schema)
    whole = collect(multitenant())
    assert list(data) == list(whole)
    for key, table in data.items():
        assert pa.Table.from_batches(list(table), table.schema).equals(whole[key]), key
    assert (tmp_path / "orders" / "part-0.parquet").is_file() and (tmp_path / "orders" / "part-2.parquet").is_file()
    with connect("duckdb") as engine:
        engine.load(domain("multitenant").schema, data, progress=False)
        assert engine.row_counts() == {f"public.{k}": v for k, v in MULTITENANT.items()}


def test_parquet_folder_that_is_not_complete_is_refused(tmp_path):
    schema = domain("multitenant").schema
    write_parquet(multitenant(Shard(0, 2)), tmp_path, dataset="multitenant", scale=None, progress=False)
    with pytest.raises(WorkbenchError, match=r"table public\.tenants is incomplete: block 0 is missing; the "
                                             r"complete shards here are 0/2"):
        read_parquet(tmp_path, schema)
    with pytest.raises(WorkbenchError, match="already holds a complete shard 0/2"):
        write_parquet(multitenant(Shard(0, 2)), tmp_path, dataset="multitenant", scale=None, progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WorkbenchError, match="no _manifest"):
        read_parquet(empty, schema)


def test_parquet_output_holding_something_else_is_refused_before_writing(tmp_path):
    write_parquet(multitenant(), tmp_path / "a", dataset="multitenant", scale=None, progress=False)
    other = domain("notifications")
    notifications = stream(other.schema, NOTIFICATIONS, spec=other.spec)
    with pytest.raises(WorkbenchError, match=r"already holds a different generation .*dataset 'multitenant' vs "
                                             r"'notifications'"):
        write_parquet(notifications, tmp_path / "a", dataset="notifications", scale=None, progress=False)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(WorkbenchError, match=r"holds notes\.txt"):
        write_parquet(notifications, tmp_path / "b", dataset="notifications", scale=None, progress=False)
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["notes.txt"]
    with pytest.raises(WorkbenchError, match="generated from another schema"):
        read_parquet(tmp_path / "a", other.schema)


def test_parquet_missing_table_or_wrong_column_type_is_named(tmp_path):
    schema = domain("multitenant").schema
    write_parquet(multitenant(), tmp_path, dataset="multitenant", scale=None, progress=False)
    part = tmp_path / "customers" / "part-0.parquet"
    table = pq.read_table(part)
    pq.write_table(table.set_column(1, "customer_id", table["customer_id"].cast(pa.string())), part)
    with pytest.raises(WorkbenchError, match=r"customers/part-0.parquet: column 'customer_id' of public.customers "
                                             r"is string, but the schema needs int64"):
        read_parquet(tmp_path, schema)
    shutil.rmtree(tmp_path / "customers")
    with pytest.raises(WorkbenchError, match=r"customers/part-0.parquet is listed in _manifest.json but missing"):
        read_parquet(tmp_path, schema)
    manifest = json.loads((tmp_path / "_manifest.json").read_text())
    del manifest["tables"]["public.customers"]
    (tmp_path / "_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WorkbenchError, match=r"table public\.customers is missing"):
        read_parquet(tmp_path, schema)


def test_disk_estimate_is_checked_before_any_work(tmp_path):
    sizes = estimate(multitenant())
    assert sizes.parquet_bytes > 0 and sizes.database_bytes > sizes.parquet_bytes
    with pytest.raises(WorkbenchError, match=r"needs about .* free; nothing was written. Fix: shard it"):
        check_free_space(tmp_path / "new", 10**18, "a billion rows", "shard it")
    assert not (tmp_path / "new").exists()


# --- loads -------------------------------------------------------------------------------------------------------


def test_duckdb_leaves_out_checks_that_would_not_fit_its_key_memory():
    schema = domain("timeseries").schema
    data = stream(schema, {"sites": 3, "devices": 20, "readings": 5000}, spec=domain("timeseries").spec)
    with connect("duckdb", key_memory=100_000) as engine, pytest.warns(UserWarning, match="not built in DuckDB"):
        report = engine.load(schema, data, progress=False)
        assert engine.row_counts()["public.readings"] == 5000
        assert "public.readings" not in set(engine.index_sizes()["table"])
    assert [note.object for note in report.notes] == ["public.readings"]
    assert report.notes[0].message.startswith("foreign key (device_id) -> public.devices; key (device_id, "
                                              "recorded_at); index (recorded_at) not built in DuckDB")


def test_duckdb_file_loads_under_a_memory_limit_that_is_reset_after(tmp_path):
    model = domain("timeseries")
    with connect(f"duckdb:{tmp_path / 'ts.duckdb'}") as engine:
        default = engine.query("SELECT current_setting('memory_limit') AS m")["m"][0]
        seen = []
        engine._copy = lambda *args, copy=engine._copy: (  # what the limit is while a table loads
            seen.append(engine._con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]),
            copy(*args))[1]
        engine.load(model.schema, model.stream("ci"), progress=False)
        assert set(seen) == {"488.2 MiB"}
        assert engine.query("SELECT current_setting('memory_limit') AS m")["m"][0] == default


def test_duckdb_load_committed_in_steps_is_emptied_when_it_fails():
    schema = domain("timeseries").schema
    rows = [pa.record_batch({"site_id": pa.array([i], pa.int32()), "name": ["x"], "country": ["DE"],
                             "latitude": [1.0], "longitude": [2.0]}) for i in range(5)]
    rows[4] = rows[3]  # a duplicate key in the last batch, after two commits
    with connect("duckdb") as engine:
        engine.commit_rows = 2
        with pytest.raises(WorkbenchError, match=r"loading table 'public\.sites' failed after 4 of 5 rows"):
            engine.load(schema, {"public.sites": pa.Table.from_batches(rows)}, progress=False)
        assert engine.row_counts()["public.sites"] == 0
        assert engine.load_status()["status"].tolist() == ["failed"]


def test_prefetched_batches_pass_errors_and_stop_when_the_reader_leaves():
    def batches(fail: bool):
        for i in range(100):
            if fail and i == 2:
                raise WorkbenchError("broken source")
            yield pa.record_batch({"i": [i]})

    with prefetched(batches(True)) as read, pytest.raises(WorkbenchError, match="broken source"):
        list(read)
    before = threading.active_count()
    with prefetched(batches(False)) as read:
        next(read)
    time.sleep(0.05)
    assert threading.active_count() <= before


@pytest.mark.postgres
def test_cli_generates_shards_and_loads_the_folder_into_postgres(capsys, tmp_path, pg_server):
    out = tmp_path / "data"
    for index in range(2):
        assert main(["generate", "multitenant", "--scale", "0.002", "--seed", "4", "--out", str(out),
                     "--shard", f"{index}/2", "--quiet"]) == 0
    assert main(["load", "multitenant", "--engine", "postgres", "--from-parquet", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "multitenant at scale 0.002, seed 4 from" in printed and "public.order_items" in printed
    assert main(["generate", "multitenant", "--out", str(out), "--shard", "2/2"]) == 2
    assert "shard 2/2 does not exist" in capsys.readouterr().err
    assert main(["load", "timeseries", "--from-parquet", str(out)]) == 2
    assert "generated from another schema" in capsys.readouterr().err


def test_cli_load_with_jobs_generates_in_processes_first(capsys, tmp_path):
    def table_lines() -> list[str]:
        return [line for line in capsys.readouterr().out.splitlines() if line.startswith("  public.")]

    assert main(["load", "multitenant", "--scale", "0.002", "--jobs", "2", "--quiet"]) == 0
    parallel = table_lines()
    assert main(["load", "multitenant", "--scale", "0.002", "--quiet"]) == 0
    assert table_lines() == parallel and len(parallel) == 5


@pytest.mark.postgres
def test_postgres_loads_tables_in_parallel_and_a_failure_stops_the_rest(pg_server):
    model = domain("multitenant")
    with connect("postgres") as engine:  # children wait for their parents' keys; keys are checked by PostgreSQL
        report = engine.load(model.schema, multitenant(), progress=False, jobs=3)
        assert engine.row_counts() == {f"public.{k}": v for k, v in MULTITENANT.items()}
        assert [t.table for t in report.tables] == list(multitenant())
        assert {t.method for t in report.tables} == {"copy binary"}
    broken = collect(multitenant())
    orders = broken["public.orders"]  # total >= 0 is checked by PostgreSQL
    negative = pa.array([Decimal(-1)] * orders.num_rows, orders.schema.field("total").type)
    broken["public.orders"] = orders.set_column(orders.schema.get_field_index("total"), "total", negative)
    with connect("postgres") as engine, pytest.raises(WorkbenchError, match=r"loading table 'public\.orders' failed"):
        engine.load(model.schema, broken, progress=False, jobs=2)


@pytest.mark.postgres
def test_postgres_copies_a_table_in_parts_at_once_and_empties_it_when_a_part_fails(tmp_path, pg_server):
    model = domain("multitenant")
    for index in range(3):
        write_parquet(multitenant(Shard(index, 3)), tmp_path, dataset="multitenant", scale=None, progress=False)
    assert len(read_parquet(tmp_path, model.schema)["public.orders"].files) == 3
    with connect("postgres") as engine:
        report = engine.load(model.schema, read_parquet(tmp_path, model.schema), progress=False, jobs=2)
        assert engine.row_counts() == {f"public.{k}": v for k, v in MULTITENANT.items()}
        assert {t.table: t.method for t in report.tables}["public.orders"] == "copy binary, 2 parts"
        status = engine.load_status()  # one row per table, written once all its parts are in
        assert sorted(status["table_key"]) == sorted(f"public.{k}" for k in MULTITENANT)
        assert set(status["status"]) == {"complete"}
        assert dict(zip(status["table_key"], status["rows"], strict=True))["public.orders"] == MULTITENANT["orders"]
    last = sorted((tmp_path / "orders").glob("part-*.parquet"))[-1]
    orders = pq.read_table(last)  # total >= 0 is checked by PostgreSQL: the last part fails, the first commits
    column = orders.schema.get_field_index("total")
    pq.write_table(orders.set_column(column, "total", pa.array([Decimal(-1)] * orders.num_rows,
                                                               orders.schema.field(column).type)), last)
    with connect("postgres") as engine:
        with pytest.raises(LoadInterrupted, match=r"loading table 'public\.orders' failed"):
            engine.load(model.schema, read_parquet(tmp_path, model.schema), progress=False, jobs=2)
        assert engine.row_counts()["public.orders"] == 0  # the committed part was emptied again
        assert "complete" not in set(engine.load_status().query("table_key == 'public.orders'")["status"])


def test_scale_benchmark_runs_at_a_tiny_size(pg_server):
    """benchmarks/scale.py end to end at a size that takes seconds: every key it reports is there."""
    script = Path(__file__).parent.parent / "benchmarks" / "scale.py"
    done = subprocess.run([sys.executable, str(script), "--readings", "2e5", "--ecommerce-scale", "ci", "--rounds", "1",
                           "--pgbench-scale", "1", "--shard-scale", "0.05", "--jobs-readings", "2e5"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["shard_union_equal"] is True
    assert [value for key, value in figures.items() if key.startswith("rss_") and value > 0]
    for key in ("ecommerce_large_postgres_s", "ecommerce_large_postgres_serial_s", "vs_pgbench_init",
                "vs_pgbench_init_same_table", "vs_server_only", "vs_pgbench_init_rows", "jobs2_speedup",
                "parquet_load_jobs2_speedup", "parquet_copy_jobs2_speedup"):
        assert figures[key] > 0, key
