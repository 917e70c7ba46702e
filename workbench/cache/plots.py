"""The three cache pictures: the miss-ratio curve, staleness against TTL, database load with and without.

Each takes ``ax=None`` and returns the Axes, like the study plots; they draw the rows they are given.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullLocator, PercentFormatter

from workbench.bench.plots import _axes, _nothing
from workbench.cache.policies import OPTIMUM
from workbench.cache.sizes import format_size


def miss_ratio_curve(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Hit ratio against cache size (log scale), one line per policy, Belady's optimum dashed on top."""
    ax = _axes(ax)
    if frame.empty:
        return _nothing(ax, "no simulated configurations")
    for policy, rows in frame.sort_values("size_bytes").groupby("policy", sort=False):
        optimum = policy == OPTIMUM
        ax.plot(rows["size_bytes"], rows["hit_ratio"], marker="o", label="Belady (optimum)" if optimum else policy,
                linestyle="--" if optimum else "-", color="black" if optimum else None, zorder=3 if optimum else 2)
    ax.set_xscale("log")
    ax.set_xticks(sorted(frame["size_bytes"].unique()))  # the simulated sizes, not powers of ten
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_size(v)))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1)
    first = frame.iloc[0]
    ttl = "no TTL" if pd.isna(first["ttl_s"]) else f"TTL {first['ttl_s']:g} s"
    ax.set_title(f"hit ratio by cache size ({first['strategy']}, {first['invalidation']}, {ttl})")
    ax.set_xlabel("cache size (Redis memory accounting)")
    ax.set_ylabel("hit ratio (simulated)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def staleness_vs_ttl(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Stale-read rate against TTL, one line per strategy and invalidation (hit ratio in the legend)."""
    ax = _axes(ax)
    timed = frame.dropna(subset=["ttl_s"])
    if timed.empty:
        return _nothing(ax, "no TTL simulated: give ttls=[...]")
    for (strategy, invalidation), rows in timed.sort_values("ttl_s").groupby(["strategy", "invalidation"]):
        label = f"{strategy} ({invalidation}), hit {rows['hit_ratio'].min():.0%}-{rows['hit_ratio'].max():.0%}"
        ax.plot(rows["ttl_s"], rows["stale_rate"], marker="o", label=label)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} s"))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    first = timed.iloc[0]
    ax.set_title(f"stale reads by TTL ({first['policy']}, {format_size(first['size_bytes'])})")
    ax.set_xlabel("TTL")
    ax.set_ylabel("reads served after their rows changed")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def db_load(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Database queries per second without the cache and with it, per cache size (bars)."""
    ax = _axes(ax)
    if frame.empty:
        return _nothing(ax, "no simulated configurations")
    rows = frame.sort_values("size_bytes")
    labels = ["no cache", *[format_size(s) for s in rows["size_bytes"]]]
    values = [rows["db_queries_per_s_no_cache"].iloc[0], *rows["db_queries_per_s"]]
    bars = ax.bar(labels, values, color=["grey", *["C0"] * len(rows)])
    for bar, saved in zip(bars[1:], rows["db_time_saved_ms"] / rows["db_time_no_cache_ms"], strict=True):
        ax.annotate(f"-{saved:.0%} time", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize="small")
    first = rows.iloc[0]
    ax.set_title(f"database load ({first['policy']}, {first['strategy']})")
    ax.set_ylabel("database queries per second (simulated)")
    ax.set_xlabel("cache size")
    return ax
