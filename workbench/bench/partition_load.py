"""Loading a partitioning variant: declarative partitions in PostgreSQL, partitioned Parquet or order in DuckDB.

DuckDB has no declarative partitioning; its equivalents are files split by a bucket column (hive-partitioned
Parquet, read through a view named like the table, pruned by the files' min/max statistics) and a table loaded
in key order (zone maps skip row groups). Both keep the table's columns, so queries and answers are unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
from sqlglot import exp

from workbench.bench.partitioning import PartitionSpec, key_values, list_groups, partitioned, range_grid, value_literal
from workbench.engines.base import Engine, LoadReport
from workbench.errors import WorkbenchError
from workbench.schema.model import Schema

BUCKET = "_partition"  # the hive column of the Parquet layout (not visible through the view)
_EPOCH = {"s": "epoch", "ms": "epoch_ms", "us": "epoch_us", "ns": "epoch_ns"}


@dataclass(frozen=True)
class PartitionLoad:
    """What loading a variant did: the layout, its partitions, the seconds it took and its own statements."""

    engine: str
    layout: str  # "partitions" (PostgreSQL) | "parquet" (DuckDB) | "sorted"
    partitions: int
    seconds: float  # the whole load: tables, indexes, statistics (and Parquet files)
    statements: tuple[str, ...]  # what this variant ran beyond the unpartitioned design
    report: LoadReport

    def __repr__(self) -> str:
        return (f"<PartitionLoad {self.engine} {self.layout}: {self.partitions} partition(s), "
                f"{self.report.rows:,} rows in {self.seconds:.2f} s>")


def load_partitioned(engine: Engine, schema: Schema, spec: PartitionSpec, data: Mapping[str, pa.Table],
                     directory: str | Path | None = None, *, progress: bool = True) -> PartitionLoad:
    """Load ``data`` as the variant ``spec`` on ``engine`` (an empty database).

    PostgreSQL (engines that support partitioning): the :func:`partitioned` model, rows routed by the server.
    DuckDB: ``by = "sorted"`` loads the table in key order; other strategies write hive-partitioned Parquet
    into ``directory`` (required, empty or new) behind a view, see :func:`load_duckdb_partitioned`.
    """
    if layout(engine, spec) == "sorted":
        return load_sorted(engine, schema, spec, data, progress=progress)
    if layout(engine, spec) == "parquet":
        if directory is None:
            raise WorkbenchError(f"{engine.name} has no declarative partitioning: {spec.label} is written as "
                                 f"partitioned Parquet, which needs a directory; pass directory=...")
        return load_duckdb_partitioned(engine, schema, spec, data, directory, progress=progress)
    model = partitioned(schema, spec, data)
    base = set(engine.ddl(schema)[0])
    own = tuple(s for s in engine.ddl(model)[0] if s not in base)
    started = time.perf_counter()
    report = engine.load(model, data, progress=progress)
    return PartitionLoad(engine.name, "partitions", spec.count, time.perf_counter() - started, own, report)


def layout(engine: Engine, spec: PartitionSpec) -> str:
    """How ``engine`` holds ``spec``: ``partitions`` (declarative), ``parquet`` (files behind a view) or ``sorted``."""
    if spec.by == "sorted":
        return "sorted"
    return "partitions" if engine.supports_partitioning else "parquet"


def load_sorted(engine: Engine, schema: Schema, spec: PartitionSpec, data: Mapping[str, pa.Table], *,
                progress: bool = True) -> PartitionLoad:
    """Load the table whole, its rows in ``spec.key`` order (clustered): the layout zone maps and BRIN like."""
    key = schema.table(spec.table).key
    key_values(schema.table(spec.table), spec, data)  # checks the table and key are in the data
    name = key if key in data else schema.table(spec.table).name
    ordered = {**data, name: data[name].sort_by(spec.key)}
    started = time.perf_counter()
    report = engine.load(schema, ordered, progress=progress)
    return PartitionLoad(engine.name, "sorted", 1, time.perf_counter() - started, (), report)


def load_duckdb_partitioned(engine: Engine, schema: Schema, spec: PartitionSpec, data: Mapping[str, pa.Table],
                            directory: str | Path, *, progress: bool = True) -> PartitionLoad:
    """DuckDB: the table as hive-partitioned Parquet (``directory/_partition=i/``) read through a view.

    The bucket of a row follows the PostgreSQL bounds of the same spec for ``range`` and ``list``; ``hash``
    uses DuckDB's own ``hash(key) % count``. Files are written in key order, so each file's min/max statistics
    let a filter on the key skip files. The view replaces the table, so nothing may reference it by a foreign key.
    """
    table = schema.table(spec.table)
    if referencing := [t.key for t in schema.tables for fk in t.foreign_keys if schema.referenced_table(fk) is table]:
        raise WorkbenchError(f"{table.key} cannot become partitioned Parquet behind a view: {', '.join(referencing)} "
                             f"reference(s) it by foreign key. fix: partition a table nothing references")
    bucket = _bucket(spec, key_values(table, spec, data))
    folder = Path(directory).resolve()
    if folder.exists() and any(folder.iterdir()):
        raise WorkbenchError(f"{folder} is not empty: Parquet files of another layout would be read with these; "
                             f"fix: give an empty or new directory for each partitioned DuckDB variant")
    target = exp.table_(exp.to_identifier(table.name, quoted=True))
    files = exp.Literal.string(str(folder))
    copy = exp.Copy(
        this=exp.Subquery(this=exp.select(exp.Star(), exp.alias_(bucket, BUCKET, quoted=True)).from_(target)
                          .order_by(exp.column(spec.key, quoted=True))),
        kind=False, files=[files],
        params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("parquet")),
                exp.CopyParameter(this=exp.var("PARTITION_BY"),
                                  expression=exp.Paren(this=exp.column(BUCKET, quoted=True)))])
    reader = exp.func("read_parquet", exp.Literal.string(str(folder / "*" / "*.parquet")),
                      exp.EQ(this=exp.var("hive_partitioning"), expression=exp.true()))
    columns = [exp.column(c.name, quoted=True) for c in table.columns]
    view = exp.Create(kind="VIEW", this=target, expression=exp.select(*columns).from_(reader))
    statements = (copy.sql("duckdb"), exp.Drop(kind="TABLE", tables=[target]).sql("duckdb"), view.sql("duckdb"))
    started = time.perf_counter()
    report = engine.load(schema, data, progress=progress)
    for statement in statements:
        engine.execute(statement)
    written = sum(1 for p in folder.iterdir() if p.is_dir() and p.name.startswith(f"{BUCKET}="))
    return PartitionLoad(engine.name, "parquet", written, time.perf_counter() - started, statements, report)


def partition_rows(engine: Engine, spec: PartitionSpec) -> pd.DataFrame:
    """PostgreSQL: every leaf partition of ``spec.table`` in creation order: ``partition, bound, rows``."""
    if not engine.supports_partitioning:
        raise WorkbenchError(f"{engine.name} has no partitions to count; count the Parquet files instead")
    name = exp.to_identifier(spec.table.rpartition(".")[2], quoted=True).sql("postgres")
    counts = exp.select(exp.column("tableoid"), exp.func("count", exp.Star()).as_("rows")).from_(
        exp.to_table(name, dialect="postgres")).group_by(exp.column("tableoid")).sql("postgres")
    return engine.query(
        "SELECT c.relname AS partition, pg_get_expr(c.relpartbound, c.oid) AS bound,"
        " coalesce(r.rows, 0)::bigint AS rows"
        " FROM pg_partition_tree(%s::regclass) t JOIN pg_class c ON c.oid = t.relid"
        f" LEFT JOIN ({counts}) r ON r.tableoid = t.relid"
        " WHERE t.isleaf ORDER BY c.oid", [name])


def _bucket(spec: PartitionSpec, keys: pa.ChunkedArray) -> exp.Expression:
    """The DuckDB expression numbering a row's partition (0 .. count-1) as the spec's bounds do."""
    key = exp.column(spec.key, quoted=True)
    if spec.by == "hash":
        return exp.Mod(this=exp.func("hash", key), expression=exp.Literal.number(spec.count))
    if spec.by == "list":
        return exp.Case(ifs=[exp.If(this=exp.In(this=key, expressions=[value_literal(v) for v in group]),
                                    true=exp.Literal.number(i)) for i, group in enumerate(list_groups(keys, spec))])
    start, width, kind = range_grid(keys, spec)
    number: exp.Expression = key
    if pa.types.is_timestamp(kind):
        number = exp.func(_EPOCH[kind.unit], key)
    elif pa.types.is_date(kind):
        number = exp.Sub(this=key, expression=exp.cast(exp.Literal.string("1970-01-01"), "DATE"))
    offset = exp.Paren(this=exp.Sub(this=number, expression=exp.Literal.number(start)))
    step = (exp.IntDiv(this=offset, expression=exp.Literal.number(width)) if isinstance(width, int)
            else exp.Floor(this=exp.Div(this=offset, expression=exp.Literal.number(width))))
    return exp.func("least", exp.func("greatest", step, exp.Literal.number(0)), exp.Literal.number(spec.count - 1))

