"""Advisor command: load a sample domain and advise indexes for its workload within a storage budget."""

from __future__ import annotations

import argparse
import json
import sys

from workbench.cli.inputs import at_least, read_workload


def cmd_advise(args: argparse.Namespace) -> int:
    from workbench.advisor.advice import advise
    from workbench.domains import domain, parse_scale
    from workbench.engines import connect

    chosen = domain(args.dataset)
    workload = read_workload(args.workload, chosen.schema) if args.workload else chosen.workload
    progress = not (args.quiet or args.json)
    with connect(args.engine) as engine:
        chosen.load(engine, parse_scale(args.scale), seed=args.seed, progress=progress)
        advice = advise(engine, chosen.schema, workload, budget_mb=args.budget_mb, write_weight=args.write_weight,
                        draws=args.draws, seed=args.seed, progress=progress)
    if args.json:
        json.dump(advice.to_dict(), sys.stdout, indent=2, default=str)
        print()
        return 0
    print(f"{chosen.name} at scale {args.scale} on {advice.engine}: {advice._summary()}")
    for statement in advice.sql(drops=True):
        print(f"  {statement};")
    print(advice.queries.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    for drop in advice.drops:
        print(f"  drop {drop.name}: {drop.reason}")
    for note in advice.notes:
        print(f"  note: {note}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("advise", help="measured index advice for a sample domain's workload")
    parser.add_argument("dataset", help="a domain name (see `workbench datasets`) or its folder")
    parser.add_argument("--engine", default="postgres", help="postgres, duckdb, duckdb:PATH or postgresql://...")
    parser.add_argument("--scale", default="ci", help="ci, small, medium, large, or a multiplier such as 0.5")
    parser.add_argument("--workload", help="a workload .sql file (default: the domain's workload.sql)")
    parser.add_argument("--budget-mb", type=at_least(0), required=True, help="storage for the new indexes, in MB")
    parser.add_argument("--write-weight", type=at_least(0), default=1.0, help="weight of the measured insert slowdown")
    parser.add_argument("--draws", type=at_least(1, int), default=5, help="seeded parameter draws timed per query")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the advice as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=cmd_advise)
