"""Run lint rules over a schema (its data, its workload) and collect Findings.

Rules whose needs are not met (no engine for a data rule, no workload for a workload rule) are not
run, and the Findings say so in their notes: nothing is skipped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from workbench.advisor import index_usage, query_rules, schema_rules
from workbench.advisor.findings import Finding, Findings
from workbench.advisor.rules import Context, Naming, Rule
from workbench.ddl import ImportResult
from workbench.engines import Engine
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import Schema
from workbench.workload import Workload

SCHEMA_RULES: tuple[Rule, ...] = (
    schema_rules.missing_primary_key,
    schema_rules.foreign_key_without_index,
    schema_rules.duplicate_index,
    schema_rules.redundant_prefix_index,
    schema_rules.float_for_money,
    schema_rules.timestamp_without_time_zone,
    schema_rules.repeating_column_group,
    schema_rules.polymorphic_association,
    schema_rules.tenant_key_missing,
    schema_rules.low_cardinality_text,
    index_usage.unused_index,
    schema_rules.naming_convention,
)
QUERY_RULES: tuple[Rule, ...] = (
    query_rules.leading_wildcard_like,
    query_rules.select_star,
    query_rules.function_on_indexed_column,
    query_rules.or_across_columns,
    query_rules.offset_pagination,
    query_rules.not_in_nullable_subquery,
    query_rules.order_by_without_limit,
    query_rules.missing_join_condition,
)
RULES: tuple[Rule, ...] = SCHEMA_RULES + QUERY_RULES


def lint(schema: Schema | ImportResult, *, engine: Engine | None = None, workload: Workload | None = None,
         disable: Iterable[str] = (), rules: Iterable[Rule] | None = None, tenant_column: str | None = None,
         naming: Naming | Mapping[str, Any] | None = None) -> Findings:
    """Design lint of ``schema`` (an ImportResult also locates findings in its file), plus data rules
    when ``engine`` holds its loaded data, and unused-index and query rules when a ``workload`` is given.

    ``disable`` takes rule codes or names (``"WB112"``, ``"naming-convention"``); ``rules`` replaces
    the rule set (e.g. ``(*RULES, my_rule)``); ``tenant_column`` turns on multi-tenant checks;
    ``naming`` overrides the naming convention (a :class:`Naming` or its fields as a dict).
    """
    report = schema.report if isinstance(schema, ImportResult) else None
    model = schema.schema if isinstance(schema, ImportResult) else schema
    if isinstance(naming, Mapping):
        naming = replace(Naming(), **naming)
    ctx = Context(model, engine=engine, workload=workload, tenant_column=tenant_column,
                  naming=naming or Naming(), report=report)
    return run(ctx, selected(RULES if rules is None else tuple(rules), disable))


def lint_workload(workload: Workload, schema: Schema | ImportResult, *, disable: Iterable[str] = (),
                  rules: Iterable[Rule] | None = None) -> Findings:
    """Query lint only: the workload's queries checked against ``schema``."""
    model = schema.schema if isinstance(schema, ImportResult) else schema
    return run(Context(model, workload=workload), selected(QUERY_RULES if rules is None else tuple(rules), disable))


def run(ctx: Context, rules: tuple[Rule, ...]) -> Findings:
    """Each rule whose needs the context meets, in order; the others become notes."""
    found: list[Finding] = []
    missing = {"data": ctx.engine is None, "workload": ctx.workload is None}
    for need, why in _NEEDS.items():
        if skipped := [r.code for r in rules if r.needs == need and missing[need]]:
            ctx.notes.append(f"{', '.join(skipped)} not run without {why}")
    for rule in rules:
        if missing.get(rule.needs, False):
            continue
        for flag in rule.check(ctx):
            file, line = ctx.locate(flag.source)
            fix = ";\n".join(statement.sql(ctx.dialect) for statement in flag.fix) or None
            found.append(Finding(rule.id, rule.severity, flag.object, flag.message, fix and fix + ";", file, line))
    if ctx.workload is not None:
        ctx.notes += [f"{problem}: not linted" for problem in ctx.workload.problems]
    return Findings(found, ctx.notes)


_NEEDS = {"data": "loaded data (engine=...)", "workload": "a workload (workload=...)"}


def selected(rules: tuple[Rule, ...], disable: Iterable[str]) -> tuple[Rule, ...]:
    """``rules`` without those ``disable`` names (codes or names); refuses what is not a Rule, or an unknown name."""
    for given in rules:
        if not isinstance(given, Rule):
            raise WorkbenchError(f"{given!r} is not a lint rule; decorate its function with "
                                 "@rule('X001 my-rule', 'warning') from workbench.advisor")
    disable = list(disable)
    for key in disable:
        if not any(r.matches(key) for r in rules):
            raise UnknownNameError("lint rule", key, [r.code for r in rules] + [r.name for r in rules])
    return tuple(r for r in rules if not any(r.matches(key) for key in disable))
