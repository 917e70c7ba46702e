"""Lint command: design lint of a DDL file or a domain folder, and query lint of its workload.

Exit codes: 0 when no finding reaches ``--fail-on`` (default ``error``), 1 when one does, 2 when the
input cannot be read (any WorkbenchError).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.schema.model import Schema
from workbench.workload import Workload

FAIL_ON = ("error", "warning", "info", "never")


def read_workload(path: str | Path, schema: Schema, dialect: str = "postgres") -> Workload:
    """A workload file (``-- name:`` headers), or a folder of ``.sql`` files with one query each
    (named by file name, e.g. TPC-H's ``q01.sql``; findings then name the query, not a line)."""
    path = Path(path)
    if path.is_dir():
        return Workload.from_folder(path, dialect=dialect, schema=schema)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such workload file or folder")
    return Workload.from_file(path, dialect=dialect, schema=schema)


def cmd_lint(args: argparse.Namespace) -> int:
    from workbench.advisor import lint
    from workbench.ddl import import_ddl, normalize_dialect
    from workbench.domains import domain, parse_scale
    from workbench.engines import connect

    source = Path(args.file)
    chosen = domain(source) if source.is_dir() else None
    if chosen is None and not source.is_file():
        raise WorkbenchError(f"{args.file}: no such file or folder; give a DDL file or a domain folder")
    if chosen is None and args.engine:
        raise WorkbenchError("--engine loads a domain's generated data: give a domain folder (schema.sql, "
                             "workload.sql, data.toml), not a DDL file")
    imported = chosen.imported if chosen else import_ddl(source, normalize_dialect(args.dialect))
    workload = None
    if args.workload:
        workload = read_workload(args.workload, imported.schema, args.workload_dialect)
    elif chosen is not None:
        workload = chosen.workload
    options = {"workload": workload, "disable": args.disable, "tenant_column": args.tenant_column}
    if args.engine:
        with connect(args.engine) as engine:
            chosen.load(engine, parse_scale(args.scale), progress=not args.json)
            findings = lint(imported, engine=engine, **options)
    else:
        findings = lint(imported, **options)
    print(findings.to_json() if args.json else str(findings))
    if args.fail_on == "never":
        return 0
    worst = FAIL_ON[:FAIL_ON.index(args.fail_on) + 1]
    return 1 if any(f.severity in worst for f in findings) else 0


def register(commands: argparse._SubParsersAction) -> None:
    lint = commands.add_parser("lint", help="design lint of a schema (and query lint of a workload)",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    lint.add_argument("file", help="a DDL file, or a domain folder (its workload.sql is linted too)")
    lint.add_argument("--workload", help="a workload file, or a folder of one-query .sql files")
    lint.add_argument("--json", action="store_true", help="print the findings (and notes) as JSON")
    lint.add_argument("--dialect", default="postgres", help="dialect of the DDL file (default postgres)")
    lint.add_argument("--workload-dialect", default="postgres", help="dialect of the workload (default postgres)")
    lint.add_argument("--disable", action="append", default=[], metavar="RULE",
                      help="a rule code or name to skip (repeatable), e.g. WB112 or naming-convention")
    lint.add_argument("--tenant-column", help="multi-tenant mode: the column that scopes rows to a tenant")
    lint.add_argument("--engine", help="load the domain's generated data here (duckdb, postgres) for data rules "
                                       "(and, on postgres, plan-based unused-index checks)")
    lint.add_argument("--scale", default="ci", help="data scale with --engine (default ci)")
    lint.add_argument("--fail-on", default="error", choices=FAIL_ON,
                      help="exit 1 when a finding is at least this severe (default error)")
    lint.set_defaults(run=cmd_lint)

