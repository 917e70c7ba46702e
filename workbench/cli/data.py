"""Data commands: list the sample domains, generate and load one."""

from __future__ import annotations

import argparse

from workbench.cli.generate import positive
from workbench.errors import WorkbenchError


def cmd_datasets(args: argparse.Namespace) -> int:
    from workbench.domains import datasets_root, domains

    found = domains()
    if not found:
        raise WorkbenchError(f"no sample domains under {datasets_root()}; set WORKBENCH_DATASETS to their folder")
    for found_domain in found:
        schema = found_domain.schema
        print(f"{found_domain.name:15s} {len(schema.tables):3d} tables  {len(found_domain.workload):3d} queries  "
              f"{found_domain.path}")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from workbench.cli.generate import load_dataset, load_source, source_label
    from workbench.engines import connect

    chosen = load_dataset(args)
    with load_source(chosen, args) as data, connect(args.engine) as engine:
        report = engine.load(chosen.schema, data, progress=not args.quiet, jobs=args.jobs)
        counts = engine.row_counts()
        print(f"{source_label(chosen, args, data)} into {engine!r}: "
              f"{sum(counts.values()):,} rows in {report.seconds:.1f} s")
        for table, rows in counts.items():
            print(f"  {table:40s} {rows:>12,}")
    if not args.engine.startswith("duckdb:"):
        print(f"note: {engine.name} keeps the data only while this command runs (its database or sandbox is "
              "dropped on exit); to keep it, use --engine duckdb:PATH")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    datasets = commands.add_parser("datasets", help="list the sample domains")
    datasets.set_defaults(run=cmd_datasets)

    load = commands.add_parser("load", help="generate a sample domain's data and load it into an engine")
    load.add_argument("dataset", help="a domain name (see `workbench datasets`) or its folder")
    load.add_argument("--engine", default="duckdb", help="duckdb, duckdb:PATH, postgres or postgresql://...")
    load.add_argument("--scale", default="ci", help="ci, small, medium, large, or a multiplier such as 0.5")
    load.add_argument("--seed", type=int, default=0)
    load.add_argument("--quiet", action="store_true", help="no progress bars")
    load.add_argument("--from-parquet", metavar="DIR", help="load the folder `workbench generate --out DIR` wrote")
    load.add_argument("--jobs", type=positive, default=1,
                      help="generate in K processes (into a temporary Parquet folder), then copy K tables at "
                           "once where the engine allows it (PostgreSQL)")
    load.set_defaults(run=cmd_load)
