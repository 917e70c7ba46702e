"""Read DuckDB's ``EXPLAIN [(ANALYZE,] FORMAT JSON)`` into the plan model.

DuckDB 2.x profiles as ``{"operator": [tree], "query": {"total_time": s}, "planner": ..., ...}`` with
each operator's ``name``, ``type``, ``timing`` (seconds spent in that operator alone, summed over
threads), ``intermediate_rows`` and an ``extra_info`` holding the table, the scan type and the
``Estimated Cardinality``; the plain ``EXPLAIN`` is a list of such operators without figures. The
1.x keys (``operator_name``, ``operator_timing``, ``operator_cardinality``, ``latency``) are read too.
``execution_ms`` is the query's wall time less planning (as PostgreSQL's Execution Time); operator
times are CPU time, so on several threads they add up to more. The wrappers of EXPLAIN ANALYZE are
dropped. DuckDB does not name the index an index scan uses: such nodes get the operator
``INDEX_SCAN``, and :func:`name_indexes` finds the index in the catalog (DuckDB scans only
single-column indexes, so the table and the filtered column tell).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.engines.base import Engine
from workbench.errors import WorkbenchError
from workbench.plans.model import Plan, PlanNode

WRAPPERS = frozenset({"RESULT_COLLECTOR", "EXPLAIN_ANALYZE", "EXPLAIN", "QUERY"})
MODELLED = frozenset({"children", "extra_info", "name", "operator_name", "type", "operator_type", "timing",
                      "operator_timing", "intermediate_rows", "operator_cardinality"})
PLANNING = ("planner", "optimizer", "physical_planner")
INDEXES = "SELECT schema_name, table_name, index_name, expressions FROM duckdb_indexes()"
KEYS = ("SELECT schema_name, table_name, constraint_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') AND len(constraint_column_names) = 1")


def read(document: Any) -> Plan:
    """The plan of a DuckDB JSON explain/profiling document."""
    if isinstance(document, list):
        roots, top = document, {}
    elif isinstance(document, dict):
        roots, top = document.get("operator", document.get("children")), document
    else:
        roots, top = None, {}
    if not roots or not isinstance(roots, list):
        raise WorkbenchError(
            f"not a DuckDB JSON plan: expected a list of operators or {{'operator': [...]}}, got "
            f"{type(document).__name__} {str(document)[:120]!r}; fix: pass engine.explain(sql) of a DuckDB engine")
    analyzed = isinstance(document, dict)
    root = _unwrap(roots)
    parts = [top[part]["total_time"] for part in PLANNING
             if isinstance(top.get(part), dict) and "total_time" in top[part]]
    planning = sum(parts) * 1000 if parts else None
    latency = top.get("query", {}).get("total_time", top.get("latency"))  # wall time, planning included
    execution = None if latency is None else max(latency * 1000 - (planning or 0.0), 0.0)
    return Plan("duckdb", _node(root, analyzed), analyzed, planning, execution, document)


def name_indexes(plan: Plan, engine: Engine) -> Plan:
    """The plan with each index scan's index named from ``engine``'s catalog (unchanged when none matches)."""
    if not any(node.operator == "INDEX_SCAN" and node.index is None for node in plan.nodes()):
        return plan
    catalog: dict[tuple[str | None, str], str] = {}
    for schema, table, name, expressions in engine.query(INDEXES).itertuples(index=False):
        column = expressions.strip("[]")
        if "," not in column and "(" not in column:  # one plain column: the only kind DuckDB scans
            catalog[(_relation(f"{schema}.{table}"), column.strip('"').lower())] = name
    for schema, table, name, columns in engine.query(KEYS).itertuples(index=False):
        catalog.setdefault((_relation(f"{schema}.{table}"), columns[0].lower()), name)
    return replace(plan, root=_named(plan.root, catalog))


def _named(node: PlanNode, catalog: dict[tuple[str | None, str], str]) -> PlanNode:
    children = tuple(_named(child, catalog) for child in node.children)
    index = node.index
    if node.operator == "INDEX_SCAN" and index is None:
        columns = _filter_columns(node.details.get("Filters"))
        index = catalog.get((node.relation, columns[0])) if len(columns) == 1 else None
    return replace(node, index=index, children=children)


def _filter_columns(filters: Any) -> list[str]:
    """The distinct columns of DuckDB's ``Filters`` text (one string or a list of them), lower-cased."""
    texts = filters if isinstance(filters, list) else [filters] if isinstance(filters, str) else []
    try:
        columns = {column.name.lower() for text in texts
                   for column in sqlglot.parse_one(text, read="duckdb").find_all(exp.Column)}
    except SqlglotError:
        return []
    return sorted(columns)


def _unwrap(roots: list[dict]) -> dict:
    node = roots[0] if len(roots) == 1 else {"name": "QUERY", "children": roots}
    while _first(node, "type", "operator_type") in WRAPPERS and len(node.get("children", ())) == 1:
        node = node["children"][0]
    return node


def _node(raw: dict, analyzed: bool) -> PlanNode:
    children = tuple(_node(child, analyzed) for child in raw.get("children", ()))
    extra = raw.get("extra_info") or {}
    operator = _first(raw, "name", "operator_name") or "?"
    if extra.get("Type") == "Index Scan":
        operator = "INDEX_SCAN"
    estimated = extra.get("Estimated Cardinality")
    own = total = actual = None
    if analyzed:
        own = float(_first(raw, "timing", "operator_timing") or 0.0) * 1000
        total = own + sum(child.total_ms or 0.0 for child in children)
        actual = float(_first(raw, "intermediate_rows", "operator_cardinality") or 0)
    return PlanNode(
        operator=operator, relation=_relation(extra.get("Table")), estimated_rows=_float(estimated),
        actual_rows=actual, loops=1 if analyzed else None, total_ms=total, self_ms=own,
        details={**extra, **{key: value for key, value in raw.items() if key not in MODELLED}},
        children=children,
    )


def _relation(table: str | None) -> str | None:
    """``memory.main.orders`` -> ``orders``; another schema stays: ``memory.sales.orders`` -> ``sales.orders``."""
    if not table:
        return None
    parts = table.split(".")
    if len(parts) >= 2 and parts[-2] != "main":
        return ".".join(parts[-2:])
    return parts[-1]


def _first(raw: dict, *keys: str) -> Any:
    return next((raw[key] for key in keys if raw.get(key) is not None), None)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
