"""The one engine interface: create a schema, bulk-load Arrow data, query, explain, measure.

Each engine supplies a few primitives (run a statement, copy one table's Arrow batches atomically,
read its catalog); the shared logic here orders the work the fast and safe way: tables first without
their indexes and deferrable foreign keys, data parents first (one transaction per table, recorded
in a ``_workbench_loads`` bookkeeping table), then the indexes and keys, then statistics.

A table to load is a ``pyarrow.Table`` or any :class:`Batches` (a generated stream, Parquet files):
it is copied batch by batch, so a load holds one batch in memory whatever the table's size.
"""

from __future__ import annotations

import html
import os
import queue
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp

from workbench.ddl.export import ExportNote, to_ddl
from workbench.ddl.export.indexes import index_statement
from workbench.ddl.export.names import NameMap, all_tables
from workbench.ddl.export.target import Target, target_for
from workbench.engines.execution import Execution
from workbench.engines.threads import run_threads
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.progress import tqdm
from workbench.schema.model import Index, Schema, Table

BOOKKEEPING = "_workbench_loads"
SERVER_TIMES = ("query", "calls", "mean_exec_ms", "mean_plan_ms")
Advance = Callable[[int], None]
Copy = Callable[[exp.Table, pa.Schema, Iterable[pa.RecordBatch], Advance, exp.Insert], str]  # see Engine._copy

__all__ = ["BOOKKEEPING", "SERVER_TIMES", "Batches", "Engine", "Execution", "LoadInterrupted", "LoadReport",
           "TableLoad"]
BATCH_ROWS = 1_048_576  # rows per batch when a whole pyarrow.Table is loaded


class Batches(Protocol):
    """A table's rows as Arrow record batches, read once, with the schema and row count known first."""

    @property
    def schema(self) -> pa.Schema: ...

    @property
    def num_rows(self) -> int: ...

    def __iter__(self) -> Iterator[pa.RecordBatch]: ...


@dataclass(frozen=True)
class TableLoad:
    """One table's load: rows written, seconds, and the path taken (e.g. ``arrow``, ``copy binary``)."""

    table: str
    rows: int
    seconds: float
    method: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class LoadReport:
    """What a load did: per-table rows and speed, plus the time spent on indexes, keys and statistics."""

    engine: str
    tables: tuple[TableLoad, ...]
    finish_seconds: float = 0.0
    notes: tuple[ExportNote, ...] = ()  # what the engine stores differently from the model (substitutions...)
    copy_seconds: float = 0.0  # by the clock, from the first copy's start to the last one's end (tables overlap)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def seconds(self) -> float:
        return self.copy_seconds + self.finish_seconds

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.copy_seconds if self.copy_seconds > 0 else float("nan")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(t.table, t.rows, t.seconds, t.rows_per_second, t.method) for t in self.tables],
            columns=["table", "rows", "seconds", "rows_per_second", "method"],
        )

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(f'{n.object}: {n.message}')}</li>" for n in self.notes)
        listed = f"<p>notes:</p><ul>{notes}</ul>" if notes else ""
        return f"<p>{self._summary()}</p>" + self.to_frame().to_html(index=False) + listed

    def _summary(self) -> str:
        return (f"{self.engine}: {self.rows:,} rows into {len(self.tables)} tables in {self.seconds:.2f} s "
                f"({self.rows_per_second:,.0f} rows/s copying, {self.finish_seconds:.2f} s indexes+keys+stats)")

    def __repr__(self) -> str:
        return f"<LoadReport {self._summary()}>"


class LoadInterrupted(WorkbenchError):
    """A table's load failed and was rolled back; earlier tables stay complete (see ``load_status()``)."""

    def __init__(self, table: str, rows_sent: int, total: int, complete: list[str], cause: BaseException, *,
                 connection_lost: bool = False, reason: str | None = None):
        self.table, self.rows_sent, self.total, self.complete = table, rows_sent, total, complete
        self.cause, self.connection_lost, self.reason = cause, connection_lost, reason
        done = ", ".join(complete) if complete else "none"
        fix = ("the connection to the server was lost (see the server's log): start it again, connect and load "
               f"{table!r} and the tables after it again" if connection_lost
               else f"correct the data of {table!r} (types, NULLs, keys) and load it again")
        super().__init__(
            f"loading table {table!r} failed after {rows_sent:,} of {total:,} rows were sent: "
            f"{type(cause).__name__}: {(reason or str(cause)).strip()}\n"
            f"its transaction was rolled back, so {table!r} is empty; tables loaded completely: {done}\n"
            f"fix: {fix}"
        )

    def complete_at_end(self, complete: list[str]) -> LoadInterrupted:
        """The same failure naming ``complete``: the tables a parallel load finished, some after this one failed."""
        return LoadInterrupted(self.table, self.rows_sent, self.total, complete, self.cause,
                               connection_lost=self.connection_lost, reason=self.reason)


class Engine(ABC):
    """A database the workbench designs run on; capability flags declare the gaps (as ibis does)."""

    name: str = ""
    dialect: str = ""
    supports_partitioning: bool = False
    supports_index_methods: frozenset[str] = frozenset({"btree"})
    supports_fk_actions: frozenset[str] = frozenset()
    supports_deferred_keys: bool = False  # primary, unique and foreign keys can be added after the load
    supports_explain_buffers: bool = False
    supports_sizes: bool = True  # table_sizes() reports bytes
    supports_clone: bool = False  # clone() copies the loaded database (embedded PostgreSQL)
    sandbox: str | None = None  # the schema the engine works in on a user's server (None: a database of its own)
    supports_parallel_load: bool = False  # load(jobs=K) copies K tables at once (each on a connection of its own)

    def __init__(self) -> None:
        self._pending: list[str] = []  # index and key statements deferred until the data is in
        self._created: set[str] = set()  # model keys of the tables this engine created
        self._keys: dict[tuple[str, str], str] = {}  # (schema, name) as stored -> model key
        self._settings: dict[str, str] = {}  # configure()d session settings, re-applied on reconnect
        self._closed = False

    # -- primitives each engine supplies -------------------------------------------------------

    @property
    @abstractmethod
    def version(self) -> str:
        """The engine's version, e.g. ``"2.0.0"`` or ``"18.6"``."""

    @abstractmethod
    def settings(self) -> dict[str, str]:
        """Every setting and its current value, for the record of a study."""

    @abstractmethod
    def query(self, sql: str, params: Any = None) -> pd.DataFrame:
        """Run a statement and return its rows (``params``: a Mapping for ``:name``, else native)."""

    @abstractmethod
    def execute(self, sql: str, params: Any = None) -> None:
        """Run a statement for its effect; results are read fully and discarded."""

    @abstractmethod
    def explain(self, sql: str, analyze: bool = False) -> dict | list:
        """The engine's JSON plan document; with ``analyze`` the statement runs (writes are rolled back)."""

    @abstractmethod
    def row_counts(self) -> dict[str, int]:
        """Exact row counts of the workbench's tables, by model key."""

    @abstractmethod
    def table_sizes(self) -> pd.DataFrame:
        """Columns ``table, rows, table_bytes, index_bytes`` (bytes are NA where the engine has no figure)."""

    @abstractmethod
    def _run_script(self, statements: list[str]) -> None:
        """Run DDL statements in one transaction; raise WorkbenchError naming the failing statement."""

    @abstractmethod
    def _copy(self, target: exp.Table, schema: pa.Schema, batches: Iterable[pa.RecordBatch], advance: Advance,
              record: exp.Insert | None) -> str:
        """Copy ``batches`` (of ``schema``) into ``target`` and run ``record`` in ONE transaction; roll back
        on any error. ``record`` is None for a part of a table that other sessions copy into at once.

        Calls ``advance(n)`` after each batch sent; returns the method used (e.g. ``"copy binary"``).
        """

    def _copier(self) -> AbstractContextManager[Copy]:
        """``_copy`` for one thread of a parallel load: engines with ``supports_parallel_load`` give each
        thread a connection of its own; others have their one connection (and load a table at a time)."""
        return nullcontext(self._copy)

    def _cancel_sessions(self) -> None:
        """Cancel what the connections of ``_copier`` (and other parallel work) run, from another thread."""
        return None

    @abstractmethod
    def _record(self, record: exp.Insert) -> None:
        """Run a bookkeeping statement on its own (used after a rollback)."""

    @abstractmethod
    def _analyze(self) -> None:
        """Refresh the planner's statistics after a load."""

    @abstractmethod
    def _close(self) -> None:
        """Release connections and drop what this engine created."""

    @abstractmethod
    def timed(self, sql: str, *, timeout_s: float | None = None, rollback: bool = False,
              checksum: bool = True) -> Execution:
        """Run final SQL text once, timing execute + fetch of all rows; never raises for the statement.

        A timeout or a failure is a status of the :class:`Execution`; ``rollback=True`` runs it in a
        transaction rolled back after timing, so writes leave the data unchanged.
        """

    @abstractmethod
    def reconnect(self) -> None:
        """A new connection (a cold first query where the engine allows it), settings re-applied."""

    @abstractmethod
    def index_sizes(self) -> pd.DataFrame:
        """Columns ``table`` (model key), ``index``, ``method``, ``bytes`` (Int64, NA where unknown)."""

    @abstractmethod
    def insert_seconds(self, table: str, data: pa.Table) -> float:
        """Seconds to insert ``data`` into model table ``table`` (its indexes maintained), rolled back after."""

    @abstractmethod
    def _apply_settings(self, settings: Mapping[str, str]) -> None:
        """Check and set session settings; raise WorkbenchError naming an unknown or refused one."""

    @property
    @abstractmethod
    def _home(self) -> str:
        """The default schema where unqualified tables and the bookkeeping table live."""

    def _connection_lost(self, error: BaseException) -> bool:
        """True when ``error`` means the server went away (not that the data was wrong)."""
        return False

    def _scrub(self, text: str) -> str:
        """A message from the engine's driver or server, safe to show (no password); as is by default."""
        return text

    def _guard(self, sql: str) -> None:
        """Refuse a statement this engine must not run (the URL sandbox); nothing by default."""
        return None

    def _physical(self, schema: Schema) -> Schema:
        """The model as this engine stores it (a sandbox renames namespaces); identity by default."""
        return schema

    def _for_load(self, schema: Schema, rows: dict[str, int]) -> tuple[Schema, list[ExportNote]]:
        """The model to create for a load of ``rows`` per table, and notes on what differs; as is by default."""
        return schema, []

    # -- shared behaviour ------------------------------------------------------------------------

    @property
    def target(self) -> Target:
        """The exporter's capability profile of this engine's dialect."""
        return target_for(self.dialect)

    def ddl(self, schema: Schema, *, constraints: bool = True) -> tuple[list[str], list[str], list[ExportNote]]:
        """``(now, deferred, notes)``: the statements ``create_schema`` runs, those kept until after a load.

        The twin of :meth:`create_schema` that returns the SQL instead of running it. The deferred part
        is what the full export has beyond an export of the tables without indexes (and without keys
        where the engine can add them later: the full export then writes them apart, as pg_dump does),
        so both halves are the exporter's own SQL.
        """
        physical = self._physical(schema)
        apart = not constraints and self.supports_deferred_keys
        full = to_ddl(physical, self.dialect, keys_apart=apart)
        if constraints:
            return list(full.statements), [], list(full.notes)
        # with keys apart, views wait for them too: a view may group by a primary key (functional dependency)
        bare = to_ddl(_without_constraints(physical, self.supports_deferred_keys), self.dialect,
                      include_views=not apart)
        now = list(bare.statements)
        already = set(now)
        deferred = [s for s in full.statements if s not in already]
        return now, deferred, list(full.notes)

    def places(self, schema: Schema) -> dict[str, exp.Table]:
        """Model table key -> the table as this engine stores it (sandbox namespace, flattened names),
        for SQL that reads the loaded data of ``schema`` (e.g. ``exp.select(...).from_(places[key])``)."""
        physical = self._physical(schema)  # keeps the order of tables
        names = NameMap(physical, self.target)
        return {model.key: names.table(stored.key)
                for model, stored in zip(all_tables(schema.tables), all_tables(physical.tables), strict=True)}

    def create_schema(self, schema: Schema, *, constraints: bool = True) -> list[ExportNote]:
        """Create the schema's tables (and types, views...); returns the exporter's notes.

        ``constraints=False`` keeps indexes and deferrable foreign keys for :meth:`finish`, which
        :meth:`load` calls after the data is in: the fast order for bulk loads.
        """
        self._check_open()
        now, deferred, notes = self.ddl(schema, constraints=constraints)
        self._run_script(now)
        self._pending.extend(deferred)
        for key, table in self.places(schema).items():
            self._keys[(table.db or self._home, table.name)] = key
            self._created.add(key)
        return notes

    def load_jobs(self, jobs: int | None = None) -> int:
        """Connections a load and its finish use: ``jobs`` when given, else one per core where the engine loads
        in parallel (``supports_parallel_load``) and 1 elsewhere."""
        if jobs is None:
            return (os.cpu_count() or 1) if self.supports_parallel_load else 1
        if jobs < 1:
            raise WorkbenchError(f"jobs must be at least 1, not {jobs} (1 loads serially; None: one per core)")
        return jobs

    def load(self, schema: Schema, data: Mapping[str, pa.Table | Batches], *, progress: bool = True,
             jobs: int | None = None) -> LoadReport:
        """Bulk-load Arrow tables or streams of batches (parents first), then indexes and keys, then statistics.

        Creates the schema first (without indexes) unless this engine already created it. Each table
        is copied in its own transaction and recorded in ``_workbench_loads``; a failure rolls that
        table back, leaves the earlier ones complete, and raises :class:`LoadInterrupted`. Progress:
        one bar per table, with its rows and rows per second. ``jobs``: tables copied at once where the
        engine allows it (a table starts once its parents' data has been produced), and statements of the
        :meth:`finish` run at once; default: one per core (see :meth:`load_jobs`).
        """
        self._check_open()
        jobs = self.load_jobs(jobs)
        plan = [(key, schema.table(key), table) for key, table in data.items()]
        for key, model, table in plan:
            _check_columns(key, model, table.schema)
        notes: list[ExportNote] = []
        keys_in_place = {model.key for _, model, _ in plan} <= self._created  # else created here, keys deferred
        if not keys_in_place:
            loadable, notes = self._for_load(schema, {model.key: table.num_rows for _, model, table in plan})
            for note in notes:
                warnings.warn(f"{note.object}: {note.message}", stacklevel=2)
            notes += self.create_schema(loadable, constraints=False)
        places = self.places(schema)
        self._ensure_bookkeeping()
        copying = time.perf_counter()
        if jobs > 1 and self.supports_parallel_load:
            loads = self._load_parallel(schema, plan, places, jobs, progress, keys_in_place)
        else:
            loads = []
            for _, model, table in plan:
                with self._bar(model.key, table.num_rows, progress) as bar:
                    loads.append(self._load_one(model, places[model.key], table, bar,
                                                [done.table for done in loads]))
        started = time.perf_counter()
        self.finish(jobs)
        return LoadReport(self.name, tuple(loads), time.perf_counter() - started, tuple(notes),
                          copy_seconds=started - copying)

    def finish(self, jobs: int | None = None) -> None:
        """Create the deferred keys, indexes (and views), then refresh statistics (idempotent); ``jobs``:
        statements run at once where the engine allows it (default: one per core, see :meth:`load_jobs`)."""
        self._check_open()
        if self._pending:
            self._run_script(self._pending)
            self._pending = []
        self._analyze()

    def clone(self) -> Engine:
        """The same tables, rows, indexes and statistics in a new database (see ``supports_clone``)."""
        raise WorkbenchError(f"{self._describe()} cannot clone its database (supports_clone is False); "
                             f"fix: load each variant into its own engine, or use the embedded PostgreSQL "
                             f"(connect('postgres')), which clones with CREATE DATABASE ... TEMPLATE")

    def configure(self, settings: Mapping[str, str]) -> None:
        """Session settings (``SET name = value``), checked first and kept across :meth:`reconnect`."""
        self._check_open()
        settings = {str(name): str(value) for name, value in settings.items()}
        self._apply_settings(settings)
        self._settings.update(settings)

    def index_statement(self, schema: Schema, table: str, index: Index) -> str:
        """The CREATE INDEX this engine runs for ``index`` on model table ``table`` (the twin of build_index)."""
        return self._create_index(schema, table, index).sql(self.dialect)

    def index_name(self, schema: Schema, table: str, index: Index) -> str:
        """The name ``index`` has on this engine (the exporter's generated one when the model gives none),
        as plans name it (``Plan.indexes_used``)."""
        return self._create_index(schema, table, index).this.name

    def build_index(self, schema: Schema, table: str, index: Index) -> float:
        """Create ``index`` on model table ``table``; returns the seconds the build took."""
        self._check_open()
        statement = self.index_statement(schema, table, index)
        self._guard(statement)  # checked (and remembered) before the clock starts
        started = time.perf_counter()
        self._run_script([statement])
        return time.perf_counter() - started

    def drop_index(self, schema: Schema, table: str, index: Index) -> None:
        """Drop ``index`` (named as :meth:`build_index` named it) from model table ``table``."""
        self._check_open()
        created = self._create_index(schema, table, index).this
        name = exp.Table(this=created.this.copy(), db=created.args["table"].args.get("db"))
        self._run_script([exp.Drop(kind="INDEX", tables=[name]).sql(self.dialect)])

    def mark_server_times(self, statements: Mapping[str, str] | None = None) -> None:
        """Start counting: :meth:`server_times` reports what runs after this, of ``statements`` (name -> SQL)
        only when given (nothing to mark by default)."""
        return None

    def server_times(self) -> pd.DataFrame:
        """The server's own statistics of statements run since :meth:`mark_server_times` (empty where the
        engine has none)."""
        return server_frame([])

    def server_times_unavailable(self) -> str | None:
        """Why :meth:`server_times` stays empty, or None when it reports."""
        return f"{self.name} keeps no server-side statement statistics"

    def extension_schema(self, name: str) -> str:
        """The schema a PostgreSQL extension lives in (engines without extensions refuse)."""
        raise WorkbenchError(f"{self._describe()} has no PostgreSQL extensions (asked for {name})")

    def vacuum(self) -> None:
        """Refresh the visibility information and statistics of this engine's own tables (never more)."""
        self._check_open()
        self._analyze()

    def load_status(self) -> pd.DataFrame:
        """The bookkeeping log: one row per table load attempt (``complete`` or ``failed``)."""
        table = self._bookkeeping_table()
        self._ensure_bookkeeping()
        return self.query(exp.select("*").from_(table).order_by("loaded_at").sql(self.dialect))

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (or a ``with`` block ended): connect again to go on."""
        return self._closed

    def close(self) -> None:
        """Close the connection and drop everything this engine created; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._created)} tables"
        return f"<{type(self).__name__} {self._describe()} ({state})>"

    def _describe(self) -> str:
        """Where the engine runs, safe to show (no password)."""
        return self.name

    # -- helpers -----------------------------------------------------------------------------------

    def _load_parallel(self, schema: Schema, plan: list[tuple[str, Table, pa.Table | Batches]],
                       places: dict[str, exp.Table], jobs: int, progress: bool, keys_in_place: bool) -> list[TableLoad]:
        """Tables copied by ``jobs`` threads, each with its own connection, in plan order. A table waits for its
        parents earlier in the plan: until their data has been produced (a generated child reads its parents'
        keys), or committed when the foreign keys are in place (they would refuse its rows before). A table
        created by this load whose data comes in parts (Parquet files: ``parts(k)``) is copied in up to
        ``jobs`` parts at once, each in its own transaction; it is emptied again unless every part commits.
        After a failure nothing more starts; an interrupt also cancels the copies running (each rolls back)."""
        order = {model.key: i for i, (_, model, _) in enumerate(plan)}
        pieces = {model.key: _pieces(table, 1 if keys_in_place else jobs) for _, model, table in plan}
        produced = {key: [threading.Event() for _ in parts] for key, parts in pieces.items()}
        committed = {key: threading.Event() for key in order}
        parents = {model.key: {p.key for fk in model.foreign_keys if (p := schema.referenced_table(fk)) is not None
                               and order.get(p.key, order[model.key]) < order[model.key]} for _, model, _ in plan}
        waiting = [(model, i, part) for _, model, _ in plan for i, part in enumerate(pieces[model.key])]
        copied: dict[str, list[TableLoad]] = {key: [] for key in order}  # its parts committed so far
        started: dict[str, float] = {}
        done, failures = [], []
        lock, stopped = threading.Lock(), threading.Event()
        bars = {model.key: self._bar(model.key, table.num_rows, progress) for _, model, table in plan}  # in order

        def wait_for_parents(key: str) -> None:
            for parent in parents[key]:
                for event in [committed[parent]] if keys_in_place else produced[parent]:
                    event.wait()

        def copied_part(model: Table, loaded: TableLoad) -> None:
            key, parts = model.key, len(pieces[model.key])
            with lock:
                copied[key].append(loaded)
                if len(copied[key]) < parts:
                    return
            if parts > 1:  # its parts committed on their own: the table is complete now
                rows = sum(t.rows for t in copied[key])
                self._record(self._bookkeeping_row(key, rows, "complete"))
                loaded = TableLoad(key, rows, time.perf_counter() - started[key], f"{loaded.method}, {parts} parts")
            bars[key].close()
            with lock:
                done.append(loaded)

        def work(copy: Copy) -> None:
            while True:
                with lock:
                    if failures or stopped.is_set() or not waiting:
                        return
                    model, index, part = waiting.pop(0)
                    started.setdefault(model.key, time.perf_counter())
                try:
                    wait_for_parents(model.key)
                    if failures or stopped.is_set():
                        return
                    copied_part(model, self._load_one(model, places[model.key], part, bars[model.key], [], copy=copy,
                                                      produced=produced[model.key][index], stopped=stopped,
                                                      whole=len(pieces[model.key]) == 1))
                except BaseException as error:
                    with lock:
                        failures.append(error)
                    return
                finally:  # its children stop waiting (after a failure: and start nothing)
                    produced[model.key][index].set()
                    if len(copied[model.key]) == len(pieces[model.key]) or failures or stopped.is_set():
                        committed[model.key].set()

        def stop() -> None:
            stopped.set()
            self._cancel_sessions()

        try:
            run_threads(work, self._copier, min(jobs, len(waiting)), "workbench-load", stop)
        finally:
            for bar in bars.values():  # those of tables never started, after a failure
                bar.close()
            torn = [places[key] for key, parts in pieces.items() if 0 < len(copied[key]) < len(parts)]
            if torn:  # some parts committed, not all: empty the table again (this load created it empty)
                self._run_script([exp.TruncateTable(expressions=torn).sql(self.dialect)])
        done.sort(key=lambda loaded: order[loaded.table])
        if failures and isinstance(failures[0], LoadInterrupted):
            raise failures[0].complete_at_end([loaded.table for loaded in done]) from failures[0].cause
        if failures:
            raise failures[0]
        return done

    @staticmethod
    def _bar(key: str, rows: int, progress: bool) -> tqdm:
        return tqdm(total=rows, unit="rows", unit_scale=True, disable=not progress, desc=f"load {key}")

    def _load_one(self, model: Table, target: exp.Table, data: pa.Table | Batches, bar: tqdm, complete: list[str],
                  copy: Copy | None = None, produced: threading.Event | None = None,
                  stopped: threading.Event | None = None, whole: bool = True) -> TableLoad:
        """Copy ``data`` into ``target``, recorded as complete in the same transaction unless it is not the
        ``whole`` table (a part of it, copied beside the others); a failure is recorded and raised."""
        sent = 0

        def advance(rows: int) -> None:
            nonlocal sent
            sent += rows
            bar.update(rows)

        started = time.perf_counter()
        try:
            with prefetched(counted_batches(model.key, data, produced, stopped)) as batches:
                method = (copy or self._copy)(target, data.schema, batches, advance,
                                              self._bookkeeping_row(model.key, data.num_rows, "complete") if whole
                                              else None)
        except BaseException as error:
            try:
                self._record(self._bookkeeping_row(model.key, sent, "failed"))
            except Exception as unrecorded:  # e.g. the server died: the load error matters more
                error.add_note(f"the failure could not be recorded in {BOOKKEEPING}: {self._scrub(str(unrecorded))}")
            if isinstance(error, Exception):
                raise LoadInterrupted(model.key, sent, data.num_rows, complete, error, reason=self._scrub(str(error)),
                                      connection_lost=self._connection_lost(error)) from error
            raise
        return TableLoad(model.key, data.num_rows, time.perf_counter() - started, method)

    def _create_index(self, schema: Schema, table: str, index: Index) -> exp.Create:
        """The exporter's CREATE INDEX for the stored table; raise quoting its notes when it cannot build one."""
        model = schema.table(table)
        physical = self._physical(schema)
        stored = dict(zip((t.key for t in all_tables(schema.tables)), all_tables(physical.tables), strict=True))
        statement, notes = index_statement(physical, stored[model.key], index, self.dialect)
        label = index.name or f"({', '.join(index.columns)})"
        if statement is None:
            methods = ", ".join(sorted(self.supports_index_methods))
            raise WorkbenchError(f"{self.name} cannot build index {label} on {model.key}: {notes}\n"
                                 f"fix: pick what this engine has (methods: {methods}) or leave this index out of "
                                 f"the {self.name} variants")
        if notes:
            warnings.warn(f"index {label} on {model.key} differs on {self.name}: {notes}", stacklevel=3)
        return statement

    def _stored(self, table: str) -> exp.Table:
        """The stored table of a model key this engine created (or of an unambiguous bare name)."""
        matches = [place for place, key in self._keys.items() if key == table] or \
                  [place for place in self._keys if place[1] == table]
        if len(matches) != 1:
            raise UnknownNameError("table created by this engine", table, self._keys.values())
        schema, name = matches[0]
        return exp.table_(exp.to_identifier(name, quoted=True), db=exp.to_identifier(schema, quoted=True))

    def _model_key(self, schema: str, name: str) -> str:
        """The model key of a stored table: as created from a model, else ``schema.name``."""
        return self._keys.get((schema, name), name if schema == self._home else f"{schema}.{name}")

    def _bookkeeping_table(self) -> exp.Table:
        return exp.table_(exp.to_identifier(BOOKKEEPING, quoted=True), db=exp.to_identifier(self._home, quoted=True))

    def _ensure_bookkeeping(self) -> None:
        create = exp.Create(
            this=exp.Schema(this=self._bookkeeping_table(), expressions=[
                exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build(kind))
                for name, kind in (("table_key", "TEXT"), ("rows", "BIGINT"), ("status", "TEXT"),
                                   ("loaded_at", "TIMESTAMP"))
            ]),
            kind="TABLE", exists=True,
        )
        self._run_script([create.sql(self.dialect)])

    def _bookkeeping_row(self, key: str, rows: int, status: str) -> exp.Insert:
        values = exp.tuple_(exp.Literal.string(key), exp.Literal.number(rows), exp.Literal.string(status),
                            exp.CurrentTimestamp())
        return exp.insert(exp.values([values]), self._bookkeeping_table(),
                          columns=["table_key", "rows", "status", "loaded_at"])

    def _check_open(self) -> None:
        if self._closed:
            raise WorkbenchError(f"{self._describe()} is closed; connect again with workbench.connect(...)")


def server_frame(rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    """Rows of ``SERVER_TIMES`` as a frame with fixed dtypes (also when empty)."""
    frame = pd.DataFrame(rows, columns=list(SERVER_TIMES))
    return frame.astype({"query": object, "calls": "Int64", "mean_exec_ms": float, "mean_plan_ms": float})


def _without_constraints(schema: Schema, keys: bool) -> Schema:
    """The model without indexes (and without primary, unique and foreign keys when they can be added
    afterwards)."""

    def strip(table: Table) -> Table:
        stripped = replace(table, indexes=(), partitions=tuple(strip(p) for p in table.partitions))
        return replace(stripped, primary_key=None, uniques=(), foreign_keys=()) if keys else stripped

    return schema.with_tables(tuple(strip(t) for t in schema.tables))


def record_batches(data: pa.Table | Batches, rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The batches of a table or stream (a ``pyarrow.Table`` in slices of at most ``rows``)."""
    if isinstance(data, pa.Table):
        yield from data.to_batches(max_chunksize=rows)
    else:
        yield from data


def _pieces(data: pa.Table | Batches, count: int) -> list[pa.Table | Batches]:
    """``data`` in up to ``count`` parts to copy at once, where it comes in parts (``ParquetTable.parts``)."""
    parts = getattr(data, "parts", None)
    return parts(count) if count > 1 and parts is not None else [data]


def counted_batches(key: str, data: pa.Table | Batches, produced: threading.Event | None = None,
                    stopped: threading.Event | None = None) -> Iterator[pa.RecordBatch]:
    """The batches of ``data``, checked to add up to the rows it announced (else an error ends the copy);
    ``produced`` is set once the source is exhausted (or failed); ``stopped`` (set by an interrupt) ends
    the copy before its next batch."""
    sent = 0
    try:
        for batch in record_batches(data):
            if stopped is not None and stopped.is_set():
                raise KeyboardInterrupt(f"{key}: the load was interrupted")
            sent += batch.num_rows
            yield batch
    finally:
        if produced is not None:
            produced.set()
    if sent != data.num_rows:
        raise WorkbenchError(f"{key}: the data announced {data.num_rows:,} rows but gave {sent:,}; nothing of "
                             f"{key} is kept")


@contextmanager
def prefetched(batches: Iterator[pa.RecordBatch], ahead: int = 1) -> Iterator[Iterator[pa.RecordBatch]]:
    """``batches`` made by a thread up to ``ahead`` batches ahead of the reader (generation or Parquet reads
    overlap the engine's work, mostly outside the GIL); the thread stops when the block exits."""
    ready: queue.Queue = queue.Queue(maxsize=ahead)
    done = object()
    stop = threading.Event()

    def offer(item: object) -> bool:
        """Hand ``item`` to the reader; False when the reader has left."""
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in batches:
                if not offer(item):
                    return
        except BaseException as error:  # raised in the reader
            offer(error)
            return
        offer(done)

    def read() -> Iterator[pa.RecordBatch]:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item

    worker = threading.Thread(target=produce, name="workbench-batches", daemon=True)
    worker.start()
    try:
        yield read()
    finally:
        stop.set()
        worker.join()


def _check_columns(key: str, model: Table, data: pa.Schema) -> None:
    for name in data.names:
        if not model.has_column(name):
            raise UnknownNameError(f"column of {model.key} (in the data for {key!r})", name,
                                   (c.name for c in model.columns))


def named_parameters(sql: str, params: Mapping[str, Any], dialect: str) -> exp.Expression:
    """The statement with ``:name`` placeholders checked against ``params`` (portable across engines)."""
    tree = sqlglot.parse_one(sql, read=dialect)
    names = {p.name for p in tree.find_all(exp.Placeholder) if p.name}
    if missing := names - set(params):
        raise WorkbenchError(f"no value for parameter(s) {', '.join(sorted(missing))} of {sql!r}; "
                             f"given: {', '.join(sorted(params)) or 'none'}")
    return tree
