"""What one timed statement did, and the order-insensitive checksum that shows two answers agree.

The checksum sums (mod 2**64) a 64-bit hash of each row's canonical text, so row order does not
matter but duplicates do. Numbers are written the same whether they come back as ``Decimal``,
``float`` or ``int`` (integers exactly, fractions at 12 significant digits) and aware timestamps in UTC, so
DuckDB and PostgreSQL, and layouts that add floats in another order, agree on equal rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from hashlib import blake2b
from typing import Any

STATUSES = ("ok", "timeout", "error")
_MASK = (1 << 64) - 1
_SEPARATOR = "\x1f"
# Fractions are compared at 12 significant digits: a double's sum or average depends on the order rows were
# added in (layouts, partitions, parallel plans), which moves the last few of its ~16 digits.
_SIGNIFICANT = ".12g"


@dataclass(frozen=True)
class Execution:
    """One statement's outcome: ``status`` ok | timeout | error, client latency, rows and checksum.

    A timeout's ``latency_ms`` is the timeout itself (a censored value, never 0); an error's is the
    time until it failed. ``rows`` and ``checksum`` are None unless the statement succeeded.
    """

    status: str
    latency_ms: float
    rows: int | None = None
    checksum: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def __repr__(self) -> str:
        first_line = (self.error or "").partition("\n")[0][:80]
        detail = f"{self.rows} rows, checksum {self.checksum}" if self.ok else first_line
        return f"<Execution {self.status} {self.latency_ms:.3f} ms: {detail}>"


def checksum(rows: Iterable[Sequence[Any]]) -> str:
    """Order-insensitive hex digest of the rows (16 hex digits; ``0`` * 16 for no rows)."""
    total = 0
    for row in rows:
        text = _SEPARATOR.join([_canonical(value) for value in row])
        total += int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "little")
    return f"{total & _MASK:016x}"


def _number(value: float | Decimal) -> str:
    if isinstance(value, Decimal) and not value.is_finite():
        return _number(float(value))
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    integral = value == value.to_integral_value() if isinstance(value, Decimal) else value.is_integer()
    if integral:
        return str(int(value))
    return format(float(value), _SIGNIFICANT)


def _moment(value: dt.datetime | dt.time) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.isoformat()


def _sequence(value: Sequence[Any]) -> str:
    return "[" + ",".join(_canonical(item) for item in value) + "]"


_CANONICAL: dict[type, Callable[[Any], str]] = {
    str: lambda value: value,
    int: str,
    bool: lambda value: "t" if value else "f",
    float: _number,
    Decimal: _number,
    dt.datetime: _moment,
    dt.time: _moment,
    dt.date: dt.date.isoformat,
    bytes: bytes.hex,
    bytearray: bytearray.hex,
    memoryview: lambda value: value.hex(),
    list: _sequence,
    tuple: _sequence,
    dict: lambda value: json.dumps(value, sort_keys=True, default=str),
}


def _canonical(value: Any) -> str:
    if value is None:
        return "\\N"
    return _CANONICAL.get(type(value), str)(value)
