"""Plots of the security package: the attack matrix, tenancy growth, shard-key analysis.

Each takes a computed frame and an optional Axes and returns the Axes (compute first, draw second).
"""

from __future__ import annotations

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
