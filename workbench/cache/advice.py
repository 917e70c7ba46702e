"""What to cache under a memory budget: queries ranked by database time saved per cached byte.

Each read query is first simulated alone in a cache of the whole budget: the database time its hits
save, divided by the bytes its entries take (its working set, at most the budget). The queries are
taken best first while their working sets fit; then the chosen ones are simulated together in the
budget, which gives the expected hit ratio and stale-read rate of each as they share the cache.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from workbench.cache.simulate import Config, Prepared, run
from workbench.cache.trace import READ, Trace


def what_to_cache(trace: Trace, budget: int, *, policy: str, strategy: str, ttl_s: float | None,
                  invalidation: str, options: dict[str, Any]) -> pd.DataFrame:
    """One row per read query: alone (hit ratio, time saved, bytes), the pick, and together (expected)."""
    config = Config(policy, strategy, budget, ttl_s, invalidation, options.get("flush_delay_s", 1.0),
                    options.get("refresh_at", 0.8))
    overhead = options.get("entry_overhead", "redis")
    reads = trace.reads
    entry = Prepared(trace, entry_overhead=overhead, ttl=ttl_s is not None).entry_bytes
    rows = []
    for name in reads["query"].unique():
        alone = run(Prepared(_only(trace, [name]), entry_overhead=overhead, ttl=ttl_s is not None), config)
        mine = (reads["query"] == name).to_numpy()
        working_set = int(entry[mine].sum())
        used = min(working_set, budget)
        rows.append({"query": name, "reads": alone.row["reads"], "distinct_keys": int(mine.sum()),
                     "working_set_bytes": working_set, "hit_ratio_alone": alone.row["hit_ratio"],
                     "db_time_saved_ms_alone": alone.row["db_time_saved_ms"],
                     "saved_ms_per_mb": alone.row["db_time_saved_ms"] / used * 1e6 if used else 0.0})
    table = pd.DataFrame(rows).sort_values("saved_ms_per_mb", ascending=False).reset_index(drop=True)
    room, chosen = budget, []
    for row in table.itertuples():
        if room > 0 and row.db_time_saved_ms_alone > 0:
            chosen.append(row.query)
            room -= row.working_set_bytes
    table["cache"] = table["query"].isin(chosen)
    table["expected_hit_ratio"] = np.nan
    table["expected_stale_rate"] = np.nan
    if chosen:
        together = run(Prepared(_only(trace, chosen), entry_overhead=overhead, ttl=ttl_s is not None), config)
        split = together.by_query
        where = table["cache"]
        picked = table.loc[where, "query"]
        table.loc[where, "expected_hit_ratio"] = (split["hits"] / split["reads"]).reindex(picked).to_numpy()
        table.loc[where, "expected_stale_rate"] = (split["stale"] / split["reads"]).reindex(picked).to_numpy()
    table.attrs["budget_bytes"] = budget
    return table


def _only(trace: Trace, queries: list[str]) -> Trace:
    """The trace with only the reads of ``queries`` going to the cache (every write kept); the rest of the
    reads bypass it, so their requests are left out of the stream the cache sees."""
    codes = [trace.queries.index(q) for q in queries]
    requests = trace.requests
    keep = (requests["op"] != READ) | requests["query"].isin(codes)
    info = {**trace.info, "span_s": trace.duration_s}
    return replace(trace, requests=requests[keep].reset_index(drop=True), info=info)
