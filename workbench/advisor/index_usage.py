"""Which indexes a workload uses: from PostgreSQL's plans when loaded there, else from the SQL itself.

On PostgreSQL each query is bound with one seeded draw of its parameters and explained (without
running it); an index no plan names is unused. Without such an engine (no engine, or DuckDB, whose
plain EXPLAIN never names an index) an index is unused when no query filters, joins, groups or
sorts on its leading column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from workbench.advisor.resolve import own_columns
from workbench.advisor.rules import Context, Flag, rule
from workbench.advisor.schema_rules import drop_fix, element_tree, keys, sole_foreign_key_support
from workbench.engines import Engine
from workbench.errors import WorkbenchError
from workbench.plans import explain
from workbench.schema.model import Index, Table


@rule("WB111 unused-index", "info", needs="workload")
def unused_index(ctx: Context) -> Iterator[Flag]:
    """An index no workload query uses: it costs space and every write, and buys nothing for this
    workload. Indexes that enforce uniqueness or alone support a foreign key are kept out.

    >>> from workbench.ddl import import_ddl
    >>> from workbench.workload import Workload
    >>> schema = import_ddl("CREATE TABLE p (id int PRIMARY KEY, name text); CREATE INDEX p_name ON p (name);").schema
    >>> ctx = Context(schema, workload=Workload.from_text("SELECT name FROM p WHERE id = 1;"))
    >>> [f.fix[0].sql("postgres") for f in unused_index.check(ctx)]
    ['DROP INDEX public.p_name']
    """
    planned = ctx.engine is not None and ctx.engine.dialect == "postgres"
    used = _planned_indexes(ctx) if planned else set()
    if used is None:
        return
    touched = set() if planned else _touched_columns(ctx)
    rows = ctx.engine.row_counts() if planned else {}
    for table in ctx.schema.tables:
        paths = keys(table)
        for key in paths:
            if key.unique or key.constraint or key.index is None:
                continue
            if sole_foreign_key_support(key, paths, table):
                continue
            if planned:
                name = _physical_name(ctx, table, key.index)
                if name is None or name in used:
                    continue
                basis = (f"no plan of the {len(ctx.workload)} workload queries on {ctx.engine.name} reads it "
                         f"(at {rows.get(table.key, 0):,} rows in the table; plans change with data size)")
            else:
                leading = {c.name for e in key.elements[:1] if (tree := element_tree(e, ctx.dialect)) is not None
                           for c in tree.find_all(exp.Column)}  # an unreadable expression counts as used
                if not leading or any((table.key, c) in touched for c in leading):
                    continue
                basis = f"no workload query filters, joins, groups or sorts on {', '.join(sorted(leading))}"
            yield Flag(f"{table.key} {key.label}", basis, drop_fix(ctx, table, key), key.index)


def _touched_columns(ctx: Context) -> set[tuple[str, str]]:
    """``(table key, column)`` pairs some query filters, joins, groups or sorts on."""
    touched = set()
    for resolved in ctx.queries:
        clauses = [*resolved.filters(), *resolved.orderings()]
        for node, scope in clauses:
            for column in own_columns(node) if scope is not None else node.find_all(exp.Column):
                table = resolved.column_table(column, scope)
                if table is not None:
                    touched.add((table.key, column.name))
    return touched


def _planned_indexes(ctx: Context) -> set[str] | None:
    """Names of the indexes PostgreSQL's plans of the workload read (one seeded draw per query);
    None (and a note) when no parameters can be drawn from the loaded data."""
    try:
        draws = ctx.workload.draws(ctx.engine, 1, seed=0)
    except WorkbenchError as error:
        ctx.notes.append(f"WB111: not run, the workload's parameters could not be drawn: {error}")
        return None
    used: set[str] = set()
    for query in ctx.workload:
        try:
            used |= planned_indexes(ctx.engine, [query.bind(draws[query.name][0], ctx.engine.dialect)])
        except WorkbenchError as error:
            ctx.notes.append(f"WB111: query {query.name!r} could not be explained ({str(error).splitlines()[0]}); "
                             "indexes only it uses may be reported unused")
    return used


def planned_indexes(engine: Engine, statements: Iterable[str]) -> set[str]:
    """Physical names of the indexes the engine's plans of ``statements`` read (explained, not run)."""
    return {name for sql in statements for name in explain(engine, sql, analyze=False).indexes_used}


def _physical_name(ctx: Context, table: Table, index: Index) -> str | None:
    """The index's name as the engine built it (generated when the model has none)."""
    try:
        return ctx.engine.index_name(ctx.schema, table.key, index)
    except WorkbenchError as error:
        ctx.notes.append(f"WB111: {table.key} index {index.name}: {error}")
        return None
