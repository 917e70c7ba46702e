"""Data commands: list the sample domains, generate and load one."""

from __future__ import annotations

import argparse
import getpass
from typing import TYPE_CHECKING

from workbench.cli.generate import positive
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.engines.postgres import PostgresEngine


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
    kind = _place(args.engine, args.schema)
    name = args.schema or chosen.name
    options = {"schema": name} if kind == "schema" else {"database": name} if kind == "database" else {}
    with load_source(chosen, args) as data, connect(args.engine, **options) as engine:
        report = engine.load(chosen.schema, data, progress=not args.quiet, jobs=args.jobs)
        counts = engine.row_counts()
        print(f"{source_label(chosen, args, data)} into {engine!r}: "
              f"{sum(counts.values()):,} rows in {report.seconds:.1f} s")
        for table, rows in counts.items():
            print(f"  {table:40s} {rows:>12,}")
        for note in report.notes:
            print(f"  note: {note.object}: {note.message}")
        if kind:
            engine.keep()  # only a complete load is kept: a failure or a signal before this drops it
            print(_kept(engine, kind, name, args.engine))
    if kind is None and not args.engine.startswith("duckdb:"):
        print(f"note: {engine.name} keeps the data only while this command runs (its database is dropped on exit); "
              f"to keep it, use --engine duckdb:PATH, --engine postgres:DIR or --schema NAME")
    return 0


def _place(engine: str, schema: str | None) -> str | None:
    """Where a kept load goes: a ``schema`` (your server), a ``database`` (embedded server), or None (not kept)."""
    from workbench.engines.connect import target_kind

    kind = target_kind(engine)
    if kind == "url":
        return "schema"
    if kind == "embedded" and (schema or ":" in engine):
        return "database"
    if schema:
        raise WorkbenchError(f"--schema names where a load stays on PostgreSQL; {engine} keeps nothing by that "
                             f"name (use --engine duckdb:PATH to keep a DuckDB file)")
    return None


def _kept(engine: PostgresEngine, kind: str, name: str, target: str) -> str:
    """How to query and remove a kept load (never the password: the server is shown by its label)."""
    server = engine.server
    if kind == "schema":
        schemas = ", ".join(engine.schemas)
        query = server.address.replace(options=f"-c search_path={schemas.replace(' ', '')}").label
        return (f"kept: schema {schemas} on {server.where()}\n"
                f"  query it:  psql \"{query}\"   (or SET search_path TO {schemas}; in any session)\n"
                f"  remove it: workbench drop {name} --engine URL   (the same URL as this --engine)")
    psql = server.bin_dir / "psql"
    stop = f"{server.bin_dir / 'pg_ctl'} -D {server.data_directory} stop"
    owner = server.data_directory.owner()
    if owner != getpass.getuser():
        stop = f"runuser -u {owner} -- {stop}"
    return (f"kept: database {name} on the embedded PostgreSQL server in {server.data_directory}, which keeps "
            f"running\n  query it:  {psql} \"{server.where(name)}\"\n"
            f"  remove it: workbench drop {name} --engine {target}\n"
            f"  stop the server: {stop}   (any workbench command on --engine {target} starts it again)")


def register(commands: argparse._SubParsersAction) -> None:
    datasets = commands.add_parser("datasets", help="list the sample domains")
    datasets.set_defaults(run=cmd_datasets)

    load = commands.add_parser("load", help="generate a sample domain's data and load it into an engine")
    load.add_argument("dataset", help="a domain name (see `workbench datasets`) or its folder")
    load.add_argument("--engine", default="duckdb",
                      help="duckdb, duckdb:PATH, postgres, postgres:DIR (an embedded server in DIR: the data is kept "
                           "in a database named by --schema) or postgresql://... (kept in schema --schema)")
    load.add_argument("--schema", help="where the data stays: a schema on your server, a database on the embedded "
                                       "one (default: the dataset's name); refused when it exists and the "
                                       "workbench did not create it")
    load.add_argument("--scale", default="ci", help="ci, small, medium, large, or a multiplier such as 0.5")
    load.add_argument("--seed", type=int, default=0)
    load.add_argument("--quiet", action="store_true", help="no progress bars")
    load.add_argument("--from-parquet", metavar="DIR", help="load the folder `workbench generate --out DIR` wrote")
    load.add_argument("--jobs", type=positive,
                      help="generate in K processes (into a temporary Parquet folder), then copy K tables and build "
                           "their keys and indexes at once where the engine allows it (PostgreSQL); 1: serially, "
                           "the keys and indexes in one transaction; default: generate in this process while "
                           "copying and building on one connection per core")
    load.set_defaults(run=cmd_load)
