"""Synthetic, foreign-key-consistent data for any schema model, as Arrow tables.

``generate(schema, rows=1000)`` fills every table; a :class:`DataSpec` (TOML) sets rows per
scale and the shape of columns and foreign keys. See :mod:`workbench.datagen.spec` for the format.
``stream(...)`` makes the same data block by block (bounded memory; a :class:`Shard` of it alone), and
:mod:`workbench.datagen.parquet` writes and reads it as Parquet folders.
"""

from workbench.datagen.blocks import Shard
from workbench.datagen.dataset import Dataset
from workbench.datagen.generate import DataStream, generate, stream
from workbench.datagen.spec import ColumnSpec, DataSpec, ForeignKeySpec, SpecError

__all__ = ["ColumnSpec", "DataSpec", "DataStream", "Dataset", "ForeignKeySpec", "Shard", "SpecError", "generate",
           "stream"]
