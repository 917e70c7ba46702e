"""Wall time of the product-search study (datasets/ecommerce/study_search.toml) at 1M products on the embedded
PostgreSQL, data generation included; goal: under 3 minutes. Prints where the time goes (meta.json timings).

Usage: .venv/bin/python benchmarks/study_time.py [--quick] [--products N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from workbench.bench import Study

STUDY = Path(__file__).resolve().parent.parent / "datasets" / "ecommerce" / "study_search.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k products instead of 1M")
    parser.add_argument("--products", type=int, help="products to generate (default 1,000,000)")
    parser.add_argument("--out", help="keep the results in this folder (default: a temporary one)")
    args = parser.parse_args()
    products = args.products or (100_000 if args.quick else 1_000_000)
    study = Study.from_toml(STUDY, engines=["postgres"], scale="large", rows={"products": products})
    with tempfile.TemporaryDirectory() as temporary:
        out = Path(args.out or temporary)
        started = time.perf_counter()
        results = study.run(out, progress=False, report=False)
        wall = time.perf_counter() - started
        meta = json.loads((out / "meta.json").read_text())
        variants = pd.read_parquet(out / "variants.parquet")
        plans = pd.read_parquet(out / "plans.parquet")
        server = pd.read_parquet(out / "server.parquet")
    print(f"{study!r}: {products:,} products")
    print(f"wall time {wall:.1f} s (goal < 180 s)")
    for step, seconds in sorted(meta["timings_s"].items(), key=lambda item: -item[1]):
        print(f"  {step:45s} {seconds:7.1f} s")
    print(variants[["variant", "status", "setup_s", "build_s", "table_bytes", "index_bytes",
                    "insert_rows_per_s"]].to_string(index=False))
    print(results.summary()[["variant", "query", "n", "p50", "p50_low", "p50_high", "p95"]].to_string(index=False))
    print(plans[["variant", "indexes_used", "summary"]].to_string(index=False))
    # Harness check (BENCHMARKING.md rule 10): client median vs the server's own mean time, per variant.
    harness = results.summary()[["variant", "query", "p50"]].merge(server, on=["variant", "query"])
    harness["server_ms"] = harness["mean_exec_ms"] + harness["mean_plan_ms"]
    harness["client_minus_server_ms"] = harness["p50"] - harness["server_ms"]
    print(harness[["variant", "p50", "server_ms", "client_minus_server_ms"]].to_string(index=False))
    key = "product_search_1m_s" if products == 1_000_000 else f"product_search_{products}_s"
    print(json.dumps({key: round(wall, 1), "steps_s": {k: round(v, 1) for k, v in meta["timings_s"].items()}}))


if __name__ == "__main__":
    main()
