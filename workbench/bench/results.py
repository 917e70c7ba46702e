"""A study's results as one object: the frames on disk, their statistics, plots and a notebook view.

Why: a notebook, the CLI and the report all start from an out directory (its tables: ``store.TABLES``); this is the
one place that reads it, so every reader sees the same frames with the same columns, even when optional files
(plans, server times, partitions) were never written.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from workbench.bench import plots, stats
from workbench.errors import WorkbenchError
from workbench.safe_display import safe_html

EXECUTION_COLUMNS = ["study", "engine", "variant", "query", "phase", "repetition", "draw", "latency_ms", "status",
                     "rows", "checksum", "error", "params", "scale", "seed", "started_at"]
EXECUTION_KEY = ["engine", "variant", "query", "phase", "repetition", "draw"]  # one execution; kept once
VARIANT_COLUMNS = ["engine", "variant", "status", "error", "setup_s", "build_s", "table_bytes", "index_bytes",
                   "insert_rows_per_s", "partitions", "ddl"]
PLAN_COLUMNS = ["engine", "variant", "query", "planning_ms", "execution_ms", "indexes_used", "summary", "plan_json"]
SERVER_COLUMNS = ["engine", "variant", "query", "calls", "mean_exec_ms", "mean_plan_ms"]
PARTITION_COLUMNS = ["engine", "variant", "partitions", "query", "connection", "planning_ms", "execution_ms"]
RETENTION_COLUMNS = ["engine", "variant", "method", "seconds", "rows"]
FAILURE_COLUMNS = ["engine", "variant", "query", "kind", "count", "reason"]
WINNER_COLUMNS = ["engine", "query", "winner", "ratio", "ratio_low", "ratio_high", "note"]
NO_WINNER = "no clear winner"
INCOMPLETE = ("INCOMPLETE: the run stopped before its end, so these figures are partial; finish it with "
              "study.run(out, resume=True) or `workbench study ... --resume`")
_FILES = {"variants": ("variants.parquet", VARIANT_COLUMNS), "plans": ("plans.parquet", PLAN_COLUMNS),
          "server": ("server.parquet", SERVER_COLUMNS), "partitions": ("partitions.parquet", PARTITION_COLUMNS),
          "retention": ("retention.parquet", RETENTION_COLUMNS)}
_STYLE = ("<style>.wb-results td,.wb-results th{text-align:left;vertical-align:top}"
          ".wb-results td{white-space:pre-wrap}</style>")


class Results:
    """The frames of one study run; statistics are computed on demand from ``executions``."""

    def __init__(self, executions: pd.DataFrame, variants: pd.DataFrame | None = None,
                 plans: pd.DataFrame | None = None, server: pd.DataFrame | None = None,
                 partitions: pd.DataFrame | None = None, retention: pd.DataFrame | None = None,
                 meta: Mapping[str, Any] | None = None, path: Path | None = None):
        self.executions = _frame(executions, EXECUTION_COLUMNS)
        self.variants = _frame(variants, VARIANT_COLUMNS)
        self.plans = _frame(plans, PLAN_COLUMNS)
        self.server = _frame(server, SERVER_COLUMNS)
        self.partitions = _frame(partitions, PARTITION_COLUMNS)
        self.retention = _frame(retention, RETENTION_COLUMNS)
        self.meta = dict(meta or {})
        self.path = path

    @classmethod
    def load(cls, out_dir: str | Path) -> Results:
        """Read an out directory: ``results.parquet``, or the ``executions/`` parts when one is newer (a run still
        going), the optional tables (missing -> empty frames with their columns) and ``meta.json``."""
        path = Path(out_dir)
        if not path.is_dir():
            raise WorkbenchError(f"study results {str(path)!r}: no such directory; pass the out directory a study "
                                 "ran into (it holds results.parquet and meta.json)")
        parts = sorted((path / "executions").glob("part-*.parquet"))
        if not (path / "results.parquet").is_file() and not parts and not (path / "meta.json").is_file():
            raise WorkbenchError(f"study results {str(path)!r}: neither results.parquet, executions/part-*.parquet "
                                 "nor meta.json is there; is this a study's out directory?")
        consolidated = path / "results.parquet"
        if consolidated.is_file() and not _newer(parts, consolidated):
            executions = _read(consolidated)
        elif parts:  # a run still going (or resumed): the parts are newer than any consolidation
            executions = pd.concat([_read(p) for p in parts], ignore_index=True).drop_duplicates(EXECUTION_KEY)
        else:
            executions = None
        frames = {name: _read(path / file) if (path / file).is_file() else None for name, (file, _) in _FILES.items()}
        meta = _read_meta(path / "meta.json")
        return cls(executions, meta=meta, path=path, **frames)

    @property
    def name(self) -> str:
        study = self.meta.get("name") or _nested(self.meta, "study", "name")
        if study:
            return str(study)
        names = pd.unique(self.executions["study"].dropna())
        return str(names[0]) if len(names) else "study"

    @property
    def complete(self) -> bool:
        """False when the run stopped before its end (interrupted, or ``max_rounds``): its figures are partial."""
        return self.meta.get("complete", True) is not False

    @property
    def baseline(self) -> str:
        """The study's baseline variant: ``meta["baseline"]``, else the first variant."""
        named = self.meta.get("baseline") or _nested(self.meta, "study", "baseline")
        if named:
            return str(named)
        order = [*pd.unique(self.variants["variant"]), *pd.unique(self.executions["variant"])]
        if not order:
            raise WorkbenchError(f"study {self.name!r} has no variants, so no baseline to compare with")
        return str(order[0])

    def summary(self, *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
        """Per engine/variant/query: counts, p50/p95/p99/max and the median's interval (see ``stats.summarize``)."""
        return stats.summarize(self.executions, confidence=confidence, resamples=resamples, seed=seed)

    def speedups(self, baseline: str | None = None, *, confidence: float = 0.95, resamples: int = 2000,
                 seed: int = 0) -> pd.DataFrame:
        """Ratios vs ``baseline`` (default: the study's) with intervals and verdicts, failed variants included."""
        return stats.speedups(self.executions, baseline or self.baseline, variants=self.variants,
                              confidence=confidence, resamples=resamples, seed=seed)

    def answers(self, sql: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Answers that differ between variants for the same draw (see ``stats.answers``); empty when all agree.

        ``sql`` (query name -> text) defaults to the statements the study stored in ``meta["sql"]``.
        """
        return stats.answers(self.executions, sql=sql if sql is not None else self.meta.get("sql"),
                             baseline=self._baseline_or_none())

    def regressions(self, old: Results, threshold: float = 1.2, *, confidence: float = 0.95,
                    min_delta_ms: float = stats.MIN_DELTA_MS) -> pd.DataFrame:
        """Queries slower in this run than in ``old`` beyond ``threshold`` and noise (see ``stats.regressions``)."""
        return stats.regressions(self.executions, old.executions, threshold=threshold, confidence=confidence,
                                 min_delta_ms=min_delta_ms)

    def failures(self) -> pd.DataFrame:
        """Every failed or skipped variant, and errors and timeouts per engine/variant/query (all phases), with
        their reasons."""
        rows = [(r.engine, r.variant, None, f"variant {r.status}", 1, _text(r.error) or "no reason recorded")
                for r in self.variants[self.variants["status"].isin(["failed", "skipped"])].itertuples()]
        bad = self.executions[self.executions["status"].isin(["error", "timeout"])]
        for (engine, variant, query, status), group in bad.groupby(["engine", "variant", "query", "status"],
                                                                   sort=False, dropna=False):
            phases = ", ".join(map(str, pd.unique(group["phase"])))
            if status == "timeout":
                limits = ", ".join(f"{v:g}" for v in sorted(pd.unique(group["latency_ms"].astype(float))))
                reason = f"timed out at {limits} ms (censored; phases: {phases})"
            else:
                messages = pd.unique(group["error"].map(_text).fillna("no message recorded"))
                reason = "; ".join(messages) + f" (phases: {phases})"
            rows.append((engine, variant, query, str(status), len(group), reason))
        return pd.DataFrame(rows, columns=FAILURE_COLUMNS).astype({"count": "int64"})

    def winners(self, baseline: str | None = None) -> pd.DataFrame:
        """Per engine/query: the variant judged ``faster`` than the baseline with the largest ratio.

        ``no clear winner`` when no variant is clearly faster; the baseline wins when it answered and every other
        variant is clearly slower or failed. ``note`` says when the winner is not clearly faster than a runner-up
        that also beat the baseline (the two are compared with the same bootstrap).
        """
        baseline = baseline or self.baseline
        table = self.speedups(baseline)
        ok = stats.measured(self.executions)
        ok = ok[(ok["variant"] == baseline) & (ok["status"] == "ok")]

        def answered(engine: str, query: str) -> bool:
            return bool(((ok["engine"] == engine) & (ok["query"] == query)).any())

        rows = []
        for (engine, query), group in table.groupby(["engine", "query"], sort=False):
            faster = group[group["verdict"] == "faster"].sort_values("ratio", ascending=False)
            if len(faster):
                best = faster.iloc[0]
                rows.append((engine, query, best["variant"], best["ratio"], best["ratio_low"], best["ratio_high"],
                             self._runner_up_note(engine, query, best["variant"], faster["variant"].iloc[1:])))
            elif len(group) and group["verdict"].isin(["slower", "failed"]).all() and answered(engine, query):
                rows.append((engine, query, baseline, 1.0, 1.0, 1.0, "every other variant is clearly slower or failed"))
            else:
                rows.append((engine, query, NO_WINNER, None, None, None, ""))
        return pd.DataFrame(rows, columns=WINNER_COLUMNS)

    # -- plots ----------------------------------------------------------------------------------------

    def plot_latency(self, ax: Axes | None = None, *, queries: list[str] | None = None) -> Axes:
        return plots.latency_distribution(self.executions, ax, queries=queries)

    def plot_speedups(self, ax: Axes | None = None, *, baseline: str | None = None) -> Axes:
        return plots.speedup_bars(self.speedups(baseline), ax)

    def plot_storage(self, ax: Axes | None = None) -> Axes:
        return plots.storage(self.variants, ax)

    def plot_write_vs_read(self, ax: Axes | None = None, *, baseline: str | None = None) -> Axes:
        return plots.write_vs_read(self.tradeoff(baseline), ax)

    def plot_partitions(self, ax: Axes | None = None) -> Axes:
        return plots.partition_timing(self.partitions, ax)

    def tradeoff(self, baseline: str | None = None) -> pd.DataFrame:
        """Per variant: insert slowdown and read speed-up vs the baseline (see ``stats.tradeoff``)."""
        baseline = baseline or self.baseline
        return stats.tradeoff(self.variants, self.speedups(baseline), baseline)

    def explore(self) -> Any:
        """A panel: pick the query, metric, engine and variants; the plot, speed-ups and plans follow
        (see :mod:`workbench.ui.results_panel`)."""
        from workbench.ui import explore

        return explore(self)

    # -- display --------------------------------------------------------------------------------------

    def describe(self) -> str:
        """``Results 'name': 40 executions, 4 variants x 1 queries on postgres`` (and failures, incompleteness)."""
        frame = self.executions
        variants = len({*self.variants["variant"], *frame["variant"]})
        return (f"Results {self.name!r}: {len(frame):,} executions, {variants} variants x "
                f"{frame['query'].nunique()} queries on {', '.join(map(str, pd.unique(frame['engine']))) or '-'}"
                f"{f'; {len(self.failures())} failures' if self._has_failures() else ''}"
                f"{'' if self.complete else f'; {INCOMPLETE}'}")

    def __repr__(self) -> str:
        return f"<{self.describe()}>"

    def _repr_html_(self) -> str:
        return safe_html(Results._html, self)

    def _html(self) -> str:
        measured = "" if self.executions.empty else (
            f"<h4>Summary (measured, ms)</h4>{frame_html(self.summary())}"
            f"<h4>Winners vs {html.escape(self.baseline)}</h4>{frame_html(self.winners())}")
        warning = "" if self.complete else f"<p style='color:#a00'><b>{html.escape(INCOMPLETE)}</b></p>"
        return (f"{_STYLE}<div class='wb-results'><p><b>{html.escape(self.describe())}</b></p>{warning}{measured}"
                f"<h4>Failures</h4>{frame_html(self.failures(), empty='none')}</div>")

    def _has_failures(self) -> bool:
        return bool(self.variants["status"].isin(["failed", "skipped"]).any()
                    or self.executions["status"].isin(["error", "timeout"]).any())

    def _baseline_or_none(self) -> str | None:
        try:
            return self.baseline
        except WorkbenchError:
            return None

    def _runner_up_note(self, engine: str, query: str, winner: str, others: pd.Series) -> str:
        if others.empty:
            return ""
        frame = self.executions
        frame = frame[(frame["engine"] == engine) & (frame["query"] == query)
                      & frame["variant"].isin([winner, *others])]
        versus = stats.speedups(frame, winner)
        close = versus.loc[versus["verdict"] != "slower", "variant"]
        return f"not clearly faster than {', '.join(map(str, close))}" if len(close) else ""


def scale_summary(runs: Mapping[float, Results], *, x: str = "rows") -> pd.DataFrame:
    """Summaries of several runs of one study at different sizes, with the size in column ``x``.

    Feed it to ``plots.latency_vs_scale``; keys are the size each run measured (e.g. rows of the main table).
    """
    frames = [run.summary().assign(**{x: float(size)}) for size, run in runs.items()]
    if not frames:
        return pd.DataFrame(columns=[*stats.SUMMARY_COLUMNS, x])
    return pd.concat(frames, ignore_index=True)


def frame_html(frame: pd.DataFrame, *, empty: str = "nothing to show") -> str:
    """A frame as an HTML table: escaped, three significant digits, NA as a dash."""
    if frame.empty:
        return f"<p><i>{html.escape(empty)}</i></p>"
    return frame.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep="—", border=0,
                         classes="wb-table", escape=True)


def _frame(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WorkbenchError(f"results frame lacks columns {missing}; expected {columns} "
                             "(see workbench/bench/store.py)")
    return frame.reset_index(drop=True)


def _newer(parts: list[Path], than: Path) -> bool:
    return bool(parts) and max(p.stat().st_mtime_ns for p in parts) > than.stat().st_mtime_ns


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as error:
        raise WorkbenchError(f"cannot read {str(path)!r}: {error}; re-run the study, or delete the file "
                             "if it is optional") from error


def _read_meta(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise WorkbenchError(f"cannot read {str(path)!r}: {error}; it should hold one JSON object") from error
    if not isinstance(meta, dict):
        raise WorkbenchError(f"{str(path)!r} holds a {type(meta).__name__}; it should hold one JSON object")
    return meta


def _nested(meta: Mapping[str, Any], *keys: str) -> Any:
    value: Any = meta
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)

