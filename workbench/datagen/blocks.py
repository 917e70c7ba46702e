"""Tables are generated in fixed blocks of rows: the unit of memory, of randomness and of sharding.

Block ``k`` of a table holds rows ``[k * BLOCK_ROWS, (k + 1) * BLOCK_ROWS)``. Each block draws from
its own random streams (block 0 from the table's original streams), so a block's data depends only
on the seed, the table and the block's place, never on how many blocks are generated together, in
which process, or in which batches they are read afterwards. A table of at most ``BLOCK_ROWS`` rows
is one block and keeps the data it had before tables were generated in blocks.

``BLOCK_ROWS`` is part of the data's definition: changing it changes the data of larger tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.datagen.distributions import rng_for
from workbench.errors import WorkbenchError

BLOCK_ROWS = 1 << 20  # 1,048,576 rows: about 25-250 MB of Arrow data per block for the sample domains


@dataclass(frozen=True)
class Rows:
    """The rows ``[start, stop)`` of a table of ``total`` rows: block ``index`` of it."""

    start: int
    stop: int
    total: int
    index: int = 0

    @classmethod
    def whole(cls, total: int) -> Rows:
        return cls(0, total, total)

    @property
    def count(self) -> int:
        return self.stop - self.start

    def positions(self) -> np.ndarray:
        """The rows' positions in the whole table."""
        return np.arange(self.start, self.stop, dtype=np.int64)

    def rng(self, seed: int, *names: str) -> np.random.Generator:
        """This block's stream for ``names``: block 0 uses the table's original stream."""
        return rng_for(seed, *names) if self.index == 0 else rng_for(seed, *names, f"block {self.index}")

    def share(self, span: int) -> tuple[int, int]:
        """This block's part ``[low, high)`` of ``range(span)``, in proportion to its rows (``span >= total``).

        Blocks get disjoint, ordered parts of at least as many values as they have rows, so values
        drawn without replacement inside each part are distinct across the whole table.
        """
        if self.total == 0:
            return 0, span
        return span * self.start // self.total, span * self.stop // self.total


def table_blocks(total: int, block_rows: int = BLOCK_ROWS) -> list[Rows]:
    """The blocks of a table of ``total`` rows (one empty block for an empty table)."""
    if total <= block_rows:
        return [Rows(0, total, total)]
    return [Rows(start, min(start + block_rows, total), total, index)
            for index, start in enumerate(range(0, total, block_rows))]


@dataclass(frozen=True, order=True)
class Shard:
    """Part ``index`` of ``count`` (``0 <= index < count``): a contiguous run of every table's blocks."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"I/N"`` (zero-based ``I``), e.g. ``"0/4"`` .. ``"3/4"``."""
        parts = text.split("/")
        try:
            index, count = (int(p) for p in parts) if len(parts) == 2 else (None, None)
        except ValueError:
            index = count = None
        if index is None or count is None:
            raise WorkbenchError(f"shard {text!r} is not of the form I/N (e.g. 0/4 for the first of 4 shards)")
        return cls.checked(index, count)

    @classmethod
    def checked(cls, index: int, count: int) -> Shard:
        if count < 1 or not 0 <= index < count:
            raise WorkbenchError(f"shard {index}/{count} does not exist: shards of {count} are numbered "
                                 f"0/{count} .. {max(count - 1, 0)}/{count} (I/N counts from 0)")
        return cls(index, count)

    def blocks(self, blocks: list[Rows]) -> list[Rows]:
        """This shard's run of ``blocks``; the runs of shards 0..N-1 cover every block once, in order."""
        total = len(blocks)
        return blocks[total * self.index // self.count: total * (self.index + 1) // self.count]

    def split(self, jobs: int) -> list[Shard]:
        """This shard as ``jobs`` finer shards whose blocks, together, are exactly this shard's blocks."""
        return [Shard(self.index * jobs + j, self.count * jobs) for j in range(jobs)]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
