"""The study runner: the method of BENCHMARKING.md applied to every variant the same way.

Data is generated once (seeded) and loaded once per engine; each variant gets its own copy (clone or reload),
its changes, then statistics. Parameter draws are seeded and shared by every variant and engine, and every
statement is bound before any clock starts. Per variant: one cold execution per query on a new connection,
then warm-up rounds, then measured rounds, variants interleaved (round r: every variant runs every query's
draw r, in an order shuffled per round with the seed). Timeouts and errors are recorded, never dropped.
After the measurements: server-side times, one EXPLAIN ANALYZE per variant and query, and the write cost of
the variant's indexes. Every round is flushed to the out directory, so ``resume`` completes a broken run.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlglot.errors import SqlglotError

from workbench.bench.machine import engine_info, machine
from workbench.bench.partition_load import layout
from workbench.bench.prepare import Prepared, prepare
from workbench.bench.store import Store, now
from workbench.bench.writes import insert_rate, insert_sample
from workbench.engines import Engine, connect
from workbench.engines.conninfo import ConnInfo
from workbench.errors import WorkbenchError
from workbench.progress import tqdm

PHASES = ("cold", "warmup", "measure")
_STATEMENTS = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES", "TABLE")
# What a resumed run must share with the run it completes: everything that changes what is measured.
_COMPARED = ("name", "domain", "engines", "scale", "rows", "tables", "queries", "variants", "repetitions", "warmup",
             "timeout_s", "seed", "insert_rows", "workload")


@dataclass(frozen=True)
class Bound:
    """One statement ready to run: final SQL text, or why it could not be made (recorded as an error)."""

    sql: str | None
    params: str
    write: bool = False
    error: str | None = None


def run_study(study: Any, out: Path, *, resume: bool = False, progress: bool = True, max_rounds: int | None = None,
              report: bool = True, measure_only: bool = False, overwrite: bool = False) -> Any:
    """Run ``study`` into ``out`` (see the module docstring) and return its Results.

    ``measure_only`` keeps the executions only (no plans, server times, partition tables, write cost or report).
    """
    store = Store(out, resume=resume, overwrite=overwrite)
    meta = _begin(store, study, resume)
    timings: dict[str, float] = {}  # wall seconds per step: where a study's time goes
    with _clock(timings, "generate"):
        data = study.generate(progress=progress)
    draws: dict[str, list[dict[str, Any]]] | None = None
    tables: dict[str, list[dict[str, Any]]] = {"variants": [], "plans": [], "server": []}
    extras: dict[str, list[pd.DataFrame]] = {}
    complete = True
    per_engine = len(study.variants) * len(study.workload) * (1 + study.warmup + study.repetitions)
    with tqdm(total=per_engine * len(study.engines), disable=not progress, desc=study.name, unit="run") as bar:
        for target in study.engines:
            run = EngineRun(study, target, data, store, bar)
            try:
                try:
                    draws = run.setup(draws, timings)
                except WorkbenchError as error:  # the engine cannot hold the study: every variant failed
                    tables["variants"] += [Prepared(v, error=f"{target}: {error}").row(run.name)
                                           for v in study.variants]
                    bar.update(per_engine)
                    continue
                meta["engines"][run.name] = engine_info(run.base)
                meta.setdefault("sql", run.first_draws(draws))
                with _clock(timings, f"{run.name}: measure"):
                    complete = run.measure(max_rounds)
                if complete and not measure_only:
                    with _clock(timings, f"{run.name}: plans and server times"):
                        tables["server"] += run.server_times()
                        tables["plans"] += run.plans()
                        for name, frame in run.partition_tables().items():
                            extras.setdefault(name, []).append(frame)
                    with _clock(timings, f"{run.name}: write cost"):
                        run.write_cost()
                tables["variants"] += [p.row(run.name) for p in run.prepared]
                meta["notes"] += run.notes
            finally:
                with _clock(timings, f"{run.name}: close"):
                    run.close()
                store.flush()
            if not complete:
                break
    store.consolidate()
    for name, rows in tables.items():
        store.write_table(name, rows)
    for name, frames in extras.items():
        store.write_frame(name, pd.concat(frames, ignore_index=True))
    if report and complete and not measure_only:
        from workbench.bench.report import write_report

        with _clock(timings, "report"):
            write_report(out)
    meta.update(finished_at=now().isoformat() if complete else None, complete=complete, timings_s=timings)
    store.write_meta(meta)
    from workbench.bench.results import Results

    return Results.load(out)


def engine_name(target: str | ConnInfo) -> str:
    """The name results carry for a study's engine target (``duckdb``, ``postgres`` or a PostgreSQL URL)."""
    return target if target in ("duckdb", "postgres") else "postgres"


class EngineRun:
    """One engine's part of a study: base load, variants, rounds, plans, server times, write cost."""

    def __init__(self, study: Any, target: str | ConnInfo, data: dict[str, pa.Table], store: Store, bar: tqdm):
        self.study, self.target, self.data, self.store, self.bar = study, target, data, store, bar
        self.base: Engine | None = None
        self.name = engine_name(target)  # the engine's own name once connected
        self.prepared: list[Prepared] = []
        self.bound: dict[tuple[str, str], list[Bound]] = {}
        self.notes: list[str] = []  # what could not be measured, for meta.json
        self.server: dict[tuple[str, str], list[float]] = {}  # (variant, query) -> calls, exec ms, plan ms
        self._files = tempfile.TemporaryDirectory(prefix="workbench-study-")  # e.g. DuckDB's partitioned Parquet

    @property
    def live(self) -> list[Prepared]:
        return [p for p in self.prepared if p.ok]

    def setup(self, draws: dict[str, list[dict[str, Any]]] | None,
              timings: dict[str, float]) -> dict[str, list[dict[str, Any]]]:
        """Load the base once, draw parameters (once per study), build every variant, bind every statement."""
        study = self.study
        self.bar.set_postfix_str(f"{self.name}: loading")
        with _clock(timings, "connect"):
            self.base = connect(self.target)
            self.name = self.base.name
        loaded = self.base.load(study.schema, self.data, progress=False)
        timings[f"{self.name}: load (copy)"] = sum(t.seconds for t in loaded.tables)
        timings[f"{self.name}: load (indexes, keys, statistics)"] = loaded.finish_seconds
        if self.base.dialect == "postgres":
            with _clock(timings, f"{self.name}: vacuum"):
                self.base.vacuum()  # visibility map and statistics of its own tables, inherited by every clone
            if why := self.base.server_times_unavailable():
                self.notes.append(f"{self.name}: server-side times unavailable: {why}")
        if draws is None:
            with _clock(timings, "draw parameters"):
                draws = study.workload.draws(self.base, study.repetitions, seed=study.seed)
        for variant in study.variants:
            self.bar.set_postfix_str(f"{self.name}: building {variant.name}")
            directory = Path(self._files.name) / f"variant-{len(self.prepared)}"
            with _clock(timings, f"{self.name}: variant {variant.name}"):
                self.prepared.append(prepare(self.base, self.target, study.schema, self.data, variant, directory))
        for prepared in self.live:
            for query in study.workload:
                self.bound[(prepared.variant.name, query.name)] = [
                    _bind(study.query_for(prepared.variant, query.name), values, self.base.dialect)
                    for values in draws[query.name]]
        return draws

    def first_draws(self, draws: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
        """Each query's statement (the baseline variant's) bound with draw 0, else its template: for meta.json."""
        baseline = self.study.variant(self.study.baseline)
        statements = {}
        for query in self.study.workload:
            chosen = self.study.query_for(baseline, query.name)
            statements[query.name] = _bind(chosen, draws[query.name][0], self.base.dialect).sql or chosen.sql
        return statements

    def measure(self, max_rounds: int | None) -> bool:
        """Cold, warm-up and measured rounds; False when ``max_rounds`` stopped it early."""
        study, queries = self.study, [q.name for q in self.study.workload]
        failed = len(self.prepared) - len(self.live)
        self.bar.update(failed * len(queries) * (1 + study.warmup + study.repetitions))
        for prepared in self._order("cold", 0):
            for query in queries:
                self._run(prepared, query, "cold", 0, 0, reconnect=True)
        self.store.flush()
        for phase, rounds in (("warmup", study.warmup), ("measure", study.repetitions)):
            for repetition in range(rounds):
                if phase == "measure" and max_rounds is not None and repetition >= max_rounds:
                    return False
                draw = repetition % study.repetitions
                self.bar.set_postfix_str(f"{self.name}: {phase} {repetition + 1}/{rounds}")
                for prepared in self._order(phase, repetition):
                    if phase == "measure":
                        prepared.engine.mark_server_times(self._statements(prepared))
                    for query in queries:
                        self._run(prepared, query, phase, repetition, draw)
                    if phase == "measure":
                        self._count_server_times(prepared)
                self.store.flush()
        return True

    def server_times(self) -> list[dict[str, Any]]:
        """The server's own mean execution and planning times per variant and query (PostgreSQL) over the
        measured rounds, for the variant's own statements only."""
        return [{"engine": self.name, "variant": variant, "query": query, "calls": int(calls),
                 "mean_exec_ms": exec_ms / calls, "mean_plan_ms": plan_ms / calls}
                for (variant, query), (calls, exec_ms, plan_ms) in self.server.items() if calls]

    def _statements(self, prepared: Prepared) -> dict[str, str]:
        """Each query's statement on this variant (draw 0: every draw has the same query id)."""
        variant = prepared.variant.name
        return {query.name: bound.sql for query in self.study.workload
                if (bound := self.bound[(variant, query.name)][0]).sql is not None}

    def _count_server_times(self, prepared: Prepared) -> None:
        """Add what the server counted for this variant's statements since its block of the round began (read
        around each block: on PostgreSQL 18 every sandbox's copy of a statement shares one query id)."""
        for row in prepared.engine.server_times().itertuples(index=False):
            total = self.server.setdefault((prepared.variant.name, row.query), [0, 0.0, 0.0])
            total[0] += row.calls
            total[1] += row.calls * row.mean_exec_ms
            total[2] += row.calls * row.mean_plan_ms

    def plans(self) -> list[dict[str, Any]]:
        """One EXPLAIN ANALYZE per variant and query (draw 0), after the measurements."""
        from workbench.plans import explain

        rows = []
        for prepared in self.live:
            for query in self.study.workload:
                bound = self.bound[(prepared.variant.name, query.name)][0]
                row = {"engine": self.name, "variant": prepared.variant.name, "query": query.name,
                       "planning_ms": math.nan, "execution_ms": math.nan, "indexes_used": "", "summary": "",
                       "plan_json": None}
                try:
                    if bound.sql is None:
                        raise WorkbenchError(bound.error)
                    plan = explain(prepared.engine, bound.sql, analyze=True)
                    row.update(planning_ms=_number(plan.planning_ms), execution_ms=_number(plan.execution_ms),
                               indexes_used=",".join(plan.indexes_used), summary=plan.summary(),
                               plan_json=json.dumps(plan.document, default=str))
                except Exception as error:  # a plan that cannot be captured is noted, the study goes on
                    row["summary"] = f"plan not captured: {error}"
                rows.append(row)
        return rows

    def write_cost(self) -> None:
        """Rows per second inserted (and rolled back) into the tables any variant changes, per variant.

        Every variant inserts the same rows into the same tables, so the figures compare; for a partitioned
        table this is its ingest rate (new keys past the existing ones land in the newest range partition).
        """
        tables = list(dict.fromkeys(t for v in self.study.variants for t in v.tables))
        if not tables or self.study.insert_rows <= 0:
            return
        samples = {}
        for name in tables:
            key = self.study.schema.table(name).key
            try:
                samples[key] = insert_sample(self.study.schema, key, self.data[key], self.study.insert_rows)
            except WorkbenchError as error:
                self.notes.append(f"{self.name}: {error}")
        for prepared in self.live:
            self.bar.set_postfix_str(f"{self.name}: write cost of {prepared.variant.name}")
            if (files := _parquet(prepared)) is not None:
                self.notes.append(f"{self.name}: write cost of {prepared.variant.name!r} not measured: {files} is "
                                  f"partitioned Parquet read through a view; appending means writing new files, "
                                  f"not inserting rows")
                continue
            try:
                prepared.insert_rows_per_s = insert_rate(prepared.engine, samples) if samples else math.nan
            except WorkbenchError as error:
                self.notes.append(f"{self.name}: write cost of {prepared.variant.name!r} not measured: {error}")

    def partition_tables(self) -> dict[str, pd.DataFrame]:
        """Partitioning studies: planning time on a new vs a warm connection, and retention (drop vs delete).

        Retention cuts at the first edge of each range partitioning with 2 or more partitions in the study (its
        oldest partition's rows): every variant deletes the same rows for a cut, and the variant partitioned
        that way also drops its oldest partition. ``partitions`` in retention.parquet names the cut.
        """
        from workbench.bench.partition_measure import measure_partitions, measure_retention

        specs = [v.partition for v in self.study.variants if v.partition is not None]
        if not specs:
            return {}
        cuts = sorted({s for s in specs if s.by == "range" and s.count > 1}, key=lambda s: (s.table, s.count))
        if not cuts:
            self.notes.append(f"{self.name}: retention not measured: no range partitioning of 2 or more "
                              f"partitions to take the oldest rows from")
        partitions, retention = [], []
        for prepared in self.live:
            spec, name = prepared.variant.partition, prepared.variant.name
            queries = {query: bound[0].sql for (variant, query), bound in self.bound.items()
                       if variant == name and bound[0].sql is not None}
            self.bar.set_postfix_str(f"{self.name}: partitions of {name}")
            try:
                partitions.append(measure_partitions(prepared.engine, name, spec, queries,
                                                     repetitions=min(self.study.repetitions, 5), progress=False))
                if (files := _parquet(prepared)) is not None and cuts:
                    self.notes.append(f"{self.name}: retention of {name!r} not measured: {files} is partitioned "
                                      f"Parquet read through a view (retention deletes files, not rows)")
                    continue
                retention += [measure_retention(prepared.engine, name, cut, partitioned=cut == spec)
                              for cut in cuts]
            except WorkbenchError as error:
                self.notes.append(f"{self.name}: partition measurements of {name!r}: {error}")
        return {"partitions": pd.concat(partitions, ignore_index=True) if partitions else pd.DataFrame(),
                "retention": pd.concat(retention, ignore_index=True) if retention else pd.DataFrame()}

    def close(self) -> None:
        """Close every variant's engine and the base; in parallel, since PostgreSQL waits for a checkpoint
        on each DROP DATABASE and concurrent drops share one."""
        closers = [p.close for p in self.prepared] + ([self.base.close] if self.base is not None else [])
        try:
            with ThreadPoolExecutor(max_workers=max(1, len(closers))) as pool:
                for future in [pool.submit(close) for close in closers]:
                    future.result()
        finally:
            self._files.cleanup()

    # -- helpers -----------------------------------------------------------------------------------

    def _order(self, phase: str, repetition: int) -> list[Prepared]:
        """The live variants in this round's order: a permutation seeded by study seed, phase and round."""
        live = self.live
        rng = np.random.default_rng([self.study.seed, PHASES.index(phase), repetition])
        return [live[i] for i in rng.permutation(len(live))]

    def _run(self, prepared: Prepared, query: str, phase: str, repetition: int, draw: int, *,
             reconnect: bool = False) -> None:
        variant = prepared.variant.name
        key = (self.name, variant, query, phase, repetition, draw)
        self.bar.update(1)
        if self.store.seen(key):
            return
        bound = self.bound[(variant, query)][draw]
        started_at = now()
        if bound.sql is None:
            status, latency, rows, checksum, error = "error", 0.0, None, None, bound.error
        else:
            if reconnect:
                prepared.engine.reconnect()
            result = prepared.engine.timed(bound.sql, timeout_s=self.study.timeout_s, rollback=bound.write)
            status, latency, rows = result.status, result.latency_ms, result.rows
            checksum, error = result.checksum, result.error
        self.store.add({"study": self.study.name, "engine": self.name, "variant": variant, "query": query,
                        "phase": phase, "repetition": repetition, "draw": draw, "latency_ms": latency,
                        "status": status, "rows": rows, "checksum": checksum, "error": error,
                        "params": bound.params, "scale": str(self.study.scale), "seed": self.study.seed,
                        "started_at": started_at})


def _parquet(prepared: Prepared) -> str | None:
    """The partitioned table of a variant DuckDB holds as Parquet files behind a view, else None."""
    spec = prepared.variant.partition
    return spec.table if spec is not None and layout(prepared.engine, spec) == "parquet" else None


def _bind(query: Any, values: dict[str, Any], dialect: str) -> Bound:
    params = json.dumps(values, default=str, sort_keys=True)
    try:
        return Bound(query.bind(values, dialect), params, write=query.is_write)
    except (WorkbenchError, SqlglotError) as error:
        return Bound(None, params, error=f"cannot bind query {query.name!r}: {error}")


def _begin(store: Store, study: Any, resume: bool) -> dict[str, Any]:
    """``meta.json`` at the start; a resumed run must be the same study (name, data, seed)."""
    config = study.config()
    earlier = store.read_meta() if resume else {}
    if earlier:
        before = earlier.get("study", {})
        changed = [k for k in _COMPARED if before.get(k) != config.get(k)]
        if changed:
            differences = "; ".join(f"{k}: {_short(before.get(k))} there, {_short(config.get(k))} now" for k in changed)
            raise WorkbenchError(f"cannot resume in {store.out}: the run there was measured with other settings "
                                 f"({differences}); resume with the same settings, or start afresh in another "
                                 f"--out folder")
        meta = {**earlier, "study": config}
        meta.setdefault("resumed_at", []).append(now().isoformat())
    else:
        meta = {"name": study.name, "study": config, "machine": machine(), "engines": {},
                "scale": str(study.scale), "seed": study.seed, "repetitions": study.repetitions,
                "warmup": study.warmup, "timeout_s": study.timeout_s, "started_at": now().isoformat(),
                "finished_at": None, "complete": False,
                "left_out_queries": [str(p) for p in study.problems]}
    meta.setdefault("engines", {})
    meta["notes"] = []
    store.write_meta(meta)
    return meta


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


@contextmanager
def _clock(timings: dict[str, float], step: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[step] = timings.get(step, 0.0) + time.perf_counter() - started


def _number(value: Any) -> float:
    return float(value) if value is not None else math.nan

