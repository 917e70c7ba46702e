"""Query plans of both engines in one model: explain a query, read where its time went, compare two plans."""

from __future__ import annotations

import json
from typing import Any

from workbench.engines.base import Engine
from workbench.errors import UnknownNameError
from workbench.plans import duckdb, postgres
from workbench.plans.diff import NodeChange, PlanDiff, diff
from workbench.plans.model import Plan, PlanNode

READERS = {"postgres": postgres.read, "duckdb": duckdb.read}


def explain(engine: Engine, sql: str, *, analyze: bool = True) -> Plan:
    """The plan of ``sql`` on ``engine``; with ``analyze`` the statement runs (writes are rolled back)."""
    plan = from_document(engine.explain(sql, analyze=analyze), engine.name)
    return duckdb.name_indexes(plan, engine) if engine.name == "duckdb" else plan


def from_document(document: Any, engine: str) -> Plan:
    """A plan from an engine's JSON plan document (parsed, or its JSON text as stored in plans.parquet)."""
    reader = READERS.get(engine)
    if reader is None:
        raise UnknownNameError("plan engine", engine, READERS)
    return reader(json.loads(document) if isinstance(document, str | bytes) else document)


__all__ = ["NodeChange", "Plan", "PlanDiff", "PlanNode", "diff", "explain", "from_document"]
