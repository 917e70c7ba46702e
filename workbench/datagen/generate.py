"""Fill a schema with synthetic data: in memory (:func:`generate`) or streamed block by block (:func:`stream`).

Tables are generated in foreign-key order, each in blocks of rows (see :mod:`workbench.datagen.blocks`
and :mod:`workbench.datagen.table`). A child's foreign keys read the parent's key values at the parent
rows they picked: integer keys the database would number are computed from the row positions, other
key columns are kept (only those columns) as the parent is generated. So a stream holds one block
of data at a time plus the parents' non-numeric key columns, whatever the scale; and a shard (a run
of every table's blocks) is generated alone, identical to the same blocks of the whole stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property

import numpy as np
import pyarrow as pa

from workbench.datagen.blocks import BLOCK_ROWS, Rows, Shard
from workbench.datagen.columns import ColumnRequest, numbered
from workbench.datagen.dataset import Dataset, Tables
from workbench.datagen.plan import plan, with_partition_keys
from workbench.datagen.spec import DataSpec
from workbench.datagen.table import BlockBuilder, TableState
from workbench.errors import WorkbenchError
from workbench.progress import tqdm
from workbench.schema.model import Schema


def generate(schema: Schema, rows: int | dict[str, int] | None = None, *, scale: str | float | None = None,
             seed: int = 0, spec: DataSpec | None = None, progress: bool = True) -> Dataset:
    """Synthetic, key-consistent data for every table of ``schema`` as Arrow tables (all in memory).

    ``rows``: an exact row count for every table, or per table (by key or bare name); tables not
    given get their rows from ``spec`` at ``scale`` (a named scale such as "ci" or a multiplier).
    The same ``seed`` gives the same data, bit for bit, as :func:`stream` gives block by block.
    """
    data = stream(schema, rows, scale=scale, seed=seed, spec=spec)
    tables = {}
    for key, table in data.items():
        with tqdm(total=table.num_rows, disable=not progress, desc=f"generate {key}", unit="rows",
                  unit_scale=True) as bar:
            batches = []
            for batch in table:
                batches.append(batch)
                bar.update(batch.num_rows)
        tables[key] = pa.Table.from_batches(batches, table.schema)
    return Dataset(tables, data.notes, seed)


def stream(schema: Schema, rows: int | dict[str, int] | None = None, *, scale: str | float | None = None,
           seed: int = 0, spec: DataSpec | None = None, shard: Shard | None = None,
           block_rows: int = BLOCK_ROWS) -> DataStream:
    """The data :func:`generate` makes, as a mapping of table key -> :class:`TableStream` (parents first).

    Nothing is generated until a table is iterated; each iteration yields one ``pyarrow.RecordBatch``
    per block. ``shard`` keeps a run of every table's blocks: the shards 0..N-1 of ``N`` together
    yield exactly the unsharded data. ``block_rows`` is part of the data's definition (tests use
    small blocks to cover many-block tables quickly).
    """
    spec = (spec or DataSpec()).resolve(schema)
    return DataStream(Generation(schema, _row_counts(schema, rows, scale, spec), seed, spec, block_rows),
                      shard or Shard())


class Generation:
    """One generation's plan and shared state: table order, row counts, tables' states, parents' keys."""

    def __init__(self, schema: Schema, counts: dict[str, int], seed: int, spec: DataSpec, block_rows: int):
        self.inputs = (schema, counts, seed, spec, block_rows)  # all it takes to make the same data elsewhere
        self.schema, self.notes = with_partition_keys(schema)
        order = plan(self.schema)
        self.order, self.deferred, self.notes = order.order, order.deferred, self.notes + order.notes
        self.counts, self.seed, self.spec, self.block_rows = counts, seed, spec, block_rows
        self._states: dict[str, TableState] = {}
        self._keys: dict[tuple[str, tuple[str, ...]], KeyColumns] = {}

    def state(self, key: str) -> TableState:
        if key not in self._states:
            self._states[key] = TableState(self, self.schema.table(key), self.counts[key])
        return self._states[key]

    def block(self, key: str, rows: Rows) -> dict[str, pa.Array]:
        """The columns of one block (kept key columns are recorded as they pass)."""
        columns = BlockBuilder(self.state(key), rows).build()
        for (table, _), keys in list(self._keys.items()):  # another thread may add keys (parallel loads)
            if table == key and isinstance(keys, KeptKeys):
                keys.record(rows.index, columns)
        return columns

    def keys(self, table: str, columns: tuple[str, ...]) -> KeyColumns:
        """Values of ``columns`` of ``table`` at any of its row positions."""
        if (table, columns) not in self._keys:
            state = self.state(table)
            requests = [state.counted(state.table.column(c)) for c in columns]
            self._keys[(table, columns)] = (CountedKeys(requests) if None not in requests  # type: ignore[arg-type]
                                            else KeptKeys(self, table, columns))
        return self._keys[(table, columns)]

    def referenced(self, table: str) -> list[tuple[str, ...]]:
        """The column tuples of ``table`` that foreign keys of the schema point at."""
        found = []
        for child in self.schema.tables:
            for fk in child.foreign_keys:
                parent = self.schema.referenced_table(fk)
                if parent is not None and parent.key == table and fk.ref_columns not in found:
                    found.append(fk.ref_columns)
        return found


class KeyColumns:
    """Values of some key columns of a table at given row positions."""

    def take(self, positions: np.ndarray, before: int | None = None) -> list[pa.Array]:
        """The columns at ``positions`` (all before block ``before`` when given)."""
        raise NotImplementedError


class CountedKeys(KeyColumns):
    """Keys numbered 1, 2, 3... by row: computed from the positions, nothing kept."""

    def __init__(self, requests: list[ColumnRequest]):
        self.requests = requests

    def take(self, positions: np.ndarray, before: int | None = None) -> list[pa.Array]:
        return [numbered(request, np.asarray(positions, dtype=np.int64), top=-1) for request in self.requests]


class KeptKeys(KeyColumns):
    """Key columns kept block by block as the table is generated; missing blocks are generated on demand."""

    def __init__(self, generation: Generation, table: str, columns: tuple[str, ...]):
        self.generation, self.table, self.columns = generation, table, columns
        self.chunks: list[list[pa.Array]] = []
        self._filling = False

    def record(self, block: int, columns: dict[str, pa.Array]) -> None:
        if block == len(self.chunks):
            self.chunks.append([columns[c] for c in self.columns])

    def take(self, positions: np.ndarray, before: int | None = None) -> list[pa.Array]:
        state = self.generation.state(self.table)
        wanted = len(state.blocks) if before is None else before
        if len(self.chunks) < wanted:
            if self._filling:
                raise WorkbenchError(f"{self.table} ({', '.join(self.columns)}): these key columns depend on "
                                     "themselves through a cycle of foreign keys that are not numbered keys; "
                                     "break the cycle or make one of the keys an integer primary key")
            self._filling = True
            try:
                for rows in state.blocks[len(self.chunks):wanted]:
                    self.generation.block(self.table, rows)
            finally:
                self._filling = False
        indices = pa.array(positions)
        return [pa.chunked_array([chunk[i] for chunk in self.chunks[:wanted]],
                                 state.infos[name].arrow).take(indices).combine_chunks()
                for i, name in enumerate(self.columns)]


class TableStream:
    """One table's blocks in a stream: ``num_rows``, an Arrow ``schema``, and iteration over RecordBatches."""

    def __init__(self, generation: Generation, key: str, shard: Shard):
        self.generation, self.key, self.shard = generation, key, shard

    @cached_property
    def blocks(self) -> list[Rows]:
        return self.shard.blocks(self.generation.state(self.key).blocks)

    @property
    def num_rows(self) -> int:
        return sum(rows.count for rows in self.blocks)

    @cached_property
    def schema(self) -> pa.Schema:
        state = self.generation.state(self.key)
        return pa.schema([pa.field(c.name, state.infos[c.name].arrow) for c in state.columns])

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for rows in self.blocks:
            columns = self.generation.block(self.key, rows)
            yield pa.RecordBatch.from_arrays([_as(columns[f.name], f.type) for f in self.schema], schema=self.schema)

    def __repr__(self) -> str:
        return f"<TableStream {self.key}: {self.num_rows:,} rows in {len(self.blocks)} blocks>"


class DataStream(Tables[TableStream]):
    """Table key -> :class:`TableStream`, parents first; ``notes`` say what the generator decided."""

    def __init__(self, generation: Generation, shard: Shard):
        super().__init__({t.key: TableStream(generation, t.key, shard) for t in generation.order})
        self.generation, self.shard = generation, shard
        for key in self._tables:  # columns children read are kept as the parent streams by
            for columns in generation.referenced(key):
                generation.keys(key, columns)

    @property
    def seed(self) -> int:
        return self.generation.seed

    def reshard(self, shard: Shard) -> DataStream:
        """The same generation's ``shard``, with fresh state (e.g. in another process: it pickles)."""
        return DataStream(Generation(*self.generation.inputs), shard)

    def __reduce__(self) -> tuple:
        return _restream, (self.generation.inputs, self.shard)

    @property
    def notes(self) -> list[str]:
        """What the generator decided or could not honour (complete once every table was iterated)."""
        notes = list(self.generation.notes)
        for key in self._tables:
            notes += self.generation.state(key).finish_notes()
        return notes

    def __repr__(self) -> str:
        return (f"<DataStream: {len(self)} tables, {sum(self.row_counts().values()):,} rows, seed {self.seed}, "
                f"shard {self.shard}>")


def _restream(inputs: tuple, shard: Shard) -> DataStream:
    return DataStream(Generation(*inputs), shard)


def _as(values: pa.Array, kind: pa.DataType) -> pa.Array:
    return values if values.type == kind else values.cast(kind)


def _row_counts(schema: Schema, rows: int | dict[str, int] | None, scale: str | float | None,
                spec: DataSpec) -> dict[str, int]:
    exact = {schema.table(name).key: int(n) for name, n in rows.items()} if isinstance(rows, dict) else {}
    counts = {}
    for table in schema.tables:
        if table.key in exact:
            counts[table.key] = exact[table.key]
        elif isinstance(rows, int):
            counts[table.key] = rows
        else:
            counts[table.key] = spec.base_rows(table, scale)
        if counts[table.key] < 0:
            raise WorkbenchError(f"{table.key}: row count must not be negative, got {counts[table.key]}")
    return counts
