"""A study's report: PNG plots and one self-contained report.html next to the results they show.

Why: a run is judged later, elsewhere, by someone without the notebook; the report states what ran (machine,
versions, settings), the measured figures with their intervals, which variant won and which failed and why.
Plots are drawn on Agg figures of their own, so writing a report never touches a notebook's pyplot state.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from workbench.bench import plots
from workbench.bench.results import Results, frame_html
from workbench.engines.conninfo import shown

REPORT = "report.html"
_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
td{white-space:pre-wrap}th{background:#f4f4f4}img{max-width:100%;margin:.5em 0 1.5em}
.note{color:#555}.bad{color:#a00}pre{background:#f7f7f7;padding:.5em;overflow-x:auto}"""


def write_report(out_dir: str | Path, results: Results | None = None) -> Path:
    """Write the plots (PNG) and ``report.html`` into ``out_dir``; returns the report's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = results if results is not None else Results.load(out)
    figures, problems = _write_plots(out, results)
    body = "".join([
        f"<h1>Study {_e(results.name)}</h1>",
        _section("What ran", _meta_html(results.meta)),
        *_measured_sections(results),
        _section("Variants", _variants_html(results.variants)),
        _section("Plans used", frame_html(results.plans.drop(columns=["plan_json"]), empty="no plans captured")),
        *(_section(title, frame_html(frame)) for title, frame in (("Server times (pg_stat_statements)",
                                                                   results.server),
                                                                  ("Retention", results.retention))
          if not frame.empty),
        _section("Plots", _plots_html(figures, problems)),
    ])
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Study {_e(results.name)}</title>"
            f"<style>{_CSS}</style></head><body>{body}</body></html>")
    path = out / REPORT
    path.write_text(page, encoding="utf-8")
    return path


def _measured_sections(results: Results) -> Iterator[str]:
    if results.executions.empty:
        yield _section("Summary", "<p class='note'>no executions were recorded</p>")
        yield _section("Failures", _failures_html(results))
        return
    baseline = results.baseline
    summary = results.summary()
    yield _section("Summary (measured latency, ms)", _summary_note() + frame_html(summary))
    yield _section(f"Speed-ups vs baseline {baseline!r}", _speedup_note() + frame_html(results.speedups(baseline)))
    yield _section("Winners", frame_html(results.winners(baseline)))
    answers = results.answers()
    compared = results.executions["checksum"].notna().sum()
    note = (f"<p>every variant returned the same answer for every query and draw ({compared:,} checksums)</p>"
            if answers.empty else
            "<p class='bad'>these answers differ between variants; an index or partitioning must not change an "
            "answer (with LIMIT and ties, other rows may be legitimate: see has_limit)</p>")
    yield _section("Answers", note + frame_html(answers, empty=""))
    yield _section("Failures", _failures_html(results))


def _failures_html(results: Results) -> str:
    failures = results.failures()
    if failures.empty:
        return "<p>no failed or skipped variant, no error, no timeout</p>"
    return ("<p class='bad'>every failed or skipped variant, error and timeout, with its reason</p>"
            + frame_html(failures))


def _write_plots(out: Path, results: Results) -> tuple[list[tuple[str, str]], list[str]]:
    """Draw each plot that has data into its PNG; a plot that cannot be drawn is reported, not hidden."""
    queries = results.executions["query"].nunique()
    wanted: list[tuple[str, str, Callable[[Axes], Axes], tuple[float, float]]] = []
    if not results.executions.empty:
        speedups = results.speedups()
        wanted += [("latency.png", "measured latency per query and variant", results.plot_latency,
                    (max(8.0, 1.2 * queries), 5.0)),
                   ("speedup.png", "measured speed-up vs the baseline", lambda ax: plots.speedup_bars(speedups, ax),
                    (9.0, max(3.0, 0.35 * len(speedups) + 1.5)))]
    if not results.variants.empty:
        wanted.append(("storage.png", "measured table and index sizes", results.plot_storage, (8.0, 4.5)))
        if not results.executions.empty and results.tradeoff().dropna().shape[0]:
            wanted.append(("write_vs_read.png", "measured write cost against read benefit", results.plot_write_vs_read,
                           (7.0, 5.0)))
    if not results.partitions.empty:
        wanted.append(("partitions.png", "measured planning and execution time against partitions",
                       results.plot_partitions, (8.0, 5.0)))
    written, problems = [], []
    for file, title, draw, size in wanted:
        try:
            _draw(out / file, draw, size)
            written.append((file, title))
        except Exception as error:  # one broken plot must not lose the report: say which and why
            problems.append(f"{file}: {type(error).__name__}: {error}")
    return written, problems


def _draw(path: Path, draw: Callable[[Axes], Axes], size: tuple[float, float]) -> None:
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    draw(figure.add_subplot())
    figure.savefig(path, dpi=100)


def _plots_html(figures: list[tuple[str, str]], problems: list[str]) -> str:
    images = "".join(f"<h3>{_e(title)}</h3><img src='{_e(file)}' alt='{_e(title)}'>" for file, title in figures)
    failed = "".join(f"<p class='bad'>could not draw {_e(problem)}</p>" for problem in problems)
    return (images + failed) or "<p class='note'>nothing to plot</p>"


def _meta_html(meta: Mapping[str, Any]) -> str:
    if not meta:
        return "<p class='bad'>meta.json is missing: the machine and versions of this run are unknown</p>"
    rows = "".join(f"<tr><th>{_e(key)}</th><td>{_e(_shown(value))}</td></tr>" for key, value in _flat(meta))
    warnings = []
    if meta.get("complete") is False:
        warnings.append("this run is incomplete (interrupted or still going): the figures cover what was measured")
    for key, what in (("left_out_queries", "queries left out"), ("notes", "notes")):
        items = meta.get(key)
        if isinstance(items, list) and items:
            warnings.append(f"{what}: " + "; ".join(map(str, items)))
    return "".join(f"<p class='bad'>{_e(w)}</p>" for w in warnings) + f"<table>{rows}</table>"


def _shown(value: Any) -> str:
    """A meta value as text; a connection target (in meta.json written elsewhere) by its label only."""
    if isinstance(value, list | tuple):
        return ", ".join(shown(str(item)) for item in value) or "none"
    return "none" if value == {} else shown(str(value))


def _variants_html(variants: pd.DataFrame) -> str:
    table = frame_html(variants.drop(columns=["ddl"]), empty="no variants recorded")
    ddl = "".join(f"<details><summary>{_e(r.engine)} · {_e(r.variant)}: statements</summary><pre>{_e(r.ddl)}</pre>"
                  "</details>" for r in variants.itertuples() if isinstance(r.ddl, str) and r.ddl.strip())
    return table + ddl


def _summary_note() -> str:
    return ("<p class='note'>over the measured phase; a timeout counts at its censored latency, an error is only "
            "counted; p50_low/p50_high: bootstrap interval of the median</p>")


def _speedup_note() -> str:
    return ("<p class='note'>ratio = baseline p50 / variant p50 (&gt; 1 faster), with a bootstrap interval; a verdict "
            "of faster or slower only when the interval excludes 1; failed: the variant never answered</p>")


def _flat(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _flat(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _section(title: str, content: str) -> str:
    return f"<h2>{_e(title)}</h2>{content}"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))
