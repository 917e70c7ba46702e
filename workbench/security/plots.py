"""Plots of the security package: the attack matrix, tenancy growth, shard-key analysis.

Each takes a computed frame and an optional Axes and returns the Axes (compute first, draw second).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from workbench.bench.plots import _axes, _nothing

OUTCOMES = {  # (expected, result) -> (label, colour)
    ("blocked", "blocked"): ("blocked, as it should be", "#2ca02c"),
    ("allowed", "allowed"): ("allowed by design", "#9ecae1"),
    ("blocked", "allowed"): ("HOLE: got through", "#d62728"),
    ("allowed", "blocked"): ("blocked, though the policy allows it", "#ff7f0e"),
}


def attack_matrix(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Attack · target down, role · tenant across; each cell coloured by its outcome against the intent."""
    if frame.empty:
        return _nothing(_axes(ax), "no attacks ran")
    rows = list(dict.fromkeys(frame["attack"] + " · " + frame["target"].astype(str)))
    columns = list(dict.fromkeys(frame["role"] + " · " + frame["tenant"].astype(str)))
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.subplots(figsize=(2.2 + 0.9 * len(columns), 1.2 + 0.24 * len(rows)))[1]
    codes = list(OUTCOMES)
    grid = np.full((len(rows), len(columns)), np.nan)
    for row in frame.itertuples():
        grid[rows.index(f"{row.attack} · {row.target}"), columns.index(f"{row.role} · {row.tenant}")] = \
            codes.index((row.expected, row.result))
    ax.imshow(np.ma.masked_invalid(grid), cmap=ListedColormap([color for _, color in OUTCOMES.values()]),
              vmin=-0.5, vmax=len(codes) - 0.5, aspect="auto")
    ax.set_xticks(range(len(columns)), [c.replace(" · ", "\ntenant ") for c in columns], fontsize="small")
    ax.set_yticks(range(len(rows)), rows, fontsize="small")
    ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
    ax.set_xticks(np.arange(-0.5, len(columns)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(rows)), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    present = {(e, r) for e, r in zip(frame["expected"], frame["result"], strict=True)}
    ax.legend(handles=[Patch(color=color, label=label) for key, (label, color) in OUTCOMES.items() if key in present],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    holes = int(((frame["expected"] == "blocked") & (frame["result"] == "allowed")).sum())
    ax.set_title(f"measured on PostgreSQL: {len(frame)} attacks, {holes} holes", fontsize="medium")
    return ax


def growth_lines(summary: pd.DataFrame, ax: Axes | None = None, ylabel: str = "measured") -> Axes:
    """One line per model of ``p50`` (with ``p50_low``/``p50_high`` as error bars when present) against the
    number of tenants, log-log."""
    from workbench.bench.plots import _log

    ax = _axes(ax)
    if summary.empty:
        return _nothing(ax, "nothing measured")
    for model, line in summary.sort_values("tenants").groupby("model", sort=False):
        p50 = line["p50"].to_numpy(float)
        if {"p50_low", "p50_high"} <= set(line.columns):
            error = [p50 - line["p50_low"].to_numpy(float), line["p50_high"].to_numpy(float) - p50]
            ax.errorbar(line["tenants"], p50, yerr=error, marker="o", capsize=3, label=model)
        else:
            ax.plot(line["tenants"], p50, marker="o", label=model)
    _log(ax, "x")
    _log(ax, "y")
    ax.set_xlabel("tenants (log scale)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax


def shard_panels(frame: pd.DataFrame, axes: Any = None) -> Any:
    """Single-shard share and co-located joins per candidate key (bars), skew against shard count (lines)."""
    if axes is None:
        import matplotlib.pyplot as plt

        axes = plt.subplots(1, 3, figsize=(15, 4.2))[1]
    if frame.empty:
        for ax in axes:
            _nothing(ax, "no candidates")
        return axes
    first = frame.drop_duplicates("candidate").set_index("candidate")  # shares do not depend on the data
    labels = list(first.index)
    for ax, column, title in ((axes[0], "single_shard_share", "workload queries routed to one shard"),
                              (axes[1], "colocated_joins", "joins (foreign keys, workload) co-located")):
        ax.bar(labels, first[column] * 100, color="tab:green")
        ax.set_ylim(0, 105)
        ax.set_ylabel("% (from the queries' predicates and the keys)")
        ax.set_title(title, fontsize="medium")
        ax.tick_params(axis="x", rotation=30)
    labels = frame["candidate"] if "data" not in frame else (frame["candidate"] + " · " + frame["data"]).str.rstrip(
        " ·")
    for label, line in frame.groupby(labels, sort=False):
        axes[2].plot(line["shards"], line["skew"], marker="o", label=label)
    axes[2].set_xscale("log", base=2)
    axes[2].set_xticks(sorted(pd.unique(frame["shards"])), [str(n) for n in sorted(pd.unique(frame["shards"]))])
    axes[2].axhline(1, color="gray", linewidth=1)
    axes[2].set_xlabel("shards")
    axes[2].set_ylabel("largest shard / mean (measured on the loaded rows)")
    axes[2].set_title("skew", fontsize="medium")
    axes[2].legend(fontsize="small")
    return axes
