"""How much disk a generation will take, estimated before it starts, and whether the disk has it.

The estimate generates a small sample of the dataset with the same spec (the largest table at
``SAMPLE_ROWS`` rows, the others in proportion) and scales its bytes per row to the full row counts:
Parquet bytes for ``generate --out``, Arrow bytes plus a per-row overhead for a database. Samples
compress less well than whole tables (fewer repeats), so the estimate errs on the large side.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.datagen.generate import DataStream, stream
from workbench.errors import WorkbenchError

SAMPLE_ROWS = 2_000
ROW_OVERHEAD = 32  # bytes a database adds per row on top of the values (PostgreSQL: 24-byte tuple header + pointer)
INDEX_SHARE = 0.5  # indexes and keys built after a load, as a share of the table data
MARGIN = 1.1


@dataclass(frozen=True)
class SizeEstimate:
    """Estimated bytes of the data, per table: as Parquet files, and loaded into a database."""

    parquet: dict[str, int]
    database: dict[str, int]

    @property
    def parquet_bytes(self) -> int:
        return sum(self.parquet.values())

    @property
    def database_bytes(self) -> int:
        return sum(self.database.values())


def estimate(data: DataStream) -> SizeEstimate:
    """Bytes ``data`` (its shard) will take, from a sample of every table generated the same way."""
    schema, counts, seed, spec, _ = data.generation.inputs
    factor = min(1.0, SAMPLE_ROWS / max([*counts.values(), 1]))  # the tables' proportions kept, as keys need
    sample = stream(schema, {key: min(rows, max(round(rows * factor), SAMPLE_ROWS // 10))
                             for key, rows in counts.items()}, seed=seed, spec=spec)
    parquet, database = {}, {}
    for key, table in sample.items():
        rows = data[key].num_rows
        sampled = pa.Table.from_batches(list(table), table.schema)
        if not rows or not sampled.num_rows:
            parquet[key] = database[key] = 0
            continue
        sink = pa.BufferOutputStream()
        pq.write_table(sampled, sink, compression="zstd")
        parquet[key] = round(sink.getvalue().size / sampled.num_rows * rows)
        database[key] = round((sampled.nbytes / sampled.num_rows + ROW_OVERHEAD) * rows * (1 + INDEX_SHARE))
    return SizeEstimate(parquet, database)


def check_free_space(folder: str | Path, needed: int, what: str, fix: str) -> None:
    """Raise before any work when the disk holding ``folder`` has less than ``needed`` bytes (with a margin)."""
    place = Path(folder).resolve()
    while not place.exists():
        place = place.parent
    free = shutil.disk_usage(place).free
    if needed * MARGIN > free:
        raise WorkbenchError(f"{what} needs about {_size(needed * MARGIN)} on the disk of {place}, which has "
                             f"{_size(free)} free; nothing was written. Fix: {fix}")


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:,.1f} {unit}"
        count /= 1000
    return f"{count:,.1f} TB"
