"""Measuring tenancy models: the study (latency, with a noisy neighbour) and growth with the tenant count.

- :func:`tenancy_study`: a :class:`TenancyStudy` whose variants are the tenancy models (``Variant(layout=...)``),
  measured by the study runner (cold run, warm-up, interleaved rounds, bootstrap intervals); ``noisy=0.5`` gives
  one tenant half the rows first. :func:`by_tenant` splits its latencies into the noisy tenant and the others.
- :func:`tenant_growth`: each model built at 10, 100, 1,000 tenants: catalog size (relations and bytes of
  pg_catalog, summed over databases), planning time on a new and a warm connection (EXPLAIN ANALYZE's own),
  and the cost of onboarding one more tenant; a :class:`Growth` of frames with plots.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from psycopg import sql
from sqlglot import exp

from workbench.bench import Study
from workbench.bench.partition_measure import measure_partitions
from workbench.bench.results import Results, frame_html
from workbench.bench.stats import summarize
from workbench.datagen import generate
from workbench.datagen.dataset import Dataset
from workbench.domains import Domain, domain
from workbench.engines import connect
from workbench.errors import WorkbenchError
from workbench.progress import tqdm
from workbench.safe_display import safe_html
from workbench.schema.model import Schema
from workbench.security.noisy import noisy_neighbour
from workbench.security.plots import growth_lines
from workbench.security.rows import new_row
from workbench.security.tenancy import (
    TENANT_SCHEMA,
    DatabaseRouter,
    TenancyModel,
    per_tenant_schemas,
    tenancy_variants,
)

GROWTH_MODELS = {"shared": TenancyModel("shared"), "rls": TenancyModel("rls"), "schemas": TenancyModel("schemas"),
                 "databases": TenancyModel("databases")}


@dataclass(frozen=True)
class TenancyStudy(Study):
    """A study of tenancy models; ``noisy`` (a share, e.g. 0.5) gives one tenant that share of the rows."""

    tenant_column: str = "tenant_id"
    noisy: float | None = None

    def generate(self, *, progress: bool = True) -> Dataset:
        data = super().generate(progress=progress)
        if self.noisy is None:
            return data
        return noisy_neighbour(self.schema, data, self.tenant_column, share=self.noisy, seed=self.seed)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "tenant_column": self.tenant_column, "noisy": self.noisy}


def tenancy_study(source: str | Domain = "multitenant", *, variants: list[Any] | None = None, scale: str | float = "ci",
                  tenants: int | None = None, noisy: float | None = None, tenant_column: str = "tenant_id",
                  **options: Any) -> TenancyStudy:
    """The tenancy models of :func:`~workbench.security.tenancy.tenancy_variants` on a domain, on the embedded
    PostgreSQL; ``tenants`` sets the number of tenants, other keywords are :class:`Study` fields."""
    chosen = source if isinstance(source, Domain) else domain(source)
    tenant_table = _tenant_table(chosen, tenant_column)
    name = "tenancy models" + (f", one tenant with {noisy:.0%} of the rows" if noisy else "")
    rows = {**options.pop("rows", {}), **({tenant_table: tenants} if tenants else {})}
    return TenancyStudy(name=name, domain=chosen, variants=tuple(variants or tenancy_variants(tenant_column)),
                        engines=("postgres",), scale=scale, rows=rows, tenant_column=tenant_column, noisy=noisy,
                        insert_rows=0, **options)


def by_tenant(results: Results, tenant: Any, parameter: str = "tenant") -> pd.DataFrame:
    """Summary (p50 with its bootstrap interval, p95) per variant and query for the draws of ``tenant`` and for
    the other tenants' draws: how the noisy neighbour's queries and everyone else's fare in each model."""
    frame = results.executions.copy()
    drawn = frame["params"].map(lambda text: json.loads(text).get(parameter) if isinstance(text, str) else None)
    frame = frame[drawn.notna()]
    label = drawn[drawn.notna()].map(lambda value: f"tenant {tenant}" if value == tenant else "other tenants")
    frame = frame.assign(query=frame["query"] + " · " + label)
    return summarize(frame)


# -- growth -----------------------------------------------------------------------------------------

class Growth:
    """Tenancy models measured as tenants grow: ``catalog``, ``planning`` and ``onboarding`` frames."""

    def __init__(self, catalog: pd.DataFrame, planning: pd.DataFrame, onboarding: pd.DataFrame):
        self.catalog, self.planning, self.onboarding = catalog, planning, onboarding

    def planning_summary(self) -> pd.DataFrame:
        """Median planning ms per model, tenant count, query and connection, with its bootstrap interval."""
        return _summary(self.planning, "planning_ms", ["connection", "query"])

    def onboarding_summary(self) -> pd.DataFrame:
        """Median seconds to add one tenant per model and tenant count, with its bootstrap interval."""
        return _summary(self.onboarding, "seconds", [])

    def plot_catalog(self, ax: Axes | None = None) -> Axes:
        return growth_lines(self.catalog.assign(p50=self.catalog["catalog_bytes"] / 2**20), ax,
                            "measured catalog size (MiB of pg_catalog, all databases; log scale)")

    def plot_planning(self, ax: Axes | None = None, *, connection: str = "new") -> Axes:
        summary = self.planning_summary()
        summary = summary[summary["connection"] == connection].groupby(["model", "tenants"], as_index=False).agg(
            p50=("p50", "mean"), p50_low=("p50_low", "mean"), p50_high=("p50_high", "mean"))
        return growth_lines(summary, ax, f"measured planning ms, {connection} connection (mean over queries of the "
                                         f"median; bootstrap interval)")

    def plot_onboarding(self, ax: Axes | None = None) -> Axes:
        return growth_lines(self.onboarding_summary(), ax, "measured seconds to add one tenant (median; interval)")

    def __repr__(self) -> str:
        models = ", ".join(pd.unique(self.catalog["model"]))
        counts = ", ".join(str(n) for n in sorted(pd.unique(self.catalog["tenants"])))
        return f"<Growth: {models} at {counts} tenants>"

    def _repr_html_(self) -> str:
        return safe_html(Growth._html, self)

    def _html(self) -> str:
        return (f"<p><b>{html.escape(repr(self))}</b></p><h4>Catalog</h4>{frame_html(self.catalog)}"
                f"<h4>Adding a tenant</h4>{frame_html(self.onboarding_summary())}")


def tenant_growth(source: str | Domain = "multitenant", *, counts: tuple[int, ...] = (10, 100, 1000),
                  models: dict[str, TenancyModel] | None = None, scale: str | float = "ci", seed: int = 42,
                  repetitions: int = 5, tenant_column: str = "tenant_id", progress: bool = True) -> Growth:
    """Build each model at each tenant count from the same generated rows and measure it (see module doc).

    The rows of the other tables stay those of ``scale``: more tenants means fewer rows each.
    """
    chosen = source if isinstance(source, Domain) else domain(source)
    models = models or GROWTH_MODELS
    tenant_table = _tenant_table(chosen, tenant_column)
    catalog, planning, onboarding = [], [], []
    with connect("postgres") as base, tqdm(total=len(counts) * len(models), desc="tenant growth",
                                           disable=not progress) as bar:
        for count in counts:
            data = generate(chosen.schema, {tenant_table: count}, scale=scale, seed=seed, spec=chosen.spec,
                            progress=False)
            queries = bound_queries(chosen, data, seed)
            for name, model in models.items():
                bar.set_postfix_str(f"{name}, {count} tenants")
                started = time.perf_counter()
                engine, _ = model.build(base, "postgres", chosen.schema, data)
                try:
                    catalog.append((name, count, *catalog_size(engine), time.perf_counter() - started))
                    frame = measure_partitions(engine, name, None, queries, repetitions, progress=False)
                    planning += [(name, count, *row) for row in frame[[
                        "query", "connection", "repetition", "planning_ms", "execution_ms"]].itertuples(
                        index=False, name=None)]
                    onboarding += [(name, count, r, seconds) for r, seconds in
                                   enumerate(onboard(engine, model, chosen.schema, repetitions))]
                finally:
                    engine.close()
                bar.update(1)
    return Growth(pd.DataFrame(catalog, columns=["model", "tenants", "relations", "catalog_bytes", "build_s"]),
                  pd.DataFrame(planning, columns=["model", "tenants", "query", "connection", "repetition",
                                                  "planning_ms", "execution_ms"]),
                  pd.DataFrame(onboarding, columns=["model", "tenants", "repetition", "seconds"]))


def catalog_size(engine: Any) -> tuple[int, int]:
    """``(relations, bytes)``: the user relations (tables, indexes, views, sequences, TOAST) and the size of
    pg_catalog, summed over the design's databases (a database per tenant has a catalog each)."""
    names = [engine.owner.database, *engine.databases.values()] if isinstance(engine, DatabaseRouter) else \
        [getattr(engine, "owner", engine).database]
    relations = size = 0
    for name in names:
        with engine.server.connect(name) as connection:
            found = connection.execute(
                "SELECT count(*) FILTER (WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%%'), sum(pg_total_relation_size(c.oid)) FILTER (WHERE n.nspname = "
                "'pg_catalog')::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace").fetchone()
        relations, size = relations + found[0], size + found[1]
    return relations, size


def onboard(engine: Any, model: TenancyModel, schema: Schema, repetitions: int) -> list[float]:
    """Seconds to add one (empty) tenant, ``repetitions`` times, each undone after (undoing is not timed).

    Shared tables and RLS: a row in the table of tenants. A schema per tenant: its schema, tables, keys and
    indexes. Both in a transaction rolled back. A database per tenant: a copy of the template database (the
    router drops the copies with its tenants' databases).
    """
    if isinstance(engine, DatabaseRouter):
        return [engine.onboard() for _ in range(repetitions)]
    owner = getattr(engine, "owner", engine)
    tenants = next(t for t in schema.tables if t.primary_key and t.primary_key.columns == (model.tenant_column,))
    if model.model == "schemas":
        new = int(owner.query(sql.SQL("SELECT max({}) AS top FROM {}").format(
            sql.Identifier(model.tenant_column), sql.SQL(owner.places(schema)[tenants.key].sql("postgres")))
            .as_string(None))["top"].iloc[0]) + 1
        tables = model.tenant_tables(schema)
        one = per_tenant_schemas(schema.with_tables(tuple(t for t in schema.tables if t.name in tables)), tables, [new])
        statements = [s for s in owner.ddl(one)[0] if f"{TENANT_SCHEMA}{new}" in s]
    else:
        row = new_row(owner, schema, tenants.name)
        statements = [exp.insert(exp.values([exp.tuple_(*(_value(v) for v in row.values()))]),
                                 owner.places(schema)[tenants.key], columns=list(row)).sql("postgres")]
    seconds = []
    for _ in range(repetitions):
        done = owner.timed(";\n".join(statements), rollback=True, checksum=False)
        if done.status != "ok":
            raise WorkbenchError(f"adding a tenant to {model.label} failed: {done.error}")
        seconds.append(done.latency_ms / 1000)
    return seconds


def _value(value: Any) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(value.isoformat() if hasattr(value, "isoformat") else str(value))


def bound_queries(chosen: Domain, data: Any, seed: int) -> dict[str, str]:
    """Each workload query bound with its first parameter draw (values read from the data in DuckDB)."""
    with connect("duckdb") as values:
        values.load(chosen.schema, data, progress=False)
        draws = chosen.workload.draws(values, 1, seed=seed)
    return {q.name: q.bind(draws[q.name][0], "postgres") for q in chosen.workload}


def _tenant_table(chosen: Domain, column: str) -> str:
    for table in chosen.schema.tables:
        if table.primary_key and table.primary_key.columns == (column,):
            return table.name
    raise WorkbenchError(f"domain {chosen.name} has no table of tenants (primary key ({column})); tenancy "
                         f"measurements need one to set the number of tenants")


def _summary(frame: pd.DataFrame, value: str, keys: list[str]) -> pd.DataFrame:
    """Median of ``value`` with its bootstrap interval (the study's method) per model, tenants and ``keys``."""
    rows = []
    for key, group in frame.groupby(["model", "tenants", *keys], sort=False):
        executions = pd.DataFrame({"engine": "postgres", "variant": key[0], "query": value, "phase": "measure",
                                   "status": "ok", "latency_ms": group[value].to_numpy(float)})
        stats = summarize(executions).iloc[0]
        rows.append((*key, int(stats["n"]), stats["p50"], stats["p50_low"], stats["p50_high"], stats["p95"]))
    return pd.DataFrame(rows, columns=["model", "tenants", *keys, "n", "p50", "p50_low", "p50_high", "p95"])
