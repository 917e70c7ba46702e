"""Evaluate index sets on the loaded data: planner cost and measured time, each query at most once per set.

Indexes are really built (no hypothetical indexes): the engine holds exactly the set under test,
reached from the previous one by building and dropping the difference. Results are cached by
``(query, the indexes of the set on the tables the query reads)``, so an index on another table
never makes a query run again, and no query is timed twice for the same index set, except on
purpose: a close call between candidates is re-checked once in interleaved rounds (:meth:`Evaluator.recheck`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from sqlglot import exp

from workbench.advisor.candidates import Candidate
from workbench.advisor.index_usage import planned_indexes
from workbench.bench.writes import insert_sample
from workbench.engines import Engine
from workbench.errors import WorkbenchError
from workbench.plans import explain
from workbench.progress import tqdm
from workbench.schema.model import Schema
from workbench.workload import Query, Workload

INSERT_ROWS = 500  # rows inserted (and rolled back) to measure an index's write cost
IndexSet = frozenset[Candidate]


@dataclass(frozen=True)
class Timing:
    """One query under one index set: median ms over the parameter draws, and how each draw went."""

    ms: float
    draws_ms: tuple[float, ...]
    status: str  # "ok", else the worst status met ("timeout" latencies are censored at the timeout)
    checksums: tuple[str | None, ...]


class Evaluator:
    """The workload bound to seeded parameter draws, measured on ``engine`` under chosen index sets."""

    def __init__(self, engine: Engine, schema: Schema, workload: Workload | Iterable[Query], *, draws: int = 5,
                 seed: int = 0, repeat: int = 1, timeout_s: float | None = 30.0, progress: bool = True):
        if draws < 1 or repeat < 1:
            raise WorkbenchError(f"draws and repeat must be at least 1, got draws={draws}, repeat={repeat}")
        self.engine, self.schema, self.repeat, self.timeout_s = engine, schema, repeat, timeout_s
        workload = workload if isinstance(workload, Workload) else Workload(list(workload))
        self.queries = list(workload)
        if not self.queries:
            raise WorkbenchError("the workload has no queries to advise on")
        values = workload.draws(engine, draws, seed=seed)
        self.statements = {q.name: [q.bind(v, engine.dialect) for v in values[q.name]] for q in self.queries}
        self.weights = {q.name: q.weight for q in self.queries}
        self.writes = {q.name for q in self.queries if q.is_write}
        self.tables = {q.name: _tables(schema, q) for q in self.queries}
        self.sizes: dict[str, int] = {}  # candidate key -> bytes, as the engine reports after building it
        self.build_seconds: dict[str, float] = {}
        self.executions = 0  # statements timed (warm-ups included), to show what the cache saves
        self._built: dict[str, Candidate] = {}
        self._building: Candidate | None = None
        self._costs: dict[tuple[str, frozenset[str]], float | None] = {}
        self._times: dict[tuple[str, frozenset[str]], Timing] = {}
        self._rechecked: dict[tuple[str, frozenset[str]], float] = {}  # median ms over a re-check's rounds
        self._insert_ms: dict[str, float] = {}
        self._samples: dict[str, pa.Table] = {}  # table -> rows to insert when measuring write costs
        self._warmed = False
        self.estimated: set[str] = set()  # candidate keys whose size the engine does not report
        self.unmeasured: dict[str, str] = {}  # candidate key -> why its write cost could not be measured
        self._bar = tqdm(desc="advise", unit="step", disable=not progress)

    # -- what a query costs under an index set ---------------------------------------------------

    def key(self, query: str, indexes: IndexSet) -> tuple[str, frozenset[str]]:
        """The cache key: the query and the indexes of the set on the tables it reads."""
        return query, frozenset(c.key for c in indexes if c.table in self.tables[query])

    def costs(self, indexes: IndexSet, queries: Iterable[str] | None = None) -> dict[str, float | None]:
        """Planner cost estimate (median over draws) per query with ``indexes`` built; None where the
        engine gives no cost (DuckDB)."""
        names = list(queries) if queries is not None else [q.name for q in self.queries]
        for name in names:
            if self.key(name, indexes) not in self._costs:
                self.use(indexes)
                costs = [explain(self.engine, sql, analyze=False).total_cost for sql in self.statements[name]]
                known = [c for c in costs if c is not None]
                self._costs[self.key(name, indexes)] = statistics.median(known) if known else None
                self._bar.update()
        return {name: self._costs[self.key(name, indexes)] for name in names}

    def times(self, indexes: IndexSet, queries: Iterable[str] | None = None) -> dict[str, Timing]:
        """Measured time per query with ``indexes`` built: one warm-up, then each draw ``repeat`` times."""
        names = list(queries) if queries is not None else [q.name for q in self.queries]
        for name in names:
            if self.key(name, indexes) not in self._times:
                self.use(indexes)
                self._warm()
                self._times[self.key(name, indexes)] = self._measure(name)
                self._bar.update()
        return {name: self._times[self.key(name, indexes)] for name in names}

    def measured(self, indexes: IndexSet, queries: Iterable[str]) -> bool:
        """True when every one of ``queries`` has been timed under ``indexes`` (times() would not run them)."""
        return all(self.key(name, indexes) in self._times for name in queries)

    def remeasure(self, indexes: IndexSet, queries: Iterable[str] | None = None) -> dict[str, Timing]:
        """Time the queries (all by default) with ``indexes`` afresh, bypassing the cache (for
        interleaved comparisons)."""
        names = list(queries) if queries is not None else [q.name for q in self.queries]
        self.use(indexes)
        self._warm()
        return {name: self._measure(name) for name in names}

    def recheck(self, entries: Sequence[tuple[IndexSet, Sequence[str]]], rounds: int) -> list[dict[str, float]]:
        """Median ms per query of each (index set, queries) entry over ``rounds`` interleaved rounds
        (A B A B..., the cache bypassed on purpose): a close call that single timings cannot settle.
        Each (query, set) is re-checked once, later calls reuse it; their keys are listed in ``rechecked``."""
        pending = [(s, todo) for s, queries in entries
                   if (todo := [q for q in queries if self.key(q, s) not in self._rechecked])]
        rounds_ms: dict[tuple[str, frozenset[str]], list[float]] = defaultdict(list)
        for _ in range(rounds):
            for indexes, queries in pending:
                for name, timing in self.remeasure(indexes, queries).items():
                    rounds_ms[self.key(name, indexes)].append(timing.ms)
        self._rechecked.update((key, statistics.median(values)) for key, values in rounds_ms.items())
        return [{q: self._rechecked[self.key(q, s)] for q in queries} for s, queries in entries]

    @property
    def rechecked(self) -> list[tuple[str, frozenset[str]]]:
        """The (query, index keys) pairs timed again on purpose by :meth:`recheck`."""
        return list(self._rechecked)

    def weighted(self, values: dict[str, float | None] | dict[str, Timing]) -> float:
        """Sum of weight x value (ms for timings), the workload's total."""
        total = 0.0
        for name, value in values.items():
            figure = value.ms if isinstance(value, Timing) else value
            total += self.weights[name] * (figure or 0.0)
        return total

    def affected(self, candidate: Candidate) -> list[str]:
        """The workload's queries that read the candidate's table (any of them may change plan)."""
        return [q.name for q in self.queries if candidate.table in self.tables[q.name]]

    def plans_use(self, indexes: IndexSet) -> set[str]:
        """Physical names of the indexes the planner uses for any draw of any query under ``indexes``."""
        self.use(indexes)
        return planned_indexes(self.engine, (sql for statements in self.statements.values() for sql in statements))

    # -- what an index costs -----------------------------------------------------------------------

    def size(self, candidate: Candidate) -> int:
        """Bytes of the candidate as built (built once, and dropped again, when not yet known)."""
        if candidate.key not in self.sizes:
            current = frozenset(self._built.values())
            self.use(current | {candidate})
            self.use(current)
        return self.sizes[candidate.key]

    def insert_ms(self, candidate: Candidate) -> float:
        """Measured extra ms per inserted row that maintaining the candidate costs (0 when not slower, or
        when it cannot be measured: the reason is kept in ``unmeasured``)."""
        if candidate.key not in self._insert_ms:
            try:
                sample = self._insert_sample(candidate.table)
            except WorkbenchError as error:
                self.unmeasured[candidate.key] = str(error)
                self._insert_ms[candidate.key] = 0.0
                return 0.0
            others = frozenset(c for c in self._built.values() if c.table != candidate.table)
            self.use(others)
            without = self.engine.insert_seconds(candidate.table, sample)
            self.use(others | {candidate})
            with_index = self.engine.insert_seconds(candidate.table, sample)
            self._insert_ms[candidate.key] = max(0.0, (with_index - without) * 1000 / max(sample.num_rows, 1))
            self._bar.update()
        return self._insert_ms[candidate.key]

    def _insert_sample(self, table: str) -> pa.Table:
        """New rows for ``table`` shaped like its own (see :func:`workbench.bench.writes.insert_sample`),
        made once per table from the rows loaded in the engine."""
        if table not in self._samples:
            model = self.schema.table(table)
            target = exp.to_table(model.name if model.schema in (None, "public", "main") else model.key)
            frame = self.engine.query(exp.select("*").from_(target).sql(self.engine.dialect))
            self._samples[table] = insert_sample(self.schema, table, pa.Table.from_pandas(frame, preserve_index=False),
                                                 INSERT_ROWS)
        return self._samples[table]

    def writes_on(self, table: str) -> float:
        """Weight of the workload's writes (INSERT, UPDATE, DELETE, MERGE) on ``table``."""
        return sum(self.weights[name] for name in self.writes if table in self.tables[name])

    # -- the engine's state ------------------------------------------------------------------------

    def use(self, indexes: IndexSet) -> None:
        """Build and drop indexes until the engine holds exactly ``indexes`` (beyond its own)."""
        wanted = {c.key: c for c in indexes}
        for key in [k for k in self._built if k not in wanted]:
            candidate = self._built[key]
            self.engine.drop_index(self.schema, candidate.table, candidate.index)
            del self._built[key]  # only once dropped: close() still knows an index an interruption left
        for key, candidate in wanted.items():
            if key not in self._built:
                self._building = candidate  # an interruption right after the build still drops it (close)
                self.build_seconds[key] = self.engine.build_index(self.schema, candidate.table, candidate.index)
                self._built[key] = candidate
                self._building = None
                if key not in self.sizes:
                    self.sizes[key] = self._bytes(candidate)
                self._bar.update()

    def _bytes(self, candidate: Candidate) -> int:
        """The built index's size as the engine reports it; where it reports none (DuckDB's ART), an
        estimate of rows x (8 bytes per key + 16), listed in ``estimated``."""
        sizes = self.engine.index_sizes()
        rows = sizes[sizes["index"].str.lower() == candidate.name.lower()]
        if not rows.empty and not pd.isna(rows["bytes"].iloc[0]):
            return int(rows["bytes"].iloc[0])
        self.estimated.add(candidate.key)
        return self.engine.row_counts().get(candidate.table, 0) * (8 * len(candidate.index.elements) + 16)

    def close(self) -> None:
        """Drop every index built here, as the engine's catalog shows them (an interruption may have stopped
        a build or a drop on either side of its commit): the engine is left as it was found."""
        try:
            present = {name.lower() for name in self.engine.index_sizes()["index"]}
            for candidate in [*self._built.values(), *([self._building] if self._building else [])]:
                if self.engine.index_name(self.schema, candidate.table, candidate.index).lower() in present:
                    self.engine.drop_index(self.schema, candidate.table, candidate.index)
            self._built, self._building = {}, None
        finally:
            self._bar.close()

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Close; after an interruption (the kernel's stop button) on a new connection first: the old one may
        have stopped between two statements of a transaction, where a drop would never be committed."""
        if kind is not None and not issubclass(kind, Exception):
            self.engine.reconnect()
        self.close()

    def _warm(self) -> None:
        """Before the first measurement, VACUUM (PostgreSQL: a fresh load has no visibility map, so
        index-only scans would start paying only when autovacuum happens to run, mid-advice) and run
        every statement once (the first reads of freshly loaded pages would make the baseline slow)."""
        if self._warmed:
            return
        self._warmed = True
        if self.engine.dialect == "postgres":
            self.engine.vacuum()  # the engine's own tables, by their stored names (never the user's)
        for name, statements in self.statements.items():
            for sql in statements:
                self.engine.timed(sql, timeout_s=self.timeout_s, rollback=name in self.writes, checksum=False)
                self.executions += 1

    def _measure(self, name: str) -> Timing:
        rollback = name in self.writes
        statements = self.statements[name]
        warmup = self.engine.timed(statements[0], timeout_s=self.timeout_s, rollback=rollback, checksum=False)
        self.executions += 1
        if warmup.status == "timeout":  # censored at the timeout, as every draw would be: not run again
            return Timing(warmup.latency_ms, (warmup.latency_ms,) * len(statements), "timeout",
                          (None,) * len(statements))
        per_draw, checksums, statuses = [], [], set()
        for sql in statements:
            runs = [self.engine.timed(sql, timeout_s=self.timeout_s, rollback=rollback) for _ in range(self.repeat)]
            self.executions += len(runs)
            failed = [r for r in runs if r.status == "error"]
            if failed:
                raise WorkbenchError(f"query {name!r} failed while advising: {failed[0].error}\n    in: {sql[:300]}")
            statuses.update(r.status for r in runs)
            per_draw.append(statistics.median(r.latency_ms for r in runs))
            checksums.append(runs[0].checksum)
        status = "timeout" if "timeout" in statuses else "ok"
        return Timing(statistics.median(per_draw), tuple(per_draw), status, tuple(checksums))


def _tables(schema: Schema, query: Query) -> frozenset[str]:
    found = (schema.find_table(t.name, t.db or None) for t in query.expression.find_all(exp.Table))
    return frozenset(t.key for t in found if t is not None)

