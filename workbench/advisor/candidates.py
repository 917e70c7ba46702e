"""Candidate indexes for a whole workload, read from its queries' syntax trees (sqlglot).

For every table a query reads, the columns it filters by equality come first, then one range
column, then the ORDER BY or GROUP BY columns (composites up to three keys); join keys get their
own index; a covering variant INCLUDEs the other columns the query reads; constant predicates
(``status <> 'cancelled'``) make partial indexes; ``LIKE '%x%'`` makes a GIN trigram index; a
range over a time column that follows the insert order makes a BRIN index. DuckDB's ART indexes
serve only point lookups, so there only equality keys are proposed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from workbench.advisor.resolve import conjuncts
from workbench.errors import WorkbenchError
from workbench.schema.model import Index, IndexElement, Schema, Table
from workbench.workload import Query, Workload, schema_mapping

MAX_WIDTH = 3  # key columns of a composite index
MAX_INCLUDE = 4  # extra columns a covering index carries
BRIN_CORRELATION = 0.9  # |correlation| of a column with the physical row order for BRIN to pay
MAX_NAME = 63  # PostgreSQL's identifier limit (bytes)
_TIME_TYPES = ("date", "time", "timestamp")
_COMPARISONS = (exp.EQ, exp.NEQ, exp.Is, exp.GT, exp.GTE, exp.LT, exp.LTE)


@dataclass(frozen=True)
class Candidate:
    """An index worth trying: where, what, and which queries of the workload suggested it, why."""

    table: str  # model key
    index: Index
    queries: frozenset[str]
    reasons: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """A readable identity: ``orders (customer_id, ordered_at DESC) INCLUDE (total) WHERE ...``."""
        return f"{self.table} {describe(self.index)}"

    @property
    def name(self) -> str:
        return self.index.name or ""

    def __repr__(self) -> str:
        return f"<Candidate {self.key} for {', '.join(sorted(self.queries))}>"


def describe(index: Index) -> str:
    """``USING gin (name gin_trgm_ops) INCLUDE (a) WHERE ...`` in short, for reports and identities."""
    keys = ", ".join(e.expression + (f" {e.opclass}" if e.opclass else "") + (" DESC" if e.descending else "")
                     for e in index.elements)
    text = ("" if index.method == "btree" else f"USING {index.method} ") + f"({keys})"
    if index.include:
        text += f" INCLUDE ({', '.join(index.include)})"
    if index.where:
        text += f" WHERE {index.where}"
    return text


@dataclass
class Usage:
    """How one query uses one table: the column roles candidate keys are built from (ordered, unique)."""

    table: str
    equality: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    group: list[str] = field(default_factory=list)
    join: list[str] = field(default_factory=list)
    infix: list[str] = field(default_factory=list)  # LIKE/ILIKE '%x%' and ILIKE 'x%'
    constants: list[tuple[str, exp.Expression]] = field(default_factory=list)  # (column, predicate)
    columns: list[str] = field(default_factory=list)  # every column the query reads from the table

    def add(self, role: list, item: object) -> None:
        if item not in role:
            role.append(item)


def candidates(schema: Schema, workload: Workload | Iterable[Query], *, dialect: str = "postgres",
               methods: Iterable[str] = ("btree", "gin", "brin"), include: bool = True, partial: bool = True,
               correlations: Mapping[tuple[str, str], float] | None = None) -> list[Candidate]:
    """Every candidate index for the workload's queries, deduplicated, existing indexes left out.

    ``dialect``: the engine's (``duckdb`` keeps equality b-trees only); ``methods``: index methods the
    engine can build; ``correlations``: ``(table key, column) -> correlation`` of a column with the
    physical row order (PostgreSQL's ``pg_stats.correlation``), which BRIN candidates need.
    """
    methods = set(methods)
    art_only = dialect == "duckdb"
    found: dict[str, Candidate] = {}
    for query in workload:
        for usage in usages(schema, query):
            table = schema.table(usage.table)
            proposals = _art(usage) if art_only else _proposals(usage, table, methods, include, partial,
                                                                  correlations or {})
            for index, reason in proposals:
                if _already_served(table, index):
                    continue
                candidate = Candidate(table.key, index, frozenset({query.name}), (f"{query.name}: {reason}",))
                known = found.get(candidate.key)
                found[candidate.key] = candidate if known is None else replace(
                    known, queries=known.queries | candidate.queries, reasons=known.reasons + candidate.reasons)
    return _named(list(found.values()), schema)


def usages(schema: Schema, query: Query) -> list[Usage]:
    """Per table instance the query reads (a self-join gives two), the roles its columns play."""
    try:
        tree = qualify(query.expression.copy(), schema=schema_mapping(schema), dialect=query.dialect,
                       validate_qualify_columns=False, identify=False)
    except Exception as error:  # sqlglot raises several types for names it cannot resolve
        raise WorkbenchError(f"query {query.name!r} (line {query.line}): cannot resolve its columns against "
                             f"the schema: {error}\nfix: check the table and column names") from error
    result: list[Usage] = []
    for scope in traverse_scope(tree):
        tables = _scope_tables(scope, schema)
        if not tables:
            continue
        found = {alias: Usage(key) for alias, key in tables.items()}
        _read(scope, tables, found)
        result.extend(u for u in found.values() if u.columns)
    return result


def _scope_tables(scope: Scope, schema: Schema) -> dict[str, str]:
    """Alias -> model key of the base tables this scope selects from."""
    tables = {}
    for alias, source in scope.selected_sources.items():
        node = source[1] if isinstance(source, tuple) else source
        if isinstance(node, exp.Table):
            model = schema.find_table(node.name, node.db or None)
            if model is not None:
                tables[alias] = model.key
    return tables


def _read(scope: Scope, tables: dict[str, str], found: dict[str, Usage]) -> None:
    select = scope.expression
    if not isinstance(select, exp.Select):
        return

    def own(node: exp.Expression) -> tuple[Usage, str] | None:
        if isinstance(node, exp.Column) and node.table in found:
            return found[node.table], node.name
        return None

    for column in scope.columns:
        if (hit := own(column)) is not None:
            hit[0].add(hit[0].columns, hit[1])
    conditions: list[exp.Expression] = []
    if where := select.args.get("where"):
        conditions += conjuncts(where.this)
    for join in select.args.get("joins") or []:
        if on := join.args.get("on"):
            conditions += conjuncts(on)
    for condition in conditions:
        _predicate(condition, own)
    projections = {p.alias: p.this for p in select.expressions if isinstance(p, exp.Alias)}
    for ordered in (select.args.get("order") or exp.Order()).expressions:
        key = ordered.this
        if isinstance(key, exp.Column) and not key.table:  # ORDER BY a select alias
            key = projections.get(key.name, key)
        if (hit := own(key)) is not None:
            hit[0].add(hit[0].order, (hit[1], bool(ordered.args.get("desc"))))
    for key in (select.args.get("group") or exp.Group()).expressions:
        if (hit := own(key)) is not None:
            hit[0].add(hit[0].group, hit[1])


def _predicate(condition: exp.Expression, own) -> None:
    """File one WHERE/ON conjunct (parentheses unwrapped) under the roles of the columns it constrains."""
    if isinstance(condition, _COMPARISONS):
        left, right = condition.this, condition.expression
        hits = own(left), own(right)
        if hits[0] is not None and hits[1] is not None:
            if isinstance(condition, exp.EQ) and hits[0][0] is not hits[1][0]:
                for usage, column in hits:
                    usage.add(usage.join, column)
            return
        if hits[0] is None and hits[1] is None:
            return
        (usage, column), other = (hits[0], right) if hits[0] is not None else (hits[1], left)
        if isinstance(other, exp.Column):  # a column of an outer query: a correlated join key
            usage.add(usage.join, column)
        elif isinstance(condition, exp.EQ):
            usage.add(usage.equality, column)
            if _constant(other):
                usage.add(usage.constants, (column, condition))
        elif isinstance(condition, exp.NEQ | exp.Is):
            if _constant(other) or isinstance(other, exp.Null):
                usage.add(usage.constants, (column, condition))
        else:
            usage.add(usage.range, column)
    elif isinstance(condition, exp.Between):
        if (hit := own(condition.this)) is not None:
            hit[0].add(hit[0].range, hit[1])
    elif isinstance(condition, exp.In):
        if (hit := own(condition.this)) is not None:
            role = hit[0].join if condition.args.get("query") else hit[0].equality
            hit[0].add(role, hit[1])
    elif isinstance(condition, exp.Like | exp.ILike):
        if (hit := own(condition.this)) is not None:
            infix = _starts_with_wildcard(condition.expression) or isinstance(condition, exp.ILike)
            hit[0].add(hit[0].infix if infix else hit[0].range, hit[1])
    elif isinstance(condition, exp.Not) and isinstance(condition.this, exp.Is) and \
            (hit := own(condition.this.this)) is not None:
        hit[0].add(hit[0].constants, (hit[1], condition))


def _constant(node: exp.Expression) -> bool:
    """A literal written in the query (not a parameter): a predicate a partial index can hold."""
    return not any(isinstance(n, exp.Placeholder | exp.Column | exp.Subquery | exp.Select) for n in node.walk()) \
        and any(isinstance(n, exp.Literal | exp.Boolean | exp.Null) for n in node.walk())


def _starts_with_wildcard(pattern: exp.Expression) -> bool:
    first = pattern
    while isinstance(first, exp.DPipe | exp.Concat):
        first = first.this if isinstance(first, exp.DPipe) else first.expressions[0]
    return not isinstance(first, exp.Literal) or first.this.startswith(("%", "_"))


def _proposals(usage: Usage, table: Table, methods: set[str], include: bool, partial: bool,
               correlations: Mapping[tuple[str, str], float]) -> list[tuple[Index, str]]:
    """The b-tree keys (equality, range, ORDER BY, GROUP BY, join), covering and partial variants,
    trigram and BRIN indexes that one query's use of one table suggests."""
    out: list[tuple[Index, str]] = []
    constant_columns = {column for column, _ in usage.constants}
    equality = [c for c in usage.equality if c not in constant_columns] or usage.equality
    range_ = [c for c in usage.range if c not in equality][:1]
    keys: list[tuple[list[tuple[str, bool]], str]] = []
    if equality or range_:
        keys.append(([(c, False) for c in equality + range_], "equality then range columns"))
    order = [o for o in usage.order if o[0] not in equality]
    if order:
        keys.append(([(c, False) for c in equality] + order, "equality then ORDER BY columns"))
    if usage.group:
        keys.append(([(c, False) for c in equality if c not in usage.group] + [(c, False) for c in usage.group],
                     "GROUP BY columns"))
    for column in dict.fromkeys(usage.join):
        keys.append(([(column, False)] + [(c, False) for c in equality if c != column], "join key"))
    if len(usage.join) > 1:
        keys.append(([(c, False) for c in usage.join], "join keys together (a multi-column join)"))
    for column in dict.fromkeys(equality + range_):
        keys.append(([(column, False)], "single column"))
    main = keys[0][0][:MAX_WIDTH] if keys else []
    for elements, reason in keys:
        index = _btree(elements[:MAX_WIDTH])
        out.append((index, reason))
    if "btree" not in methods:
        out = []
    elif main:
        key_columns = {c for c, _ in main}
        rest = [c for c in usage.columns if c not in key_columns]
        if include and rest and len(rest) <= MAX_INCLUDE:
            out.append((replace(_btree(main), include=tuple(rest)), "covering: all the columns the query reads"))
        if partial and usage.constants:
            where = exp.and_(*(p.copy() for _, p in usage.constants))
            keyed = [e for e in main if e[0] not in constant_columns] or main
            out.append((replace(_btree(keyed), where=_unqualified(where)), "partial: the query's constant predicate"))
    if "gin" in methods:
        for column in usage.infix:
            element = IndexElement(column, opclass="gin_trgm_ops")
            out.append((Index(None, (element,), method="gin"), "trigram: LIKE/ILIKE with a leading wildcard"))
    if "brin" in methods:
        for column in usage.range:
            kind = table.column(column).type.lower() if table.has_column(column) else ""
            correlation = correlations.get((table.key, column), 0.0)
            if kind.startswith(_TIME_TYPES) and abs(correlation) >= BRIN_CORRELATION:
                out.append((Index(None, (IndexElement(column),), method="brin"),
                            f"BRIN: range over a time column in insert order (correlation {correlation:.2f})"))
    return out


def _art(usage: Usage) -> list[tuple[Index, str]]:
    """DuckDB: ART indexes serve point lookups only, so equality keys alone."""
    out = []
    if len(usage.equality) > 1:
        out.append((_btree([(c, False) for c in usage.equality[:MAX_WIDTH]]), "equality columns (ART)"))
    for column in usage.equality:
        out.append((_btree([(column, False)]), "equality column (ART point lookup)"))
    return out


def _btree(elements: list[tuple[str, bool]]) -> Index:
    seen: dict[str, bool] = {}
    for column, descending in elements:
        seen.setdefault(column, descending)
    return Index(None, tuple(IndexElement(c, descending=d) for c, d in list(seen.items())[:MAX_WIDTH]))


def _unqualified(predicate: exp.Expression) -> str:
    def strip(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column):
            return exp.column(node.name)
        return node

    return predicate.transform(strip).sql("postgres")


def _already_served(table: Table, index: Index) -> bool:
    """The table's own indexes (or primary key/unique constraints) already start with these keys."""
    if index.method != "btree" or index.include or index.where:
        return any(_same(index, existing) for existing in table.indexes)
    wanted = [(e.expression, e.descending) for e in index.elements]
    keys = [[(c, False) for c in k] for k in
            ([table.primary_key.columns] if table.primary_key else []) + [u.columns for u in table.uniques]]
    keys += [[(e.expression, e.descending) for e in i.elements] for i in table.indexes
             if i.method == "btree" and i.where is None and not any(e.is_expression for e in i.elements)]
    return any(k[:len(wanted)] == wanted for k in keys)


def _same(a: Index, b: Index) -> bool:
    return replace(a, name=None) == replace(b, name=None)


def _named(found: list[Candidate], schema: Schema) -> list[Candidate]:
    """Readable, distinct index names: ``orders_customer_id_ordered_at_idx``, a hash where they clash."""
    taken = {(i.name or "").lower() for t in schema.tables for i in t.indexes}
    base = {c.key: _base_name(c) for c in found}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name] = counts.get(name, 0) + 1
    named = []
    for candidate in found:
        name = base[candidate.key]
        if counts[name] > 1 or name.lower() in taken or len(name) > MAX_NAME:
            digest = hashlib.sha1(candidate.key.encode()).hexdigest()[:6]
            name = f"{name.removesuffix('_idx')[:MAX_NAME - 11]}_{digest}_idx"
        named.append(replace(candidate, index=replace(candidate.index, name=name)))
    return named


def _base_name(candidate: Candidate) -> str:
    index = candidate.index
    table = candidate.table.rsplit(".", 1)[-1]
    tags = [index.method] if index.method != "btree" else []
    tags += ["cov"] if index.include else []
    tags += ["part"] if index.where else []
    return "_".join([table, *index.columns, *tags, "idx"])

