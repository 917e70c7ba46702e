"""PostgreSQL's one-letter codes in the model's words, for the DDL importer and the live-catalog reader alike.

The catalog (``pg_constraint.confdeltype``, ``pg_attribute.attidentity``, ``pg_partitioned_table.partstrat``)
and the parse trees pglast returns (``Constraint.fk_del_action``, ``generated_when``, ``PartitionSpec.strategy``)
use the same letters, so one table serves both.
"""

from __future__ import annotations

from pglast import ast

from workbench.ddl.postgres.deparse import deparse

# NO ACTION ('a') is the default and is kept as None, as pg_dump leaves it unwritten
FK_ACTIONS = {"a": None, "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
IDENTITY = {"a": "always", "d": "by default"}
PARTITION_STRATEGIES = {"r": "range", "l": "list", "h": "hash"}


def fk_action(code: str) -> str | None:
    """``ON DELETE`` / ``ON UPDATE`` action of a foreign key from its letter (None: NO ACTION)."""
    return FK_ACTIONS.get(code)


def partition_key(spec: ast.PartitionSpec) -> tuple[str, ...]:
    """Column names and expressions (as PostgreSQL prints them) of a ``PARTITION BY`` clause."""
    return tuple(e.name or deparse(e.expr) for e in spec.partParams)
