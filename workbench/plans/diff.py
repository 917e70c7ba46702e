"""Compare two plans of one query (two designs, or two runs): what changed and where the time moved.

Nodes are matched in three passes, so an inserted or removed node (a Hash, a Sort, a Gather) does
not shift every later match: (1) an alignment of the pre-order lists on the exact key (operator,
relation, alias, index and the relations below), (2) the same exact key anywhere (join sides can
swap), (3) a loose key: a scan of the same relation and alias, or an operator of the same family
over the same set of relations (a Hash Join for a Nested Loop). Pairs whose operator or index differ
are the changes (``Seq Scan -> Index Scan on products using ...``); the rest were added or removed.
"""

from __future__ import annotations

import difflib
import html
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import pandas as pd

from workbench.plans.model import Plan, PlanNode
from workbench.plans.summary import ms
from workbench.safe_display import safe_html

SHOWN_CHANGES = 4
FAMILIES = {"join": ("Join", "Nested Loop", "JOIN"), "aggregate": ("Aggregate", "GROUP_BY", "AGGREGATE")}


@dataclass(frozen=True, eq=False)
class NodeChange:
    """One node pair: ``kind`` is ``changed`` (operator or index), ``added`` (after only), ``removed``, or ``same``."""

    kind: str
    before: PlanNode | None
    after: PlanNode | None

    @property
    def description(self) -> str:
        before, after = self.before, self.after
        if before is None:
            return f"added {after.label}" if after else "nothing"
        if after is None:
            return f"removed {before.label}"
        where = f" on {after.relation}" if after.relation else ""
        if before.operator == after.operator:
            return f"{after.operator}{where}: index {before.index or 'none'} -> {after.index or 'none'}"
        index = _index_read(after)
        using = f" using {index}" if index else ""
        return f"{before.operator} -> {after.operator}{where}{using}"

    def __str__(self) -> str:
        return self.description

    def __repr__(self) -> str:
        return f"<NodeChange {self.description}>"


@dataclass(frozen=True, eq=False)
class PlanDiff:
    """Two plans and their matched nodes: ``pairs`` holds ``(before, after)``, either side None if unmatched."""

    before: Plan
    after: Plan
    pairs: tuple[tuple[PlanNode | None, PlanNode | None], ...]

    @property
    def changes(self) -> tuple[NodeChange, ...]:
        """Nodes whose operator or index changed, then the added and removed ones."""
        found = [NodeChange(_kind(before, after), before, after) for before, after in self.pairs]
        return tuple(sorted((c for c in found if c.kind != "same"), key=lambda c: c.kind != "changed"))

    @property
    def speedup(self) -> float | None:
        """Before time / after time (> 1: the second plan is faster); None unless both ran."""
        before, after = _elapsed(self.before), _elapsed(self.after)
        if before is None or not after:
            return None
        return before / after

    def relation_times(self) -> pd.DataFrame:
        """Per relation: time in its scans (``self_ms``) before and after, and the ratio before/after."""
        before, after = _relation_times(self.before), _relation_times(self.after)
        rows = [(name, before.get(name), after.get(name)) for name in dict.fromkeys([*before, *after])]
        frame = pd.DataFrame(rows, columns=["relation", "before_ms", "after_ms"], dtype=object)
        frame = frame.astype({"before_ms": float, "after_ms": float})
        frame["ratio"] = frame["before_ms"] / frame["after_ms"]
        return frame

    def to_frame(self) -> pd.DataFrame:
        """One row per matched or unmatched node pair: operators, relations, rows and times on each side."""
        rows = []
        for before, after in self.pairs:
            rows.append({"change": _kind(before, after), **_side("before", before), **_side("after", after)})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """``2.4x faster (12.0 ms -> 5.0 ms); Seq Scan -> Index Scan on products using ...; products: ...``."""
        parts = [_overall(self)]
        changes = self.changes
        parts += [change.description for change in changes[:SHOWN_CHANGES]]
        if len(changes) > SHOWN_CHANGES:
            parts.append(f"{len(changes) - SHOWN_CHANGES} more node changes")
        if not changes:
            parts.append("same plan shape")
        times = self.relation_times().dropna(subset=["before_ms", "after_ms"])
        if not times.empty:
            moved = times.loc[(times["before_ms"] - times["after_ms"]).abs().idxmax()]
            parts.append(f"{moved['relation']}: {ms(moved['before_ms'])} -> {ms(moved['after_ms'])}")
        return "; ".join(parts)

    def _repr_html_(self) -> str:
        return safe_html(PlanDiff._html, self)

    def _html(self) -> str:
        frame = self.to_frame()
        words = frame.select_dtypes(exclude="number").columns  # operators, relations, indexes: blank when absent
        frame[words] = frame[words].fillna("")
        table = frame.to_html(index=False, na_rep="", float_format=lambda v: f"{v:,.2f}")
        times = self.relation_times().to_html(index=False, na_rep="", float_format=lambda v: f"{v:,.2f}")
        return (f"<div><p>{html.escape(self.summary())}</p><p>time per relation</p>{times}"
                f"<p>matched nodes</p>{table}</div>")

    def __repr__(self) -> str:
        try:
            return f"<PlanDiff {self.summary()}>"
        except Exception as error:  # repr never raises
            return f"<PlanDiff {self.before.engine} vs {self.after.engine}: {type(error).__name__}: {error}>"


def diff(before: Plan, after: Plan) -> PlanDiff:
    """Match the nodes of two plans and say what changed from ``before`` to ``after``."""
    left, right = _keyed(before), _keyed(after)
    pairs: dict[int, int] = {}
    exact = [key for _, key, _ in left], [key for _, key, _ in right]
    for block in difflib.SequenceMatcher(None, *exact, autojunk=False).get_matching_blocks():
        pairs.update({block.a + i: block.b + i for i in range(block.size)})
    _pair_by(left, right, pairs, lambda entry: entry[1])
    _pair_by(left, right, pairs, lambda entry: entry[2])
    taken = set(pairs.values())
    matched: list[tuple[PlanNode | None, PlanNode | None]] = [
        (node, right[pairs[i]][0] if i in pairs else None) for i, (node, _, _) in enumerate(left)]
    matched += [(None, node) for j, (node, _, _) in enumerate(right) if j not in taken]
    return PlanDiff(before, after, tuple(matched))


Entry = tuple[PlanNode, Hashable, Hashable]  # node, exact key, loose key


def _keyed(plan: Plan) -> list[Entry]:
    """Each node (pre-order) with its exact and loose matching keys."""
    owner = _owners(plan)
    below: dict[int, frozenset[str]] = {}

    def relations(node: PlanNode) -> frozenset[str]:
        mine = frozenset({owner[id(node)]} if owner[id(node)] else ())
        below[id(node)] = mine.union(*(relations(child) for child in node.children))
        return below[id(node)]

    relations(plan.root)
    entries = []
    for node in plan.nodes():
        loose = ("scan", node.relation, node.alias) if node.relation else (_family(node), below[id(node)])
        entries.append((node, (node.operator, node.relation, node.alias, node.index, below[id(node)]), loose))
    return entries


def _family(node: PlanNode) -> str:
    """Operators that can stand in for each other: any join for a join, any aggregate for an aggregate."""
    for family, words in FAMILIES.items():
        if any(word in node.operator for word in words):
            return family
    return node.operator


def _pair_by(left: list[Entry], right: list[Entry], pairs: dict[int, int], key: Callable[[Entry], Hashable]) -> None:
    """Pair still-unmatched nodes with equal ``key``, in plan order."""
    waiting: dict[Hashable, list[int]] = defaultdict(list)
    taken = set(pairs.values())
    for j, entry in enumerate(right):
        if j not in taken:
            waiting[key(entry)].append(j)
    for i, entry in enumerate(left):
        if i not in pairs and waiting[key(entry)]:
            pairs[i] = waiting[key(entry)].pop(0)


def _index_read(scan: PlanNode) -> str | None:
    """The scan's index, or the index its Bitmap Index Scans read (below a Bitmap Heap Scan)."""
    if scan.index or not scan.relation:
        return scan.index
    below = [node.index for child in scan.children for node, _, _ in child.walk() if node.index and not node.relation]
    return ", ".join(dict.fromkeys(below)) or None


def _owners(plan: Plan) -> dict[int, str | None]:
    """Node id -> the relation it reads; a Bitmap Index Scan belongs to its heap scan's relation."""
    return {id(node): node.relation or (parent.relation if parent is not None and node.index else None)
            for node, parent, _ in plan.root.walk()}


def _relation_times(plan: Plan) -> dict[str, float]:
    owner = _owners(plan)
    times: dict[str, float] = defaultdict(float)
    for node in plan.nodes():
        if owner[id(node)] and node.self_ms is not None:
            times[owner[id(node)]] += node.self_ms
    return dict(times)


def _elapsed(plan: Plan) -> float | None:
    return plan.execution_ms if plan.execution_ms is not None else plan.total_ms


def _overall(diff: PlanDiff) -> str:
    speedup = diff.speedup
    if speedup is None:
        before, after = diff.before.total_cost, diff.after.total_cost
        if before is not None and after is not None:
            return f"planner cost {before:,.1f} -> {after:,.1f}"
        return "plans not executed"
    verdict = f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"
    return f"{verdict} ({ms(_elapsed(diff.before))} -> {ms(_elapsed(diff.after))})"


def _kind(before: PlanNode | None, after: PlanNode | None) -> str:
    if before is None or after is None:
        return "added" if before is None else "removed"
    return "changed" if (before.operator, before.index) != (after.operator, after.index) else "same"


def _side(prefix: str, node: PlanNode | None) -> dict[str, object]:
    fields = ("operator", "relation", "index", "actual_rows", "total_ms", "self_ms")
    return {f"{prefix}_{name}": None if node is None else getattr(node, name) for name in fields}
