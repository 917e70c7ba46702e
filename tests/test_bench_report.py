"""Results read from an out directory (workbench/bench/store.py), plots, and the written report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from matplotlib.axes import Axes
from test_bench_stats import executions, variants_frame

from workbench.bench import plots, stats
from workbench.bench.report import write_report
from workbench.bench.results import NO_WINNER, Results, scale_summary
from workbench.errors import WorkbenchError

EXECUTIONS = pa.schema([
    ("study", pa.string()), ("engine", pa.string()), ("variant", pa.string()), ("query", pa.string()),
    ("phase", pa.string()), ("repetition", pa.int64()), ("draw", pa.int64()), ("latency_ms", pa.float64()),
    ("status", pa.string()), ("rows", pa.int64()), ("checksum", pa.string()), ("error", pa.string()),
    ("params", pa.string()), ("scale", pa.string()), ("seed", pa.int64()), ("started_at", pa.timestamp("us", "UTC")),
])
PASSWORD = "s3cret-pw"


def variants_table() -> pd.DataFrame:
    frame = variants_frame()
    return frame.assign(setup_s=[1.0, 0.1, 0.1, 0.1, 0.1], build_s=[0.0, 0.5, 0.0, 0.0, np.nan],
                        table_bytes=pd.array([8 << 20] * 4 + [None], dtype="Int64"),
                        index_bytes=pd.array([0, 3 << 20, 0, 0, None], dtype="Int64"),
                        insert_rows_per_s=[1000.0, 400.0, 1000.0, 900.0, np.nan],
                        partitions=pd.array([None] * 5, dtype="Int64"),
                        ddl=["", "CREATE INDEX ON t (a);", "", "", "CREATE INDEX ON t USING gin (a bogus_ops);"])


def write_out_dir(out: Path, *, consolidated: bool = True) -> pd.DataFrame:
    """An out directory as the study runner writes it: parts, results.parquet, tables, meta.json."""
    frame = executions()
    table = pa.Table.from_pandas(frame, schema=EXECUTIONS, preserve_index=False)
    (out / "executions").mkdir(parents=True)
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), out / "executions" / "part-00000.parquet")
    pq.write_table(table.slice(half), out / "executions" / "part-00001.parquet")
    if consolidated:
        pq.write_table(table, out / "results.parquet")
    variants_table().to_parquet(out / "variants.parquet", index=False)
    pd.DataFrame({"engine": ["postgres"], "variant": ["index"], "query": ["lookup"], "planning_ms": [0.1],
                  "execution_ms": [9.0], "indexes_used": ["t_a_idx"], "summary": ["90% of time in Index Scan"],
                  "plan_json": ["{}"]}).to_parquet(out / "plans.parquet", index=False)
    parts = pd.DataFrame([("postgres", f"range x{n}", n, "recent", connection, rep, 0.02 * n ** 0.5 * factor, 5.0)
                          for n in (1, 10, 100) for connection, factor in (("new", 5), ("warm", 1))
                          for rep in range(3)],
                         columns=["engine", "variant", "partitions", "query", "connection", "repetition",
                                  "planning_ms", "execution_ms"])
    parts.to_parquet(out / "partitions.parquet", index=False)
    meta = {"name": "synthetic", "baseline": "no index", "scale": "ci", "seed": 1,
            "machine": {"cpu": "Test CPU", "cores": 2, "libraries": {"duckdb": "2.0.0"}},
            "engines": {"postgres": {"version": "18.6", "url": f"postgresql://bench:{PASSWORD}@localhost/db"}}}
    (out / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return frame


def test_load_round_trips_the_files_of_section_3(tmp_path: Path) -> None:
    frame = write_out_dir(tmp_path)
    results = Results.load(tmp_path)
    pd.testing.assert_frame_equal(results.executions, frame, check_dtype=False)
    assert str(results.executions["started_at"].dtype) == "datetime64[us, UTC]"
    assert list(results.variants["variant"]) == list(variants_table()["variant"])
    assert results.plans.loc[0, "indexes_used"] == "t_a_idx"
    assert len(results.partitions) == 18
    assert results.server.empty and "mean_exec_ms" in results.server.columns  # optional file missing
    assert results.retention.empty and "method" in results.retention.columns
    assert results.meta["machine"]["cores"] == 2 and results.baseline == "no index" and results.name == "synthetic"


def test_load_reads_parts_of_a_run_still_going(tmp_path: Path) -> None:
    frame = write_out_dir(tmp_path, consolidated=False)
    assert len(Results.load(tmp_path).executions) == len(frame)


def test_load_prefers_parts_newer_than_the_consolidated_file(tmp_path: Path) -> None:
    frame = write_out_dir(tmp_path)
    stale = pa.Table.from_pandas(frame.iloc[:10], schema=EXECUTIONS, preserve_index=False)
    pq.write_table(stale, tmp_path / "results.parquet")  # an earlier consolidation; a resume added parts since
    newest = max((tmp_path / "executions").glob("*.parquet"))
    os.utime(newest, ns=((tmp_path / "results.parquet").stat().st_mtime_ns + 10**9,) * 2)
    pq.write_table(stale, tmp_path / "executions" / "part-00002.parquet")  # repeated rows are kept once
    os.utime(tmp_path / "executions" / "part-00002.parquet", ns=(newest.stat().st_mtime_ns,) * 2)
    assert len(Results.load(tmp_path).executions) == len(frame)


def test_load_names_a_directory_that_holds_no_study(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="no such directory"):
        Results.load(tmp_path / "missing")
    with pytest.raises(WorkbenchError, match="out directory"):
        Results.load(tmp_path)


def test_baseline_defaults_to_the_first_variant_without_meta() -> None:
    results = Results(executions(), variants=variants_table())
    assert results.baseline == "no index"
    assert set(results.speedups()["variant"]) == {"index", "same", "flaky", "broken"}


def test_winners_failures_and_answers() -> None:
    results = Results(executions(), variants=variants_table())
    winners = results.winners()
    assert winners.set_index("query").loc["lookup", "winner"] == "index"
    assert winners.set_index("query").loc["tiny", "winner"] == NO_WINNER
    failures = results.failures()
    kinds = failures.groupby("kind")["count"].sum()
    assert kinds["variant failed"] == 1 and kinds["error"] == 11 and kinds["timeout"] > 0
    assert "operator class does not exist" in failures.loc[failures["kind"] == "variant failed", "reason"].iloc[0]
    error = failures.loc[failures["kind"] == "error", "reason"].iloc[0]
    assert "conflict with recovery" in error and "warmup, measure" in error  # every phase counts
    assert "500 ms" in failures.loc[failures["kind"] == "timeout", "reason"].iloc[0]
    assert results.answers().empty


def test_two_winners_that_cannot_be_told_apart_are_noted() -> None:
    frame = executions()
    twin = frame[frame["variant"] == "index"].assign(variant="index twin")
    results = Results(pd.concat([frame, twin], ignore_index=True), meta={"baseline": "no index"})
    lookup = results.winners().set_index("query").loc["lookup"]
    assert lookup["winner"] in ("index", "index twin") and "not clearly faster than" in lookup["note"]


def test_regressions_between_two_results() -> None:
    old = Results(executions(1))
    new = Results(executions(2, slow={"index": 2.0}))
    found = new.regressions(old, threshold=1.2)
    assert {("index", "lookup")} <= set(zip(found.loc[found["regressed"], "variant"],
                                            found.loc[found["regressed"], "query"], strict=True))
    assert not Results(executions(2)).regressions(old)["regressed"].any()


def test_repr_and_html_never_raise() -> None:
    results = Results(executions(), variants=variants_table(), meta={"baseline": "no index"})
    assert "executions" in repr(results) and "failures" in repr(results)
    page = results._repr_html_()
    assert "Summary" in page and "Winners" in page and "operator class does not exist" in page
    broken = Results(executions(), meta={"baseline": "nonexistent"})
    assert "could not render" in broken._repr_html_()
    assert "0 executions" in repr(Results(pd.DataFrame(columns=EXECUTIONS.names)))


def test_every_plot_returns_its_axes() -> None:
    results = Results(executions(), variants=variants_table(), meta={"baseline": "no index"})
    runs = scale_summary({1000: results, 10000: Results(executions(3, slow={"index": 3.0, "no index": 5.0}))})
    _, given = plt.subplots()
    drawn = [
        plots.latency_distribution(results.executions),
        plots.latency_distribution(results.executions, given, queries=["lookup"]),
        plots.speedup_bars(results.speedups()),
        plots.latency_vs_scale(runs),
        plots.write_vs_read(results.tradeoff()),
        plots.storage(results.variants),
        plots.partition_timing(pd.DataFrame({"engine": ["postgres"] * 4, "query": ["q"] * 4, "variant": ["v"] * 4,
                                             "partitions": [1, 1, 10, 10], "connection": ["new", "warm"] * 2,
                                             "planning_ms": [0.1, 0.05, 1.0, 0.1], "execution_ms": [1.0] * 4})),
        results.plot_latency(), results.plot_speedups(), results.plot_storage(), results.plot_write_vs_read(),
        results.plot_partitions(),  # empty: says so instead of failing
        plots.speedup_bars(stats.speedups(executions().iloc[:0], "no index", variants=variants_table())),
    ]
    assert all(isinstance(ax, Axes) for ax in drawn)
    assert drawn[1] is given
    assert "measured" in drawn[0].get_ylabel() and "measured" in drawn[2].get_xlabel()
    plt.close("all")


def test_write_report_has_every_section_and_its_plots(tmp_path: Path) -> None:
    write_out_dir(tmp_path)
    path = write_report(tmp_path)
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "report.html"
    for section in ("What ran", "Summary", "Speed-ups vs baseline", "Winners", "Answers", "Failures", "Variants",
                    "Plans used", "Plots"):
        assert f"<h2>{section}" in page, section
    assert "Test CPU" in page and "18.6" in page and PASSWORD not in page
    assert "operator class does not exist" in page and "conflict with recovery" in page and "timed out at" in page
    assert "could not draw" not in page
    for png in ("latency.png", "speedup.png", "storage.png", "write_vs_read.png", "partitions.png"):
        assert (tmp_path / png).stat().st_size > 1000, png
        assert f"src='{png}'" in page


def test_write_report_shows_a_changed_answer_and_skips_plots_without_data(tmp_path: Path) -> None:
    frame = executions(repetitions=10)
    frame = frame[frame["variant"].isin(["no index", "index", "same"]) & (frame["query"] == "scan")].copy()
    frame.loc[(frame["variant"] == "same") & (frame["checksum"] == "sum-scan-3"), "checksum"] = "changed"
    page = write_report(tmp_path, Results(frame)).read_text(encoding="utf-8")
    assert "these answers differ" in page and "changed" in page
    assert "meta.json is missing" in page
    assert not (tmp_path / "partitions.png").exists() and not (tmp_path / "storage.png").exists()
    assert (tmp_path / "latency.png").exists()


def test_report_warns_about_an_incomplete_run_and_its_notes(tmp_path: Path) -> None:
    meta = {"name": "partial", "complete": False, "notes": ["write cost of 'index' not measured: disk full"],
            "left_out_queries": [], "study": {"queries": ["lookup", "scan"]}}
    frame = executions(repetitions=5)
    frame = frame[frame["variant"].isin(["no index", "index"]) & (frame["query"] == "lookup")]
    page = write_report(tmp_path, Results(frame, meta=meta)).read_text(encoding="utf-8")
    assert "this run is incomplete" in page and "disk full" in page and "lookup, scan" in page
    assert "queries left out" not in page and "Study partial" in page


def test_nothing_answered_means_no_winner_and_an_empty_run_still_shows() -> None:
    results = Results(executions(repetitions=4).assign(status="error", checksum=None), variants=variants_table())
    assert set(results.speedups()["verdict"]) == {"failed"}
    assert set(results.winners()["winner"]) == {NO_WINNER}
    empty = Results(pd.DataFrame(columns=EXECUTIONS.names), variants=variants_table().assign(status="failed"))
    assert "5 variants" in repr(empty)
    page = empty._repr_html_()
    assert "could not render" not in page and "operator class does not exist" in page
