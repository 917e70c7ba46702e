"""The workbench from a shell: the same functions as the notebooks, one command per job.

Each module here registers its commands on the parser (``register(commands)``); a command returns
the process exit code, and a WorkbenchError becomes ``error: ...`` on standard error with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from workbench.errors import WorkbenchError

MODULES = ("schema", "data", "lint", "study", "advise", "cache")  # workbench.cli.<module>, in `workbench --help` order


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for module in MODULES:
        importlib.import_module(f"workbench.cli.{module}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except WorkbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
