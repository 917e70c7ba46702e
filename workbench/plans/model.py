"""One plan model for every engine: a tree of operators with estimated and actual rows and times.

Engines describe plans in their own JSON (PostgreSQL's ``EXPLAIN (FORMAT JSON)``, DuckDB's profiling
tree); the readers in :mod:`workbench.plans.postgres` and :mod:`workbench.plans.duckdb` turn both into
this shape so that summaries, diagrams and diffs are written once. Rows and times are totals over
all loops of a node, so a parent's time includes its children's and ``self_ms`` is what is left.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import graphviz
import pandas as pd

from workbench.plans import render, summary
from workbench.safe_display import img_tag

MISESTIMATE_FACTOR = 10.0


@dataclass(frozen=True, eq=False)
class PlanNode:
    """One operator of a plan.

    ``estimated_rows`` and ``actual_rows`` are totals over all loops (PostgreSQL estimates rows per
    loop; analyzed plans multiply by the actual loops so both figures compare directly). ``total_ms``
    includes the children, ``self_ms`` excludes them. Figures an engine does not report are ``None``.
    """

    operator: str
    relation: str | None = None
    alias: str | None = None
    index: str | None = None
    estimated_rows: float | None = None
    actual_rows: float | None = None
    loops: int | None = None
    total_ms: float | None = None
    self_ms: float | None = None
    startup_cost: float | None = None
    total_cost: float | None = None
    buffers: Mapping[str, int] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[PlanNode, ...] = ()

    @property
    def label(self) -> str:
        """``Seq Scan on orders o using orders_pkey``: the operator and what it reads."""
        text = self.operator
        if self.relation:
            text += f" on {self.relation}"
            if self.alias and self.alias != self.relation:
                text += f" {self.alias}"
        if self.index:
            text += f" using {self.index}"
        return text

    @property
    def executed(self) -> bool:
        """Whether the node ran (analyzed plans only: PostgreSQL marks skipped nodes with zero loops)."""
        return self.actual_rows is not None and (self.loops is None or self.loops > 0)

    @property
    def estimate_factor(self) -> float | None:
        """How far the row estimate was off, as a factor >= 1 (both counts floored at 1); None if unknown."""
        if not self.executed or self.estimated_rows is None:
            return None
        estimated, actual = max(self.estimated_rows, 1.0), max(self.actual_rows or 0.0, 1.0)
        return max(estimated, actual) / min(estimated, actual)

    @property
    def underestimated(self) -> bool:
        """True when more rows came than the planner expected (the dangerous direction for joins)."""
        return self.executed and self.estimated_rows is not None and (self.actual_rows or 0) > self.estimated_rows

    def walk(self) -> Iterator[tuple[PlanNode, PlanNode | None, int]]:
        """``(node, parent, depth)`` for this subtree, in pre-order."""
        stack: list[tuple[PlanNode, PlanNode | None, int]] = [(self, None, 0)]
        while stack:
            node, parent, depth = stack.pop()
            yield node, parent, depth
            stack.extend((child, node, depth + 1) for child in reversed(node.children))

    def __repr__(self) -> str:
        figures = []
        if self.actual_rows is not None:
            figures.append(f"rows {_number(self.estimated_rows)} est / {_number(self.actual_rows)} actual")
        elif self.estimated_rows is not None:
            figures.append(f"rows {_number(self.estimated_rows)} est")
        if self.total_ms is not None:
            figures.append(f"{self.total_ms:.3f} ms")
        inner = f" ({', '.join(figures)})" if figures else ""
        return f"<PlanNode {self.label}{inner}, {len(self.children)} children>"


@dataclass(frozen=True, eq=False)
class Plan:
    """A query plan: its root operator, timings, and the engine's own document (kept for the record)."""

    engine: str
    root: PlanNode
    analyzed: bool
    planning_ms: float | None = None
    execution_ms: float | None = None
    document: Any = None

    def nodes(self) -> list[PlanNode]:
        """Every operator, pre-order (parents before children, children left to right)."""
        return [node for node, _, _ in self.root.walk()]

    @property
    def indexes_used(self) -> tuple[str, ...]:
        """Names of the indexes the plan reads, in plan order, each once (DuckDB's: see ``duckdb.name_indexes``)."""
        return tuple(dict.fromkeys(node.index for node in self.nodes() if node.index))

    @property
    def relations(self) -> tuple[str, ...]:
        """The tables (and partitions) the plan scans, in plan order, each once."""
        return tuple(dict.fromkeys(node.relation for node in self.nodes() if node.relation))

    @property
    def total_cost(self) -> float | None:
        """The planner's estimated cost of the whole plan (PostgreSQL); None where the engine has none."""
        return self.root.total_cost

    @property
    def total_ms(self) -> float | None:
        """Time summed over the operators (the root's total); None for plans that did not run."""
        return self.root.total_ms

    @property
    def partitions_scanned(self) -> int | None:
        """Partitions (members of Appends: also UNION ALL branches) read, pruned ones excluded; None without."""
        counts = [_members(node) for node in self.nodes() if node.operator in APPENDS]
        return sum(counts) if counts else None

    @property
    def partitions_removed(self) -> int | None:
        """Partitions pruned at executor start-up (``Subplans Removed``); None without Append."""
        appends = [node for node in self.nodes() if node.operator in APPENDS]
        return sum(int(node.details.get("Subplans Removed", 0)) for node in appends) if appends else None

    def share(self, node: PlanNode) -> float | None:
        """The node's own time as a share of the plan's total time."""
        total = self.root.total_ms
        if node.self_ms is None or not total:
            return None
        return node.self_ms / total

    def misestimates(self, factor: float = MISESTIMATE_FACTOR) -> list[PlanNode]:
        """Nodes whose row estimate was off by ``factor`` or more, worst first.

        Below a Limit, fewer rows than estimated is expected (execution stopped early), so only
        underestimates count there.
        """
        off, stopped = [], set()
        for node, parent, _ in self.root.walk():
            if parent is not None and (parent.operator in EARLY_STOPS or id(parent) in stopped):
                stopped.add(id(node))
            if (node.estimate_factor or 0.0) >= factor and (node.underestimated or id(node) not in stopped):
                off.append(node)
        return sorted(off, key=lambda node: node.estimate_factor or 0.0, reverse=True)

    def summary(self) -> str:
        """One line: where the time went, the worst estimates, indexes and partitions."""
        return summary.summarize(self)

    def diagram(self, factor: float = MISESTIMATE_FACTOR) -> graphviz.Digraph:
        """The plan as a ``graphviz.Digraph``: nodes shaded by share of time, estimates off ``factor``x in red."""
        return render.diagram(self, factor)

    def svg(self) -> str:
        """The diagram as SVG text (rendered once, then kept)."""
        return self._svg

    @functools.cached_property
    def _svg(self) -> str:
        return render.svg(self.diagram())

    def png(self) -> bytes:
        """The diagram as PNG bytes (rendered once, then kept)."""
        return self._png

    @functools.cached_property
    def _png(self) -> bytes:
        return render.png(self.diagram())

    def to_frame(self) -> pd.DataFrame:
        """One row per operator (pre-order) with its figures, share of time and estimate factor."""
        ids = {id(node): number for number, node in enumerate(self.nodes())}
        rows = []
        for node, parent, depth in self.root.walk():
            rows.append({
                "id": ids[id(node)], "parent": None if parent is None else ids[id(parent)], "depth": depth,
                "operator": node.operator, "relation": node.relation, "alias": node.alias, "index": node.index,
                "estimated_rows": node.estimated_rows, "actual_rows": node.actual_rows, "loops": node.loops,
                "total_ms": node.total_ms, "self_ms": node.self_ms, "share": self.share(node),
                "estimate_factor": node.estimate_factor, "startup_cost": node.startup_cost,
                "total_cost": node.total_cost, **{f"buffers_{k}": v for k, v in node.buffers.items()},
            })
        frame = pd.DataFrame(rows)
        return frame.astype({"parent": "Int64", "loops": "Int64"})

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        """The summary above the drawing, as HTML holding a PNG (shown trusted or not); never raises."""
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}

    def _repr_html_(self) -> str:
        try:
            text = html.escape(self.summary())
        except Exception as error:  # display never raises
            text = html.escape(f"could not summarize the plan: {type(error).__name__}: {error}")
        try:
            picture = img_tag(self.png(), f"{self.engine} plan")
        except Exception as error:  # display never raises: the summary still shows
            picture = f"<pre>could not draw the plan: {html.escape(f'{type(error).__name__}: {error}')}</pre>"
        return f"<div><p>{text}</p>{picture}</div>"

    def __repr__(self) -> str:
        try:
            return f"<Plan {self.summary()}>"
        except Exception as error:  # repr never raises
            return f"<Plan {self.engine}, {type(error).__name__} while summarizing: {error}>"


APPENDS = frozenset({"Append", "Parallel Append", "Merge Append"})
EARLY_STOPS = frozenset({"Limit", "LIMIT", "STREAMING_LIMIT"})  # operators that stop reading their input early


def _members(append: PlanNode) -> int:
    """Partitions under an Append: nested Appends (sub-partitions) counted through, skipped members not."""
    count = 0
    for child in append.children:
        if child.operator in APPENDS:
            count += _members(child)
        elif child.loops != 0 and any(node.relation for node, _, _ in child.walk()):
            count += 1
    return count


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"
