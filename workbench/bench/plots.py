"""Plots of study results: each takes a computed frame and an optional Axes, draws, and returns the Axes.

Why: figures read the same in notebooks and reports when the numbers are computed first (bench.stats) and
drawn second. Measured times say "measured" on their axis; planner costs are never drawn here (BENCHMARKING.md
rule 8: estimated is not measured).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import LogFormatter

from workbench.bench.stats import measured

VERDICT_COLORS = {"faster": "tab:green", "slower": "tab:red", "no clear difference": "tab:gray",
                  "failed": "black", "baseline failed": "black"}
MIB = 1024 * 1024


def latency_distribution(executions: pd.DataFrame, ax: Axes | None = None, *,
                         queries: Sequence[str] | None = None) -> Axes:
    """Box plots of measured latency per query (groups) and variant (colours), log scale; timeouts as crosses."""
    frame = measured(executions)
    frame = frame[frame["status"] != "error"]
    if queries is not None:
        frame = frame[frame["query"].isin(queries)]
    ax = _axes(ax)
    if frame.empty:
        return _nothing(ax, "no measured latencies")
    series = _series_labels(frame)
    names = list(pd.unique(frame["query"]))
    colors = _colors(pd.unique(series))
    width = 0.8 / len(colors)
    for (label, color), offset in zip(colors.items(), _offsets(len(colors), width), strict=True):
        mine = frame[series == label]
        data = [mine.loc[mine["query"] == q, "latency_ms"].to_numpy(float) for q in names]
        at = [i + offset for i, d in enumerate(data) if len(d)]
        boxes = ax.boxplot([d for d in data if len(d)], positions=at, widths=width * 0.9, patch_artist=True,
                           manage_ticks=False, flierprops={"markersize": 2})
        for box in boxes["boxes"]:
            box.set(facecolor=color, alpha=0.6)
        timeouts = mine[mine["status"] == "timeout"]
        if len(timeouts):
            ax.scatter([names.index(q) + offset for q in timeouts["query"]], timeouts["latency_ms"], marker="x",
                       color="tab:red", zorder=3)
    _log(ax, "y")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("measured latency (ms, log scale)")
    handles = [Patch(facecolor=c, alpha=0.6, label=label) for label, c in colors.items()]
    if (frame["status"] == "timeout").any():
        handles.append(Line2D([], [], marker="x", linestyle="", color="tab:red", label="timeout (censored)"))
    ax.legend(handles=handles, fontsize="small")
    return ax


def speedup_bars(speedups: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Speed-up of each variant over the baseline per query: bars from 1 to the ratio, interval as error bars."""
    ax = _axes(ax)
    if speedups.empty:
        return _nothing(ax, "no speed-ups (a single variant?)")
    labels = list(_series_labels(speedups, ("query", "variant")))
    y = np.arange(len(speedups))[::-1]
    ratio = speedups["ratio"].to_numpy(float)
    shown = np.isfinite(ratio) & (ratio > 0)
    colors = [VERDICT_COLORS.get(v, "tab:gray") for v in speedups["verdict"]]
    ax.barh(y[shown], ratio[shown] - 1, left=1, color=[c for c, s in zip(colors, shown, strict=True) if s],
            alpha=0.7)
    low, high = speedups["ratio_low"].to_numpy(float), speedups["ratio_high"].to_numpy(float)
    bounded = shown & np.isfinite(low) & np.isfinite(high)
    ax.errorbar(ratio[bounded], y[bounded], xerr=[ratio[bounded] - low[bounded], high[bounded] - ratio[bounded]],
                fmt="none", ecolor="black", capsize=3)
    for at, verdict in zip(y, speedups["verdict"], strict=True):
        if verdict in ("failed", "baseline failed"):
            ax.annotate(verdict, (1, at), xytext=(4, 0), textcoords="offset points", va="center", fontsize="small")
    ax.axvline(1, color="black", linewidth=1)
    _log(ax, "x")
    ax.set_yticks(y, labels)
    baseline = ", ".join(map(str, pd.unique(speedups["baseline"])))
    ax.set_xlabel(f"measured speed-up vs {baseline} (p50 ratio, > 1 faster; bootstrap interval)")
    present = [v for v in VERDICT_COLORS if v in set(speedups["verdict"])]
    ax.legend(handles=[Patch(color=VERDICT_COLORS[v], alpha=0.7, label=v) for v in present], fontsize="small")
    return ax


def metric_bars(values: pd.DataFrame, label: str, ax: Axes | None = None) -> Axes:
    """One bar per row of ``values`` (columns ``variant, value``, optional ``low, high`` for an interval),
    labelled ``label`` (name the unit); a log axis when the values span more than 20x."""
    ax = _axes(ax)
    shown = values[np.isfinite(values["value"].astype(float))]
    if shown.empty:
        return _nothing(ax, "nothing measured to show")
    y = np.arange(len(shown))[::-1]
    value = shown["value"].to_numpy(float)
    colors = _colors(list(values["variant"]))  # a variant keeps its colour when others have no value
    ax.barh(y, value, color=[colors[v] for v in shown["variant"]], alpha=0.75)
    ends = value.copy()  # where each bar's label goes: after its interval, if it has one
    if {"low", "high"} <= set(shown.columns):
        low, high = shown["low"].to_numpy(float), shown["high"].to_numpy(float)
        bounded = np.isfinite(low) & np.isfinite(high)
        ax.errorbar(value[bounded], y[bounded], xerr=[value[bounded] - low[bounded], high[bounded] - value[bounded]],
                    fmt="none", ecolor="black", capsize=3)
        ends[bounded] = np.maximum(value[bounded], high[bounded])
    if value.max() > 20 * value[value > 0].min(initial=value.max()):
        _log(ax, "x")
    for at, number, end in zip(y, value, ends, strict=True):
        ax.annotate(f"{number:,.3g}", (end, at), xytext=(6, 0), textcoords="offset points", va="center",
                    fontsize="small")
    ax.set_yticks(y, list(shown["variant"]))
    ax.set_xlabel(label)
    ax.margins(x=0.15)
    return ax


def latency_vs_scale(points: pd.DataFrame, ax: Axes | None = None, *, x: str = "rows") -> Axes:
    """Measured p50 with its interval against data size, log-log; one line per engine/variant/query.

    ``points`` is summaries of several runs with a numeric column ``x`` (see ``results.scale_summary``).
    """
    ax = _axes(ax)
    if points.empty:
        return _nothing(ax, "no runs to compare")
    engines = points["engine"].nunique() > 1
    for key, line in points.sort_values(x).groupby(["engine", "variant", "query"], sort=False):
        label = " · ".join(key if engines else key[1:])
        p50 = line["p50"].to_numpy(float)
        err = [p50 - line["p50_low"].to_numpy(float), line["p50_high"].to_numpy(float) - p50]
        ax.errorbar(line[x].to_numpy(float), p50, yerr=err, marker="o", capsize=3, label=label)
    _log(ax, "x")
    _log(ax, "y")
    ax.set_xlabel(f"{x} (log scale)")
    ax.set_ylabel("measured p50 latency (ms, log scale)")
    ax.legend(fontsize="small")
    return ax


def write_vs_read(tradeoff: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Per variant: insert slowdown (x) against read speed-up (y), both vs the baseline, log-log."""
    ax = _axes(ax)
    frame = tradeoff[np.isfinite(tradeoff["insert_slowdown"].astype(float))
                     & np.isfinite(tradeoff["read_speedup"].astype(float))]
    if frame.empty:
        return _nothing(ax, "insert speed or read speed-up not measured")
    ax.scatter(frame["insert_slowdown"], frame["read_speedup"], color="tab:blue")
    for label, row in zip(_series_labels(frame), frame.itertuples(), strict=True):
        ax.annotate(label, (row.insert_slowdown, row.read_speedup),
                    xytext=(4, 4), textcoords="offset points", fontsize="small")
    ax.axvline(1, color="gray", linewidth=1)
    ax.axhline(1, color="gray", linewidth=1)
    _log(ax, "x")
    _log(ax, "y")
    ax.margins(0.15)
    ax.set_xlabel("measured insert slowdown vs baseline (x, > 1 slower writes)")
    ax.set_ylabel("measured read speed-up vs baseline (x)")
    ax.set_title("read speed-up: geometric mean of p50 ratios over queries", fontsize="small")
    return ax


def storage(variants: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Table and index bytes per variant, stacked; a variant with an unknown size is marked "?"."""
    ax = _axes(ax)
    if variants.empty:
        return _nothing(ax, "no variants")
    labels = list(_series_labels(variants))
    table = pd.to_numeric(variants["table_bytes"], errors="coerce").astype(float).to_numpy() / MIB
    index = pd.to_numeric(variants["index_bytes"], errors="coerce").astype(float).to_numpy() / MIB
    at = np.arange(len(labels))
    ax.bar(at, np.nan_to_num(table), label="table", color="tab:blue")
    ax.bar(at, np.nan_to_num(index), bottom=np.nan_to_num(table), label="indexes", color="tab:orange")
    for i in at[~(np.isfinite(table) & np.isfinite(index))]:
        ax.annotate("?", (i, np.nan_to_num(table[i]) + np.nan_to_num(index[i])), ha="center", va="bottom")
    ax.set_xticks(at, labels, rotation=30, ha="right")
    ax.set_ylabel("measured size (MiB)")
    ax.legend(fontsize="small")
    return ax


def partition_timing(partitions: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Planning and execution time against partition count (log x), new vs warm connection; medians of runs."""
    ax = _axes(ax)
    if partitions.empty:
        return _nothing(ax, "no partition measurements")
    engines = partitions["engine"].nunique() > 1
    queries = partitions["query"].nunique() > 1
    medians = partitions.groupby(["engine", "query", "connection", "partitions"], sort=True)[
        ["planning_ms", "execution_ms"]].median().reset_index()
    colors = {"new": "tab:red", "warm": "tab:blue"}
    for (engine, query, connection), line in medians.groupby(["engine", "query", "connection"], sort=False):
        name = f"{engine} · " * engines + f"{query} · " * queries + f"{connection} connection"
        for column, style in (("planning_ms", "-"), ("execution_ms", "--")):
            ax.plot(line["partitions"], line[column], style, marker="o", color=colors.get(connection),
                    label=f"{name}: {column.removesuffix('_ms')}")
    _log(ax, "x")
    _log(ax, "y")
    ax.set_xlabel("partitions (log scale)")
    ax.set_ylabel("measured time (ms, log scale)")
    ax.legend(fontsize="small")
    return ax


class _Plain(LogFormatter):
    """Log-axis labels as plain numbers (0.1, 2, 300) rather than powers of ten: read as ms or ratios."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def _log(ax: Axes, which: str) -> None:
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(_Plain())
    axis.set_minor_formatter(_Plain(labelOnlyBase=False))


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only when the caller gave no Axes: reports draw on their own figures

    return plt.subplots(figsize=(8, 4.5))[1]


def _nothing(ax: Axes, message: str) -> Axes:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def _series_labels(frame: pd.DataFrame, columns: Sequence[str] = ("variant",)) -> pd.Series:
    """``engine · <columns>`` per row, the engine only when the frame holds more than one."""
    shown = (["engine"] if frame["engine"].nunique() > 1 else []) + list(columns)
    labels = frame[shown[0]].astype(str)
    for column in shown[1:]:
        labels = labels + " · " + frame[column].astype(str)
    return labels


def _colors(labels: Sequence[str]) -> dict[str, str]:
    return {label: f"C{i % 10}" for i, label in enumerate(labels)}


def _offsets(count: int, width: float) -> list[float]:
    return [(i - (count - 1) / 2) * width for i in range(count)]
