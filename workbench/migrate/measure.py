"""``Migration.measure``: run the plan on a real PostgreSQL while the application keeps working.

The old schema is loaded with generated rows into a database (or sandbox) the workbench creates. A
reader and a writer loop run on their own connections: the domain's workload queries (parameters drawn
from the loaded rows), plus a one-row touch (read by key, no-op update by key) of every table the plan
alters, so that each table the migration locks sees traffic. A monitor samples ``pg_locks`` every few
milliseconds. For each statement the result records its duration, the lock mode the migrating backend
held on the table (from its own ``pg_locks`` rows before commit, or from the monitor's samples for
statements that cannot run in a transaction), whether the table was rewritten (``pg_relation_filenode``
changed), the longest latency of a concurrent query, how many sessions waited, and the workload errors
until the next statement (a rename breaks the old code's queries: that is an error, counted). With
``phases=True`` the expand/contract phases run instead, and the workload switches to queries written
for the new names at the switch phase; errors are then reported per phase (0 expected).
"""

from __future__ import annotations

import html
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import pandas as pd
import psycopg
from psycopg import sql
from sqlglot import exp

from workbench.errors import WorkbenchError
from workbench.migrate.compare import rename_in
from workbench.migrate.locks import PG_LOCKS_NAMES, strength
from workbench.migrate.verify import fresh_places, physical_plan, rows_for
from workbench.safe_display import safe_html

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from workbench.engines.postgres import PostgresEngine
    from workbench.migrate.diff import SchemaDiff
    from workbench.migrate.plan import Migration
    from workbench.migrate.steps import Step

LOCK_NOT_AVAILABLE = "55P03"
SAMPLE_EVERY_S = 0.004
RETRIES = 3
WORKLOAD_TIMEOUT_MS = 30_000


@dataclass
class _Run:
    """One workload execution: when it ran, whether it failed."""

    started: float
    ended: float
    role: str
    error: str | None = None


@dataclass
class Measurement:
    """Per statement: what it held, rewrote and cost the concurrent workload."""

    label: str
    frame: pd.DataFrame
    baseline_ms: float  # p99 latency of the workload before the migration started
    workload_queries: int
    notes: list[str] = field(default_factory=list)

    @property
    def blocked_ms(self) -> float:
        return float(self.frame["blocked_ms"].sum())

    @property
    def errors(self) -> int:
        return int(self.frame["workload_errors"].sum())

    def by_phase(self) -> pd.DataFrame:
        """Statements, workload errors and blocked time per phase (expand/contract runs)."""
        return self.frame.groupby("phase", sort=False).agg(
            statements=("statement", "size"), workload_errors=("workload_errors", "sum"),
            blocked_ms=("blocked_ms", "sum"), longest_wait_ms=("max_wait_ms", "max")).reset_index()

    def plot(self, *others: Measurement, ax: Axes | None = None) -> Axes:
        """Blocked time per statement (longest concurrent latency above the baseline p99), this run and others."""
        return plot_blocking(self, *others, ax=ax)

    def __repr__(self) -> str:
        rewrites = int(self.frame["rewrote"].fillna(False).sum())
        return (f"<Measurement {self.label}: {len(self.frame)} statements, workload blocked {self.blocked_ms:,.0f} ms "
                f"in total (baseline p99 {self.baseline_ms:.1f} ms), {self.errors} workload errors, "
                f"{rewrites} rewrites, {self.workload_queries:,} workload queries>")

    def _repr_html_(self) -> str:
        return safe_html(lambda m: f"<p>{html.escape(repr(m))}</p>" + m.frame.to_html(index=False, float_format=(
            lambda x: f"{x:,.1f}")) + "".join(f"<p><i>{html.escape(n)}</i></p>" for n in m.notes), self)


def plot_blocking(*measurements: Measurement, ax: Axes | None = None) -> Axes:
    """Bars of blocked time per statement, one group per measurement (e.g. naive, then safe)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    position = 0
    ticks, labels = [], []
    for number, measurement in enumerate(measurements):
        frame = measurement.frame
        xs = list(range(position, position + len(frame)))
        ax.bar(xs, frame["blocked_ms"], color=f"C{number}", label=f"{measurement.label} "
               f"({measurement.blocked_ms:,.0f} ms, {measurement.errors} errors)")
        ticks += xs
        labels += [_short(s) for s in frame["statement"]]
        position += len(frame) + 1
    ax.set_xticks(ticks, labels, rotation=75, ha="right", fontsize=7)
    ax.set_ylabel("blocked ms (measured)")
    ax.set_title("Time the concurrent workload waited, per migration statement")
    ax.legend()
    ax.figure.tight_layout()
    return ax


def _short(statement: str) -> str:
    """The first words of a statement, with ``$`` escaped (matplotlib reads ``$...$`` as mathematics)."""
    return " ".join(statement.split()[:6])[:40].replace("$", r"\$")


def measure(migration: Migration, engine: Any, source: Any = None, *, scale: str | float = "ci", seed: int = 0,
            phases: bool = False, pause_s: float = 0.05, warmup_s: float = 0.3, progress: bool = True) -> Measurement:
    """Run the plan (or its phases) on a fresh PostgreSQL place under a concurrent reader and writer.

    ``source``: a sample domain (its generated data and workload), a mapping of Arrow tables, or None
    (rows generated from the old schema at ``scale``).
    """
    if migration.dialect != "postgres":
        raise WorkbenchError("measure runs on PostgreSQL: plan with dialect='postgres'")
    migration.up_sql()  # an incomplete plan raises rather than measure part of it
    data, workload = rows_for(migration, source, scale, seed, progress)
    with fresh_places(engine, 1) as (place,):
        plan = physical_plan(migration, place)
        place.load(migration.diff.old, data, progress=progress)
        staged = [(p.name, p.steps) for p in plan.phases] if phases else [("up", plan.up)]
        runner = _Runner(place, plan, workload, seed)
        try:
            frame = runner.run(staged, pause_s=pause_s, warmup_s=warmup_s)
        finally:
            runner.stop()
    label = f"{'phases' if phases else 'safe' if migration.safe else 'naive'}"
    return Measurement(label, frame, runner.baseline_ms, len(runner.runs), runner.notes)


class _Runner:
    """The migrating connection, the workload threads and the lock monitor of one measurement."""

    def __init__(self, place: PostgresEngine, plan: Migration, workload: Any, seed: int):
        self.place, self.plan = place, plan
        self.conninfo = place.server.url(str(place.query("SELECT current_database()").iloc[0, 0]))
        self.migrator = self._connect()
        self.pid = self.migrator.info.backend_pid
        self.runs: list[_Run] = []
        self.samples: list[tuple[float, list[tuple[str, str, bool, int]]]] = []
        self.notes: list[str] = []
        self.stopping = threading.Event()
        self.pools: dict[str, list[str]] = {"reader": [], "writer": []}
        self.new_pools: dict[str, list[str]] = {"reader": [], "writer": []}
        self.current = self.pools  # what the application runs: the new names once it has switched
        self._statements(workload, seed)
        self.baseline_ms = 0.0
        self.threads: list[threading.Thread] = []

    def _connect(self) -> psycopg.Connection:
        connection = psycopg.connect(self.conninfo, autocommit=True, prepare_threshold=None)
        self.place.enter_sandbox(connection)
        return connection

    # -- the workload ----------------------------------------------------------------------------------

    def _statements(self, workload: Any, seed: int) -> None:
        """The reader's and writer's statements (bound with drawn parameters), old and new names."""
        if workload is not None:
            draws = workload.draws(self.place, 8, seed=seed)
            for query in workload:
                role = "writer" if query.is_write else "reader"
                for values in draws[query.name]:
                    self._add(role, query.bind(values, "postgres"))
        for key in sorted({s.table for s in self.plan.up if s.table}):
            table = self.plan.diff.old.find_table(key)
            if table is None or not table.primary_key:
                continue
            self._touch(table)
        if not self.pools["reader"] and not self.pools["writer"]:
            self.notes.append("no workload statement applies: blocking could not be observed")
        order = random.Random(seed)
        for role in self.pools:  # interleaved, so that every query runs during every statement
            paired = list(zip(self.pools[role], self.new_pools[role], strict=True))
            order.shuffle(paired)
            self.pools[role] = [old for old, _ in paired]
            self.new_pools[role] = [new for _, new in paired]

    def _add(self, role: str, text: str) -> None:
        self.pools[role].append(text)
        self.new_pools[role].append(_renamed_query(text, self.plan.diff))

    def _touch(self, table) -> None:
        """A read by key and a no-op update by key of one table, on keys that exist."""
        ref = exp.Table(this=exp.to_identifier(table.name, quoted=True),
                        db=exp.to_identifier(table.schema, quoted=True) if table.schema else None)
        key = table.primary_key.columns
        sample = exp.select(*(exp.column(exp.to_identifier(k, quoted=True)) for k in key)).from_(ref).limit(8)
        rows = self.migrator.execute(sample.sql("postgres")).fetchall()
        for row in rows:
            match = exp.and_(*(exp.EQ(this=exp.column(exp.to_identifier(k, quoted=True)),
                                      expression=exp.convert(v)) for k, v in zip(key, row, strict=True)))
            keys = [exp.column(exp.to_identifier(k, quoted=True)) for k in key]
            self._add("reader", exp.select(*keys).from_(ref.copy()).where(match.copy()).sql("postgres"))
            first = exp.column(exp.to_identifier(key[0], quoted=True))
            self._add("writer", exp.update(ref.copy(), {first: first.copy()}, where=match).sql("postgres"))

    def _loop(self, role: str) -> None:
        connection = self._connect()
        connection.execute(sql.SQL("SET statement_timeout = {}").format(WORKLOAD_TIMEOUT_MS))
        number = 0
        try:
            while not self.stopping.is_set():
                pool = self.current[role]
                if not pool:
                    return
                text = pool[number % len(pool)]
                number += 1
                started = time.perf_counter()
                error = None
                try:
                    cursor = connection.execute(text)
                    if cursor.description is not None:
                        cursor.fetchall()
                except psycopg.Error as failure:
                    error = str(failure).strip().splitlines()[0]
                self.runs.append(_Run(started, time.perf_counter(), role, error))
                time.sleep(0.001)
        finally:
            connection.close()

    def _monitor(self) -> None:
        connection = self._connect()
        query = ("SELECT coalesce(c.relname, l.relation::text), l.mode, l.granted, l.pid FROM pg_locks l "
                 "LEFT JOIN pg_class c ON c.oid = l.relation WHERE l.locktype = 'relation' "
                 "AND (l.pid = %s OR NOT l.granted)")
        try:
            while not self.stopping.is_set():
                rows = connection.execute(query, [self.pid]).fetchall()
                self.samples.append((time.perf_counter(), rows))
                time.sleep(SAMPLE_EVERY_S)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=WORKLOAD_TIMEOUT_MS / 1000 + 5)
        self.migrator.close()

    # -- the migration ---------------------------------------------------------------------------------

    def run(self, staged: list[tuple[str, tuple[Step, ...]]], *, pause_s: float, warmup_s: float) -> pd.DataFrame:
        self.threads = [threading.Thread(target=self._loop, args=(role,), daemon=True) for role in self.pools]
        self.threads.append(threading.Thread(target=self._monitor, daemon=True))
        for thread in self.threads:
            thread.start()
        time.sleep(warmup_s)
        warm = [r.ended - r.started for r in self.runs if r.error is None]
        self.baseline_ms = 1000 * (statistics.quantiles(warm, n=100)[98] if len(warm) >= 2 else (warm or [0])[0])
        rows = []
        windows = []
        for phase, steps in staged:
            if phase == "contract":
                self.current = self.new_pools  # the switch: the application now uses the new names
            for step in steps:
                row, window = self._step(phase, step)
                time.sleep(pause_s)
                rows.append(row)
                windows.append(window)
        ends = [w[0] for w in windows[1:]] + [time.perf_counter()]
        for row, (started, ended), until in zip(rows, windows, ends, strict=True):
            self._effects(row, started, ended, until)
        return pd.DataFrame(rows)

    def _step(self, phase: str, step: Step) -> tuple[dict[str, object], tuple[float, float]]:
        relation = self._relation(step.table)
        filenode = self._filenode(relation)
        held, error, attempts = "", None, 0
        started = time.perf_counter()
        while True:
            attempts += 1
            try:
                held = self._execute(step, relation)
                error = None
                break
            except psycopg.Error as failure:
                error = str(failure).strip().splitlines()[0]
                if failure.sqlstate == LOCK_NOT_AVAILABLE and attempts < RETRIES:
                    continue  # lock_timeout: wait is over, try again (as the script's note says)
                break
            except WorkbenchError as refused:  # the sandbox guard
                error = str(refused).splitlines()[0]
                break
        ended = time.perf_counter()
        after = self._filenode(relation)
        row = {"phase": phase, "statement": " ".join(step.sql.split())[:120], "table": step.table,
               "relation": relation,
               "expected_lock": step.lock or "-", "observed_lock": held, "duration_ms": 1000 * (ended - started),
               "expected_rewrite": step.rewrite, "rewrote": (filenode != after) if filenode and after else None,
               "attempts": attempts, "error": error}
        return row, (started, ended)

    def _execute(self, step: Step, relation: str | None) -> str:
        """Run the statement; the strongest lock the migrating backend holds on the table, as pg_locks says
        (nothing for a table the statement creates). On a user's server the sandbox guard checks it first."""
        self.place.refuse_outside(step.sql)
        if not step.transactional or relation is None:
            self.migrator.execute(step.sql)
            return ""
        with self.migrator.transaction():
            self.migrator.execute(step.sql)
            rows = self.migrator.execute(
                "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted").fetchall()
        return _strongest(rows, relation)

    def _relation(self, key: str | None) -> str | None:
        if key is None:
            return None
        name = key.rpartition(".")[2]
        found = self.migrator.execute("SELECT relname FROM pg_class WHERE relname = %s LIMIT 1", [name]).fetchone()
        return found[0] if found else None

    def _filenode(self, relation: str | None) -> int | None:
        if relation is None:
            return None
        found = self.migrator.execute("SELECT pg_relation_filenode(oid) FROM pg_class WHERE relname = %s "
                                      "AND relkind IN ('r', 'p', 'm') LIMIT 1", [relation]).fetchone()
        return found[0] if found else None

    def _effects(self, row: dict[str, object], started: float, ended: float, until: float) -> None:
        """What the statement did to the workload: the longest concurrent latency, waiters, errors."""
        concurrent = [r for r in self.runs if r.started < ended and r.ended > started]
        longest = max((r.ended - r.started for r in concurrent), default=0.0) * 1000
        window = [r for r in self.runs if started <= r.ended < until]
        errors = [r.error for r in window if r.error]
        samples = [rows for at, rows in self.samples if started <= at <= ended]
        waiting = max((len({pid for _, _, granted, pid in rows if not granted and pid != self.pid})
                       for rows in samples), default=0)
        if not row["observed_lock"] and row["relation"]:
            seen = [(name, mode) for rows in samples for name, mode, granted, pid in rows
                    if pid == self.pid and granted]
            row["observed_lock"] = _strongest(seen, row["relation"])
        row.pop("relation")
        row.update(max_wait_ms=longest, blocked_ms=max(0.0, longest - self.baseline_ms), waiting_sessions=waiting,
                   workload_queries=len(window), workload_errors=len(errors),
                   first_error=errors[0] if errors else None)


def _strongest(rows: list[tuple[str, str]], relation: str | None) -> str:
    modes = [PG_LOCKS_NAMES.get(mode, mode) for name, mode in rows if relation is None or name == relation]
    return max(modes, key=strength, default="")


def _renamed_query(text: str, diff: SchemaDiff) -> str:
    """A workload statement rewritten for the new names (renamed tables and columns)."""
    columns = {old: new for mapping in diff.rename_map.columns.values() for old, new in mapping.items()}
    tables = diff.rename_map.table_names(diff.old)
    return rename_in(text, "postgres", columns, tables) or text
