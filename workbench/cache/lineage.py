"""Which cached reads a write makes stale, read from the SQL of both.

For every read query the analysis finds the tables it reads (by alias), the columns it uses of each,
those that decide which rows belong to its result (filters, joins, grouping, order) and its equality
*anchors* (``r.product_id = p.product_id``, ``p.product_id = :id``). For each write query and each
read query over the written table it then picks one relation:

- ``row``: the write changes columns the read shows, of rows the read returned (a price change of
  product 42 makes ``product_page(42)`` stale, and any cached search whose result holds row 42);
- ``anchor``: the write may add rows to the read (or drop rows from it), but only rows equal on an
  anchor (a new review of product 42 changes ``product_page(42)`` and no other page);
- ``all``: the write may change any read of the query (a new order item changes the best sellers).

A read joined on an anchor can be hit by both a ``row`` and an ``anchor`` relation. Shapes the
analysis does not follow (subqueries, set operations, ``INSERT ... SELECT``) get ``all``: a
conservative choice that may invalidate too much but never misses a stale read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from workbench.schema.model import Schema, Table
from workbench.workload import Query, schema_mapping

WRITE_KINDS = {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete"}


@dataclass(frozen=True)
class Source:
    """One table a read query reads, under its alias."""

    alias: str
    table: Table
    columns: frozenset[str]
    membership: frozenset[str]  # columns that decide which rows belong to the result, or their order
    anchors: tuple[tuple[str, exp.Expression], ...]  # (column, what it equals: a parameter or a column)

    @property
    def key(self) -> tuple[str, ...]:
        return self.table.primary_key.columns if self.table.primary_key else ()


@dataclass(frozen=True)
class ReadShape:
    query: Query
    sources: tuple[Source, ...]
    qualified: exp.Expression
    simple: bool  # one SELECT over tables and joins: rows and anchors can be traced
    aggregated: bool


@dataclass(frozen=True)
class WriteShape:
    query: Query
    table: Table | None
    kind: str  # insert | update | delete
    changed: frozenset[str]  # columns whose values the write sets (all of them for an insert or delete)
    values: dict[str, exp.Expression]  # column -> new value (SET of an update, VALUES of an insert)
    simple: bool


@dataclass(frozen=True)
class Relation:
    """How the writes of one query reach the reads of another (see the module doc)."""

    read: str
    alias: str
    write: str
    kind: str  # row | anchor | all
    anchors: tuple[str, ...] = ()


def read_shape(query: Query, schema: Schema) -> ReadShape:
    """The tables, columns, membership columns and anchors of a read query."""
    expression = query.expression
    simple = isinstance(expression, exp.Select) and not any(
        expression.find_all(exp.Subquery, exp.Union, exp.Intersect, exp.Except, exp.CTE))
    try:
        qualified = qualify(expression.copy(), schema=schema_mapping(schema), dialect=query.dialect,
                            validate_qualify_columns=True, identify=False)
    except Exception:  # the workload check reported it already; trace it as a blanket dependency
        qualified, simple = expression, False
    tables = {t.alias_or_name: schema.find_table(t.name, t.db or None) for t in qualified.find_all(exp.Table)}
    tables = {alias: table for alias, table in tables.items() if table is not None}
    columns: dict[str, set[str]] = {alias: set() for alias in tables}
    for column in qualified.find_all(exp.Column):
        columns.get(column.table, set()).add(column.name)
    membership: dict[str, set[str]] = {alias: set() for alias in tables}
    anchors: dict[str, list[tuple[str, exp.Expression]]] = {alias: [] for alias in tables}
    if simple:
        for clause in _membership_clauses(qualified):
            for column in clause.find_all(exp.Column):
                membership.get(column.table, set()).add(column.name)
        equalities = [pair for condition in _conditions(qualified) for pair in _equalities(condition)]
        pinned = _pinned(equalities)
        for column, other in equalities:
            if column.table in anchors and (not isinstance(other, exp.Column) or other.table in pinned):
                anchors[column.table].append((column.name, other))
    else:
        membership = columns  # anything may decide membership
    sources = tuple(Source(alias, table, frozenset(columns[alias]), frozenset(membership[alias]),
                           tuple(anchors[alias])) for alias, table in tables.items())
    aggregated = bool(qualified.args.get("group")) or any(True for _ in qualified.find_all(exp.AggFunc))
    return ReadShape(query, sources, qualified, simple, aggregated)


def write_shape(query: Query, schema: Schema) -> WriteShape:
    """The table a write changes, how, which columns, and the new values it gives them."""
    expression = query.expression
    kind = WRITE_KINDS.get(type(expression))
    target = expression.this
    if isinstance(target, exp.Schema):  # INSERT INTO t (a, b)
        names = [c.name for c in target.expressions]
        target = target.this
    else:
        names = []
    table = schema.find_table(target.name, target.db or None) if isinstance(target, exp.Table) else None
    if kind is None or table is None:
        return WriteShape(query, table, kind or "merge", frozenset(), {}, simple=False)
    everything = frozenset(c.name for c in table.columns)
    if kind == "update":
        values = {e.this.name: e.expression for e in expression.expressions if isinstance(e, exp.EQ)}
        return WriteShape(query, table, kind, frozenset(values), values, simple=True)
    if kind == "insert":
        rows = expression.expression
        if isinstance(rows, exp.Values) and len(rows.expressions) == 1 and names:
            values = dict(zip(names, rows.expressions[0].expressions, strict=False))
            return WriteShape(query, table, kind, everything, values, simple=True)
        return WriteShape(query, table, kind, everything, {}, simple=False)
    return WriteShape(query, table, kind, everything, {}, simple=True)


def relations(reads: list[ReadShape], writes: list[WriteShape]) -> list[Relation]:
    """Every (read, alias, write) pair where the write can change what the read returns."""
    found = []
    for write in writes:
        for read in reads:
            for source in read.sources:
                if write.table is None or source.table.key != write.table.key:
                    continue
                if not write.changed & source.columns and write.kind == "update":
                    continue  # the read shows and filters on none of the columns the write sets
                found.extend(_relations(read, source, write))
    return found


def _relations(read: ReadShape, source: Source, write: WriteShape) -> Iterator[Relation]:
    names = (read.query.name, source.alias, write.query.name)
    if not read.simple or not write.simple or not source.key:
        yield Relation(*names, "all")
        return
    if write.kind in ("update", "delete"):
        yield Relation(*names, "row")
    if write.kind in ("insert", "delete") or write.changed & source.membership:
        anchored = tuple(dict.fromkeys(column for column, _ in source.anchors))
        if write.kind == "update":  # the new value of an anchor column is known only if the write sets it
            anchored = tuple(c for c in anchored if c not in write.changed or c in write.values)
        if write.kind == "insert":
            anchored = tuple(c for c in anchored if c in write.values)
        yield Relation(*names, "anchor", anchored) if anchored else Relation(*names, "all")


def lineage_select(read: ReadShape, aliases: dict[str, tuple[bool, tuple[str, ...]]]) -> tuple[exp.Select, list]:
    """The read rewritten to return, per result row, the keys (``row``) and anchor values of its sources.

    ``aliases`` maps an alias to (keys wanted, anchor columns wanted). Returns the SELECT and, per output
    column, ``(alias, "row", key column)`` or ``(alias, "anchor", column)``. An aggregate read keeps no
    ORDER BY or LIMIT: every row that went into its groups counts.
    """
    select = read.qualified.copy()
    outputs, layout = [], []
    for source in read.sources:
        wanted = aliases.get(source.alias)
        if wanted is None:
            continue
        keys, anchored = wanted
        for column in source.key if keys else ():
            outputs.append(exp.column(column, table=source.alias))
            layout.append((source.alias, "row", column))
        for column, other in source.anchors:
            if column in anchored:
                outputs += [exp.column(column, table=source.alias), other.copy()]
                layout += [(source.alias, "anchor", column)] * 2
    unique = {(place, expression.sql()): (place, expression) for place, expression in zip(layout, outputs, strict=True)}
    layout = [place for place, _ in unique.values()]
    select.set("expressions", [e.as_(f"_l{i}") for i, (_, e) in enumerate(unique.values())])
    select.set("distinct", None)
    if read.aggregated:
        for clause in ("group", "having", "order", "limit", "offset"):
            select.set(clause, None)
    return select, layout


def _pinned(equalities: list[tuple[exp.Column, exp.Expression]]) -> set[str]:
    """Aliases whose rows a parameter or constant fixes, directly or through equi-joins with fixed ones.

    Only their anchors bound which rows may join the result: an anchor to an unpinned alias (the joins of
    ``low_stock``) says nothing about a row that starts to pass the filter.
    """
    pinned = {column.table for column, other in equalities if not isinstance(other, exp.Column)}
    grown = True
    while grown:
        reached = {column.table for column, other in equalities
                   if isinstance(other, exp.Column) and other.table in pinned}
        grown = not reached <= pinned
        pinned |= reached
    return pinned


def _membership_clauses(select: exp.Expression) -> Iterator[exp.Expression]:
    for clause in ("where", "group", "having", "order"):
        if select.args.get(clause) is not None:
            yield select.args[clause]
    for join in select.args.get("joins") or []:
        if join.args.get("on") is not None:
            yield join.args["on"]


def _conditions(select: exp.Expression) -> Iterator[exp.Expression]:
    """The conjuncts of the WHERE clause and of every join's ON."""
    clauses = [select.args.get("where")] + [j.args.get("on") for j in select.args.get("joins") or []]
    for clause in clauses:
        node = clause.this if isinstance(clause, exp.Where) else clause
        yield from _conjuncts(node)


def _conjuncts(node: exp.Expression | None) -> Iterator[exp.Expression]:
    if isinstance(node, exp.And):
        yield from _conjuncts(node.left)
        yield from _conjuncts(node.right)
    elif isinstance(node, exp.Paren):
        yield from _conjuncts(node.this)
    elif node is not None:
        yield node


def _equalities(condition: exp.Expression) -> Iterator[tuple[exp.Column, exp.Expression]]:
    """``(column, other side)`` for ``a.x = b.y`` (both ways) and ``a.x = :param`` or a constant."""
    if not isinstance(condition, exp.EQ):
        return
    left, right = condition.left, condition.right
    for column, other in ((left, right), (right, left)):
        if isinstance(column, exp.Column) and (
                isinstance(other, exp.Placeholder | exp.Literal)
                or (isinstance(other, exp.Column) and other.table != column.table)):
            yield column, other
