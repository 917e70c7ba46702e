"""Parent rows for foreign keys: skewed fan-out, distinct tuples for unique keys, trees for self-references."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


def capped_counts(rng: np.random.Generator, counts: np.ndarray, cap: int, what: str) -> tuple[np.ndarray, int]:
    """Children per parent with none above ``cap``: the surplus goes to parents with room, at random.

    Returns the new counts and how many children moved. Free slots are drawn without replacement,
    so no parent goes over ``cap`` and the total stays the same.
    """
    counts = counts.astype(np.int64)
    surplus = int(np.maximum(counts - cap, 0).sum())
    if not surplus:
        return counts, 0
    kept = np.minimum(counts, cap)
    room = cap - kept
    free = int(room.sum())
    if free < surplus:
        raise WorkbenchError(f"{what}: {int(counts.sum())} rows do not fit {len(counts)} parents with at most {cap} "
                             "each; generate fewer rows, more parent rows, or use a wider type")
    slots = rng.choice(free, surplus, replace=False)
    moved = np.bincount(np.searchsorted(np.cumsum(room), slots, side="right"), minlength=len(counts))
    return kept + moved, surplus


def grouped_rows(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parent positions with each parent's children together, and each child's rank (0, 1, ...) in its parent."""
    rows = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return rows, np.arange(len(rows)) - np.repeat(starts, counts)


def ranks_within(groups: list[pa.Array]) -> np.ndarray:
    """Each row's rank (0, 1, ...) among the earlier rows with the same values in ``groups``."""
    n = len(groups[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    names = [str(i) for i in range(len(groups))]
    order = pc.sort_indices(pa.table(dict(zip(names, groups, strict=True))),
                            sort_keys=[(name, "ascending") for name in names]).to_numpy()  # stable
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for values in groups:
        ordered = values.take(pa.array(order))
        changed = pc.fill_null(pc.not_equal(ordered[1:], ordered[:-1]), pc.is_valid(ordered[:-1]))
        new[1:] |= changed.to_numpy(zero_copy_only=False)
    positions = np.arange(n)
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = positions - np.maximum.accumulate(np.where(new, positions, 0))
    return ranks
