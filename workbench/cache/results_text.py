"""A query result as the bytes a cache-aside application stores, and values as comparable text.

The trace and the replay both size a cached result with :func:`encode_rows`, so the bytes the
simulation reserves are the bytes the real cache receives. Integral floats are written as integers:
an integer column that holds a NULL comes back from pandas as floats in one batch and as integers in
another, and the two must encode the same.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any) -> Any:
    """A JSON-ready value: NULL-likes to None, numpy scalars to Python, integral floats to int."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    return value


def row_texts(frame: pd.DataFrame) -> list[str]:
    """Each row of ``frame`` as compact JSON (an array of its values)."""
    rows = frame.to_numpy(dtype=object)
    return [json.dumps([plain(v) for v in row], separators=(",", ":"), default=str) for row in rows]


def encode_rows(frame: pd.DataFrame) -> bytes:
    """The result as one JSON array of rows: what the replay stores under the read's key."""
    return ("[" + ",".join(row_texts(frame)) + "]").encode()


def encoded_length(row_lengths: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
    """Length of :func:`encode_rows` per group, from the lengths of its rows (brackets and commas added)."""
    lengths = np.bincount(groups, weights=row_lengths, minlength=count)
    rows = np.bincount(groups, minlength=count)
    return (lengths + 2 + np.maximum(rows - 1, 0)).astype(np.int64)


def texts(values: pd.Series) -> pd.Series:
    """Values as text that compares equal across engines and parameter draws (42, 42.0 and Decimal 42)."""
    return pd.Series([None if (p := plain(v)) is None else str(p) for v in values], index=values.index,
                     dtype=object)
