"""RLS overhead on the multitenant workload, as a ratio to shared tables without RLS measured in the same run,
and the time to prove the example policy; goals: a design under 1.10x, and --prove under 30 s.

The study runs the RLS designs interleaved with shared tables (same data, same parameter draws): the good
design (tenant column leading the indexes, the setting read once per query), the same without the tenant
leading the indexes, and the naive one (current_setting() in the predicate, tenant not leading). Each ratio is
the geometric mean over the workload's queries of p50(design) / p50(shared), with the range of the queries'
bootstrap intervals. Sub-millisecond queries on a loaded 2-core machine are dominated by scheduling noise in the
client's round trip, so the same designs are also measured server-side: EXPLAIN ANALYZE's planning + execution
time, in interleaved rounds (``*_server`` keys). Prove: apply the example policy and run the whole attack suite.

Usage: .venv/bin/python benchmarks/tenancy.py [--scale small] [--repetitions 20] [--all-models]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench.domains import domain
from workbench.engines import connect
from workbench.plans import explain
from workbench.security import Policy, TenancyStudy, prove, tenancy_study, tenancy_variants
from workbench.security.measure import bound_queries

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "datasets" / "multitenant" / "policy.toml"
RLS_DESIGNS = {"rls": "rls_overhead_ratio", "rls, tenant not leading": "rls_not_leading_overhead_ratio",
               "rls naive (per-row setting, not leading)": "rls_naive_overhead_ratio"}


def server_side(study: TenancyStudy, repetitions: int) -> dict[str, float]:
    """EXPLAIN ANALYZE planning + execution ms of each query on each design, in interleaved rounds."""
    data = study.generate(progress=False)
    queries = bound_queries(study.domain, data, study.seed)
    designs = {v.name: v.layout for v in study.variants}
    times: dict[tuple[str, str], list[float]] = {}
    with connect("postgres") as base:
        engines = {name: model.build(base, "postgres", study.schema, data)[0] for name, model in designs.items()}
        try:
            for _ in range(repetitions):
                for name, engine in engines.items():
                    for query, sql in queries.items():
                        plan = explain(engine, sql, analyze=True)
                        times.setdefault((name, query), []).append(plan.planning_ms + plan.execution_ms)
        finally:
            for engine in engines.values():
                engine.close()
    medians = {key: float(np.median(values)) for key, values in times.items()}
    figures = {}
    for design, key in RLS_DESIGNS.items():
        ratios = [medians[(design, q)] / medians[("shared", q)] for q in queries]
        figures[key + "_server"] = round(float(np.exp(np.log(ratios).mean())), 3)
        print(f"{design}: server-side overhead vs shared {figures[key + '_server']:.3f}x: " + ", ".join(
            f"{q} {medians[(design, q)]:.3f}/{medians[('shared', q)]:.3f} ms" for q in queries))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small", help="data scale of the study (default small)")
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--all-models", action="store_true", help="also schema and database per tenant")
    args = parser.parse_args()
    shop = domain("multitenant")
    keep = {"shared", *RLS_DESIGNS} | ({"shared, tenant not leading", "schema per tenant", "database per tenant"}
                                      if args.all_models else set())
    variants = [v for v in tenancy_variants() if v.name in keep]
    study = tenancy_study(shop, variants=variants, scale=args.scale, repetitions=args.repetitions, warmup=3)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        results = study.run(out, progress=False, report=False)
        study_s = time.perf_counter() - started
    print(f"{study!r}\nstudy wall time {study_s:.1f} s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"(2 shared cores: figures are noisy)")
    print(f"answers that differ between designs: {len(results.answers())}")
    speedups = results.speedups("shared")
    figures = {}
    for design, key in RLS_DESIGNS.items():
        rows = speedups[speedups["variant"] == design]
        overhead = 1 / rows["ratio"].astype(float)
        figures[key] = round(float(np.exp(np.log(overhead).mean())), 3)
        figures[key + "_range"] = [round(float((1 / rows["ratio_high"].astype(float)).min()), 3),
                                   round(float((1 / rows["ratio_low"].astype(float)).max()), 3)]
        print(f"{design}: overhead vs shared {figures[key]:.3f}x (geometric mean over queries; per-query "
              f"intervals span {figures[key + '_range'][0]:.2f}-{figures[key + '_range'][1]:.2f})")
        for row in rows.itertuples():
            print(f"    {row.query:22s} p50 {row.p50:7.3f} ms vs {row.baseline_p50:7.3f} ms: "
                  f"{1 / row.ratio:5.2f}x [{1 / row.ratio_high:.2f}, {1 / row.ratio_low:.2f}] {row.verdict}")
    print(results.summary()[["variant", "query", "p50", "p50_low", "p50_high", "p95"]].to_string(index=False))
    figures.update(server_side(study, args.repetitions))

    policy = Policy.from_toml(POLICY)
    with connect("postgres") as engine:
        shop.load(engine, "ci", seed=1, progress=False)
        started = time.perf_counter()
        proof = prove(engine, policy, progress=False)
        prove_s = time.perf_counter() - started
    print(f"prove (apply + {len(proof.frame)} attacks as {proof.frame['role'].nunique()} roles x 2 tenants): "
          f"{prove_s:.2f} s; {proof!r}")
    started = time.perf_counter()
    workbench = str(Path(sys.executable).parent / "workbench")
    command = subprocess.run([workbench, "secure", "multitenant", "--policy", str(POLICY), "--prove", "--json"],
                             capture_output=True, text=True, cwd=ROOT)
    command_s = time.perf_counter() - started
    print(f"`workbench secure multitenant --prove` (start, load ci, apply, lint, prove): {command_s:.1f} s, "
          f"exit {command.returncode} (goal < 30 s)")
    print(json.dumps({**figures, "prove_s": round(prove_s, 2), "secure_prove_command_s": round(command_s, 1),
                      "scale": args.scale, "repetitions": args.repetitions, "study_s": round(study_s, 1),
                      "loadavg": [round(x, 2) for x in load]}))


if __name__ == "__main__":
    main()
