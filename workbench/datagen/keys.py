"""Parent rows for foreign keys: skewed fan-out, distinct tuples for unique keys, trees for self-references.

Tables larger than one block (see :mod:`workbench.datagen.blocks`) share what must hold across
blocks through the small objects here: a fan-out whose shape (which parents are popular) every
block draws from, children counts per parent decided for the whole table, running counts of the
groups a column is numbered in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.datagen.distributions import parent_rows, zipf_ranks
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


def tree_parents(rng: np.random.Generator, positions: np.ndarray, root_share: float) -> np.ndarray:
    """For each row (at ``positions`` of its table), an earlier row as its parent, or -1 for a root.

    Row 0 is always a root. Earlier rows are favoured (``u**2``), so the first rows become the big
    branches of a shallow tree.
    """
    n = len(positions)
    earlier = np.floor(positions * rng.random(n) ** 2).astype(np.int64)
    roots = (rng.random(n) < root_share) | (positions == 0)
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


class FanOut:
    """Parent rows for a foreign key's children, block by block, every block with the same popular parents.

    Block 0 draws from the key's own stream exactly as a whole table did before blocks (so one-block
    tables keep their data); the other blocks draw from theirs with the shape block 0's stream
    fixed: the zipf ranking of parents (a permutation drawn after block 0's ranks) or the normal
    weights (drawn first).
    """

    def __init__(self, spec: ForeignKeySpec, parents: int, first_rows: int,
                 rng_of: Callable[[int], np.random.Generator]):
        self.spec, self.parents, self.first_rows, self.rng_of = spec, parents, first_rows, rng_of

    def rows(self, block: int, n: int) -> np.ndarray:
        """Parent positions of the ``n`` children of block ``block``."""
        if block == 0:
            return parent_rows(self.rng_of(0), n, self.parents, self.spec)
        return self.sample(self.rng_of(block), n)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` parent positions drawn from ``rng`` with this key's shared shape."""
        if self.spec.fanout == "uniform":
            return rng.integers(0, self.parents, n)
        if self.spec.fanout == "normal":
            return rng.choice(self.parents, n, p=self._weights)
        return self._ranking[zipf_ranks(rng, n, self.parents, self.spec.s)]

    @cached_property
    def _weights(self) -> np.ndarray:
        rng = self.rng_of(0)
        weights = np.clip(rng.normal(1.0, self.spec.sd, self.parents), 0.0, None) + 1e-9
        return weights / weights.sum()

    @cached_property
    def _ranking(self) -> np.ndarray:
        rng = self.rng_of(0)
        zipf_ranks(rng, self.first_rows, self.parents, self.spec.s)
        return rng.permutation(self.parents)


class GroupedChildren:
    """Children kept together by parent: ``counts[p]`` children of parent ``p``, in parent order.

    Row ``i`` of the table is a child of the parent whose run covers ``i``; its rank in that run
    counts 0, 1, 2... So any block finds its parents and ranks from the counts alone.
    """

    def __init__(self, counts: np.ndarray):
        self.counts = counts
        self.ends = np.cumsum(counts)

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Parent positions and ranks within the parent of rows ``[start, stop)``."""
        positions = np.arange(start, stop, dtype=np.int64)
        parents = np.searchsorted(self.ends, positions, side="right")
        return parents, positions - (self.ends[parents] - self.counts[parents])

    def first_row(self, parents: np.ndarray) -> np.ndarray:
        return self.ends[parents] - self.counts[parents]


class RunningCounts:
    """How many rows of each group earlier blocks had, so that numbers within a group go on across blocks."""

    def __init__(self) -> None:
        self._seen: pa.Table | None = None

    def offsets(self, groups: list[pa.Array]) -> np.ndarray:
        """For each row, the number of rows of its group counted so far (0 for a new group)."""
        n = len(groups[0]) if groups else 0
        if self._seen is None or n == 0:
            return np.zeros(n, dtype=np.int64)
        rows = pa.table({**_named(groups), "_row": pa.array(np.arange(n))})
        joined = rows.join(self._seen, keys=list(_named(groups)), join_type="left outer").sort_by("_row")
        return pc.fill_null(joined["_count"], 0).to_numpy().astype(np.int64)

    def add(self, groups: list[pa.Array]) -> None:
        names = list(_named(groups))
        counted = pa.table(_named(groups)).group_by(names).aggregate([([], "count_all")])
        counted = counted.rename_columns([*names, "_count"])
        if self._seen is not None:
            counted = pa.concat_tables([self._seen, counted]).group_by(names).aggregate([("_count", "sum")])
            counted = counted.rename_columns([*names, "_count"])
        self._seen = counted


def _named(groups: list[pa.Array]) -> dict[str, pa.Array]:
    return {f"g{i}": values for i, values in enumerate(groups)}


Draw = Callable[[np.random.Generator, int], list[np.ndarray]]


def distinct_within_parents(rng: np.random.Generator, leaders: np.ndarray, radices: list[int], draw: Draw,
                            what: str) -> list[np.ndarray]:
    """For rows grouped by leading parent (``leaders``, sorted), the other key parts, distinct within each parent.

    ``draw(rng, n)`` gives ``n`` candidate tuples of the other parts (one array per part, with the
    fan-out skew); duplicates within a parent are drawn again a few times, then completed from the
    parent's unused combinations (the row counts per parent never exceed the combinations).
    """
    domain = int(np.prod([float(r) for r in radices]))
    strides = np.cumprod([1, *radices[:0:-1]])[::-1].astype(np.int64)
    n = len(leaders)
    codes = np.full(n, -1, dtype=np.int64)
    missing = np.arange(n)
    for _ in range(RESAMPLE_ROUNDS):
        drawn = draw(rng, len(missing))
        codes[missing] = sum(d.astype(np.int64) * s for d, s in zip(drawn, strides, strict=True))
        missing = _duplicates(leaders, codes, domain)
        if not len(missing):
            break
    if len(missing):
        if domain > EXACT_FILL_LIMIT:
            raise WorkbenchError(f"{what}: could not find distinct combinations among {domain} by sampling; "
                                 "use a uniform fanout or fewer rows")
        waiting = np.zeros(n, dtype=bool)
        waiting[missing] = True
        for leader in np.unique(leaders[missing]):  # leaders are sorted: a parent's rows are one run
            run = np.arange(*np.searchsorted(leaders, [leader, leader + 1]))
            used = codes[run[~waiting[run]]]
            free = np.setdiff1d(np.arange(domain, dtype=np.int64), used)
            codes[run[waiting[run]]] = rng.choice(free, int(waiting[run].sum()), replace=False)
    return [(codes // stride) % r for stride, r in zip(strides, radices, strict=True)]


def _duplicates(leaders: np.ndarray, codes: np.ndarray, domain: int) -> np.ndarray:
    """Positions of the rows whose (leader, code) an earlier row already has."""
    pairs = (leaders - leaders.min()) * domain + codes if len(leaders) else codes
    _, first = np.unique(pairs, return_index=True)
    keep = np.zeros(len(codes), dtype=bool)
    keep[first] = True
    return np.flatnonzero(~keep)
