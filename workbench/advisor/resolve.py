"""Workload queries resolved against a schema: which table each column of each scope comes from.

Query rules ask "is this column indexed?", "is it nullable?", "which sources does this predicate
join?": all need the column's table, which sqlglot's qualify and scopes give (for SELECT; UPDATE
and DELETE resolve against their one target table).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from workbench.schema.model import Schema, Table
from workbench.workload import Query, schema_mapping


@dataclass(frozen=True)
class Resolved:
    """A query: its tree as written (parsed once), and qualified against the schema (None when that
    failed, with the error)."""

    query: Query
    original: exp.Expression
    tree: exp.Expression | None
    schema: Schema
    error: str | None = None

    def scopes(self) -> list[Scope]:
        """The SELECT scopes of the statement, innermost first."""
        return list(traverse_scope(self.tree)) if self.tree is not None else []

    def column_table(self, column: exp.Column, scope: Scope | None) -> Table | None:
        """The schema table a (qualified) column reads, or None for CTEs, subqueries and unknowns."""
        if scope is not None:
            source = scope.sources.get(column.table)
            return self.schema.find_table(source.name, source.db or None) if isinstance(source, exp.Table) else None
        target = self.tree.this if self.tree is not None else None  # UPDATE / DELETE: the one target table
        if isinstance(target, exp.Table) and column.table in ("", target.alias_or_name):
            return self.schema.find_table(target.name, target.db or None)
        return None

    def filters(self) -> Iterator[tuple[exp.Expression, Scope | None]]:
        """Every WHERE and JOIN ON condition of the statement, with the scope its columns resolve in."""
        if self.tree is None:
            return
        scopes = self.scopes()
        for scope in scopes:
            select = scope.expression
            if not isinstance(select, exp.Select):
                continue
            if where := select.args.get("where"):
                yield where.this, scope
            for join in select.args.get("joins") or ():
                if on := join.args.get("on"):
                    yield on, scope
        if isinstance(self.tree, (exp.Update, exp.Delete)) and (where := self.tree.args.get("where")):
            yield where.this, None

    def orderings(self) -> Iterator[tuple[exp.Expression, Scope]]:
        """ORDER BY and GROUP BY keys of each SELECT scope."""
        for scope in self.scopes():
            for clause in ("order", "group"):
                if node := scope.expression.args.get(clause):
                    for key in node.expressions:
                        yield key, scope


def resolve(query: Query, schema: Schema) -> Resolved:
    """Qualify ``query`` against ``schema``; a failure is kept as ``error`` (never raised)."""
    original = query.expression
    try:
        tree = qualify(original.copy(), schema=schema_mapping(schema), dialect=query.dialect,
                       validate_qualify_columns=False, identify=False, quote_identifiers=False)
    except Exception as error:  # sqlglot raises several types for names it cannot place
        return Resolved(query, original, None, schema, str(error).splitlines()[0])
    return Resolved(query, original, tree, schema)


def own_columns(node: exp.Expression) -> Iterator[exp.Column]:
    """Columns of ``node`` outside its subqueries (those resolve in their own scopes)."""
    owner = node.find_ancestor(exp.Select)
    return (c for c in node.find_all(exp.Column) if c.find_ancestor(exp.Select) is owner)


def conjuncts(condition: exp.Expression, connector: type[exp.Connector] = exp.And) -> list[exp.Expression]:
    """``a AND (b AND c)`` -> ``[a, b, c]`` (parentheses dropped); ``connector=exp.Or`` splits ORs."""
    condition = condition.unnest()
    if isinstance(condition, connector):
        return conjuncts(condition.left, connector) + conjuncts(condition.right, connector)
    return [condition]


def as_written(tree: exp.Expression) -> exp.Expression:
    """A copy whose ``:name`` placeholders render as ``:name`` in every dialect (for fixes)."""
    return tree.transform(lambda n: exp.var(f":{n.name}") if isinstance(n, exp.Placeholder) and n.name else n)
