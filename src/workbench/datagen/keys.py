"""Parent rows for foreign keys: skewed fan-out, distinct tuples for unique keys, trees for self-references."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from workbench.datagen.distributions import parent_rows
from workbench.datagen.spec import ForeignKeySpec
from workbench.errors import WorkbenchError

RESAMPLE_ROUNDS = 12
EXACT_FILL_LIMIT = 50_000_000  # domains up to this size are completed from the unused combinations


def distinct_parent_rows(rng_for: Callable[[int], np.random.Generator], n: int, parents: list[int],
                         specs: list[ForeignKeySpec], what: str) -> list[np.ndarray]:
    """``n`` distinct tuples of parent row positions (one array per key), keeping the fan-out skew.

    Skewed draws are repeated for the duplicates a few times; what is still missing is then taken
    uniformly from the combinations not used yet, so dense requests (close to every combination) end.
    """
    domain = int(np.prod([float(p) for p in parents]))
    if domain < n:
        sizes = " x ".join(str(p) for p in parents)
        raise WorkbenchError(f"{what}: {n} unique rows asked but the parents allow only {sizes} = {domain} "
                             "distinct combinations; generate fewer rows or more parent rows")
    strides = np.cumprod([1, *parents[:0:-1]])[::-1].astype(np.int64)  # mixed-radix code of a tuple
    codes = np.empty(0, dtype=np.int64)
    for attempt in range(RESAMPLE_ROUNDS):
        rng = rng_for(attempt)
        missing = n - len(codes)
        draws = [parent_rows(rng, missing, p, s) for p, s in zip(parents, specs, strict=True)]
        fresh = sum(d.astype(np.int64) * stride for d, stride in zip(draws, strides, strict=True))
        codes = np.concatenate([codes, fresh])
        _, first = np.unique(codes, return_index=True)
        codes = codes[np.sort(first)]
        if len(codes) == n:
            break
    if len(codes) < n:
        if domain > EXACT_FILL_LIMIT:
            raise WorkbenchError(f"{what}: could not find {n} distinct combinations among {domain} by sampling; "
                                 "use a uniform fanout or fewer rows")
        free = np.setdiff1d(np.arange(domain, dtype=np.int64), codes, assume_unique=True)
        codes = np.concatenate([codes, rng_for(RESAMPLE_ROUNDS).choice(free, n - len(codes), replace=False)])
    return [(codes // stride) % p for stride, p in zip(strides, parents, strict=True)]


def tree_parents(rng: np.random.Generator, n: int, root_share: float) -> np.ndarray:
    """For each row, the position of an earlier row as its parent, or -1 for a root (row 0 always is one).

    Earlier rows are favoured (``u**2``), so the first rows become the big branches of a shallow tree.
    """
    earlier = np.floor(np.arange(n) * rng.random(n) ** 2).astype(np.int64)
    roots = rng.random(n) < root_share
    roots[:1] = True
    return np.where(roots, -1, earlier)
