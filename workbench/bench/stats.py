"""Statistics of a study's executions: percentiles, bootstrap intervals, speed-ups, regressions, answers.

Why: BENCHMARKING.md rules 4-6 and 9. A winner is called only when a ratio's interval excludes 1; a
timeout is a result (counted at its censored latency, never dropped); an error has no latency and is
counted; an index that changes an answer is a bug, not a speed-up.

Intervals are percentile bootstraps of the median, vectorised with numpy. Each group draws from its own
generator seeded by ``seed`` and the group's names, so a figure does not change when other groups are added.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.errors import UnknownNameError, WorkbenchError

MEASURE = "measure"
STATUSES = ("ok", "timeout", "error")
KEYS = ["engine", "variant", "query"]
SUMMARY_COLUMNS = [*KEYS, "n", "ok", "timeouts", "errors", "p50", "p95", "p99", "max", "p50_low", "p50_high"]
SPEEDUP_COLUMNS = ["engine", "query", "variant", "baseline", "baseline_p50", "p50", "ratio", "ratio_low",
                   "ratio_high", "verdict"]
REGRESSION_COLUMNS = [*KEYS, "old_p50", "new_p50", "ratio", "ratio_low", "ratio_high", "regressed", "note"]
ANSWER_COLUMNS = ["engine", "query", "draw", "variant", "checksum", "expected", "agreeing", "variants", "has_limit",
                  "reason"]
TRADEOFF_COLUMNS = ["engine", "variant", "insert_slowdown", "read_speedup", "queries"]
THROUGHPUT_COLUMNS = [*KEYS, "ok", "per_second"]
VERDICTS = ("faster", "slower", "no clear difference", "failed", "baseline failed")
MIN_DELTA_MS = 1.0  # see regressions(): run-to-run drift of a ~1 ms query on a busy 2-core machine
_MAX_CELLS = 4_000_000  # resampled values held in memory at once (32 MB of float64)


def summarize(results: pd.DataFrame, *, confidence: float = 0.95, resamples: int = 2000,
              seed: int = 0) -> pd.DataFrame:
    """Per engine/variant/query over the measured phase: counts, p50/p95/p99/max and the median's interval.

    Latencies are those of ``ok`` and ``timeout`` executions (a timeout at its censored latency); errors are
    only counted. A group with no latency (errors only) has NaN percentiles.
    """
    _check_bootstrap(confidence, resamples)
    rows = []
    for key, group in _groups(measured(results), KEYS):
        samples = _latencies(group)
        status = group["status"]
        low, high = _interval(_bootstrap_medians(samples, resamples, _rng(seed, key)), confidence)
        p50, p95, p99, top = (np.quantile(samples, [0.5, 0.95, 0.99, 1.0]) if len(samples)
                              else (np.nan,) * 4)
        rows.append((*key, len(group), int((status == "ok").sum()), int((status == "timeout").sum()),
                     int((status == "error").sum()), p50, p95, p99, top, low, high))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS).astype({c: "int64" for c in ("n", "ok", "timeouts", "errors")})


def speedups(results: pd.DataFrame, baseline: str, *, variants: pd.DataFrame | None = None,
             confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per engine/query/variant other than ``baseline``: ratio = baseline_p50 / p50 (> 1 is faster) with an interval.

    Both sides are resampled independently. Verdicts: ``faster``/``slower`` only when the interval excludes 1;
    ``failed`` when the variant had no ``ok`` execution of the query (it includes variants whose setup failed,
    listed as ``status == "failed"`` in the optional ``variants`` frame); ``baseline failed`` when the baseline
    has no latency to compare with (errors only).
    """
    _check_bootstrap(confidence, resamples)
    frame = measured(results)
    failed = _failed_variants(variants)
    known = set(frame["variant"]) | {variant for _, variant in failed} | set(_column(variants, "variant"))
    if baseline not in known:
        raise UnknownNameError("baseline variant", baseline, known)
    rows = []
    for (engine,), by_engine in _groups(frame, ["engine"]):
        others = [v for v in pd.unique(by_engine["variant"]) if v != baseline]
        others += [v for e, v in failed if e == engine and v not in others and v != baseline]
        base_frame = by_engine[by_engine["variant"] == baseline]
        for query in pd.unique(by_engine["query"]):
            base = _latencies(base_frame[base_frame["query"] == query])
            for variant in others:
                group = by_engine[(by_engine["variant"] == variant) & (by_engine["query"] == query)]
                rows.append(_speedup_row(engine, query, variant, baseline, base, group, confidence, resamples,
                                         seed))
    return pd.DataFrame(rows, columns=SPEEDUP_COLUMNS)


def throughput(results: pd.DataFrame) -> pd.DataFrame:
    """Per engine/variant/query: executions per second of one client running the measured ``ok`` executions
    back to back (their count over their summed latency); NaN where none succeeded."""
    rows = []
    for key, group in _groups(measured(results), KEYS):
        ok = group.loc[group["status"] == "ok", "latency_ms"].to_numpy(dtype=float)
        seconds = ok.sum() / 1000
        rows.append((*key, len(ok), len(ok) / seconds if seconds > 0 else np.nan))
    return pd.DataFrame(rows, columns=THROUGHPUT_COLUMNS).astype({"ok": "int64"})


def regressions(new: pd.DataFrame, old: pd.DataFrame, *, threshold: float = 1.2, confidence: float = 0.95,
                min_delta_ms: float = MIN_DELTA_MS, resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per engine/variant/query: old and new p50, ratio new/old with an interval, and whether it regressed.

    A query regressed when all three hold: ratio > ``threshold``; the ratio's interval lies above 1 (slower beyond
    the run's own noise); and new_p50 - old_p50 > ``min_delta_ms``. BENCHMARKING.md rule 9 quotes DuckDB's rule
    ``new > (old + 50 ms) x 1.10``: its 50 ms floor suits second-long benchmarks but would hide every regression
    of a millisecond query, so the interval rule is used, with a small absolute floor instead. The floor is needed
    because the interval only covers noise within one run, not drift between runs (other processes, CPU
    frequency, cache state). Measured here: eight unchanged runs of a 1 ms DuckDB point query (p50 0.9-2.0 ms)
    compared pairwise were flagged in 14% of pairs with no floor, 11% with 0.5 ms, 2% with 1 ms, so the default
    is 1 ms. Drift under load also moved a 4 ms query to 16 ms, which no floor absorbs: re-run a flagged query
    before reporting it (BENCHMARKING.md rule 9). A query that answered before and now has no ``ok`` execution
    regressed too.
    """
    _check_bootstrap(confidence, resamples)
    if not threshold >= 1:
        raise WorkbenchError(f"regression threshold {threshold!r} must be a ratio >= 1, e.g. 1.2 for 20% slower")
    old_groups = dict(_groups(measured(old), KEYS))
    new_groups = dict(_groups(measured(new), KEYS))
    rows = []
    for key in [*old_groups, *(k for k in new_groups if k not in old_groups)]:
        rows.append((*key, *_regression(old_groups.get(key), new_groups.get(key), threshold, confidence,
                                        min_delta_ms, resamples, _rng(seed, key))))
    return pd.DataFrame(rows, columns=REGRESSION_COLUMNS).astype({"regressed": bool})


def answers(results: pd.DataFrame, *, sql: Mapping[str, str] | None = None,
            baseline: str | None = None) -> pd.DataFrame:
    """Answers that disagree: per engine/query/draw, each variant whose checksum differs from the expected one.

    The expected checksum is the ``baseline`` variant's when given, else the one most variants returned; with no
    majority every variant is listed (reason ``no majority``). A variant returning different checksums for the
    same draw across repetitions is listed too (``differs between repetitions``). ``has_limit`` says whether the
    query's SQL (from ``sql``, query name -> text) has a LIMIT, where ties may legitimately return other rows;
    it is NA when the SQL is unknown. Empty frame: every answer agreed.
    """
    ok = _with_columns(results, ["engine", "variant", "query", "draw", "status", "checksum"])
    ok = ok[(ok["status"] == "ok") & ok["checksum"].notna()]
    rows = []
    for (engine, query, draw), group in _groups(ok, ["engine", "query", "draw"]):
        per_variant = {variant: list(pd.unique(g["checksum"])) for (variant,), g in _groups(group, ["variant"])}
        limit = _has_limit(sql.get(query) if sql else None)
        for variant, seen in per_variant.items():
            if len(seen) > 1:
                rows.append((engine, query, draw, variant, ", ".join(seen), None, 0, len(per_variant), limit,
                             "differs between repetitions"))
        stable = {v: seen[0] for v, seen in per_variant.items() if len(seen) == 1}
        expected, reason = _expected(stable, baseline)
        agreeing = sum(c == expected for c in stable.values())
        for variant, checksum in stable.items():
            if checksum != expected:
                rows.append((engine, query, draw, variant, checksum, expected, agreeing, len(per_variant), limit,
                             reason))
    frame = pd.DataFrame(rows, columns=ANSWER_COLUMNS)
    return frame.astype({"has_limit": "boolean", "agreeing": "int64", "variants": "int64"})


def tradeoff(variants: pd.DataFrame, speedup: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per engine/variant: insert slowdown vs the baseline (> 1 slower writes) and read speed-up.

    The read speed-up is the geometric mean of the variant's p50 ratios over queries it answered. Rows where
    either side was not measured are NaN.
    """
    frame = _with_columns(variants, ["engine", "variant", "insert_rows_per_s"])
    rows = []
    for (engine,), by_engine in _groups(frame, ["engine"]):
        base = by_engine.loc[by_engine["variant"] == baseline, "insert_rows_per_s"].astype(float)
        base_rate = float(base.iloc[0]) if len(base) else np.nan
        for variant, rate in zip(by_engine["variant"], by_engine["insert_rows_per_s"].astype(float), strict=True):
            if variant == baseline:
                continue
            ratios = speedup.loc[(speedup["engine"] == engine) & (speedup["variant"] == variant)
                                 & (speedup["verdict"] != "failed"), "ratio"].astype(float)
            ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
            read = float(np.exp(np.log(ratios).mean())) if len(ratios) else np.nan
            rows.append((engine, variant, base_rate / rate if rate > 0 else np.nan, read, len(ratios)))
    return pd.DataFrame(rows, columns=TRADEOFF_COLUMNS)


def measured(results: pd.DataFrame) -> pd.DataFrame:
    """The measured phase of an executions frame (warm-up and cold runs are reported apart); statuses checked."""
    frame = _with_columns(results, ["phase", "status", "latency_ms", *KEYS])
    unknown = set(frame["status"]) - set(STATUSES)
    if unknown:
        raise WorkbenchError(f"executions have unknown status {sorted(map(str, unknown))}; "
                             f"each execution is one of {', '.join(STATUSES)}")
    return frame[frame["phase"] == MEASURE]


def _speedup_row(engine: str, query: str, variant: str, baseline: str, base: np.ndarray, group: pd.DataFrame,
                 confidence: float, resamples: int, seed: int) -> tuple:
    samples = _latencies(group)
    rng = _rng(seed, (engine, query, variant, baseline))
    boot = _bootstrap_medians(base, resamples, rng) / _bootstrap_medians(samples, resamples, rng)
    low, high = _interval(boot, confidence)
    base_p50, p50 = _median(base), _median(samples)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = base_p50 / p50
    if not (group["status"] == "ok").any():
        verdict = "failed"
    elif not len(base):
        verdict = "baseline failed"
    else:
        verdict = "faster" if low > 1 else "slower" if high < 1 else "no clear difference"
    return engine, query, variant, baseline, base_p50, p50, ratio, low, high, verdict


def _regression(old: pd.DataFrame | None, new: pd.DataFrame | None, threshold: float, confidence: float,
                min_delta_ms: float, resamples: int, rng: np.random.Generator) -> tuple:
    if old is None or new is None:
        return np.nan, np.nan, np.nan, np.nan, np.nan, False, "only in new run" if old is None else "only in old run"
    old_samples, new_samples = _latencies(old), _latencies(new)
    old_p50, new_p50 = _median(old_samples), _median(new_samples)
    boot = _bootstrap_medians(new_samples, resamples, rng) / _bootstrap_medians(old_samples, resamples, rng)
    low, high = _interval(boot, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = new_p50 / old_p50
    if (old["status"] == "ok").any() and not (new["status"] == "ok").any():
        return old_p50, new_p50, ratio, low, high, True, "no ok execution now (errors or timeouts only)"
    if not ratio > threshold:
        return old_p50, new_p50, ratio, low, high, False, ""
    if not low > 1:
        return old_p50, new_p50, ratio, low, high, False, "slower, but within the run's noise"
    if not new_p50 - old_p50 > min_delta_ms:
        return old_p50, new_p50, ratio, low, high, False, f"slower by less than {min_delta_ms:g} ms"
    return old_p50, new_p50, ratio, low, high, True, f"slower beyond x{threshold:g} and beyond noise"


def _expected(checksums: Mapping[str, str], baseline: str | None) -> tuple[str | None, str]:
    if baseline is not None and baseline in checksums:
        return checksums[baseline], f"differs from baseline {baseline!r}"
    counts = pd.Series(list(checksums.values()), dtype=object).value_counts()
    if len(counts) > 1 and counts.iloc[0] == counts.iloc[1]:
        return None, "no majority"
    return (counts.index[0] if len(counts) else None), "differs from the majority"


def _has_limit(sql: str | None) -> bool | None:
    if sql is None:
        return None
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except SqlglotError:
        return None
    return tree is not None and tree.find(exp.Limit, exp.Fetch) is not None


def _failed_variants(variants: pd.DataFrame | None) -> list[tuple[str, str]]:
    if variants is None or variants.empty:
        return []
    failed = variants[variants["status"] == "failed"]
    return list(zip(failed["engine"], failed["variant"], strict=True))


def _column(frame: pd.DataFrame | None, name: str) -> Iterable:
    return () if frame is None or name not in frame else frame[name]


def _with_columns(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WorkbenchError(f"results frame lacks columns {missing} (has {list(frame.columns)}); "
                             "pass the executions frame of a study (Results.executions)")
    return frame


def _groups(frame: pd.DataFrame, keys: list[str]) -> Iterable[tuple[tuple, pd.DataFrame]]:
    """Groups in order of first appearance (the study's own order), keys always as tuples."""
    for key, group in frame.groupby(keys, sort=False, dropna=False):
        yield (key if isinstance(key, tuple) else (key,)), group


def _latencies(group: pd.DataFrame) -> np.ndarray:
    return group.loc[group["status"] != "error", "latency_ms"].to_numpy(dtype=float)


def _median(samples: np.ndarray) -> float:
    return float(np.median(samples)) if len(samples) else np.nan


def _rng(seed: int, key: Iterable[object]) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32("\x1f".join(map(str, key)).encode())])


def _bootstrap_medians(samples: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of ``resamples`` resamples with replacement, drawn in chunks that bound memory."""
    n = len(samples)
    if n == 0:
        return np.full(resamples, np.nan)
    medians = np.empty(resamples)
    chunk = max(1, _MAX_CELLS // n)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        medians[start:stop] = np.median(samples[rng.integers(0, n, size=(stop - start, n))], axis=1)
    return medians


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    if not np.isfinite(values).any():
        return np.nan, np.nan
    tail = (1 - confidence) / 2
    low, high = np.nanquantile(values, [tail, 1 - tail])
    return float(low), float(high)


def _check_bootstrap(confidence: float, resamples: int) -> None:
    if not 0 < confidence < 1:
        raise WorkbenchError(f"confidence {confidence!r} must lie strictly between 0 and 1, e.g. 0.95")
    if resamples < 1:
        raise WorkbenchError(f"resamples {resamples!r} must be at least 1, e.g. 2000")
