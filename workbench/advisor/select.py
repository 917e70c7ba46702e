"""Choose indexes under a storage budget: greedy picks, each re-measured against the earlier picks.

Every round ranks the candidates that still fit by the planner's estimate of what they save next to
the indexes already picked (PostgreSQL; DuckDB has no cost for its ART indexes, so all are tried),
measures the few best for real (a few more when none of them saves enough), and keeps the one with
the largest measured saving net of its write cost. Each is timed once, so when runners-up come
within CLOSE of the best, the closest are re-timed in interleaved rounds and ranked by their
medians (a shared machine's noise would otherwise decide). A candidate whose benefit an earlier pick
already delivers saves nothing and is not picked. Greedy commits to its early picks, so
:func:`improve` then tries swapping each pick for the best measured alternatives that fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from workbench.advisor.candidates import Candidate
from workbench.advisor.evaluate import Evaluator, IndexSet

SHORTLIST = 4  # candidates measured per round, the best by planner estimate
WIDENINGS = 3  # further shortlists measured in a round when none of the first saves enough
SCORES = ("gain", "gain per byte")
SWAPS = 4  # alternatives tried in place of each pick by improve()
CLOSE = 0.2  # a runner-up scoring within this share of the best one is a close call
RIVALS = 3  # candidates re-timed in a close call (the best and the closest runners-up)
RECHECKS = 3  # interleaved rounds of a close call's re-check


@dataclass(frozen=True)
class Step:
    """One pick: what it saved (measured, weighted ms per workload round), cost in writes and bytes."""

    candidate: Candidate
    saved_ms: float
    write_ms: float
    bytes: int
    total_ms: float  # weighted workload time after this pick

    @property
    def net_ms(self) -> float:
        return self.saved_ms - self.write_ms


@dataclass
class Selection:
    """The picks in order, and the measured weighted workload time before and after them."""

    steps: list[Step] = field(default_factory=list)
    before_ms: float = 0.0
    score: str = "gain"
    total_ms: float = 0.0  # weighted workload time with the picks (after pruning)
    pruned: list[Candidate] = field(default_factory=list)  # picks that no longer paid next to the later ones
    swapped: list[tuple[Candidate, Candidate]] = field(default_factory=list)  # (pick, replacement) by improve()

    @property
    def picked(self) -> IndexSet:
        return frozenset(s.candidate for s in self.steps)


def write_ms(evaluator: Evaluator, candidate: Candidate, write_weight: float) -> float:
    """Weighted ms the candidate adds to the workload's writes on its table (0 without writes there)."""
    writes = evaluator.writes_on(candidate.table)
    if not writes or write_weight == 0:
        return 0.0
    return write_weight * writes * evaluator.insert_ms(candidate)


def estimated_gain(evaluator: Evaluator, chosen: IndexSet, candidate: Candidate) -> float | None:
    """Weighted planner-cost saving of adding ``candidate`` to ``chosen`` (None: no planner cost)."""
    queries = evaluator.affected(candidate)
    before = evaluator.costs(chosen, queries)
    if any(v is None for v in before.values()):
        return None
    return evaluator.weighted(before) - evaluator.weighted(evaluator.costs(chosen | {candidate}, queries))


def greedy(evaluator: Evaluator, candidates: list[Candidate], *, budget_bytes: float, write_weight: float = 1.0,
           min_gain: float = 0.01, score: str = "gain", shortlist: int = SHORTLIST) -> Selection:
    """Pick indexes one at a time while one fits the budget and saves more than ``min_gain`` of the
    current weighted workload time (net of its write cost), then prune picks that later ones made
    unnecessary; ``score`` ranks the measured picks by absolute ``gain`` or ``gain per byte``."""
    chosen: IndexSet = frozenset()
    current = evaluator.times(chosen)
    selection = Selection(before_ms=evaluator.weighted(current), score=score)
    remaining = list(candidates)
    while remaining:
        used = sum(evaluator.size(c) for c in chosen)
        fitting = [c for c in remaining if used + evaluator.size(c) <= budget_bytes]
        ordered = _promising(evaluator, chosen, fitting)
        steps: list[Step] = []
        total = evaluator.weighted(current)
        for start in range(0, min(len(ordered), WIDENINGS * shortlist), shortlist):
            for candidate in ordered[start:start + shortlist]:
                after = evaluator.times(chosen | {candidate}, evaluator.affected(candidate))
                saved = evaluator.weighted({q: current[q] for q in after}) - evaluator.weighted(after)
                steps.append(Step(candidate, saved, write_ms(evaluator, candidate, write_weight),
                                  evaluator.size(candidate), total - saved))
            if max(step.net_ms for step in steps) > min_gain * total:
                break  # else widen: the planner's ranking may have missed what the measurements find
        best = _settle(evaluator, chosen, steps, score, total)
        if best is None or best.net_ms <= min_gain * total:
            break
        chosen |= {best.candidate}
        remaining.remove(best.candidate)
        current = evaluator.times(chosen)
        selection.steps.append(Step(best.candidate, best.saved_ms, best.write_ms, best.bytes,
                                    evaluator.weighted(current)))
    _prune(evaluator, selection, min_gain)
    selection.total_ms = evaluator.weighted(evaluator.times(selection.picked))
    return selection


def improve(evaluator: Evaluator, selection: Selection, candidates: list[Candidate], *, budget_bytes: float,
            write_weight: float = 1.0, min_gain: float = 0.01) -> Selection:
    """Swap picks for other candidates while the set still fits and gets measurably faster (by more
    than ``min_gain`` of the workload time, net of write costs). Greedy can lock in a small index taken
    for its saving per byte, or the weaker of two indexes for the same queries, and leave no room
    for the better one. Alternatives: the SWAPS candidates with the largest measured saving alone
    (those greedy measured), that fit in place of the pick."""
    measured = [c for c in candidates if evaluator.measured(frozenset({c}), evaluator.affected(c))]
    alone = {c: saving_alone(evaluator, c) for c in measured}
    ranked = [c for c in sorted(alone, key=lambda c: -alone[c]) if alone[c] > 0]
    swapped = True
    while swapped:
        swapped = False
        picked = selection.picked
        used = sum(evaluator.size(c) for c in picked)
        current = _net_ms(evaluator, picked, write_weight)
        for step in list(selection.steps):
            rest = picked - {step.candidate}
            room = budget_bytes - used + step.bytes
            options = [c for c in ranked if c not in picked and evaluator.size(c) <= room][:SWAPS]
            trials = [(_net_ms(evaluator, rest | {c}, write_weight), c) for c in options]
            best = min(trials, key=lambda trial: trial[0], default=None)
            if best is not None and current - best[0] > min_gain * current:
                candidate = best[1]
                queries = evaluator.affected(candidate)
                saved = evaluator.weighted(evaluator.times(rest, queries)) - \
                    evaluator.weighted(evaluator.times(rest | {candidate}, queries))
                total = evaluator.weighted(evaluator.times(rest | {candidate}))
                selection.steps[selection.steps.index(step)] = Step(
                    candidate, saved, write_ms(evaluator, candidate, write_weight), evaluator.size(candidate), total)
                selection.swapped.append((step.candidate, candidate))
                swapped = True
                break
    selection.total_ms = evaluator.weighted(evaluator.times(selection.picked))
    return selection


def saving_alone(evaluator: Evaluator, candidate: Candidate) -> float:
    """Measured weighted ms the candidate saves on its own (no other added index), its queries only."""
    queries = evaluator.affected(candidate)
    return evaluator.weighted(evaluator.times(frozenset(), queries)) - \
        evaluator.weighted(evaluator.times(frozenset({candidate}), queries))


def _net_ms(evaluator: Evaluator, indexes: IndexSet, write_weight: float) -> float:
    """Weighted workload ms with ``indexes`` plus what they add to the writes."""
    return evaluator.weighted(evaluator.times(indexes)) + sum(write_ms(evaluator, c, write_weight) for c in indexes)


def _prune(evaluator: Evaluator, selection: Selection, min_gain: float) -> None:
    """Drop, latest first, picks whose queries are no slower without them given the other picks
    (an early pick that a later, wider index made redundant, or one that only noise made look good)."""
    for step in reversed(list(selection.steps)):
        rest = selection.picked - {step.candidate}
        queries = evaluator.affected(step.candidate)
        with_it = evaluator.weighted(evaluator.times(selection.picked, queries))
        without = evaluator.weighted(evaluator.times(rest, queries))
        total = evaluator.weighted(evaluator.times(selection.picked))
        if without - with_it - step.write_ms <= min_gain * total:
            selection.steps.remove(step)
            selection.pruned.append(step.candidate)


def _settle(evaluator: Evaluator, chosen: IndexSet, steps: list[Step], score: str, total: float) -> Step | None:
    """The best-scoring step; in a close call (runners-up within CLOSE of it), the RIVALS best are
    re-timed with the set they add to in RECHECKS interleaved rounds and ranked by median saving."""
    if not steps:
        return None
    ranked = sorted(steps, key=lambda step: -_score(step, score))
    top = _score(ranked[0], score)
    close = [step for step in ranked[:RIVALS] if top > 0 and _score(step, score) >= (1 - CLOSE) * top]
    if len(close) < 2:
        return ranked[0]
    queries = list(dict.fromkeys(q for step in close for q in evaluator.affected(step.candidate)))
    base, *after = evaluator.recheck(
        [(chosen, queries), *((chosen | {step.candidate}, evaluator.affected(step.candidate)) for step in close)],
        RECHECKS)
    settled = []
    for step, ms in zip(close, after, strict=True):
        saved = evaluator.weighted({q: base[q] for q in ms}) - evaluator.weighted(ms)
        settled.append(replace(step, saved_ms=saved, total_ms=total - saved))
    return max(settled, key=lambda step: _score(step, score))


def _promising(evaluator: Evaluator, chosen: IndexSet, fitting: list[Candidate]) -> list[Candidate]:
    """The candidates in the order to measure them: alternately the next best by estimated saving and
    by estimated saving per byte (small indexes that fit where big ones do not), those the planner
    expects nothing from left out; all of them, unordered, when the engine gives no estimate."""
    estimates = [(estimated_gain(evaluator, chosen, c), c) for c in fitting]
    if any(gain is None for gain, _ in estimates):
        return fitting
    promising = [(gain, c) for gain, c in estimates if gain > 0]
    by_gain = [c for _, c in sorted(promising, key=lambda pair: -pair[0])]
    by_density = [c for _, c in sorted(promising, key=lambda pair: -pair[0] / max(evaluator.size(pair[1]), 1))]
    return list(dict.fromkeys(c for pair in zip(by_gain, by_density, strict=True) for c in pair))


def _score(step: Step, score: str) -> float:
    return step.net_ms / max(step.bytes, 1) if score == "gain per byte" else step.net_ms
