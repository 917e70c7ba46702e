"""DuckDB checks the DDL written for it: what it refuses in a table is left out with a note, the table is kept.

Mapping functions and constructs by hand cannot keep up with two catalogs (a CHECK calling ``jsonb_typeof``,
``x = ANY(array)`` that DuckDB reads as a subquery), so the export runs, statement by statement, in a scratch
in-memory DuckDB. A CREATE TABLE it refuses is tried without each CHECK, DEFAULT and generated expression in
turn; the ones DuckDB refuses on their own are left out, each with DuckDB's reason, so every table is created.
Schemas, types and sequences are run only so that later tables find them; indexes and views are not run
here (no table refers to them): a view DuckDB refuses fails alone when the export is run.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from workbench.ddl.export.context import Context

_OPTIONAL = (exp.CheckColumnConstraint, exp.DefaultColumnConstraint, exp.ComputedColumnConstraint)
_NEEDED_LATER = {"SCHEMA", "TYPE", "SEQUENCE", "TABLE"}  # what later tables may refer to; indexes and views: never
_LABELS = {exp.CheckColumnConstraint: "check", exp.DefaultColumnConstraint: "default",
           exp.ComputedColumnConstraint: "generated column"}


def verified(ctx: Context, statements: list[tuple[exp.Expression, str]],
             render: Callable[[exp.Expression], str]) -> list[tuple[exp.Expression, str]]:
    """``statements`` (each with its SQL) with what DuckDB refuses in their tables left out and noted;
    ``render`` writes the SQL of a table that had to be trimmed."""
    kept = []
    with duckdb.connect() as scratch:
        for statement, sql in statements:
            kind = str(statement.args.get("kind")).upper() if isinstance(statement, exp.Create) else None
            if kind in _NEEDED_LATER and _failure(scratch, sql, keep=True) and kind == "TABLE":
                trimmed = _trimmed(ctx, scratch, statement)
                if trimmed is not statement:
                    statement, sql = trimmed, render(trimmed)
                    _failure(scratch, sql, keep=True)
            kept.append((statement, sql))
    return kept


def _trimmed(ctx: Context, scratch: duckdb.DuckDBPyConnection, create: exp.Create) -> exp.Create:
    """``create`` without the parts DuckDB refuses on their own; ``create`` itself when that does not help."""
    parts = _optional_parts(create)
    if not parts or _failure(scratch, _sql(_without(create, range(len(parts))))):
        return create  # the table fails for another reason: left for the export's user to see
    refused = {}
    for position in range(len(parts)):
        error = _failure(scratch, _sql(_without(create, [p for p in range(len(parts)) if p != position])))
        if error:
            refused[position] = error
    for position, error in refused.items():
        part = parts[position]
        column = part.find_ancestor(exp.ColumnDef)
        named = part.find_ancestor(exp.Constraint)
        where = column.name if column is not None else named.name if named is not None else part.sql("duckdb")
        ctx.note(f"{create.this.this.sql('duckdb')}.{where}", _LABELS[type(part)],
                 f"DuckDB refuses {part.sql('duckdb')[:200]} ({error}); left out")
    return _without(create, refused)


def _optional_parts(create: exp.Create) -> list[exp.Expression]:
    return list(create.find_all(*_OPTIONAL))


def _without(create: exp.Create, positions: object) -> exp.Create:
    """A copy of ``create`` without the optional parts at ``positions`` (and constraints left empty)."""
    trimmed = create.copy()
    parts = _optional_parts(trimmed)
    for position in sorted(positions, reverse=True):  # type: ignore[call-overload]
        part = parts[position]
        holder = part.parent if isinstance(part.parent, exp.ColumnConstraint | exp.Constraint) else None
        part.pop()
        if holder is not None and (isinstance(holder, exp.ColumnConstraint) or not holder.expressions):
            holder.pop()
    return trimmed


def _failure(scratch: duckdb.DuckDBPyConnection, sql: str, *, keep: bool = False) -> str | None:
    """DuckDB's reason for refusing ``sql`` (its first line), or None; only with ``keep`` does a success stay."""
    if not keep:
        scratch.begin()
    try:
        scratch.execute(sql)
    except duckdb.Error as error:
        return str(error).splitlines()[0]
    finally:
        if not keep:
            scratch.rollback()
    return None


def _sql(statement: exp.Expression) -> str:
    return statement.sql(dialect="duckdb", unsupported_level=ErrorLevel.IGNORE)
