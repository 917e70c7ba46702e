"""``simulate(trace, ...)``: every policy x strategy x size x TTL over one trace, as a results object.

Belady's optimum is always simulated alongside the policies asked for; before its line is trusted as
the ceiling, :meth:`CacheResults.ceiling_violations` lists every configuration where a policy beat it
(with objects of different sizes Belady is not strictly optimal, so a violation is reported, not hidden).
"""

from __future__ import annotations

import html
import multiprocessing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from workbench.cache import plots
from workbench.cache.policies import FRAGILE, OPTIMUM, policy_names
from workbench.cache.simulate import (
    INVALIDATIONS,
    STRATEGIES,
    UPDATING,
    Config,
    Outcome,
    Prepared,
    check_config,
    run,
)
from workbench.cache.sizes import format_size, parse_size
from workbench.cache.trace import READ, Trace
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.progress import tqdm
from workbench.safe_display import safe_html

CONFIG_COLUMNS = ["policy", "strategy", "size_bytes", "ttl_s", "invalidation"]
SHOWN = ["policy", "strategy", "size", "ttl_s", "invalidation", "hit_ratio", "byte_hit_ratio", "stale_rate",
         "db_queries_per_s", "db_time_saved_ms", "write_amplification"]


@dataclass
class CacheResults:
    """One row per configuration in ``frame``; ``by_query`` splits hits, staleness and time saved per query."""

    frame: pd.DataFrame
    by_query: pd.DataFrame
    trace: Trace = field(repr=False)
    notes: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def ceiling_violations(self, tolerance: float = 1e-9) -> pd.DataFrame:
        """Configurations where a policy's hit ratio beat Belady's at the same strategy, size, TTL, invalidation."""
        keys = ["strategy", "size_bytes", "ttl_s", "invalidation"]
        frame = self.frame.assign(ttl_s=self.frame["ttl_s"].fillna(-1))
        best = frame[frame["policy"] == OPTIMUM].set_index(keys)["hit_ratio"].rename("belady_hit_ratio")
        others = frame[frame["policy"] != OPTIMUM].join(best, on=keys)
        beaten = others[others["hit_ratio"] > others["belady_hit_ratio"] + tolerance]
        return beaten[[*CONFIG_COLUMNS, "hit_ratio", "belady_hit_ratio"]].reset_index(drop=True)

    def best(self) -> pd.Series:
        """The configuration (Belady aside) that saves the most database time, and then the least staleness."""
        frame = self.frame[self.frame["policy"] != OPTIMUM]
        return frame.sort_values(["db_time_saved_ms", "stale_rate"], ascending=[False, True]).iloc[0]

    def miss_ratio_curve(self, ax: Axes | None = None, *, strategy: str | None = None, ttl_s: float | None = None,
                         invalidation: str | None = None) -> Axes:
        """Hit ratio against cache size, one line per policy, Belady's optimum on top."""
        return plots.miss_ratio_curve(self._slice(strategy, ttl_s, invalidation, "size"), ax)

    def staleness_vs_ttl(self, ax: Axes | None = None, *, policy: str | None = None,
                         size: str | int | None = None) -> Axes:
        """Stale-read rate (and hit ratio) against TTL, one line per strategy and invalidation."""
        frame = self.frame[self.frame["policy"] == (policy or self._default_policy())]
        frame = frame[frame["size_bytes"] == (parse_size(size) if size is not None else frame["size_bytes"].max())]
        return plots.staleness_vs_ttl(frame, ax)

    def db_load(self, ax: Axes | None = None, *, policy: str | None = None, ttl_s: float | None = None,
                strategy: str | None = None) -> Axes:
        """Database queries per second with and without the cache, per cache size."""
        frame = self._slice(strategy, ttl_s, None, "size")
        return plots.db_load(frame[frame["policy"] == (policy or self._default_policy())], ax)

    def what_to_cache(self, budget: str | int, *, policy: str | None = None, strategy: str | None = None,
                      ttl_s: float | None = None, invalidation: str | None = None) -> pd.DataFrame:
        """Which queries to cache within ``budget`` bytes, ranked by database time saved per cached byte."""
        from workbench.cache.advice import what_to_cache

        chosen = self._slice(strategy, ttl_s, invalidation, "size").iloc[0]
        return what_to_cache(self.trace, parse_size(budget), policy=policy or self._default_policy(),
                             strategy=chosen["strategy"], ttl_s=_ttl(chosen["ttl_s"]),
                             invalidation=chosen["invalidation"], options=self.options)

    def explore(self, **options: Any) -> Any:
        """A panel: cache size and TTL sliders over the simulated curves, a policy picker; the figures at the
        chosen point and what to cache there follow (see :mod:`workbench.ui.cache_panel`)."""
        from workbench.ui import explore

        return explore(self, **options)

    def to_parquet(self, path: str | Path) -> Path:
        path = Path(path)
        self.frame.to_parquet(path, index=False)
        return path

    def _default_policy(self) -> str:
        policies = [p for p in self.frame["policy"].unique() if p != OPTIMUM]
        return "lru" if "lru" in policies else (policies[0] if policies else OPTIMUM)

    def _slice(self, strategy: str | None, ttl_s: float | None, invalidation: str | None, along: str) -> pd.DataFrame:
        """The rows of one strategy, TTL and invalidation (the first of each unless named)."""
        frame = self.frame
        for column, wanted in (("strategy", strategy), ("invalidation", invalidation)):
            value = wanted if wanted is not None else frame[column].iloc[0]
            if value not in set(frame[column]):
                raise UnknownNameError(column, str(value), frame[column].astype(str).unique())
            frame = frame[frame[column] == value]
        ttl = ttl_s if ttl_s is not None else frame["ttl_s"].iloc[0]
        frame = frame[frame["ttl_s"].isna()] if pd.isna(ttl) else frame[frame["ttl_s"] == ttl]
        if frame.empty:
            raise WorkbenchError(f"no simulated rows for TTL {ttl_s}; simulated TTLs: "
                                 f"{sorted(self.frame['ttl_s'].dropna().unique().tolist())} and none")
        return frame

    def __repr__(self) -> str:
        return (f"<CacheResults {len(self.frame)} configurations over {len(self.trace)} requests: "
                f"{', '.join(self.frame['policy'].unique())}>")

    def _repr_html_(self) -> str:
        return safe_html(_html, self)


def simulate(trace: Trace, *, policies: str | Sequence[str] = ("lru", "arc", "s3fifo"),
             sizes: Iterable[str | int] = ("1MB", "10MB", "100MB"), ttls: Iterable[float | None] = (None,),
             strategies: str | Sequence[str] = ("cache-aside",), invalidation: str | Sequence[str] = ("on-write",),
             flush_delay_s: float = 1.0, refresh_at: float = 0.8, entry_overhead: str | int = "redis",
             progress: bool = True) -> CacheResults:
    """Simulate every combination (Belady's optimum added) and return the figures per configuration."""
    chosen = policy_names(policies)
    if OPTIMUM not in chosen:
        chosen.append(OPTIMUM)
    size_list = [parse_size(s) for s in sizes]
    ttl_list = [None if t is None else float(t) for t in ttls]
    strategy_list = _names(strategies, STRATEGIES, "cache strategy")
    invalidation_list = _names(invalidation, INVALIDATIONS, "invalidation")
    if not size_list:
        raise WorkbenchError("no cache sizes given: name at least one, e.g. sizes=['10MB']")
    if not (trace.requests["op"] == READ).any():
        raise WorkbenchError("the trace has no reads: a cache has nothing to serve")
    if not 0 < refresh_at < 1:
        raise WorkbenchError(f"refresh_at={refresh_at}: refresh-ahead starts at a fraction of the TTL in (0, 1)")
    if flush_delay_s < 0:
        raise WorkbenchError(f"flush_delay_s={flush_delay_s}: a flush delay cannot be negative")
    configs, notes = _configs(chosen, strategy_list, size_list, ttl_list, invalidation_list, flush_delay_s,
                              refresh_at)
    prepared = {ttl: Prepared(trace, entry_overhead=entry_overhead, ttl=ttl)
                for ttl in {c.ttl_s is not None for c in configs}}
    rows, splits = [], []
    for config in tqdm(configs, desc="simulate", disable=not progress, leave=False):
        simulated = prepared[config.ttl_s is not None]
        outcome = _isolated(simulated, config) if config.policy in FRAGILE else run(simulated, config)
        if isinstance(outcome, str):
            notes.append(outcome)
            rows.append({c: getattr(config, c) for c in CONFIG_COLUMNS} | {"error": outcome})
            continue
        rows.append(outcome.row)
        splits.append(outcome.by_query.assign(**{c: getattr(config, c) for c in CONFIG_COLUMNS}))
    frame = pd.DataFrame(rows)
    if "error" in frame:
        frame = frame[frame["error"].isna()].drop(columns="error").reset_index(drop=True)
    frame.insert(3, "size", [format_size(s) for s in frame["size_bytes"]])
    by_query = pd.concat(splits).rename_axis("query").reset_index()
    options = {"flush_delay_s": flush_delay_s, "refresh_at": refresh_at, "entry_overhead": entry_overhead}
    results = CacheResults(frame, by_query, trace, notes, options)
    beaten = results.ceiling_violations()
    if len(beaten):
        results.notes.append(f"{len(beaten)} configuration(s) beat Belady's hit ratio (objects differ in size, so "
                             f"Belady is not strictly optimal): see ceiling_violations()")
    if int(frame["ttl_conflicts"].sum()):
        results.notes.append(f"{int(frame['ttl_conflicts'].sum())} copies were reloaded in the TTL step where their "
                             f"predecessor expired and may have been removed early (see the simulate module doc)")
    return results


def _isolated(prepared: Prepared, config: Config) -> Outcome | str:
    """Run one configuration in a forked child, so that a crash inside libCacheSim ends the child only."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(prepared, config, sender), daemon=True)
    child.start()
    sender.close()
    try:
        outcome = receiver.recv()
    except EOFError:
        outcome = None
    child.join()
    if outcome is None:
        return (f"libCacheSim's {config.policy} crashed (exit code {child.exitcode}) on {config.strategy}, "
                f"{config.invalidation}, TTL {config.ttl_s}, {format_size(config.size_bytes)}: no row for it")
    return outcome


def _child(prepared: Prepared, config: Config, sender: Any) -> None:
    sender.send(run(prepared, config))
    sender.close()


def _configs(policies: list[str], strategies: list[str], sizes: list[int], ttls: list[float | None],
             invalidations: list[str], flush_delay_s: float, refresh_at: float) -> tuple[list[Config], list[str]]:
    configs, notes = [], []
    for strategy in strategies:
        modes = ["update"] if strategy in UPDATING else invalidations
        for ttl in ttls:
            if strategy == "refresh-ahead" and ttl is None:
                if not any(t is not None for t in ttls):
                    check_config(strategy, modes[0], ttl)
                notes.append("refresh-ahead is simulated only with a TTL (rows without one skipped)")
                continue
            for mode in modes:
                check_config(strategy, mode, ttl)
                configs += [Config(policy, strategy, size, ttl, mode, flush_delay_s, refresh_at)
                            for size in sizes for policy in policies]
    return configs, list(dict.fromkeys(notes))


def _names(value: str | Sequence[str], valid: Sequence[str], kind: str) -> list[str]:
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else list(value)
    for name in names:
        if name not in valid:
            raise UnknownNameError(kind, name, valid)
    if not names:
        raise UnknownNameError(kind, "", valid)
    return list(dict.fromkeys(names))


def _ttl(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _html(results: CacheResults) -> str:
    shown = results.frame[SHOWN]
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in results.notes)
    return (f"<p>{html.escape(repr(results))}</p>"
            + shown.to_html(index=False, float_format=lambda v: f"{v:,.4g}")
            + (f"<ul>{notes}</ul>" if notes else ""))

