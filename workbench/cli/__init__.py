"""The workbench from a shell: the same functions as the notebooks, one command per job.

Each module here registers its commands on the parser (``register(commands)``); a command returns
the process exit code. Whatever goes wrong ends in one line on standard error, never a traceback:
bad input (a WorkbenchError, a usage error, a file the system cannot read or write) exits 2, Ctrl-C
exits 130, a closed output pipe (``| head``) ends quietly with 141, and a bug in the workbench
itself exits 70 with the place it happened (``WORKBENCH_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from workbench.cli.signals import exit_on_termination
from workbench.errors import WorkbenchError

# workbench.cli.<module>, in `workbench --help` order
MODULES = ("schema", "data", "lint", "study", "advise", "migrate", "sandboxes", "generate", "secure", "cache")
BAD_INPUT, INTERNAL, BROKEN_PIPE, INTERRUPTED = 2, 70, 141, 130


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line that says where the help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(BAD_INPUT, f"error: {self.prog}: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="workbench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for module in MODULES:
        importlib.import_module(f"workbench.cli.{module}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every way it can end is a return code and at most one line on standard error."""
    exit_on_termination()  # SIGTERM cleans up like a normal exit (workbench/cli/signals.py)
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except WorkbenchError as error:
        return _fail(BAD_INPUT, str(error))
    except KeyboardInterrupt as stop:  # a command may say what was kept (raise KeyboardInterrupt("..."))
        return _fail(INTERRUPTED, f"interrupted (Ctrl-C){f'; {stop}' if str(stop) else ''}")
    except BrokenPipeError:  # the reader of our output went away (`| head`): stop quietly
        _silence_stdout()
        return BROKEN_PIPE
    except OSError as error:  # a file the system refused to read or write, a full disk...
        where = f"{error.filename}: " if error.filename else ""
        return _fail(BAD_INPUT, f"{where}{error.strerror or error}; check the path, its permissions and free space")
    except RecursionError:
        return _fail(BAD_INPUT, "the input is nested too deeply to process; simplify the deepest expression")
    except MemoryError:
        return _fail(BAD_INPUT, "out of memory; try a smaller --scale, or draw or import less at once")
    except Exception as error:  # a bug: one line that says where, the traceback on request
        if os.environ.get("WORKBENCH_DEBUG"):
            traceback.print_exc()
        frame = traceback.extract_tb(error.__traceback__)[-1]
        return _fail(INTERNAL, f"internal error {type(error).__name__}: {error} (at {Path(frame.filename).name}:"
                               f"{frame.lineno}); this is a bug in the workbench, please report it with the command "
                               f"(WORKBENCH_DEBUG=1 shows the traceback)")


def _fail(code: int, message: str) -> int:
    """Print ``message`` as one line on standard error and return ``code``."""
    line = "; ".join(" ".join(part.split()) for part in message.splitlines() if part.strip())
    with contextlib.suppress(OSError, ValueError):  # standard error closed too: nothing left to tell
        print(f"error: {line}", file=sys.stderr)
    return code


def _silence_stdout() -> None:
    """Point standard output at /dev/null so that Python's final flush does not raise again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # not a real file (e.g. captured in tests)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
