"""Synthetic, foreign-key-consistent data for any schema model, as Arrow tables.

``generate(schema, rows=1000)`` fills every table; a :class:`DataSpec` (TOML) sets rows per
scale and the shape of columns and foreign keys. See :mod:`workbench.datagen.spec` for the format.
"""

from workbench.datagen.dataset import Dataset
from workbench.datagen.generate import generate
from workbench.datagen.spec import ColumnSpec, DataSpec, ForeignKeySpec, SpecError

__all__ = ["ColumnSpec", "DataSpec", "Dataset", "ForeignKeySpec", "SpecError", "generate"]
