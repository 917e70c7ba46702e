"""Statistics of study results on seeded synthetic executions with known truths (no timing is measured)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.bench import stats
from workbench.errors import WorkbenchError

TIMEOUT_MS = 500.0


def executions(seed: int = 1, *, repetitions: int = 40, slow: dict[str, float] | None = None) -> pd.DataFrame:
    """Executions of four variants; "index" is 3x faster than "no index" on "lookup", "same" equals the baseline,
    "scan" sometimes times out and "flaky" sometimes errors; lognormal noise. ``slow`` multiplies a variant."""
    rng = np.random.default_rng(seed)
    truth = {"no index": {"lookup": 30.0, "scan": 300.0, "tiny": 0.2},
             "index": {"lookup": 10.0, "scan": 300.0, "tiny": 0.2},
             "same": {"lookup": 30.0, "scan": 300.0, "tiny": 0.2},
             "flaky": {"lookup": 30.0, "scan": 300.0, "tiny": 0.2}}
    rows = []
    for repetition in range(repetitions):
        for variant, queries in truth.items():  # interleaved, as the runner does
            for query, median in queries.items():
                latency = median * (slow or {}).get(variant, 1.0) * rng.lognormal(0.0, 0.2)
                status, error = "ok", None
                if query == "scan" and latency > 360:
                    status, latency = "timeout", TIMEOUT_MS
                if variant == "flaky" and query == "lookup" and repetition % 4 == 0:
                    status, error = "error", "ERROR: canceling statement due to conflict with recovery"
                draw = repetition % 5
                rows.append(("synthetic", "postgres", variant, query, "measure", repetition, draw, latency, status,
                             10 if status == "ok" else None, f"sum-{query}-{draw}" if status == "ok" else None,
                             error, "{}", "ci", seed, pd.Timestamp("2026-12-02", tz="UTC")))
    frame = pd.DataFrame(rows, columns=["study", "engine", "variant", "query", "phase", "repetition", "draw",
                                        "latency_ms", "status", "rows", "checksum", "error", "params", "scale",
                                        "seed", "started_at"])
    warmup = frame[frame["repetition"] == 0].assign(phase="warmup", latency_ms=1e6)  # must not count
    return pd.concat([warmup, frame], ignore_index=True).astype({"rows": "Int64"})


def variants_frame() -> pd.DataFrame:
    return pd.DataFrame({"engine": ["postgres"] * 5, "variant": ["no index", "index", "same", "flaky", "broken"],
                         "status": ["ok", "ok", "ok", "ok", "failed"],
                         "error": [None, None, None, None, "index build failed: operator class does not exist"]})


def row(frame: pd.DataFrame, **where: str) -> pd.Series:
    match = frame
    for column, value in where.items():
        match = match[match[column] == value]
    assert len(match) == 1, where
    return match.iloc[0]


def test_summary_counts_timeouts_at_their_censored_latency_and_excludes_errors() -> None:
    frame = executions()
    summary = stats.summarize(frame, resamples=500)
    assert list(summary.columns) == stats.SUMMARY_COLUMNS
    scan = row(summary, variant="no index", query="scan")
    measured = frame[(frame["phase"] == "measure") & (frame["variant"] == "no index") & (frame["query"] == "scan")]
    timeouts = int((measured["status"] == "timeout").sum())
    assert timeouts > 0 and scan["timeouts"] == timeouts and scan["n"] == 40 and scan["ok"] == 40 - timeouts
    assert scan["max"] == TIMEOUT_MS  # censored value kept, never dropped or zero
    flaky = row(summary, variant="flaky", query="lookup")
    assert flaky["errors"] == 10 and flaky["ok"] == 30
    ok = measured_latencies(frame, "flaky", "lookup")
    assert flaky["p50"] == pytest.approx(np.median(ok))  # errors have no latency
    assert flaky["p50_low"] <= flaky["p50"] <= flaky["p50_high"]
    assert summary["max"].max() < 1e6  # warm-up excluded


def measured_latencies(frame: pd.DataFrame, variant: str, query: str) -> np.ndarray:
    chosen = frame[(frame["phase"] == "measure") & (frame["variant"] == variant) & (frame["query"] == query)]
    return chosen.loc[chosen["status"] == "ok", "latency_ms"].to_numpy()


def test_summary_is_seeded_and_reproducible() -> None:
    frame = executions()
    pd.testing.assert_frame_equal(stats.summarize(frame, seed=3), stats.summarize(frame, seed=3))


def test_speedup_verdicts_and_the_interval_holds_the_true_ratio() -> None:
    table = stats.speedups(executions(), "no index", variants=variants_frame())
    assert list(table.columns) == stats.SPEEDUP_COLUMNS
    faster = row(table, variant="index", query="lookup")
    assert faster["verdict"] == "faster"
    assert faster["ratio_low"] < 3.0 < faster["ratio_high"]
    assert faster["ratio"] == pytest.approx(faster["baseline_p50"] / faster["p50"])
    assert row(table, variant="same", query="lookup")["verdict"] == "no clear difference"
    assert row(table, variant="index", query="tiny")["verdict"] == "no clear difference"
    broken = table[table["variant"] == "broken"]
    assert set(broken["query"]) == {"lookup", "scan", "tiny"} and set(broken["verdict"]) == {"failed"}
    assert set(table["verdict"]) <= set(stats.VERDICTS)


def test_a_slower_variant_is_called_slower() -> None:
    table = stats.speedups(executions(slow={"same": 2.0}), "no index")
    assert row(table, variant="same", query="lookup")["verdict"] == "slower"
    assert row(table, variant="same", query="lookup")["ratio_high"] < 1


def test_interval_coverage_over_seeds() -> None:
    """The 95% interval of the ratio holds the true ratio (3) in most seeded runs, not only in a lucky one."""
    hits = 0
    for seed in range(20):
        frame = executions(seed, repetitions=20)
        frame = frame[frame["query"] == "lookup"]
        found = row(stats.speedups(frame, "no index", resamples=500, seed=seed), variant="index")
        hits += found["ratio_low"] < 3.0 < found["ratio_high"]
    assert hits >= 16


def test_a_variant_without_ok_executions_failed_and_a_missing_baseline_is_named() -> None:
    frame = executions()
    frame.loc[(frame["variant"] == "same") & (frame["query"] == "lookup"), ["status", "latency_ms"]] = ["error", 1.0]
    table = stats.speedups(frame, "no index")
    assert row(table, variant="same", query="lookup")["verdict"] == "failed"
    with pytest.raises(WorkbenchError, match="did you mean 'no index'"):
        stats.speedups(frame, "no indx")


def test_unknown_status_is_refused() -> None:
    frame = executions().assign(status="cancelled")
    with pytest.raises(WorkbenchError, match="unknown status"):
        stats.summarize(frame)


def test_regressions_detect_a_2x_slowdown_and_ignore_noise() -> None:
    old = executions(1)
    noise = stats.regressions(executions(2), old, threshold=1.2)
    assert list(noise.columns) == stats.REGRESSION_COLUMNS
    assert not noise["regressed"].any()
    slower = stats.regressions(executions(2, slow={"index": 2.0}), old, threshold=1.2)
    flagged = slower[slower["regressed"]]
    assert set(flagged["variant"]) == {"index"}
    # "scan" now always times out; "tiny" doubles from 0.2 ms: under the absolute floor
    assert set(flagged["query"]) == {"lookup", "scan"}
    assert "no ok execution" in row(slower, variant="index", query="scan")["note"]
    tiny = row(slower, variant="index", query="tiny")
    assert tiny["ratio_low"] > 1 and "less than" in tiny["note"]
    assert row(slower, variant="index", query="lookup")["ratio_low"] > 1
    assert stats.regressions(executions(2, slow={"index": 2.0}), old, min_delta_ms=0.0)["regressed"].sum() == 3


def test_regressions_flag_a_query_that_no_longer_answers_and_list_unmatched_ones() -> None:
    old = executions(1)
    new = executions(2)
    new.loc[(new["variant"] == "index") & (new["query"] == "lookup"), "status"] = "error"
    new = new[new["query"] != "tiny"]
    table = stats.regressions(new, old)
    assert row(table, variant="index", query="lookup")["regressed"]
    assert set(table.loc[table["query"] == "tiny", "note"]) == {"only in old run"}


def test_answers_find_a_changed_checksum() -> None:
    frame = executions()
    assert stats.answers(frame).empty
    changed = (frame["variant"] == "index") & (frame["query"] == "lookup") & (frame["draw"] == 2)
    frame.loc[changed & (frame["status"] == "ok"), "checksum"] = "different"
    found = stats.answers(frame, sql={"lookup": "SELECT * FROM t WHERE a = :a ORDER BY b LIMIT 5"})
    assert list(found.columns) == stats.ANSWER_COLUMNS
    assert len(found) == 1
    hit = found.iloc[0]
    assert (hit["variant"], hit["query"], hit["draw"], hit["checksum"]) == ("index", "lookup", 2, "different")
    assert hit["expected"] == "sum-lookup-2" and hit["agreeing"] == 3 and bool(hit["has_limit"])
    assert pd.isna(stats.answers(frame)["has_limit"].iloc[0])  # SQL unknown: just reported


def test_answers_without_majority_and_unstable_repetitions() -> None:
    frame = executions()
    frame = frame[frame["variant"].isin(["no index", "index"])].copy()
    first = frame.index[(frame["variant"] == "index") & (frame["query"] == "scan") & (frame["status"] == "ok")][0]
    frame.loc[first, "checksum"] = "odd"
    found = stats.answers(frame)
    assert set(found["reason"]) == {"differs between repetitions"}
    found = stats.answers(frame, baseline="no index")
    assert set(found["reason"]) == {"differs between repetitions"}
    two = frame[(frame["query"] == "lookup")].copy()
    two.loc[two["variant"] == "index", "checksum"] = "other"
    assert set(stats.answers(two)["reason"]) == {"no majority"}
    assert set(stats.answers(two, baseline="no index")["variant"]) == {"index"}


def test_tradeoff_relates_insert_slowdown_to_read_speedup() -> None:
    variants = variants_frame().assign(insert_rows_per_s=[1000.0, 250.0, 1000.0, np.nan, np.nan])
    table = stats.tradeoff(variants, stats.speedups(executions(), "no index", variants=variants), "no index")
    index = row(table, variant="index")
    assert index["insert_slowdown"] == pytest.approx(4.0)
    assert 1.1 < index["read_speedup"] < 3  # geometric mean of about 3, 1 and 1
    assert np.isnan(row(table, variant="broken")["read_speedup"])
