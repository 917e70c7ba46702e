"""Partitioning variants: a table split ``count`` ways by ``range``, ``list`` or ``hash`` on one key.

The API a study uses (``partition = { table, by, key, count }`` in a study file):

- :class:`PartitionSpec` and :func:`partitioned` (this module): the schema model with PostgreSQL declarative
  partitioning, bounds computed from the generated data so every row has a partition;
- :func:`workbench.bench.partition_load.load_partitioned`: load a variant on any engine (PostgreSQL: the
  partitioned model; DuckDB: hive-partitioned Parquet behind a view, or ``by = "sorted"``: the table loaded
  in key order, DuckDB's zone maps being its "partitioning");
- :mod:`workbench.bench.partition_measure`: ``measure_partitions`` (planning and execution time, first query on
  a new connection vs warm), ``measure_retention`` (drop the oldest partition vs DELETE of the same rows);
  ingest (rows/s appended) is :func:`workbench.bench.writes.insert_rate` with
  :func:`workbench.bench.writes.insert_sample` rows.

Range partitions have equal widths rounded to a whole day, hour, minute or second (temporal keys) or unit
(integers); the first starts at ``MINVALUE`` and the last ends at ``MAXVALUE``, so no row needs a DEFAULT
partition and later appends land in the newest partition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from workbench.errors import WorkbenchError
from workbench.schema.model import Partitioning, Schema, Table

STRATEGIES = ("range", "list", "hash", "sorted")
_GRAINS_US = (86_400_000_000, 3_600_000_000, 60_000_000, 1_000_000)  # day, hour, minute, second


@dataclass(frozen=True)
class PartitionSpec:
    """``table`` split into ``count`` partitions by ``by`` (range | list | hash | sorted) on column ``key``.

    ``sorted`` is not a partitioning: the table stays whole and is loaded in key order (clustered).
    """

    table: str
    by: str
    key: str
    count: int = 1

    def __post_init__(self) -> None:
        if self.by not in STRATEGIES:
            raise WorkbenchError(f"partition by {self.by!r} of table {self.table!r} is not known; "
                                 f"choose one of: {', '.join(STRATEGIES)}")
        if self.count < 1:
            raise WorkbenchError(f"partition count {self.count} of table {self.table!r} must be at least 1")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "partition") -> PartitionSpec:
        """From a study file's ``partition = { table, by, key, count }``; ``where`` names it in errors."""
        known = {"table", "by", "key", "count"}
        if unknown := set(values) - known:
            raise WorkbenchError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
                                 f"valid: {', '.join(sorted(known))}")
        if missing := {"table", "by", "key"} - set(values):
            raise WorkbenchError(f"{where}: missing field(s) {', '.join(sorted(missing))} "
                                 f"(e.g. partition = {{ table = \"readings\", by = \"range\", key = \"recorded_at\", "
                                 f"count = 10 }})")
        try:
            return cls(str(values["table"]), str(values["by"]), str(values["key"]), int(values.get("count", 1)))
        except WorkbenchError as error:
            raise WorkbenchError(f"{where}: {error}") from error

    @property
    def label(self) -> str:
        """``range x10 on recorded_at``: a short description for tables and plots."""
        return f"sorted by {self.key}" if self.by == "sorted" else f"{self.by} x{self.count} on {self.key}"


def partitioned(schema: Schema, spec: PartitionSpec, data: Mapping[str, pa.Table]) -> Schema:
    """The schema with ``spec.table`` partitioned as PostgreSQL declares it; bounds cover ``data``'s keys.

    Raises WorkbenchError when the key is not a column, the table is already partitioned, a primary key or
    unique constraint/index lacks the key (PostgreSQL requires it), or the data has too few key values.
    """
    table = schema.table(spec.table)
    if spec.by == "sorted":
        return schema
    _check(table, spec)
    keys = key_values(table, spec, data)
    bounds = partition_bounds(keys, spec, schema.dialect or "postgres")
    width = len(str(len(bounds) - 1))
    partitions = tuple(Table(name=f"{table.name}_p{i:0{width}d}", schema=table.schema, bound=bound)
                       for i, bound in enumerate(bounds))
    changed = replace(table, partitioning=Partitioning(spec.by, (spec.key,)), partitions=partitions)
    return schema.with_tables(tuple(changed if t.key == table.key else t for t in schema.tables))


def key_values(table: Table, spec: PartitionSpec, data: Mapping[str, pa.Table]) -> pa.ChunkedArray:
    """The generated values of the key column (the data for ``table``, by model key or bare name)."""
    rows = data.get(table.key, data.get(table.name))
    if rows is None:
        raise WorkbenchError(f"no data for table {table.key!r} to compute partition bounds from; "
                             f"data holds: {', '.join(data) or 'nothing'}")
    if spec.key not in rows.column_names:
        raise WorkbenchError(f"the data for {table.key!r} has no column {spec.key!r} (the partition key); "
                             f"columns: {', '.join(rows.column_names)}")
    keys = rows[spec.key]
    if keys.null_count and spec.by in ("range", "list"):
        raise WorkbenchError(f"{keys.null_count:,} rows of {table.key} have a NULL {spec.key!r}: {spec.by} "
                             f"partitions hold no NULL key here (PostgreSQL would need a DEFAULT partition). "
                             f"fix: make {spec.key!r} NOT NULL, or use by = \"hash\"")
    return keys


def partition_bounds(keys: pa.ChunkedArray, spec: PartitionSpec, dialect: str = "postgres") -> list[str]:
    """The ``FOR VALUES ...`` text of each of the ``spec.count`` partitions, in order."""
    if spec.by == "hash":
        return [f"FOR VALUES WITH (MODULUS {spec.count}, REMAINDER {i})" for i in range(spec.count)]
    if spec.by == "list":
        return [f"FOR VALUES IN ({', '.join(_literal(v, dialect) for v in chunk)})"
                for chunk in list_groups(keys, spec)]
    edges = [_literal(v, dialect) for v in range_edges(keys, spec)]
    lows, highs = ["MINVALUE", *edges], [*edges, "MAXVALUE"]
    return [f"FOR VALUES FROM ({low}) TO ({high})" for low, high in zip(lows, highs, strict=True)]


def range_edges(keys: pa.Array | pa.ChunkedArray, spec: PartitionSpec) -> list[Any]:
    """The ``count - 1`` inner boundaries of equal-width ranges over the keys (Python values of the key type).

    Partition ``i`` holds ``edges[i-1] <= key < edges[i]``; :func:`range_grid` gives the same as numbers.
    """
    start, width, kind = range_grid(keys, spec)
    numbers = [start + i * width for i in range(1, spec.count)]
    if not _is_integral(kind):
        return numbers
    storage = pa.int32() if pa.types.is_date32(kind) else pa.int64()
    return pa.array(numbers, type=pa.int64()).cast(storage).cast(kind).to_pylist()


def range_grid(keys: pa.Array | pa.ChunkedArray, spec: PartitionSpec) -> tuple[Any, Any, pa.DataType]:
    """``(start, width, storage type)``: partition ``i`` starts at ``start + i * width`` (numbers of the key).

    Temporal keys are counted in their storage unit (days, microseconds...); the width is rounded up to the
    roundest of a day, hour, minute or second that adds at most ~5% to it, integer widths to whole units.
    """
    kind = keys.type
    if not (_is_integral(kind) or pa.types.is_floating(kind)):
        raise WorkbenchError(f"range partitioning by {spec.key!r} needs a number, date or timestamp key; "
                             f"{spec.key!r} is {kind}. fix: use by = \"list\" or \"hash\" for this key")
    numbers = key_numbers(keys)
    low, high = pc.min_max(numbers).values()
    if not low.is_valid:
        raise WorkbenchError(f"the data has no non-NULL {spec.key!r} to compute {spec.count} range partitions from")
    low, high = low.as_py(), high.as_py()
    if pa.types.is_floating(kind):
        return low, ((high - low) / spec.count or 1.0) * (1 + 1e-9), kind
    grain = _grain(kind, (high - low + 1) / spec.count / 20)  # rounding adds at most ~5% to the width
    start = low // grain * grain
    width = max(grain, math.ceil((high + 1 - start) / spec.count / grain) * grain)
    return start, width, kind


def list_groups(keys: pa.ChunkedArray, spec: PartitionSpec) -> list[list[Any]]:
    """The distinct key values (sorted) split into ``spec.count`` contiguous groups of near-equal size."""
    distinct = pc.unique(keys.drop_null()).sort().to_pylist()
    if len(distinct) < spec.count:
        raise WorkbenchError(f"list partitioning of {spec.table!r} by {spec.key!r} into {spec.count} partitions "
                             f"needs at least {spec.count} distinct values; the data has {len(distinct)}. "
                             f"fix: lower count to at most {len(distinct)}")
    return [list(group) for group in np.array_split(np.array(distinct, dtype=object), spec.count)]


def _check(table: Table, spec: PartitionSpec) -> None:
    if not table.has_column(spec.key):
        table.column(spec.key)  # raises UnknownNameError listing the columns
    if table.partitioning is not None:
        raise WorkbenchError(f"table {table.key} is already partitioned by {table.partitioning.strategy} "
                             f"({', '.join(table.partitioning.key)}); partition the unpartitioned design instead")
    keys = [("primary key", table.primary_key.name, table.primary_key.columns)] if table.primary_key else []
    keys += [("unique constraint", u.name, u.columns) for u in table.uniques]
    keys += [("unique index", i.name, i.columns) for i in table.indexes if i.unique]
    missing = [f"{kind} {name + ' ' if name else ''}({', '.join(columns)})"
               for kind, name, columns in keys if spec.key not in columns]
    if missing:
        raise WorkbenchError(
            f"cannot partition {table.key} by {spec.key!r}: PostgreSQL requires every primary key and unique "
            f"constraint of a partitioned table to include the partition key, and these do not: "
            f"{'; '.join(missing)}. fix: add {spec.key!r} to them, or partition by a column they all include")


def _is_integral(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_temporal(kind)


def key_numbers(keys: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The key as numbers Arrow computes on: integers (temporal keys in their storage unit, int64) or floats."""
    kind = keys.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return keys
    if pa.types.is_timestamp(kind):
        return keys.cast(pa.timestamp(kind.unit)).cast(pa.int64())  # wall time in UTC, numbers in its unit
    return keys.cast(pa.int64() if kind.bit_width == 64 else pa.int32()).cast(pa.int64())


def _grain(kind: pa.DataType, width: float) -> int:
    """The roundest step (day, hour, minute, second; else one unit) not larger than ``width`` units."""
    if not pa.types.is_timestamp(kind):
        return 1
    per_us = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}[kind.unit]
    return next((int(g / per_us) for g in _GRAINS_US if g / per_us <= width and g / per_us >= 1), 1)


def value_literal(value: Any) -> exp.Expression:
    """A key value (number, date, timestamp, text) as a SQL literal; temporal values in ISO form."""
    if isinstance(value, bool | np.bool_):
        return exp.Boolean(this=bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return exp.Literal.number(value)
    text = value.isoformat(sep=" ") if hasattr(value, "isoformat") and not isinstance(value, str) else str(value)
    return exp.Literal.string(text)


def _literal(value: Any, dialect: str) -> str:
    return value_literal(value).sql(dialect)
