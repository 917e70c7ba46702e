"""DDL in and out: exact PostgreSQL import (pglast), every other dialect (sqlglot), export with notes."""

from __future__ import annotations

from pathlib import Path

from workbench.ddl.report import ImportReport, ImportResult, StatementOutcome
from workbench.textfile import read_text

__all__ = ["ImportReport", "ImportResult", "StatementOutcome", "import_ddl", "normalize_dialect"]

POSTGRES_NAMES = frozenset({"postgres", "postgresql", "pg"})


def normalize_dialect(dialect: str | None) -> str:
    """The sqlglot name of a dialect, accepting common aliases; unknown names get a did-you-mean."""
    from workbench.ddl.generic import resolve_dialect

    if dialect is not None and dialect.lower() in POSTGRES_NAMES:
        return "postgres"
    return resolve_dialect(dialect or "")


def import_ddl(source: str | Path, dialect: str = "postgres", *, file: str | None = None,
               encoding: str | None = None) -> ImportResult:
    """Import DDL text, or a file given as a Path, into the schema model plus an import report.

    PostgreSQL goes through PostgreSQL's own parser (pglast) so that everything pg_dump writes
    is understood; every other dialect goes through sqlglot. A file is read as UTF-8 unless
    ``encoding`` (or a byte-order mark) says otherwise.
    """
    if isinstance(source, Path):
        file = file or str(source)
        text = read_text(source, what="DDL file", encoding=encoding)
    else:
        text = source
    dialect = normalize_dialect(dialect)
    if dialect == "postgres":
        from workbench.ddl.postgres import import_postgres

        return import_postgres(text, file=file)
    from workbench.ddl.generic import import_generic

    return import_generic(text, dialect, file=file)
