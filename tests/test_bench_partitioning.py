"""Partitioning variants: bounds that cover the data, PostgreSQL's key rule, pruning, and the measurements."""

from __future__ import annotations

import datetime as dt
import itertools

import pyarrow as pa
import pytest

from workbench.bench.partition_load import load_partitioned, partition_rows
from workbench.bench.partition_measure import measure_partitions, measure_retention, scanned_partitions
from workbench.bench.partitioning import PartitionSpec, partitioned, range_edges
from workbench.bench.writes import insert_rate, insert_sample
from workbench.datagen.dataset import Dataset
from workbench.domains import Domain, datasets_root
from workbench.engines import connect
from workbench.errors import WorkbenchError

READINGS = "public.readings"
PRUNED = "SELECT count(*) AS n, max(value) AS top FROM readings WHERE recorded_at >= '2024-12-30 00:00:00+00'"
UNPRUNED = "SELECT count(*) AS n, max(recorded_at) AS latest FROM readings WHERE device_id = 3"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain(datasets_root() / "timeseries")


@pytest.fixture(scope="module")
def data(domain: Domain) -> Dataset:
    return domain.generate("ci", seed=42, progress=False)


def _by_time(count: int) -> PartitionSpec:
    return PartitionSpec("readings", "range", "recorded_at", count)


@pytest.mark.parametrize("spec", [_by_time(10), PartitionSpec("readings", "list", "device_id", 6),
                                  PartitionSpec("readings", "hash", "device_id", 4)], ids=lambda s: s.by)
def test_partitions_hold_every_generated_row(pg_url: str, domain: Domain, data: Dataset, spec: PartitionSpec):
    with connect(pg_url) as engine:
        loaded = load_partitioned(engine, domain.schema, spec, data, progress=False)
        rows = partition_rows(engine, spec)
        assert loaded.partitions == len(rows) == spec.count
        assert rows["rows"].sum() == data[READINGS].num_rows == engine.row_counts()[READINGS]
        assert (rows["rows"] > 0).all()  # equal widths over the data's range, and no DEFAULT catch-all
        assert not rows["bound"].str.contains("DEFAULT").any()
        assert any("PARTITION OF" in s for s in loaded.statements)


def test_range_bounds_are_open_at_both_ends(domain: Domain, data: Dataset):
    table = partitioned(domain.schema, _by_time(4), data).table("readings")
    assert table.partitioning.strategy == "range" and table.partitioning.key == ("recorded_at",)
    bounds = [p.bound for p in table.partitions]
    assert bounds[0].startswith("FOR VALUES FROM (MINVALUE) TO ('2023-")
    assert bounds[-1].endswith("TO (MAXVALUE)")
    assert all(a.split(" TO ")[1] == b.split(" FROM ")[1].split(" TO ")[0] for a, b in itertools.pairwise(bounds))


def test_range_edges_of_integers_and_dates():
    ints = pa.chunked_array([pa.array([1, 20], pa.int32())])
    assert range_edges(ints, PartitionSpec("t", "range", "k", 4)) == [6, 11, 16]
    days = pa.chunked_array([pa.array([dt.date(2024, 1, 1), dt.date(2024, 1, 10)])])
    assert range_edges(days, PartitionSpec("t", "range", "k", 2)) == [dt.date(2024, 1, 6)]
    with pytest.raises(WorkbenchError, match=r"list.*hash"):
        range_edges(pa.chunked_array([pa.array(["a", "b"])]), PartitionSpec("t", "range", "k", 2))


def test_a_key_missing_from_the_primary_key_is_refused(domain: Domain, data: Dataset):
    with pytest.raises(WorkbenchError, match=r"primary key devices_pkey \(device_id\).*add 'installed_at'"):
        partitioned(domain.schema, PartitionSpec("devices", "range", "installed_at", 3), data)
    with pytest.raises(WorkbenchError, match="needs at least 50 distinct values; the data has 20"):
        partitioned(domain.schema, PartitionSpec("readings", "list", "device_id", 50), data)


def test_spec_from_a_study_file_is_checked():
    spec = PartitionSpec.from_mapping({"table": "readings", "by": "range", "key": "recorded_at", "count": 10})
    assert spec == _by_time(10) and spec.label == "range x10 on recorded_at"
    with pytest.raises(WorkbenchError, match=r"variant 'x' partition: partition by 'rnage'.*range, list, hash"):
        PartitionSpec.from_mapping({"table": "t", "by": "rnage", "key": "k"}, "variant 'x' partition")
    with pytest.raises(WorkbenchError, match=r"unknown field.*colunt"):
        PartitionSpec.from_mapping({"table": "t", "by": "range", "key": "k", "colunt": 3})


def test_pruning_and_new_vs_warm_timings(pg_url: str, domain: Domain, data: Dataset):
    spec = _by_time(10)
    with connect(pg_url) as engine:
        load_partitioned(engine, domain.schema, spec, data, progress=False)
        assert scanned_partitions(engine, spec, PRUNED) == ("readings_p9",)
        assert len(scanned_partitions(engine, spec, UNPRUNED)) == 10
        timings = measure_partitions(engine, "range x10", spec, {"pruned": PRUNED, "unpruned": UNPRUNED},
                                     repetitions=2, progress=False)
    assert len(timings) == 2 * 2 * 2
    assert set(timings["connection"]) == {"new", "warm"}
    assert (timings["planning_ms"] > 0).all() and (timings["execution_ms"] > 0).all()
    assert timings.groupby("query")["scanned"].max().to_dict() == {"pruned": 1, "unpruned": 10}
    assert set(timings["partitions"]) == {10}


def test_retention_drops_the_same_rows_a_delete_removes_and_keeps_the_data(pg_url: str, domain: Domain,
                                                                            data: Dataset):
    spec = _by_time(10)
    with connect(pg_url) as engine:
        load_partitioned(engine, domain.schema, spec, data, progress=False)
        oldest = int(partition_rows(engine, spec)["rows"].iloc[0])
        retention = measure_retention(engine, "range x10", spec, repetitions=2)
        assert engine.row_counts()[READINGS] == data[READINGS].num_rows  # rolled back
    assert sorted(set(retention["method"])) == ["delete", "drop partition"]
    assert set(retention["rows"]) == {oldest} and len(retention) == 4
    assert (retention["seconds"] > 0).all()


def test_unpartitioned_retention_deletes_the_rows_of_the_oldest_partition(pg_url: str, domain: Domain,
                                                                         data: Dataset):
    with connect(pg_url) as engine:
        engine.load(domain.schema, data, progress=False)
        retention = measure_retention(engine, "unpartitioned", _by_time(10), partitioned=False, repetitions=1)
    edge = partitioned(domain.schema, _by_time(10), data).table("readings").partitions[0].bound.split("TO (")[1]
    cut = dt.datetime.fromisoformat(edge.strip("')"))
    older = sum(1 for t in data[READINGS]["recorded_at"].to_pylist() if t < cut)
    assert retention[["method", "rows", "partitions"]].values.tolist() == [["delete", older, 10]]


def test_ingest_appends_new_rows_and_rolls_back(pg_url: str, domain: Domain, data: Dataset):
    spec = _by_time(10)
    rows = insert_sample(domain.schema, "readings", data[READINGS], 500)
    latest = max(data[READINGS]["recorded_at"].to_pylist())
    assert rows.num_rows == 500 and min(rows["recorded_at"].to_pylist()) > latest  # all in the newest partition
    with connect(pg_url) as engine:
        load_partitioned(engine, domain.schema, spec, data, progress=False)
        assert insert_rate(engine, {READINGS: rows}) > 0
        assert engine.row_counts()[READINGS] == data[READINGS].num_rows


def test_retention_needs_an_oldest_partition(pg_url: str, domain: Domain, data: Dataset):
    with connect(pg_url) as engine:
        engine.load(domain.schema, data, progress=False)
        for spec in (_by_time(1), PartitionSpec("readings", "hash", "device_id", 4),
                     PartitionSpec("readings", "sorted", "recorded_at")):
            with pytest.raises(WorkbenchError, match="oldest"):
                measure_retention(engine, "plain", spec, partitioned=False)


@pytest.mark.parametrize("spec", [_by_time(10), PartitionSpec("readings", "hash", "device_id", 3),
                                  PartitionSpec("readings", "list", "device_id", 4),
                                  PartitionSpec("readings", "sorted", "recorded_at")], ids=lambda s: s.by)
def test_duckdb_layouts_answer_as_the_plain_table(tmp_path, domain: Domain, data: Dataset, spec: PartitionSpec):
    with connect("duckdb") as plain, connect("duckdb") as engine:
        plain.load(domain.schema, data, progress=False)
        loaded = load_partitioned(engine, domain.schema, spec, data, tmp_path, progress=False)
        for sql in (PRUNED, UNPRUNED, "SELECT count(*) AS n FROM readings"):
            assert engine.timed(sql).checksum == plain.timed(sql).checksum
        timings = measure_partitions(engine, spec.label, spec, {"pruned": PRUNED}, repetitions=1, progress=False)
    assert loaded.partitions == (1 if spec.by == "sorted" else spec.count)
    assert loaded.layout == ("sorted" if spec.by == "sorted" else "parquet")
    assert set(timings["connection"]) == {"new", "warm"} and timings["scanned"].isna().all()


def test_duckdb_parquet_needs_an_empty_directory(tmp_path, domain: Domain, data: Dataset):
    (tmp_path / "old.parquet").write_bytes(b"")
    with connect("duckdb") as engine, pytest.raises(WorkbenchError, match="is not empty"):
        load_partitioned(engine, domain.schema, _by_time(3), data, tmp_path, progress=False)
    with connect("duckdb") as engine, pytest.raises(WorkbenchError, match="needs a directory"):
        load_partitioned(engine, domain.schema, _by_time(3), data, progress=False)
