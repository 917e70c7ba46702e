"""What partitioning costs and buys: planning vs execution time, cold vs warm backends, retention.

PostgreSQL plans a query on a partitioned table by opening every partition it cannot prune, and a new backend
first loads each partition's catalog entries: the first query on a fresh connection can plan 3-20x slower than
the same query warm. So each query is measured twice per repetition: first on a new connection ("new"), then
after warm-up on that connection ("warm"), both from EXPLAIN ANALYZE's own planning and execution times.
Retention compares dropping the oldest range partition with DELETE of the same rows, each rolled back; ingest
(rows appended per second) is :func:`workbench.bench.writes.insert_rate` on the partitioned table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pandas as pd
import pyarrow as pa
from sqlglot import exp

from workbench.bench.partition_load import layout
from workbench.bench.partitioning import PartitionSpec, range_edges, value_literal
from workbench.engines.base import Engine
from workbench.errors import WorkbenchError
from workbench.plans import Plan, explain
from workbench.progress import tqdm

PARTITION_COLUMNS = ["engine", "variant", "partitions", "query", "connection", "repetition", "planning_ms",
                     "execution_ms", "scanned"]
RETENTION_COLUMNS = ["engine", "variant", "partitions", "method", "repetition", "seconds", "rows", "status"]


def measure_partitions(engine: Engine, variant: str, spec: PartitionSpec | None, queries: Mapping[str, str],
                       repetitions: int = 5, *, warmup: int = 1, progress: bool = True) -> pd.DataFrame:
    """Planning and execution ms of each query (final SQL, parameters bound), new connection vs warm.

    Per repetition and query: :meth:`Engine.reconnect`, the query once ("new"), ``warmup`` discarded runs, then
    once more ("warm"); times as :func:`workbench.plans.explain` reads them (DuckDB's execution includes planning).
    ``scanned`` counts the partitions (or the plain table) of ``spec.table`` the executed plan read
    (PostgreSQL; NA on DuckDB). ``spec=None`` is the unpartitioned design (1 partition).
    """
    partitions = spec.count if spec is not None and spec.by != "sorted" else 1
    names = _relations(engine, spec) if spec is not None else frozenset()
    rows = []
    steps = [(r, name) for r in range(repetitions) for name in queries]
    for repetition, name in tqdm(steps, desc=f"{variant}: new vs warm", disable=not progress):
        engine.reconnect()
        for connection, runs in (("new", 0), ("warm", warmup)):
            for _ in range(runs):
                engine.explain(queries[name], analyze=True)
            plan = explain(engine, queries[name], analyze=True)
            scanned = sum(1 for _ in _scans(plan, names)) if names else pd.NA
            rows.append((engine.name, variant, partitions, name, connection, repetition, plan.planning_ms,
                         plan.execution_ms, scanned))
    return pd.DataFrame(rows, columns=PARTITION_COLUMNS).astype({"scanned": "Int64"})


def scanned_partitions(engine: Engine, spec: PartitionSpec, sql: str) -> tuple[str, ...]:
    """PostgreSQL: the partitions of ``spec.table`` the plan of ``sql`` reads after plan-time pruning."""
    return tuple(_scans(explain(engine, sql, analyze=False), _relations(engine, spec)))


def measure_retention(engine: Engine, variant: str, spec: PartitionSpec, *, partitioned: bool = True,
                      repetitions: int = 3) -> pd.DataFrame:
    """Drop the oldest range partition vs DELETE of the same rows, each in a transaction rolled back.

    The rows are those older than the first range edge of ``spec`` (the oldest ``1/count`` of the key's span,
    computed from the key's min and max in the database, as :func:`partitioned` computed it from the data), so
    every variant holding the same data deletes the same rows. ``partitioned=True`` when the variant's table is
    partitioned by ``spec`` itself: its oldest partition is dropped too. ``partitions = spec.count`` names the
    comparison (the cut), whatever the variant's own layout. Empty for DuckDB's Parquet layout (files, not rows).
    """
    if spec.by != "range" or spec.count < 2:
        raise WorkbenchError(f"retention removes the rows of the oldest range partition; {spec.label} has "
                             f"{'one partition, so no older rows' if spec.by == 'range' else 'no oldest partition'}. "
                             f"fix: measure retention with a range partitioning of 2 or more partitions")
    if partitioned and layout(engine, spec) == "parquet":
        return pd.DataFrame(columns=RETENTION_COLUMNS)
    table = exp.table_(exp.to_identifier(spec.table.rpartition(".")[2], quoted=True))
    key = exp.column(spec.key, quoted=True)
    edges = range_edges(_key_range(engine, table, key), spec)
    delete = exp.delete(table, where=key < value_literal(edges[0])).sql(engine.dialect)
    methods: list[tuple[str, str, int | None]] = [("delete", delete, None)]
    if partitioned:
        oldest = _oldest(engine, table, key)
        methods.insert(0, ("drop partition", exp.Drop(kind="TABLE", tables=[oldest]).sql(engine.dialect),
                           _count(engine, oldest)))
    rows = []
    for repetition in range(repetitions):
        for method, statement, dropped in methods:
            done = engine.timed(statement, rollback=True, checksum=False)
            if done.status != "ok":
                raise WorkbenchError(f"{method} on {variant} failed ({done.status}): {done.error}\n    {statement}")
            affected = done.rows if dropped is None else dropped
            rows.append((engine.name, variant, spec.count, method, repetition, done.latency_ms / 1000, affected,
                         done.status))
    return pd.DataFrame(rows, columns=RETENTION_COLUMNS).astype({"rows": "Int64"})


def _key_range(engine: Engine, table: exp.Table, key: exp.Column) -> pa.Array:
    """The key's min and max in the database, typed as generated data is (timestamps in microseconds)."""
    found = engine.query(exp.select(exp.Min(this=key).as_("low"), exp.Max(this=key).as_("high"))
                         .from_(table).sql(engine.dialect))
    values = pa.array([found["low"].iloc[0], found["high"].iloc[0]])
    if pa.types.is_timestamp(values.type):
        values = values.cast(pa.timestamp("us", values.type.tz))
    return values


def _oldest(engine: Engine, table: exp.Table, key: exp.Column) -> exp.Table:
    """PostgreSQL: the partition holding the row with the smallest key."""
    regclass = exp.DataType.build("regclass", udt=True)
    oid = exp.cast(exp.cast(exp.column("tableoid"), regclass), "text").as_("partition")
    found = engine.query(exp.select(oid).from_(table).order_by(key).limit(1).sql("postgres"))
    return exp.to_table(found["partition"].iloc[0], dialect="postgres")


def _count(engine: Engine, target: exp.Table) -> int:
    counted = engine.query(exp.select(exp.func("count", exp.Star()).as_("rows")).from_(target).sql(engine.dialect))
    return int(counted["rows"].iloc[0])


def _relations(engine: Engine, spec: PartitionSpec) -> frozenset[str]:
    """PostgreSQL: the table and its partitions (the names plans report); empty on other engines."""
    if not engine.supports_partitioning:
        return frozenset()
    name = exp.to_identifier(spec.table.rpartition(".")[2], quoted=True).sql("postgres")
    tree = engine.query("SELECT c.relname FROM pg_partition_tree(%s::regclass) t JOIN pg_class c ON c.oid = t.relid",
                        [name])
    return frozenset(tree["relname"])


def _scans(plan: Plan, names: frozenset[str]) -> Iterator[str]:
    """Relations of ``names`` a plan reads (nodes never executed under ANALYZE excluded)."""
    return (node.relation for node in plan.nodes() if node.relation in names and node.loops != 0)
