"""Read PostgreSQL's ``EXPLAIN (FORMAT JSON[, ANALYZE, BUFFERS])`` into the plan model.

Operators are named as text-format EXPLAIN names them (``Parallel Seq Scan``, ``Hash Left Join``).
PostgreSQL reports actual rows and times per loop (rows as floats since 18), so totals are the
per-loop figure times ``Actual Loops``. Under a Gather the loops count the worker processes that ran
side by side, so time is divided by the processes to stay wall-clock-like. Buffer counts include
the children's, as PostgreSQL reports them.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.errors import WorkbenchError
from workbench.plans.model import Plan, PlanNode

GATHERS = frozenset({"Gather", "Gather Merge"})
JOIN_STEMS = {"Hash Join": "Hash", "Merge Join": "Merge", "Nested Loop": "Nested Loop"}
AGGREGATES = {"Plain": "Aggregate", "Sorted": "GroupAggregate", "Hashed": "HashAggregate", "Mixed": "MixedAggregate"}
MODELLED = frozenset({
    "Node Type", "Relation Name", "Alias", "Index Name", "Plan Rows", "Actual Rows", "Actual Loops",
    "Actual Total Time", "Startup Cost", "Total Cost", "Plans",
})


def read(document: Any) -> Plan:
    """The plan of a PostgreSQL ``EXPLAIN (FORMAT JSON)`` document (the list or its one element)."""
    top = document[0] if isinstance(document, list) and document else document
    if not isinstance(top, dict) or not isinstance(top.get("Plan"), dict):
        raise WorkbenchError(
            f"not a PostgreSQL JSON plan: expected [{{'Plan': {{...}}}}], got {type(document).__name__} "
            f"{str(document)[:120]!r}; fix: pass the result of EXPLAIN (FORMAT JSON) or engine.explain(sql)")
    root = top["Plan"]
    analyzed = "Actual Loops" in root
    return Plan("postgres", _node(root, analyzed, processes=1), analyzed, top.get("Planning Time"),
                top.get("Execution Time"), document)


def _node(raw: dict, analyzed: bool, processes: int) -> PlanNode:
    inner = processes
    if raw.get("Node Type") in GATHERS and analyzed:
        inner = int(raw.get("Workers Launched", 0)) + 1
    children = tuple(_node(child, analyzed, inner) for child in raw.get("Plans", ()))
    estimated = float(raw.get("Plan Rows", 0.0))
    actual = loops = total = own = None
    if analyzed:
        loops = int(raw.get("Actual Loops", 0))
        actual = float(raw.get("Actual Rows", 0.0)) * loops
        estimated *= max(loops, 1)
        total = float(raw.get("Actual Total Time", 0.0)) * loops / processes
        own = max(total - sum(child.total_ms or 0.0 for child in children), 0.0)
    return PlanNode(
        operator=_operator(raw), relation=raw.get("Relation Name"), alias=raw.get("Alias"),
        index=raw.get("Index Name"), estimated_rows=estimated, actual_rows=actual, loops=loops, total_ms=total,
        self_ms=own, startup_cost=raw.get("Startup Cost"), total_cost=raw.get("Total Cost"),
        buffers={_snake(key.removesuffix(" Blocks")): int(value) for key, value in raw.items()
                 if key.endswith(" Blocks")},
        details={key: value for key, value in raw.items() if key not in MODELLED and not key.endswith(" Blocks")},
        children=children,
    )


def _operator(raw: dict) -> str:
    """The operator as text-format EXPLAIN names it (``Parallel Seq Scan``, ``Partial HashAggregate``)."""
    name = raw.get("Node Type", "?")
    join = raw.get("Join Type")
    if name in JOIN_STEMS and join and join != "Inner":
        name = f"{JOIN_STEMS[name]} {join} Join"
    elif name == "Aggregate":
        name = AGGREGATES.get(raw.get("Strategy", "Plain"), name)
        if raw.get("Partial Mode") in ("Partial", "Finalize"):
            name = f"{raw['Partial Mode']} {name}"
    elif name == "ModifyTable":
        name = raw.get("Operation", name)
    if raw.get("Scan Direction") == "Backward":
        name += " Backward"
    return f"Parallel {name}" if raw.get("Parallel Aware") else name


def _snake(text: str) -> str:
    return re.sub(r"\W+", "_", text.strip()).lower()
