"""Vectorised samplers: seeds per name, numeric shapes, dates with seasonality, foreign-key fan-out.

Every random stream comes from :func:`rng_for`, which derives it from the user's seed and stable
names (CRC-32, never Python's salted ``hash``), so a table's data does not depend on which other
tables exist, the order they are generated in, or whether a progress bar is shown.
"""

from __future__ import annotations

import zlib

import numpy as np

from workbench.datagen.spec import ForeignKeySpec

EPOCH_THURSDAY = 3  # 1970-01-01 was a Thursday; weekday = (day + 3) % 7 with Monday = 0
WEEKLY = np.array([1.0, 1.0, 1.05, 1.1, 1.25, 1.35, 0.9])  # Monday..Sunday
YEARLY = np.array([0.85, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.25, 1.5])  # January..December
DAILY = np.array([0.2, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.1, 1.3, 1.4, 1.5, 1.5, 1.4, 1.4, 1.4, 1.4, 1.5, 1.6,
                  1.7, 1.6, 1.3, 0.9, 0.5])  # hours 0..23
ZIPF_EXACT_LIMIT = 5_000_000  # above this many ranks, sample an unbounded zipf and fold it


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """A generator determined only by ``seed`` and ``names`` (e.g. table key, column, purpose)."""
    seed %= 2**64
    entropy = [seed & 0xFFFFFFFF, seed >> 32, *(zlib.crc32(name.encode()) for name in names)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def lognormal(rng: np.random.Generator, n: int, mean: float, sd: float) -> np.ndarray:
    """Positive, right-skewed values with the given arithmetic mean and standard deviation."""
    sigma2 = np.log1p((sd / mean) ** 2)
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), n)


def zipf_ranks(rng: np.random.Generator, n: int, size: int, s: float) -> np.ndarray:
    """``n`` ranks in ``[0, size)`` with P(rank k) proportional to (k + 1) ** -s."""
    if size <= ZIPF_EXACT_LIMIT:
        return rng.choice(size, n, p=zipf_weights(size, s))
    return (rng.zipf(max(s, 1.0001), n) - 1) % size


def zipf_weights(size: int, s: float) -> np.ndarray:
    weights = np.arange(1, size + 1, dtype=np.float64) ** -s
    return weights / weights.sum()


def days(rng: np.random.Generator, n: int, first: int, last: int, seasonality: tuple[str, ...]) -> np.ndarray:
    """Days since 1970-01-01 in ``[first, last]``, weighted by weekday and month when asked."""
    span = last - first + 1
    if "weekly" not in seasonality and "yearly" not in seasonality:
        return rng.integers(first, last + 1, n)
    calendar = np.arange(first, last + 1)
    weights = np.ones(span)
    if "weekly" in seasonality:
        weights *= WEEKLY[(calendar + EPOCH_THURSDAY) % 7]
    if "yearly" in seasonality:
        months = calendar.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
        weights *= YEARLY[months]
    return first + rng.choice(span, n, p=weights / weights.sum())


def seconds_of_day(rng: np.random.Generator, n: int, seasonality: tuple[str, ...]) -> np.ndarray:
    """Seconds within a day, busier in daytime when ``daily`` seasonality is asked."""
    if "daily" not in seasonality:
        return rng.integers(0, 86_400, n)
    hours = rng.choice(24, n, p=DAILY / DAILY.sum())
    return hours * 3600 + rng.integers(0, 3600, n)


def parent_rows(rng: np.random.Generator, n: int, parents: int, spec: ForeignKeySpec) -> np.ndarray:
    """Row positions of the parents of ``n`` children: skewed (zipf), even (uniform) or normal fan-out."""
    if spec.fanout == "uniform":
        return rng.integers(0, parents, n)
    if spec.fanout == "normal":
        weights = np.clip(rng.normal(1.0, spec.sd, parents), 0.0, None) + 1e-9
        return rng.choice(parents, n, p=weights / weights.sum())
    ranks = zipf_ranks(rng, n, parents, spec.s)
    return rng.permutation(parents)[ranks]  # which parents are popular is itself random
