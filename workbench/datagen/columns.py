"""Value generators for one column, chosen by its type family, its name and its spec.

Precedence: the spec (``values``, ``dist``...) > CHECK lists and enum labels > partition bounds >
name hints > the type's defaults; the type's bounds, CHECK bounds and varchar lengths are always
enforced last. Generators return non-null Arrow arrays; nulls are laid over them by the caller.

Generators fill one block of a table (:class:`~workbench.datagen.blocks.Rows`): values that must
differ across the whole table (sequences, unique columns) use the block's place in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbench.datagen import distributions as dist
from workbench.datagen import hints, text, words
from workbench.datagen.blocks import Rows
from workbench.datagen.checks import Rule
from workbench.datagen.spec import ColumnSpec
from workbench.datagen.types import TypeInfo
from workbench.errors import WorkbenchError

DEFAULT_START, DEFAULT_END = "2020-01-01", "2025-12-31"
BIRTH_START, BIRTH_END = "1940-01-01", "2006-12-31"
US_PER_DAY = 86_400_000_000
_COUNTRY_CODES = [code for code, _ in words.COUNTRIES]
_COUNTRY_NAMES = [name for _, name in words.COUNTRIES]
_NUMBER_SHAPES = {  # hint -> (kind, a, b): uniform a..b, lognormal mean a sd b, geometric p=a capped at b
    "latitude": ("uniform", -60.0, 70.0), "longitude": ("uniform", -180.0, 180.0),
    "salary": ("lognormal", 60_000.0, 25_000.0), "money": ("lognormal", 60.0, 90.0),
    "quantity": ("geometric", 0.45, 50.0), "stock": ("uniform", 0.0, 500.0), "age": ("uniform", 18.0, 90.0),
    "rating": ("uniform", 1.0, 5.0), "year": ("uniform", 1950.0, 2025.0), "percent": ("uniform", 0.0, 100.0),
    "count": ("geometric", 0.2, 1000.0), "duration": ("uniform", 1.0, 240.0), "measure": ("lognormal", 50.0, 40.0),
    "id": ("uniform", 1.0, 100_000.0),
}


@dataclass(frozen=True)
class ColumnRequest:
    """Everything that decides one column's values."""

    table: str  # table key, for errors
    table_name: str  # bare table name, for hints
    name: str
    info: TypeInfo
    spec: ColumnSpec = field(default_factory=ColumnSpec)
    rule: Rule | None = None
    unique: bool = False
    sequential: bool = False  # single-column integer primary key or identity: 1, 2, 3...
    ranges: tuple[tuple[float, float], ...] = ()  # partition bounds [low, high) in the family's units

    def fail(self, reason: str, fix: str) -> WorkbenchError:
        return WorkbenchError(f"{self.table}.{self.name} ({self.info.raw}): {reason}; {fix}")


def column_values(request: ColumnRequest, rows: Rows, rng: np.random.Generator) -> pa.Array:
    """Non-null values for ``rows`` of the column's Arrow type that meet its type, checks and uniqueness."""
    info, n = request.info, rows.count
    if info.family == "array":
        return _array(request, n, rng)
    if (choices := _choices(request)) is not None:
        return _categorical(request, rows, rng, choices).cast(info.arrow)
    family = info.family
    if family in ("int", "decimal", "float"):
        return _numbers(request, rows, rng)
    if family in ("date", "timestamp"):
        return _instants(request, rows, rng)
    if family == "time":
        return pa.array(rng.integers(0, US_PER_DAY, n), pa.time64("us"))
    if family == "interval":
        return pa.array(rng.integers(60, 30 * 86_400, n) * 1_000_000, pa.duration("us"))
    if family == "bool":
        if request.unique and rows.total > 2:
            raise request.fail(f"{rows.total} unique values asked of a boolean column, which has 2",
                               "drop the unique constraint or generate at most 2 rows")
        return pa.array(rng.random(n) < hints.true_share(request.name))
    if family == "uuid":
        return text.uuids(rng, n)
    if family == "json":
        return _json(n, rng)
    if family == "binary":
        raw = pa.py_buffer(rng.bytes(16 * n))
        return pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, raw]).cast(pa.binary())
    return _strings(request, rows, rng)


def _choices(request: ColumnRequest) -> tuple | None:
    if request.spec.values is not None:
        return request.spec.values
    if request.rule is not None and request.rule.values is not None:
        return request.rule.values
    if request.info.values:
        return request.info.values
    return None


def _categorical(request: ColumnRequest, rows: Rows, rng: np.random.Generator, choices: tuple) -> pa.Array:
    """Values from a fixed list: the spec's weights, else a gentle skew (earlier labels more common)."""
    pool = pa.array(list(choices))
    n = rows.count
    if request.info.family in ("int", "decimal", "float"):
        pool = pa.array([float(v) for v in choices])
    if request.unique:
        if rows.total > len(choices):
            raise request.fail(f"{rows.total} unique values asked but only {len(choices)} are allowed "
                               f"({list(choices)[:8]})", "generate fewer rows or allow more values")
        return pool.take(pa.array(rng.permutation(len(choices))[:n]))
    if request.spec.weights is not None:
        weights = np.asarray(request.spec.weights, dtype=float)
    else:
        weights = dist.zipf_weights(len(choices), 0.7)
    return pool.take(pa.array(rng.choice(len(choices), n, p=weights / weights.sum())))


# --- numbers -------------------------------------------------------------------------------------------------


def _numbers(request: ColumnRequest, rows: Rows, rng: np.random.Generator) -> pa.Array:
    info, spec = request.info, request.spec
    step = 1.0 if info.family == "int" else 10.0 ** -(info.scale or 0) if info.family == "decimal" else 0.0
    low, high = _bounds(request, step)
    if request.sequential or spec.dist == "sequential":
        return numbered(request, rows.positions(), top=rows.total - 1)
    elif request.unique:
        values = _distinct(request, rows, rng, low, high, step)
    else:
        values = _shaped(request, rows.count, rng, low, high)
        values = np.clip(values, low, high)
    return _to_arrow(values, info)


def numbered(request: ColumnRequest, ranks: np.ndarray, within: str = "", top: int | None = None) -> pa.Array:
    """Numbers 1, 2, 3... (or the spec's ``min`` on) at ``ranks`` 0, 1, 2...: ids, or line numbers within a parent.

    ``top``: the largest rank of the whole table (checked against the type), when ``ranks`` is one block of it.
    """
    start, high = sequence_bounds(request)
    if top is None:
        top = int(ranks.max()) if len(ranks) else -1
    if start + top > high:
        raise request.fail(f"{top + 1} sequential values{within} from {start:g} exceed the type's maximum {high:g}",
                           "use a wider type or fewer rows")
    if request.info.family == "int":
        return pa.array(int(start) + ranks.astype(np.int64)).cast(request.info.arrow)
    return _to_arrow(start + ranks.astype(np.float64), request.info)


def sequence_bounds(request: ColumnRequest) -> tuple[float, float]:
    """First and largest allowed value of a numbered integer column (type, CHECK and spec bounds)."""
    low, high = _bounds(request, 1.0)
    return (float(request.spec.min) if request.spec.min is not None else max(low, 1.0)), high


def _bounds(request: ColumnRequest, step: float) -> tuple[float, float]:
    info, rule, spec = request.info, request.rule, request.spec
    low = info.low if info.low is not None else -1e30
    high = info.high if info.high is not None else 1e30
    if rule is not None:
        if isinstance(rule.low, float):
            low = max(low, rule.low + (step or 1e-9) * rule.low_strict)
        if isinstance(rule.high, float):
            high = min(high, rule.high - (step or 1e-9) * rule.high_strict)
    if request.ranges:
        low, high = max(low, min(r[0] for r in request.ranges)), min(high, max(r[1] for r in request.ranges) - 1)
    if step:  # integers and decimals: bounds on the grid of representable values
        low, high = np.ceil(low / step) * step, np.floor(high / step) * step
    if low > high:
        raise request.fail(f"no value fits between {low:g} and {high:g} (type and CHECK bounds)",
                           "fix the CHECK constraint or the type")
    if spec.min is not None:
        low = max(low, float(spec.min))
    if spec.max is not None:
        high = min(high, float(spec.max))
    return low, high


def _shaped(request: ColumnRequest, n: int, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """Values with the spec's distribution, else the name hint's shape; falls back to uniform over tight bounds."""
    spec = request.spec
    kind = spec.dist
    if kind == "uniform" or (kind is None and spec.min is not None and spec.max is not None and spec.mean is None):
        return rng.uniform(low, high, n)
    if kind == "normal" or (kind is None and spec.mean is not None and spec.sd is not None):
        mean = spec.mean if spec.mean is not None else (low + high) / 2
        return rng.normal(mean, spec.sd if spec.sd is not None else abs(mean) / 4 + 1, n)
    if kind == "lognormal":
        mean = spec.mean or 50.0
        return dist.lognormal(rng, n, mean, spec.sd or mean)
    if kind == "zipf":
        top = min(high, low + 1e6) if spec.max is None else high
        return low + dist.zipf_ranks(rng, n, int(top - low) + 1, spec.s or 1.2)
    hint = hints.number_hint(request.name)
    shape, a, b = _NUMBER_SHAPES.get(hint or "", ("uniform", 0.0, 1000.0))
    if hint == "money" and request.info.family == "int":
        shape, a, b = "lognormal", 60.0, 90.0
    if shape == "uniform":
        a, b = max(a, low), min(b, high)
        if a > b:
            a, b = low, high
        values = rng.uniform(a, b + (1 if request.info.family == "int" else 0), n)
    elif shape == "lognormal":
        shrink = min(1.0, high / (20 * a)) if high > 0 else 1.0  # numeric(4,2) prices stay well below 99.99
        values = dist.lognormal(rng, n, a * shrink, b * shrink)
    else:
        values = np.minimum(rng.geometric(a, n), b).astype(np.float64)
    if hint in ("money", "quantity", "count", "stock", "measure"):
        values = np.maximum(values, max(low, 0.01 if request.info.family != "int" else 1))
    outside = np.mean((values < low) | (values > high)) if n else 0.0
    if outside > 0.5 and high - low < 1e15:
        return rng.uniform(low, high + (1 if request.info.family == "int" else 0), n)
    return values


def _distinct(request: ColumnRequest, rows: Rows, rng: np.random.Generator, low: float, high: float,
              step: float) -> np.ndarray:
    """Values on the grid ``low, low + step, ...`` within ``high``, distinct across the table's blocks.

    Each block draws without replacement from its own share of the grid (see ``Rows.share``).
    """
    n = rows.total
    step = step or 1e-6
    domain = round((high - low) / step) + 1
    if domain < n:
        raise request.fail(f"{n} unique values asked but only {domain} fit between {low:g} and {high:g}",
                           "use a wider type, relax the CHECK, drop the unique constraint or generate fewer rows")
    if low < 1 and high - 1 >= 10 * n * step:  # positive values read more naturally, e.g. codes and numbers
        low, domain = 1.0, round((high - 1) / step) + 1
    span = min(domain, max(10 * n, 1000), 2**52)
    first, last = rows.share(span)
    return low + (first + rng.choice(last - first, rows.count, replace=False)).astype(np.float64) * step


def _to_arrow(values: np.ndarray, info: TypeInfo) -> pa.Array:
    if info.family == "int":
        return pa.array(np.floor(values).astype(np.int64)).cast(info.arrow)
    if info.family == "decimal":
        return pa.array(np.round(values, info.scale or 0)).cast(info.arrow, safe=False)
    return pa.array(values).cast(info.arrow)


# --- dates and timestamps ------------------------------------------------------------------------------------


def _instants(request: ColumnRequest, rows: Rows, rng: np.random.Generator) -> pa.Array:
    """Dates (days) or timestamps (microseconds) in a range, with seasonality and partition bounds.

    Unique timestamps are whole seconds, or milliseconds (then microseconds) when the range has fewer
    seconds than the table has rows; sorted, each block in its own share of the range.
    """
    spec, info, is_date, n = request.spec, request.info, request.info.family == "date", rows.count
    birth = hints.date_hint(request.name) == "birth"
    start = day_number(spec.start or spec.min or (BIRTH_START if birth else DEFAULT_START))
    end = day_number(spec.end or spec.max or (BIRTH_END if birth else DEFAULT_END))
    if request.rule is not None:
        if isinstance(request.rule.low, str):
            start = max(start, day_number(request.rule.low) + (1 if request.rule.low_strict else 0))
        if isinstance(request.rule.high, str):
            end = min(end, day_number(request.rule.high) - (1 if request.rule.high_strict else 0))
    seasonality = spec.seasonality or (() if birth else ("weekly", "yearly", "daily"))
    if request.ranges:
        return _within_ranges(request, n, rng, is_date)
    if start > end:
        raise request.fail(f"the date range {spec.start or start} .. {spec.end or end} is empty", "fix start/end")
    if request.unique or spec.dist == "sequential":
        per_day, unit = (1, 1) if is_date else next(
            ((per_day, US_PER_DAY // per_day) for per_day in (86_400, 86_400_000, US_PER_DAY)
             if (end - start + 1) * per_day >= rows.total), (US_PER_DAY, 1))
        domain = (end - start + 1) * per_day
        if domain < rows.total:
            raise request.fail(f"{rows.total} unique values asked but the range holds only {domain}",
                               "widen start/end or drop the unique constraint")
        if spec.dist == "sequential":
            picks = rows.positions()
        else:
            first, last = rows.share(domain)
            picks = first + np.sort(rng.choice(last - first, n, replace=False))
        base = start if is_date else start * US_PER_DAY
        return pa.array(base + picks * unit, pa.int64()).cast(pa.int32() if is_date else pa.int64()).cast(info.arrow)
    chosen = dist.days(rng, n, start, end, seasonality)
    if is_date:
        return pa.array(chosen.astype(np.int32), pa.date32())
    micros = chosen * US_PER_DAY + dist.seconds_of_day(rng, n, seasonality) * 1_000_000
    return pa.array(micros, info.arrow)


def _within_ranges(request: ColumnRequest, n: int, rng: np.random.Generator, is_date: bool) -> pa.Array:
    """Values spread over the partitions' ranges, weighted by their width, so every row has a partition."""
    lows = np.array([r[0] for r in request.ranges], dtype=np.float64)
    widths = np.array([r[1] - r[0] for r in request.ranges], dtype=np.float64)
    which = rng.choice(len(lows), n, p=widths / widths.sum())
    values = lows[which] + np.floor(rng.random(n) * widths[which])
    if is_date:
        return pa.array(values.astype(np.int32), pa.date32())
    return pa.array(values.astype(np.int64), request.info.arrow)


def day_number(value: object) -> int:
    """Days since 1970-01-01 of a date given as text or date."""
    return int(pd.Timestamp(str(value)).normalize().value // (US_PER_DAY * 1000))


def instant(value: object, family: str) -> float:
    """A bound (text or number) in the family's units: days for dates, microseconds for timestamps."""
    if family == "date":
        return float(day_number(value))
    if family == "timestamp":
        stamp = pd.Timestamp(str(value))
        stamp = stamp.tz_convert("UTC") if stamp.tzinfo is not None else stamp
        return float(stamp.value // 1000)
    return float(value)


# --- text ----------------------------------------------------------------------------------------------------


def _strings(request: ColumnRequest, rows: Rows, rng: np.random.Generator) -> pa.Array:
    info, spec, n = request.info, request.spec, rows.count
    length = info.length
    if spec.pattern is not None:
        values = text.pattern(rng, n, spec.pattern)
    elif spec.words is not None:
        low, high = spec.length or (1, 3)
        values = text.phrases(rng, n, spec.words, low, high)
    elif info.family == "char" and length is not None and length <= 3 and not _pool(request):
        values = text.fixed(rng.integers(0, 26**length, n), length, text.LETTERS)
    else:
        values = _hinted(request, rows, rng)
    if length is not None:
        values = text.truncate(values, length)
    return _make_unique(request, values, rows, rng) if request.unique else values


def _pool(request: ColumnRequest) -> list[str] | None:
    """A fixed list the hint draws from, when there is one (so unique requests can use it)."""
    hint = hints.text_hint(request.name, request.table_name)
    lists = {"country_code": _COUNTRY_CODES, "country": _COUNTRY_NAMES, "city": words.CITIES,
             "currency": words.CURRENCIES, "language": words.LANGUAGES, "color": words.COLORS,
             "first_name": words.FIRST_NAMES, "last_name": words.LAST_NAMES}
    if hint == "country" and request.info.length is not None and request.info.length <= 3:
        return _COUNTRY_CODES
    if hint == "status":
        return words.ORDER_STATUSES if "order" in request.table_name.lower() else words.STATUSES
    return lists.get(hint or "")


def _hinted(request: ColumnRequest, rows: Rows, rng: np.random.Generator) -> pa.Array:
    hint = hints.text_hint(request.name, request.table_name)
    pool = _pool(request)
    n = rows.count
    if pool is not None:
        if request.spec.dist == "zipf":
            return pa.array(pool).take(pa.array(dist.zipf_ranks(rng, n, len(pool), request.spec.s or 1.0)))
        if request.unique and rows.total <= len(pool):
            return pa.array(pool).take(pa.array(rng.permutation(len(pool))[:n]))
        return text.pick(rng, n, pool)
    first, last = words.FIRST_NAMES, words.LAST_NAMES
    if hint == "email":
        local = pc.utf8_lower(text.join(text.pick(rng, n, first), text.pick(rng, n, last), sep="."))
        number = text.numbers(rows.positions() + 1 if request.unique else rng.integers(1, 1000, n))
        return text.join(local, number, "@", text.pick(rng, n, words.EMAIL_DOMAINS))
    if hint == "full_name":
        return text.join(text.pick(rng, n, first), text.pick(rng, n, last), sep=" ")
    if hint == "username":
        return pc.utf8_lower(text.join(text.pick(rng, n, first), text.numbers(rng.integers(1, 10_000, n))))
    if hint == "phone":
        return text.pattern(rng, n, "+1-###-###-####")
    if hint == "url":
        host = pc.utf8_lower(text.pick(rng, n, words.PRODUCT_NOUNS))
        return text.join("https://www.", host, text.numbers(rng.integers(1, 1000, n)), ".",
                         text.pick(rng, n, words.URL_TLDS), "/")
    if hint == "zip":
        return text.pattern(rng, n, "#####")
    if hint == "address":
        return text.join(text.numbers(rng.integers(1, 2000, n)), text.pick(rng, n, last),
                         text.pick(rng, n, words.STREET_SUFFIXES), sep=" ")
    if hint in ("sku", "code"):
        return text.pattern(rng, n, "???-#####" if hint == "sku" else "??###")
    if hint == "slug":
        return text.join(text.pick(rng, n, words.PRODUCT_ADJECTIVES), text.pick(rng, n, words.PRODUCT_NOUNS), sep="-")
    if hint == "hash":
        return text.fixed(rng.integers(0, 2**62, n), 16, text.HEX)
    if hint == "ip":
        return text.join(*(text.numbers(rng.integers(1, 255, n)) for _ in range(4)), sep=".")
    if hint == "product":
        return pc.utf8_capitalize(text.join(text.pick(rng, n, words.PRODUCT_ADJECTIVES),
                                            text.pick(rng, n, words.PRODUCT_NOUNS), sep=" "))
    if hint == "title":
        return pc.utf8_capitalize(text.phrases(rng, n, words.PRODUCT_ADJECTIVES + words.PRODUCT_NOUNS, 2, 5))
    if hint == "description":
        return pc.utf8_capitalize(text.phrases(rng, n, words.WORDS, 6, 20))
    if hint == "name":
        return pc.utf8_capitalize(text.phrases(rng, n, words.PRODUCT_NOUNS, 1, 2))
    return text.phrases(rng, n, words.WORDS, 1, 4)


def _make_unique(request: ColumnRequest, values: pa.Array, rows: Rows, rng: np.random.Generator) -> pa.Array:
    """Distinct strings: a one-block table keeps them when already distinct; else a row number that fits
    the length is appended (or, when it does not fit, codes are drawn from the block's share of them)."""
    n, total = rows.count, rows.total
    if n == total and pc.count_distinct(values).as_py() == n:
        return values
    length = request.info.length
    width = len(str(total))
    if length is not None and length < width + 2:
        domain = 36**length
        if domain < total:
            raise request.fail(f"{total} unique values asked but only {domain} strings of length {length} exist "
                               "over [0-9A-Z]", "use a longer type or generate fewer rows")
        first, last = rows.share(min(domain, 2**62))
        return text.fixed(first + rng.choice(last - first, n, replace=False), length)
    suffix = text.fixed(rows.positions() + 1, width, text.DIGITS)
    if length is not None:
        values = text.truncate(values, length - width - 1)
    return text.join(values, suffix, sep="-")


# --- composite types -----------------------------------------------------------------------------------------


def _json(n: int, rng: np.random.Generator) -> pa.Array:
    """Small JSON documents: a source, a score and a few tags."""
    tags = [json.dumps(list(pair)) for pair in zip(words.COLORS, words.COLORS[1:], strict=False)]
    return text.join('{"source": "', text.pick(rng, n, ["web", "app", "api", "import"]), '", "score": ',
                     text.numbers(rng.integers(0, 100, n)), ', "tags": ', text.pick(rng, n, tags), "}")


def _array(request: ColumnRequest, n: int, rng: np.random.Generator) -> pa.Array:
    """Lists of 0..4 elements generated like a column of the element type."""
    counts = rng.integers(0, 5, n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    element = ColumnRequest(request.table, request.table_name, request.name, request.info.element)  # type: ignore[arg-type]
    flat = column_values(element, Rows.whole(int(offsets[-1])), rng)
    return pa.ListArray.from_arrays(pa.array(offsets), flat).cast(request.info.arrow)
