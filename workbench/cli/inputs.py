"""The user's files, as every command reads and writes them: DDL with its import check, and output paths.

An import that could not read its file must not look like success: every command that reads DDL says how
many statements it could not import, fails (exit 2) when it imported nothing or when the failed share
passes ``--max-errors``, and names the dialect that would read the file when another one does better.
Output paths are checked before any work, so a long import or layout is not lost to a missing folder.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workbench.ddl import ImportResult, import_ddl, normalize_dialect
from workbench.errors import WorkbenchError
from workbench.schema.model import Schema
from workbench.textfile import read_text
from workbench.workload import Workload


@dataclass(frozen=True)
class ErrorBudget:
    """How many statements may fail before an import counts as failed: a count (``10``) or a share (``5%``)."""

    limit: float
    share: bool

    @classmethod
    def parse(cls, text: str) -> ErrorBudget:
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
        if found is None or (found.group(2) and float(found.group(1)) > 100):
            raise argparse.ArgumentTypeError(f"{text!r} is not a count or a percentage; give e.g. 10 or 5%")
        return cls(float(found.group(1)), bool(found.group(2)))

    def exceeded(self, errors: int, total: int) -> bool:
        return errors > (self.limit / 100 * total if self.share else self.limit)

    def __str__(self) -> str:
        return f"{self.limit:g}{'%' if self.share else ''}"


def at_least(minimum: float, kind: type[int] | type[float] = float) -> Callable[[str], float]:
    """An argparse type: a finite number of ``kind`` no smaller than ``minimum`` (a usage error otherwise)."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if not math.isfinite(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be a number of at least {minimum:g}")
        return value

    parse.__name__ = "whole number" if kind is int else "number"  # what argparse names in its messages
    return parse


def add_ddl_options(parser: argparse.ArgumentParser, *, dialect_flag: str = "--dialect") -> None:
    """The options of every command that reads a DDL file: its dialect, encoding and error budget."""
    parser.add_argument(dialect_flag, dest="dialect", default="postgres",
                        help="dialect of the DDL file (default postgres): postgres, mysql, sqlite, tsql, oracle, ...")
    parser.add_argument("--encoding", help="encoding of the file (default utf-8, or what its byte-order mark says)")
    parser.add_argument("--max-errors", type=ErrorBudget.parse, default=ErrorBudget(50, share=True), metavar="N|P%",
                        help="fail (exit 2) when more statements than this could not be imported (default 50%%; "
                             "it always fails when nothing was imported)")
    parser.set_defaults(dialect_flag=dialect_flag)


def import_file(args: argparse.Namespace) -> tuple[str, ImportResult]:
    """The text of ``args.file`` and its import, with the options of :func:`add_ddl_options` (not checked)."""
    dialect = normalize_dialect(args.dialect)
    text = read_text(args.file, what="DDL file", encoding=args.encoding)
    return text, import_ddl(text, dialect, file=args.file)


def read_ddl(args: argparse.Namespace) -> ImportResult:
    """The import of ``args.file``, which :func:`check_import` found good enough to work on."""
    text, result = import_file(args)
    check_import(result, text, args)
    return result


def check_import(result: ImportResult, text: str, args: argparse.Namespace) -> None:
    """Raise when the import failed (nothing imported, or too many errors); else note any errors on stderr."""
    report, schema = result.report, result.schema
    file, flag = args.file, args.dialect_flag
    errors, total = len(report.errors), len(report.outcomes)
    if not text.strip() or not total:
        raise WorkbenchError(f"{file}: the file holds no SQL statements; give a DDL file (CREATE TABLE ...)")
    nothing = not (schema.tables or schema.views or schema.enums or schema.sequences)
    if nothing and not errors:
        kinds = ", ".join(sorted({o.kind for o in report.outcomes})[:5])
        raise WorkbenchError(f"{file}: nothing to import: none of its {total} statements declares a table or view "
                             f"({kinds}); give the schema (e.g. pg_dump --schema-only)")
    failed = nothing or args.max_errors.exceeded(errors, total)
    if not errors:
        return
    first = report.errors[0]
    summary = (f"{file}: {errors} of {total} statements could not be imported as {report.dialect or 'generic SQL'}"
               f" (the first at line {first.line}: {first.reason})")
    from workbench.ddl.guess import better_dialect

    better = better_dialect(text, report.dialect) if failed or errors * 10 >= total else None
    hint = f"; the file reads better as {better.dialect} ({better}): add {flag} {better.dialect}" if better else ""
    if nothing:
        raise WorkbenchError(f"{summary}: nothing was imported{hint or f'; check {flag}'}")
    if failed:
        raise WorkbenchError(f"{summary}, more than --max-errors {args.max_errors}{hint}; see them all with "
                             f"`workbench inspect {file}`, or raise --max-errors")
    print(f"note: {summary}{hint}; see them all with `workbench inspect {file}`", file=sys.stderr)


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn a failed write (a full disk, a device, no permission) into an error that names ``path``."""
    try:
        yield
    except OSError as error:
        raise WorkbenchError(f"{path}: cannot write it: {error.strerror or error}; check the disk space and "
                             f"permissions, or write somewhere else") from None


def output_file(path: str | Path) -> Path:
    """``path`` if a file can be written there: its folder exists and it is not a folder itself."""
    path = Path(path)
    if path.is_dir():
        raise WorkbenchError(f"{path}: this is a folder; give the path of a file to write (in it, or elsewhere)")
    if not path.parent.is_dir():
        raise WorkbenchError(f"{path}: the folder {path.parent} does not exist; create it first "
                             f"(mkdir -p {path.parent}) or write somewhere else")
    return path


def read_workload(path: str | Path, schema: Schema, dialect: str = "postgres", *,
                  encoding: str | None = None) -> Workload:
    """A workload file (``-- name:`` headers), or a folder of ``.sql`` files with one query each
    (named by file name, e.g. TPC-H's ``q01.sql``; findings then name the query, not a line).
    A workload with no query that could be read is an error, not an empty success."""
    path = Path(path)
    if path.is_dir():
        workload = Workload.from_folder(path, dialect=dialect, schema=schema, encoding=encoding)
    else:
        workload = Workload.from_file(path, dialect=dialect, schema=schema, encoding=encoding)
    if not workload.queries:
        why = f"; the first problem: {workload.problems[0]}" if workload.problems else \
            " (each query follows a `-- name: NAME` line)"
        raise WorkbenchError(f"{path}: no query in this workload could be read{why}")
    return workload
