"""The one-line reading of a plan: where the time went, which estimates were off, what it used.

Example: ``postgres, 12.3 ms: 82% of time in Seq Scan on products; estimate off 400x on Hash Join
(estimated 10, actual 4,000 rows); no index used``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.plans.model import Plan, PlanNode

SHOWN_MISESTIMATES = 2


def summarize(plan: Plan) -> str:
    """A short text summary of ``plan`` (works for plans that did not run, from the planner's figures)."""
    parts = [_hotspot(plan) if plan.analyzed else _costliest(plan)]
    parts += [misestimate(node) for node in _origins(plan)[:SHOWN_MISESTIMATES]]
    used = plan.indexes_used
    unnamed = any("INDEX" in node.operator.upper() and not node.index for node in plan.nodes())
    if used:
        parts.append(f"index{'es' if len(used) > 1 else ''} used: {', '.join(used)}")
    else:
        parts.append("an index scan (index not named)" if unnamed else "no index used")
    if plan.partitions_scanned is not None:
        removed = f" ({plan.partitions_removed} pruned at start-up)" if plan.partitions_removed else ""
        parts.append(f"{plan.partitions_scanned} partitions scanned{removed}")
    return f"{_head(plan)}: " + "; ".join(part for part in parts if part)


def misestimate(node: PlanNode) -> str:
    """``estimate off 400x on Seq Scan on products (estimated 1, actual 400 rows)``."""
    return (f"estimate off {node.estimate_factor:,.0f}x on {node.label} "
            f"(estimated {node.estimated_rows:,.0f}, actual {node.actual_rows:,.0f} rows)")


def ms(value: float) -> str:
    """Milliseconds with the digits that matter: ``123 ms``, ``12.3 ms``, ``0.036 ms``."""
    if value >= 100:
        return f"{value:,.0f} ms"
    return f"{value:.1f} ms" if value >= 1 else f"{value:.2g} ms"


def _origins(plan: Plan) -> list[PlanNode]:
    """Misestimated nodes whose children were estimated well: where an error starts, not its echoes above."""
    off = plan.misestimates()
    flagged = {id(node) for node in off}
    return [node for node in off if not any(id(child) in flagged for child in node.children)]


def _head(plan: Plan) -> str:
    if not plan.analyzed:
        cost = f", cost {plan.total_cost:,.1f}" if plan.total_cost is not None else ""
        return f"{plan.engine}, not executed{cost}"
    elapsed = plan.execution_ms if plan.execution_ms is not None else plan.total_ms
    timing = ms(elapsed) if elapsed is not None else "time not reported"
    planning = f" + {ms(plan.planning_ms)} planning" if plan.planning_ms is not None else ""
    return f"{plan.engine}, {timing}{planning}"


def _hotspot(plan: Plan) -> str:
    nodes = [node for node in plan.nodes() if node.self_ms is not None]
    if not nodes or not plan.total_ms:
        return ""
    top = max(nodes, key=lambda node: node.self_ms or 0.0)
    return f"{plan.share(top):.0%} of time in {top.label}"


def _costliest(plan: Plan) -> str:
    """The node with the largest own planner cost (its cost minus its children's)."""
    def own(node: PlanNode) -> float:
        return (node.total_cost or 0.0) - sum(child.total_cost or 0.0 for child in node.children)

    nodes = [node for node in plan.nodes() if node.total_cost is not None]
    if not nodes:
        return f"top operator {plan.root.label}"
    return f"largest cost in {max(nodes, key=own).label}"
