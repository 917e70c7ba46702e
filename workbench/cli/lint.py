"""Lint command: design lint of a DDL file or a domain folder, and query lint of its workload.

Exit codes: 0 when no finding reaches ``--fail-on`` (default ``error``), 1 when one does, 2 when the
input cannot be read (any WorkbenchError).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.cli.inputs import add_ddl_options, read_ddl, read_workload
from workbench.errors import WorkbenchError, did_you_mean

FAIL_ON = ("error", "warning", "info", "never")


def cmd_lint(args: argparse.Namespace) -> int:
    from workbench.advisor import lint
    from workbench.domains import domain, parse_scale
    from workbench.engines import connect

    source = Path(args.file)
    chosen = domain(source) if source.is_dir() else None
    if chosen is None and args.engine:
        raise WorkbenchError("--engine loads a domain's generated data: give a domain folder (schema.sql, "
                             "workload.sql, data.toml), not a DDL file")
    imported = chosen.imported if chosen else read_ddl(args)
    columns = {c.name for t in imported.schema.tables for c in t.columns}
    if args.tenant_column and args.tenant_column not in columns:
        raise WorkbenchError(f"--tenant-column {args.tenant_column!r}: no table of {args.file} has this column"
                             f"{did_you_mean(args.tenant_column, columns)}")
    workload = None
    if args.workload:
        workload = read_workload(args.workload, imported.schema, args.workload_dialect, encoding=args.encoding)
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
    add_ddl_options(lint)
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

