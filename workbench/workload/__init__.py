"""Workloads: named, weighted, parameterised statements with samplers drawn from loaded data."""

from workbench.workload.samplers import parse_sampler
from workbench.workload.workload import Problem, Query, Workload, schema_mapping

__all__ = ["Problem", "Query", "Workload", "parse_sampler", "schema_mapping"]
