"""What the workbench created on a PostgreSQL server: list its sandboxes and kept loads, drop stale ones.

Only schemas and databases carrying the workbench's marker are listed or dropped (see
``workbench/engines/markers.py``); a sandbox whose process still runs is never dropped.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    import pandas as pd

TARGETS = "postgresql://... (your server) or postgres[:DIR] (the embedded one)"
COMMAND_WIDTH = 60


def cmd_sandboxes(args: argparse.Namespace) -> int:
    from workbench.engines import markers
    from workbench.engines.connect import server_of

    server = server_of(args.engine)
    max_age = timedelta(hours=args.max_age_hours)
    with server.connect() as connection:
        found = markers.sandboxes(connection)
        print(f"{len(found)} schema(s) or database(s) created by the workbench on {server.where()}")
        if found:
            print(_shown(markers.table(found, max_age)).to_string(index=False))
        stale = [s for s in found if s.state(max_age) == "stale"]
        if not args.drop_stale:
            if stale:
                print(f"{len(stale)} stale (their process ended, or older than {args.max_age_hours:g} h on another "
                      f"host): drop them with --drop-stale")
            return 0
        for sandbox in stale:
            markers.drop(connection, sandbox)
            print(f"dropped {sandbox.kind} {sandbox.name}{_size(sandbox.bytes)}")
        print(f"dropped {len(stale)} stale sandbox(es); running and kept ones stay")
    return 0


def cmd_drop(args: argparse.Namespace) -> int:
    from workbench.engines import markers
    from workbench.engines.connect import server_of

    server = server_of(args.engine)
    with server.connect() as connection:
        sandbox = markers.find(connection, args.name)
        if sandbox.state() == "running":
            raise WorkbenchError(f"{sandbox.kind} {sandbox.name} is in use by process {sandbox.mark.pid} on "
                                 f"{sandbox.mark.hostname} ({sandbox.mark.command!r}); fix: let it finish or stop it "
                                 f"(it drops its sandbox when it ends)")
        markers.drop(connection, sandbox)
    parts = f" and {', '.join(sandbox.parts)}" if sandbox.parts else ""
    print(f"dropped {sandbox.kind} {sandbox.name}{parts}{_size(sandbox.bytes)} on {server.where()}")
    return 0


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table for a terminal: sizes in MB, long commands cut (the whole command is in the marker)."""
    return table.assign(bytes=[_megabytes(size) for size in table["bytes"]],
                        command=[c if len(c) <= COMMAND_WIDTH else c[:COMMAND_WIDTH - 1] + "…"
                                 for c in table["command"]]).rename(columns={"bytes": "size"})


def _megabytes(size: int | None) -> str:
    return "" if size is None else f"{size / 1024 ** 2:,.1f} MB"


def _size(size: int | None) -> str:
    return "" if size is None else f" ({_megabytes(size)})"


def register(commands: argparse._SubParsersAction) -> None:
    sandboxes = commands.add_parser("sandboxes", help="list the schemas and databases the workbench created on a "
                                                      "server (sandboxes, kept loads); drop stale ones",
                                    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sandboxes.add_argument("--engine", required=True, help=TARGETS)
    sandboxes.add_argument("--drop-stale", action="store_true",
                           help="drop the stale ones (their process ended, or too old on another host)")
    sandboxes.add_argument("--max-age-hours", type=float, default=24.0,
                           help="a sandbox made on another host is stale after this many hours (default 24)")
    sandboxes.set_defaults(run=cmd_sandboxes)

    drop = commands.add_parser("drop", help="drop a schema or database the workbench created (e.g. a kept load)",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    drop.add_argument("name", help="the schema (on your server) or database (embedded server) to drop")
    drop.add_argument("--engine", required=True, help=TARGETS)
    drop.set_defaults(run=cmd_drop)
