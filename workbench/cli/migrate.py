"""Schema evolution commands: ``diff`` two designs, ``migrate`` from one to the other.

OLD and NEW are DDL files (``--from`` names their dialect), DBML files (``.dbml``), or PostgreSQL URLs
(or ``key=value`` conninfo) read from the live catalog over a read-only connection. Exit codes: 0 done,
1 ``--verify`` found differences, 2 bad input or a plan that cannot reach NEW (never a partial script
that looks complete).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workbench.cli.inputs import add_ddl_options, read_ddl
from workbench.engines.connect import target_kind
from workbench.errors import WorkbenchError


def load(source: str, args: argparse.Namespace, dialect: str):
    """A model source: an ImportResult of a DDL file (checked as every command checks DDL), a DBML model, or a
    live PostgreSQL catalog (a URL or a ``key=value`` conninfo)."""
    path = Path(source)
    if not path.is_file() and target_kind(source) == "url":
        return _catalog(source)
    if not path.is_file():
        raise WorkbenchError(f"{source}: no such file; give a DDL file, a .dbml file or a postgresql:// URL")
    if path.suffix.lower() == ".dbml":
        from workbench.schema.dbml import from_dbml
        from workbench.textfile import read_text

        return from_dbml(read_text(path, what="DBML file", encoding=args.encoding), file=str(path))
    return read_ddl(argparse.Namespace(**{**vars(args), "file": source, "dialect": dialect}))


def _catalog(url: str):
    import psycopg

    from workbench.engines.conninfo import ConnInfo
    from workbench.engines.introspect import schema_from_catalog

    address = ConnInfo.parse(url)  # refuses a URL libpq would misread, showing none of it
    try:
        return schema_from_catalog(url)
    except psycopg.Error as error:
        raise WorkbenchError(f"cannot read the catalog at {address.label}: {address.scrub(str(error)).strip()}\n"
                             f"fix: check that the server runs and the URL (user, password, database) is "
                             f"right; the workbench only reads it") from error


def _sources(args: argparse.Namespace):
    return load(args.old, args, args.dialect), load(args.new, args, args.new_source or args.dialect)


def _hints(pairs: list[str]) -> dict[str, str | None]:
    hints: dict[str, str | None] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old:
            raise WorkbenchError(f"--rename {pair!r}: write OLD=NEW (e.g. orders.total=orders.amount), or OLD= to "
                                 f"refuse a guessed rename")
        hints[old] = new or None
    return hints


def cmd_diff(args: argparse.Namespace) -> int:
    from workbench.migrate import diff

    old, new = _sources(args)
    found = diff(old, new, renames=_hints(args.rename))
    if args.json:
        print(found.to_json())
        return 0
    print(repr(found))
    for change in found.changes:
        print(f"  {change.kind}: {change.object}" + (f" ({change.detail})" if change.detail else ""))
    for rename in found.renames:
        state = "applied" if rename.applied else "NOT applied"
        print(f"  rename {rename.kind} {rename.old} -> {rename.new}: {rename.confidence:.0%}, {state} "
              f"({rename.reason})")
    for note in found.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from workbench.migrate import plan_migration

    if (args.verify or args.measure) and not args.engine:
        raise WorkbenchError("--verify and --measure run on PostgreSQL: give --engine postgres (embedded) or "
                             "--engine postgresql://... (a sandbox on your server)")
    old, new = _sources(args)
    migration = plan_migration(old, new, args.target, safe=args.safe, renames=_hints(args.rename))
    up, down = migration.up_sql(), migration.down_sql()  # an incomplete plan raises: exit 2, nothing written
    if args.output:
        Path(args.output).write_text(up, encoding="utf-8")
    if args.down:
        Path(args.down).write_text(down, encoding="utf-8")
    document = migration.to_dict()
    code = 0
    if args.verify or args.measure:
        from workbench.domains import domain, parse_scale
        from workbench.engines import connect

        folder = Path(args.old).parent
        source = domain(folder) if all((folder / f).is_file() for f in ("schema.sql", "data.toml",
                                                                         "workload.sql")) else None
        scale = parse_scale(args.scale) if args.scale != "none" else None
        with connect(args.engine) as engine:
            if args.verify:
                verification = migration.verify(engine, source if scale is not None else None, scale=scale,
                                                progress=not args.json)
                document["verify"] = verification.to_dict()
                code = 0 if verification.ok else 1
                if not args.json:
                    print(repr(verification), file=sys.stderr)
                    for line in verification.all_differences:
                        print(f"  {line}", file=sys.stderr)
            if args.measure:
                measurement = migration.measure(engine, source, scale=scale or "ci", progress=not args.json)
                document["measure"] = json.loads(measurement.frame.to_json(orient="records"))
                if not args.json:
                    print(repr(measurement), file=sys.stderr)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False, default=str))
    elif not args.output:
        print(up, end="")
    for note in migration.notes:
        print(f"note: {note}", file=sys.stderr)
    return code


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", help="the schema now: DDL file, .dbml file or postgresql:// URL (read only)")
    parser.add_argument("new", help="the schema wanted: DDL file, .dbml file or postgresql:// URL (read only)")
    add_ddl_options(parser, dialect_flag="--from")
    parser.add_argument("--new-from", dest="new_source", help="dialect of NEW when it differs from --from")
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                        help="confirm a rename (orders.total=orders.amount, or a table a=b); OLD= refuses a guess")
    parser.add_argument("--json", action="store_true", help="print a JSON document")


def register(commands: argparse._SubParsersAction) -> None:
    diff = commands.add_parser("diff", help="list the changes between two schemas (renames detected)",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(diff)
    diff.set_defaults(run=cmd_diff)

    migrate = commands.add_parser("migrate", help="plan the up and down migration between two schemas",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(migrate)
    migrate.add_argument("--dialect", dest="target", default="postgres",
                         help="dialect of the scripts (default postgres)")
    migrate.add_argument("--safe", action="store_true", help="production-safe forms (concurrent indexes, NOT VALID "
                                                              "+ VALIDATE, batched backfills, lock_timeout)")
    migrate.add_argument("-o", "--output", help="write the up script here (psql -f UP.sql on OLD gives NEW)")
    migrate.add_argument("--down", help="write the down script here")
    migrate.add_argument("--verify", action="store_true",
                         help="run up and down on databases the workbench creates and compare catalogs and rows "
                              "(exit 1 on a difference)")
    migrate.add_argument("--measure", action="store_true", help="run the plan under a concurrent workload and record "
                                                                 "locks, rewrites and waits per statement")
    migrate.add_argument("--engine", help="postgres (embedded) or a postgresql:// URL, for --verify and --measure")
    migrate.add_argument("--scale", default="none", help="rows for --verify (default none: schema only) and "
                                                          "--measure (default ci); from OLD's domain folder when "
                                                          "it is one (schema.sql beside data.toml and workload.sql)")
    migrate.set_defaults(run=cmd_migrate)
