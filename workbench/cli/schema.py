"""Schema commands: inspect a DDL file, translate it, draw it."""

from __future__ import annotations

import argparse
import json
import sys

from workbench.cli.inputs import add_ddl_options, at_least, check_import, import_file, output_file, read_ddl, writing


def inspect_json(result) -> dict[str, object]:
    """The `inspect --json` document: tables with columns, keys and indexes, and skipped statements."""
    tables = []
    for table in result.schema.tables:
        tables.append({
            "schema": table.schema,
            "name": table.name,
            "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in table.columns],
            "primary_key": list(table.primary_key.columns) if table.primary_key else [],
            "foreign_keys": [
                {"columns": list(fk.columns), "ref_schema": fk.ref_schema, "ref_table": fk.ref_table,
                 "ref_columns": list(fk.ref_columns)}
                for fk in table.foreign_keys
            ],
            "unique": [list(u.columns) for u in table.uniques],
            "indexes": [
                {"name": i.name, "columns": list(i.columns), "unique": i.unique, "method": i.method}
                for i in table.indexes
            ],
        })
    return {"tables": tables, "skipped": [o.to_dict() for o in result.report.skipped]}


def cmd_inspect(args: argparse.Namespace) -> int:
    """Show the model and the report first, then fail (exit 2) if the import failed: the report says why."""
    text, result = import_file(args)
    if args.json:
        json.dump(inspect_json(result), sys.stdout, indent=2, ensure_ascii=False)
        print()
        check_import(result, text, args)
        return 0
    print(repr(result.schema))
    for table in result.schema.tables:
        pk = ", ".join(table.primary_key.columns) if table.primary_key else "no primary key"
        print(f"  {table.key}: {len(table.columns)} columns, PK ({pk}), {len(table.foreign_keys)} FKs, "
              f"{len(table.indexes)} indexes" + (f", {len(table.partitions)} partitions" if table.partitions else ""))
    print(repr(result.report))
    for outcome in result.report.skipped:
        print(f"  {outcome.where}: {outcome.kind}: {outcome.reason or outcome.status}")
    check_import(result, text, args)
    return 0


def cmd_ddl(args: argparse.Namespace) -> int:
    from workbench.ddl import normalize_dialect
    from workbench.ddl.export import to_ddl

    target = normalize_dialect(args.to)
    output = output_file(args.output) if args.output else None
    result = read_ddl(args)
    exported = to_ddl(result.schema, target)
    if output:
        with writing(output):
            output.write_text(exported.sql + "\n", encoding="utf-8")
    else:
        print(exported.sql)
    for outcome in result.report.skipped:
        print(f"note: {outcome.where}: {outcome.kind} not imported: {outcome.reason or outcome.status}",
              file=sys.stderr)
    for note in exported.notes:
        print(f"note: {note.object}: {note.construct}: {note.message}", file=sys.stderr)
    return 0


def cmd_er(args: argparse.Namespace) -> int:
    from workbench.diagram import er_diagram
    from workbench.diagram.er import output_format

    output = output_file(args.output)
    output_format(output)
    result = read_ddl(args)
    diagram = er_diagram(result.schema, focus=args.focus, depth=args.depth, layout=args.layout,
                         group_by=None if args.group_by == "none" else args.group_by)
    with writing(output):
        written = diagram.render(output)
    notes = (*diagram.fallbacks, *diagram.render_notes)
    print(f"wrote {written}" + (f" ({'; '.join(notes)})" if notes else ""))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    inspect = commands.add_parser("inspect", help="import a DDL file and show the model and import report")
    inspect.add_argument("file")
    add_ddl_options(inspect)
    inspect.add_argument("--json", action="store_true", help="print the model as JSON")
    inspect.set_defaults(run=cmd_inspect)

    ddl = commands.add_parser("ddl", help="translate a DDL file to another dialect")
    ddl.add_argument("file")
    add_ddl_options(ddl, dialect_flag="--from")
    ddl.add_argument("--to", required=True, help="target dialect (postgres, duckdb, mysql, sqlite, ...)")
    ddl.add_argument("-o", "--output", help="write the DDL here instead of standard output")
    ddl.set_defaults(run=cmd_ddl)

    er = commands.add_parser("er", help="draw the ER diagram of a DDL file")
    er.add_argument("file")
    add_ddl_options(er)
    er.add_argument("-o", "--output", required=True, help="OUT.svg, .png, .pdf, .dot, .mmd or .dbml")
    er.add_argument("--focus", help="draw only this table and its neighbours")
    er.add_argument("--depth", type=at_least(0, int), default=1, help="foreign-key hops around --focus (default 1)")
    er.add_argument("--layout", default="dot", help="graphviz layout engine (default dot)")
    er.add_argument("--group-by", default="schema", choices=["schema", "area", "none"])
    er.set_defaults(run=cmd_er)

