"""What a design costs writes: new rows that keep every key valid, and the rows per second inserting them takes.

A study measures every variant with the same rows in the same tables (so the figures compare), and a
partitioning study's ingest is the same measurement on the partitioned table: the new rows' keys lie past
the existing ones, so time keys land in the newest range partition. Inserts are rolled back after timing.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from workbench.engines.base import Engine
from workbench.errors import WorkbenchError
from workbench.schema.model import Schema, Table


def insert_sample(schema: Schema, table: str, data: pa.Table, rows: int) -> pa.Table:
    """Up to ``rows`` new rows for ``table`` that keep every key valid: copies of ``data``'s rows (the table's
    rows) whose unique columns are moved past the existing values (foreign keys keep pointing at existing
    parents). A unique key made only of foreign keys (``inventory (product_id, warehouse_id)``) gets
    combinations of parent keys that ``data`` references but not yet together.

    Raises WorkbenchError when no new row can be made (a unique key on one foreign key, or every
    combination already taken).
    """
    model = schema.table(table)
    sample = data.slice(0, min(rows, data.num_rows))
    foreign = {c for fk in model.foreign_keys for c in fk.columns}
    shifted: set[str] = set()
    for key in _unique_keys(model):
        if key & shifted:
            continue
        free = sorted(key - foreign)
        if free:
            shifted.add(free[0])
            continue
        sample = _new_combinations(model, key, data, sample)
    for name in sorted(shifted):
        position = sample.column_names.index(name)
        sample = sample.set_column(position, name, _moved(data[name], sample[name]))
    return sample


def _new_combinations(model: Table, key: set[str], data: pa.Table, sample: pa.Table) -> pa.Table:
    """``sample`` with the foreign keys making up unique ``key`` set to parent keys ``data`` references,
    combined in ways ``data`` does not hold yet (each foreign key keeps one of its existing tuples)."""
    groups = [fk.columns for fk in model.foreign_keys if set(fk.columns) & key]
    taken = set(zip(*(data[c].to_pylist() for c in sorted(key)), strict=True))
    parents = [list(dict.fromkeys(zip(*(data[c].to_pylist() for c in group), strict=True))) for group in groups]
    columns = [c for group in groups for c in group]
    fresh: list[dict[str, object]] = []
    if len(groups) > 1 and len(set(columns)) == len(columns):
        for combination in itertools.product(*parents):
            row = dict(zip(columns, itertools.chain(*combination), strict=True))
            if tuple(row[c] for c in sorted(key)) not in taken:
                fresh.append(row)
                if len(fresh) == sample.num_rows:
                    break
    if not fresh:
        raise WorkbenchError(f"cannot make new rows for {model.key}: its unique key ({', '.join(sorted(key))}) is "
                             f"made of foreign keys only, and no new combination of existing parents is left; "
                             f"its write cost is not measured")
    sample = sample.slice(0, len(fresh))
    for name in dict.fromkeys(columns):
        position = sample.column_names.index(name)
        values = pa.array([row[name] for row in fresh], sample.schema.field(name).type)
        sample = sample.set_column(position, name, values)
    return sample


def insert_rate(engine: Engine, samples: Mapping[str, pa.Table]) -> float:
    """Rows per second inserting every sample (model table -> rows) takes, indexes maintained, rolled back.

    NaN when there is nothing to insert; raises WorkbenchError when the engine cannot insert (e.g. a table that
    is a view over files).
    """
    seconds = sum(engine.insert_seconds(table, rows) for table, rows in samples.items())
    inserted = sum(rows.num_rows for rows in samples.values())
    return inserted / seconds if seconds > 0 and inserted else float("nan")


def _unique_keys(table: Table) -> list[set[str]]:
    """Column sets that must stay unique (expression keys count the columns they read)."""
    keys = [set(table.primary_key.columns)] if table.primary_key else []
    keys += [set(u.columns) for u in table.uniques]
    for index in table.indexes:
        if index.unique:
            columns: set[str] = set()
            for element in index.elements:
                if element.is_expression:
                    columns |= {c.name for c in sqlglot.parse_one(element.expression, read="postgres")
                                .find_all(exp.Column) if table.has_column(c.name)}
                else:
                    columns.add(element.expression)
            keys.append(columns)
    return [k for k in keys if k]


def _moved(whole: pa.ChunkedArray, values: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Values moved past every existing one: numbers shifted above the maximum, text suffixed."""
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_temporal(kind):
        storage = pa.int32() if pa.types.is_date32(kind) or pa.types.is_time32(kind) else pa.int64()
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if not numeric:  # dates and times move in their storage unit (days, microseconds)
            whole, values = whole.cast(storage), values.cast(storage)
        low, high = pc.min_max(whole).values()
        moved = pc.add(pc.subtract(values, low), pa.scalar(high.as_py() + 1, values.type))
        return moved.cast(kind) if numeric else moved.cast(storage).cast(kind)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.binary_join_element_wise(values, pa.scalar("~w", kind), pa.scalar("", kind))
    raise WorkbenchError(f"cannot make new unique values of type {kind} for an insert sample; "
                         f"its write cost is not measured")
