"""Advice on a design: lint rules over the schema, its data and its workload (and the index advisor)."""

from workbench.advisor.advice import Advice, advise, budget_curve, plot_budget_curve
from workbench.advisor.candidates import Candidate, candidates
from workbench.advisor.findings import Finding, Findings
from workbench.advisor.lint import QUERY_RULES, RULES, SCHEMA_RULES, lint, lint_workload
from workbench.advisor.rules import Context, Flag, Naming, Rule, rule

__all__ = [
    "QUERY_RULES",
    "RULES",
    "SCHEMA_RULES",
    "Advice",
    "Candidate",
    "Context",
    "Finding",
    "Findings",
    "Flag",
    "Naming",
    "Rule",
    "advise",
    "budget_curve",
    "candidates",
    "lint",
    "lint_workload",
    "plot_budget_curve",
    "rule",
]
