"""Shard-key analysis for a hash-distributed PostgreSQL (Citus style), from the loaded data and the workload.

Each candidate distribution key (a column several tables share, such as ``tenant_id``) distributes every table
that has it, co-located; a small table without it becomes a reference table (a copy on every node), a large
one is distributed by its own key. Per candidate and shard count (4, 16, 64):

- the weighted share of workload queries a router sends to one shard (every distributed table they read is
  pinned to one key value, directly or through equality with a pinned one; reference tables go anywhere),
- the share of joins (foreign keys and the workload's equality joins) that stay co-located,
- the skew: rows on the largest shard over the mean, with rows placed as Citus places them: the column type's
  PostgreSQL hash (``hashint4``, ``hashint8``, ``hashtext``) in one of N equal ranges of the 32-bit hash space.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from psycopg import sql
from sqlglot import exp

from workbench.advisor.resolve import conjuncts, resolve
from workbench.advisor.schema_rules import sql_type
from workbench.bench.results import frame_html
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.safe_display import safe_html
from workbench.schema.model import Schema, Table
from workbench.security.plots import shard_panels
from workbench.workload import Workload

SHARD_COUNTS = (4, 16, 64)
REFERENCE_SHARE = 0.05  # a table without the key holding less than this share of all rows is replicated
COLUMNS = ["candidate", "shards", "single_shard_share", "colocated_joins", "joins", "skew", "largest_shard_share",
           "distributed", "reference"]
_HASHES = {exp.DataType.Type.SMALLINT: "hashint2", exp.DataType.Type.INT: "hashint4",
           exp.DataType.Type.BIGINT: "hashint8"}


@dataclass(frozen=True)
class Distribution:
    """A candidate: ``distributed`` table -> its distribution column; ``reference`` tables copied everywhere."""

    key: str
    distributed: dict[str, str] = field(default_factory=dict)
    reference: tuple[str, ...] = ()

    def group(self, table: str) -> str | None:
        """The co-location group of a distributed table: the candidate key, or the table's own key."""
        column = self.distributed.get(table)
        return None if column is None else (self.key if column == self.key else f"{table}.{column}")

    def sql(self, shards: int = 32) -> list[str]:
        """Citus's statements for this candidate (a dry run: no distributed server was checked here)."""
        statements = [sql.SQL("SELECT create_reference_table({})").format(sql.Literal(t)) for t in self.reference]
        anchors: dict[str, str] = {}
        for table, column in self.distributed.items():
            group = self.group(table)
            colocate = sql.Literal(anchors.get(group, "none"))
            anchors.setdefault(group, table)
            statements.append(sql.SQL("SELECT create_distributed_table({}, {}, shard_count => {}, colocate_with => {})")
                              .format(sql.Literal(table), sql.Literal(column), shards, colocate))
        return [s.as_string(None) for s in statements]


class ShardAnalysis:
    """The candidates measured: ``frame`` (one row per candidate and shard count), ``plot()``, ``sql()``."""

    def __init__(self, frame: pd.DataFrame, candidates: list[Distribution], notes: list[str]):
        self.frame, self.candidates, self.notes = frame, candidates, notes

    def candidate(self, key: str) -> Distribution:
        for candidate in self.candidates:
            if candidate.key == key:
                return candidate
        raise UnknownNameError("distribution key", key, [c.key for c in self.candidates])

    def sql(self, key: str, shards: int = 32) -> list[str]:
        return self.candidate(key).sql(shards)

    def best(self) -> str:
        """The candidate with the most single-shard queries, then co-located joins, then the least skew."""
        ranked = self.frame.groupby("candidate").agg(single=("single_shard_share", "max"),
                                                     joins=("colocated_joins", "max"), skew=("skew", "max"))
        return str(ranked.sort_values(["single", "joins", "skew"], ascending=[False, False, True]).index[0])

    def plot(self, axes: Any = None, *, also: dict[str, ShardAnalysis] | None = None) -> Any:
        """Three panels: single-shard share and co-located joins per candidate, skew against shard count; ``also``
        adds the skew of other analyses (e.g. ``{"noisy neighbour": other}``) to the third panel."""
        frames = [self.frame.assign(data="generated" if also else "")]
        frames += [other.frame.assign(data=label) for label, other in (also or {}).items()]
        return shard_panels(pd.concat(frames, ignore_index=True), axes)

    def __repr__(self) -> str:
        return (f"<ShardAnalysis: {len(self.candidates)} candidate keys ({', '.join(c.key for c in self.candidates)})"
                f" at {', '.join(map(str, sorted(pd.unique(self.frame['shards']))))} shards; best: {self.best()}>")

    def _repr_html_(self) -> str:
        return safe_html(ShardAnalysis._html, self)

    def _html(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return f"<p><b>{html.escape(repr(self))}</b></p>{frame_html(self.frame)}" + (f"<ul>{notes}</ul>" if notes
                                                                                       else "")


def shard_keys(engine: Any, schema: Schema, workload: Workload, *, counts: tuple[int, ...] = SHARD_COUNTS,
               keys: list[str] | None = None) -> ShardAnalysis:
    """Evaluate candidate distribution keys on the data loaded in ``engine`` (PostgreSQL) and ``workload``.

    ``keys`` names the candidates (default: every column in a key or foreign key of two or more tables).
    """
    if getattr(engine, "dialect", None) != "postgres":
        raise WorkbenchError("shard-key analysis places rows with PostgreSQL's own hash functions (as Citus does); "
                             "load the data into connect('postgres') or a PostgreSQL URL")
    rows = {t.name: n for t, n in ((schema.table(k), n) for k, n in engine.row_counts().items()
                                   if schema.find_table(k) is not None)}
    candidates = [candidate(schema, key, rows) for key in (keys or candidate_keys(schema))]
    if not candidates:
        raise WorkbenchError("no column appears in a key of two or more tables: there is no co-location to gain; "
                             "name the candidates with keys=[...]")
    places = engine.places(schema)
    notes = [f"query {r.query.name!r} not analysed: {r.error}" for r in (resolve(q, schema) for q in workload)
             if r.error]
    result = []
    for chosen in candidates:
        single = single_shard_share(chosen, schema, workload)
        colocated, joins = colocated_joins(chosen, schema, workload)
        for count in counts:
            per_shard = shard_rows(engine, schema, places, chosen, count)
            mean = per_shard.sum() / count
            result.append((chosen.key, count, single, colocated / joins if joins else 1.0, joins,
                           float(per_shard.max() / mean) if mean else float("nan"),
                           float(per_shard.max() / per_shard.sum()) if per_shard.sum() else float("nan"),
                           ", ".join(chosen.distributed), ", ".join(chosen.reference)))
    return ShardAnalysis(pd.DataFrame(result, columns=COLUMNS), candidates, notes)


def candidate_keys(schema: Schema) -> list[str]:
    """Columns in a primary key or foreign key of two or more tables, most shared first."""
    counts: dict[str, int] = {}
    for table in schema.tables:
        keyed = set(table.primary_key.columns if table.primary_key else ())
        keyed |= {c for fk in table.foreign_keys for c in fk.columns}
        for column in keyed:
            counts[column] = counts.get(column, 0) + 1
    return [c for c, n in sorted(counts.items(), key=lambda item: -item[1]) if n >= 2]


def candidate(schema: Schema, key: str, rows: dict[str, int]) -> Distribution:
    """The distribution ``key`` gives: tables with it distributed by it; others replicated when small, else
    distributed by the first column of their own primary key."""
    total = sum(rows.values()) or 1
    distributed, reference = {}, []
    for table in schema.tables:
        if table.has_column(key):
            distributed[table.name] = key
        elif rows.get(table.name, 0) < REFERENCE_SHARE * total or table.primary_key is None:
            reference.append(table.name)
        else:
            distributed[table.name] = table.primary_key.columns[0]
    return Distribution(key, distributed, tuple(reference))


def single_shard_share(chosen: Distribution, schema: Schema, workload: Workload) -> float:
    """The weighted share of the workload's queries that a router sends to a single shard."""
    total = sum(q.weight for q in workload) or 1.0
    return sum(q.weight for q in workload if _single_shard(chosen, schema, q)) / total


def _single_shard(chosen: Distribution, schema: Schema, query: Any) -> bool:
    resolved = resolve(query, schema)
    if resolved.tree is None:
        return False
    read = {t.name for t in (schema.find_table(s.name) for scope in resolved.scopes()
                             for s in scope.sources.values() if isinstance(s, exp.Table)) if t is not None}
    if resolved.tree is not None and not resolved.scopes():  # UPDATE / DELETE: their one target
        target = resolved.tree.this
        if isinstance(target, exp.Table) and (table := schema.find_table(target.name)) is not None:
            read.add(table.name)
    spread = {t for t in read if t in chosen.distributed}
    if not spread:
        return True
    if len({chosen.group(t) for t in spread}) > 1:
        return False
    pinned, links = set(), []
    for condition, scope in resolved.filters():
        for part in conjuncts(condition):
            if not isinstance(part, exp.EQ):
                continue
            left, right = part.this, part.expression
            sides = [(side, resolved.column_table(side, scope)) for side in (left, right)
                     if isinstance(side, exp.Column)]
            on_key = [t.name for side, t in sides if t is not None and chosen.distributed.get(t.name) == side.name]
            if len(sides) == 1 and on_key and isinstance(right if sides[0][0] is left else left,
                                                          exp.Literal | exp.Placeholder):
                pinned.add(on_key[0])
            elif len(on_key) == 2:
                links.append(tuple(on_key))
    reached = set(pinned)
    while True:
        grown = reached | {b for a, b in links if a in reached} | {a for a, b in links if b in reached}
        if grown == reached:
            break
        reached = grown
    return bool(pinned) and spread <= reached


def colocated_joins(chosen: Distribution, schema: Schema, workload: Workload) -> tuple[int, int]:
    """``(co-located, all)`` over the schema's foreign keys and the workload's equality joins between tables."""
    pairs: list[tuple[str, str, list[tuple[str, str]]]] = []
    for table in schema.tables:
        for fk in table.foreign_keys:
            parent = schema.referenced_table(fk)
            if parent is not None:
                pairs.append((table.name, parent.name, list(zip(fk.columns, fk.ref_columns, strict=True))))
    for query in workload:
        resolved = resolve(query, schema)
        for condition, scope in resolved.filters():
            for part in conjuncts(condition):
                if isinstance(part, exp.EQ) and isinstance(part.this, exp.Column) and isinstance(
                        part.expression, exp.Column):
                    a, b = (resolved.column_table(c, scope) for c in (part.this, part.expression))
                    if a is not None and b is not None and a.name != b.name:
                        pairs.append((a.name, b.name, [(part.this.name, part.expression.name)]))
    together = sum(1 for a, b, columns in pairs if _colocated(chosen, a, b, columns))
    return together, len(pairs)


def _colocated(chosen: Distribution, a: str, b: str, columns: list[tuple[str, str]]) -> bool:
    if a in chosen.reference or b in chosen.reference:
        return True
    group = chosen.group(a)
    return group is not None and group == chosen.group(b) and \
        (chosen.distributed[a], chosen.distributed[b]) in columns


def shard_rows(engine: Any, schema: Schema, places: dict[str, exp.Table], chosen: Distribution,
               count: int) -> pd.Series:
    """Rows per shard (0 .. count-1) over every distributed table, placed as Citus places them."""
    total = pd.Series(0, index=range(count), dtype="int64")
    for name, column in chosen.distributed.items():
        table = schema.table(name)
        shard = _shard_expression(table, column, count)
        query = exp.select(shard.as_("shard"), exp.func("count", exp.Star()).as_("n")).from_(places[table.key]) \
            .group_by(exp.column("shard"))
        found = engine.query(query.sql("postgres"))
        if len(found):
            total = total.add(found.set_index("shard")["n"].astype("int64"), fill_value=0)
    return total


def _shard_expression(table: Table, column: str, count: int) -> exp.Expression:
    """``(hash(column)::bigint + 2^31) * count / 2^32``: the shard of a row among ``count`` equal hash ranges."""
    kind = sql_type(table.column(column), "postgres")
    value = exp.column(column, quoted=True)
    hashed = exp.func(_HASHES[kind.this], value) if kind is not None and kind.this in _HASHES else \
        exp.func("hashtext", exp.cast(value, "text"))
    offset = exp.Add(this=exp.cast(hashed, "bigint"), expression=exp.Literal.number(2**31))
    return exp.IntDiv(this=exp.Mul(this=exp.Paren(this=offset), expression=exp.Literal.number(count)),
                      expression=exp.Literal.number(2**32))
