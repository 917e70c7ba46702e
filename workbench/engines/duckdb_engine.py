"""DuckDB, the default engine: in-process, in memory or in a file, loaded straight from Arrow.

Loads register each Arrow batch as a view and ``INSERT INTO ... SELECT`` from it (millions of rows
per second; never row by row), one batch at a time. Extensions are never downloaded: only the built-in ones are used.
Statements run on a cursor of the database handle, so :meth:`DuckDBEngine.reconnect` can replace it;
timeouts are a watchdog thread calling ``interrupt()``.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from workbench.ddl.export import ExportNote
from workbench.engines.base import BOOKKEEPING, Advance, Batches, Engine, LoadReport, named_parameters
from workbench.engines.execution import Execution
from workbench.engines.execution import checksum as rows_checksum
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import Schema, Table

_OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
KEY_MEMORY = 512 * 2**20  # default budget for one table's checks (indexes, keys, foreign keys) in a load
ART_BYTES_PER_KEY = 80  # DuckDB's ART per key, measured inserting 5M (integer, timestamptz) keys in 1M batches
FK_BYTES_PER_ROW = 70  # a foreign key's checks during a load, measured on 10-50M rows (and 3x slower inserts)
COMMIT_ROWS = 1 << 22  # a load into an empty table commits every so many rows: memory stays flat
LOAD_MEMORY = "512MB"  # DuckDB's memory_limit while loading a file database (else it caches what it writes)
# A DML statement answers with one ``Count`` row: that is its affected-row count, as PostgreSQL reports it.
_DML = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*(?:insert|update|delete|merge)\b", re.I | re.S)


class DuckDBEngine(Engine):
    """DuckDB in memory (``path=None``) or in a database file, which is kept on close."""

    name = "duckdb"
    dialect = "duckdb"
    supports_index_methods = frozenset({"btree"})  # every index is an ART, used for point lookups only
    supports_fk_actions = frozenset({"RESTRICT", "NO ACTION"})
    supports_sizes = False  # no per-table byte counts; file databases report allocated blocks
    commit_rows = COMMIT_ROWS

    def __init__(self, path: str | Path | None = None, *, config: Mapping[str, Any] | None = None,
                 key_memory: int = KEY_MEMORY):
        super().__init__()
        self.path = Path(path) if path is not None else None
        self.key_memory = key_memory  # bytes a table's checks (indexes, keys, foreign keys) may take in a load
        self._config = {**_OFFLINE, **(config or {})}
        self._db = self._open()
        self._con = _Interruptible(self._db.cursor())
        self._watchdog = _Watchdog()

    def _open(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path or ":memory:"), config=self._config)
        except duckdb.Error as error:
            raise WorkbenchError(f"cannot open DuckDB database {self._describe()}: {error}\n"
                                 f"fix: check the path exists and no other process holds the file") from error

    @property
    def version(self) -> str:
        return duckdb.__version__

    @property
    def _home(self) -> str:
        return "main"

    def settings(self) -> dict[str, str]:
        return dict(self._con.execute("SELECT name, value FROM duckdb_settings() ORDER BY name").fetchall())

    def query(self, sql: str, params: Any = None) -> pd.DataFrame:
        self._check_open()
        sql, params = self._bind(sql, params)
        try:
            return self._con.execute(sql, params).df()
        except duckdb.Error as error:
            raise _failed(sql, error) from error

    def execute(self, sql: str, params: Any = None) -> None:
        self._check_open()
        sql, params = self._bind(sql, params)
        try:
            self._con.execute(sql, params).fetchall()  # read fully, else the next statement fails
        except duckdb.Error as error:
            raise _failed(sql, error) from error

    def explain(self, sql: str, analyze: bool = False) -> dict | list:
        """``EXPLAIN (FORMAT JSON)``; with ``analyze`` the profiling tree, the statement rolled back."""
        self._check_open()
        options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
        statement = f"EXPLAIN ({options}) {sql.strip().rstrip(';')}"
        self._con.execute("BEGIN")
        try:
            rows = self._con.execute(statement).fetchall()
        except duckdb.Error as error:
            raise _failed(sql, error) from error
        finally:
            self._con.execute("ROLLBACK")
        return json.loads(rows[0][1])

    def timed(self, sql: str, *, timeout_s: float | None = None, rollback: bool = False,
              checksum: bool = True) -> Execution:
        """Execute + ``fetchall`` timed; the watchdog thread interrupts the statement after ``timeout_s``."""
        self._check_open()
        con = self._con
        if rollback:
            con.execute("BEGIN")
        try:
            with self._watchdog.watching(con, timeout_s) as fired:
                started = time.perf_counter()
                try:
                    con.execute(sql)
                    rows = con.fetchall()
                except duckdb.Error as error:
                    elapsed = (time.perf_counter() - started) * 1000
                    if fired() and isinstance(error, duckdb.InterruptException):
                        return Execution("timeout", timeout_s * 1000, error=f"timed out after {timeout_s} s")
                    return Execution("error", elapsed, error=f"DuckDB: {error}")
                elapsed = (time.perf_counter() - started) * 1000
            description = con.description
        finally:
            if rollback:
                con.execute("ROLLBACK")
        if description and len(rows) == 1 and description[0][0] == "Count" and _is_dml(sql):
            return Execution("ok", elapsed, rows[0][0], rows_checksum(rows) if checksum else None)
        return Execution("ok", elapsed, len(rows), rows_checksum(rows) if checksum else None)

    def reconnect(self) -> None:
        """A new connection: a file database is closed and reopened (cold cache); memory keeps its data."""
        self._check_open()
        self._con.close()
        if self.path is not None:
            self._db.close()
            self._db = self._open()
        self._con = _Interruptible(self._db.cursor())
        self._apply_settings(self._settings)

    def _for_load(self, schema: Schema, rows: dict[str, int]) -> tuple[Schema, list[ExportNote]]:
        """The model without the checks of large tables that would not fit ``key_memory`` during a load.

        DuckDB holds an index (an ART, for keys and CREATE INDEX alike) in memory while it is built, about
        ``ART_BYTES_PER_KEY`` a row, and checks a foreign key row by row (``FK_BYTES_PER_ROW``, and three
        times slower inserts), so a large table's checks make memory grow with the table. A table over
        the budget is loaded without its foreign keys (DuckDB cannot add them afterwards) and without its
        indexes and keys unless a kept foreign key points at them; every one left out is said.
        """
        def need(table: Table) -> int:
            keys = ([table.primary_key] if table.primary_key else []) + list(table.uniques) + list(table.indexes)
            return rows.get(table.key, 0) * (ART_BYTES_PER_KEY * len(keys) + FK_BYTES_PER_ROW * len(table.foreign_keys))

        over = {table.key for table in schema.tables if need(table) > self.key_memory}
        referenced = {parent.key for table in schema.tables if table.key not in over for fk in table.foreign_keys
                      if (parent := schema.referenced_table(fk)) is not None}
        tables, notes = [], []
        for table in schema.tables:
            if table.key not in over:
                tables.append(table)
                continue
            keep_keys = table.key in referenced
            left = [f"foreign key ({', '.join(fk.columns)}) -> {fk.ref_key}" for fk in table.foreign_keys]
            if not keep_keys:
                left += [f"key ({', '.join(table.primary_key.columns)})"] if table.primary_key else []
                left += [f"unique ({', '.join(u.columns)})" for u in table.uniques]
                left += [f"index ({', '.join(i.columns)})" for i in table.indexes]
            tables.append(replace(table, foreign_keys=()) if keep_keys else
                          replace(table, primary_key=None, uniques=(), indexes=(), foreign_keys=()))
            if left:
                need_gib, budget_gib = need(table) / 2**30, self.key_memory / 2**30
                notes.append(ExportNote(table.key, "keys", (
                    f"{'; '.join(left)} not built in DuckDB: checking them while loading {rows[table.key]:,} rows "
                    f"would take about {need_gib:.1f} GiB of memory (budget {budget_gib:.1f} GiB); the rows are "
                    "loaded unchecked. Fix: connect('duckdb', key_memory=...) in bytes to build them, or load "
                    "into PostgreSQL")))
        return schema.with_tables(tuple(tables)), notes

    def _apply_settings(self, settings: Mapping[str, str]) -> None:
        known = {name for (name,) in self._con.execute("SELECT name FROM duckdb_settings()").fetchall()}
        for name in settings:
            if name.lower() not in known:
                raise UnknownNameError("DuckDB setting", name, known)
        for name, value in settings.items():
            statement = exp.Set(expressions=[exp.SetItem(this=exp.EQ(
                this=exp.column(exp.to_identifier(name)), expression=exp.Literal.string(value)))])
            try:
                self._con.execute(statement.sql("duckdb")).fetchall()
            except duckdb.Error as error:
                raise WorkbenchError(f"DuckDB refused setting {name} = {value!r}: {error}") from error

    def index_sizes(self) -> pd.DataFrame:
        """DuckDB's ART indexes made by CREATE INDEX (key constraints' own indexes are not listed); no bytes."""
        rows = self._con.execute(
            "SELECT schema_name, table_name, index_name FROM duckdb_indexes() "
            "WHERE database_name = current_database() ORDER BY 1, 2, 3").fetchall()
        frame = pd.DataFrame([(self._model_key(schema, table), index, "art", pd.NA) for schema, table, index in rows],
                             columns=["table", "index", "method", "bytes"])
        return frame.astype({"bytes": "Int64"})

    def load(self, schema: Schema, data: Mapping[str, pa.Table | Batches], *, progress: bool = True,
             jobs: int | None = None) -> LoadReport:
        """As :meth:`Engine.load`; a file database loads under ``memory_limit = LOAD_MEMORY`` (unless one was
        configured): written blocks are on disk, and DuckDB would otherwise keep them cached up to 80% of RAM."""
        configured = "memory_limit" in {name.lower() for name in (*self._config, *self._settings)}
        if self.path is None or configured:
            return super().load(schema, data, progress=progress, jobs=jobs)
        self._apply_settings({"memory_limit": LOAD_MEMORY})
        try:
            return super().load(schema, data, progress=progress, jobs=jobs)
        finally:
            self._con.execute("RESET memory_limit").fetchall()

    def insert_seconds(self, table: str, data: pa.Table) -> float:
        """INSERT from the Arrow table in a transaction that is rolled back; only the INSERT is timed."""
        self._check_open()
        target = self._stored(table)
        view = f"_workbench_arrow_{uuid.uuid4().hex[:12]}"
        columns = [exp.to_identifier(name, quoted=True) for name in data.column_names]
        insert = exp.insert(exp.select(*columns).from_(exp.to_identifier(view, quoted=True)), target,
                            columns=columns).sql("duckdb")
        self._con.register(view, data)
        self._con.execute("BEGIN")
        try:
            started = time.perf_counter()
            self._con.execute(insert).fetchall()
            return time.perf_counter() - started
        except duckdb.Error as error:
            raise _failed(insert, error) from error
        finally:
            self._con.execute("ROLLBACK")
            self._con.unregister(view)

    def row_counts(self) -> dict[str, int]:
        return {key: rows for key, rows, *_ in self._sizes()}

    def table_sizes(self) -> pd.DataFrame:
        frame = pd.DataFrame(self._sizes(), columns=["table", "rows", "table_bytes", "index_bytes"])
        return frame.astype({"table_bytes": "Int64", "index_bytes": "Int64"})

    def _sizes(self) -> list[tuple[str, int, int | None, None]]:
        tables = self._con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND NOT internal AND NOT temporary AND table_name <> ? "
            "ORDER BY schema_name, table_name", [BOOKKEEPING]).fetchall()
        block_size = self._con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
        if self.path is not None:
            self._con.execute("CHECKPOINT").fetchall()
        rows = []
        for schema, name in tables:
            table = exp.table_(exp.to_identifier(name, quoted=True), db=exp.to_identifier(schema, quoted=True))
            count = self._con.execute(exp.select(exp.func("count", exp.Star())).from_(table).sql("duckdb")).fetchall()
            blocks = None
            if self.path is not None:
                info = exp.Anonymous(this="pragma_storage_info", expressions=[exp.Literal.string(table.sql("duckdb"))])
                used = exp.select(exp.Count(this=exp.Distinct(expressions=[exp.column("block_id")]))).from_(info)
                blocks = self._con.execute(used.sql("duckdb")).fetchall()[0][0] * block_size
            rows.append((self._model_key(schema, name), count[0][0], blocks, None))
        return rows

    def _bind(self, sql: str, params: Any) -> tuple[str, Any]:
        """``:name`` placeholders with a Mapping become DuckDB's ``$name``; other params pass as they are."""
        if isinstance(params, Mapping):
            return named_parameters(sql, params, "duckdb").sql("duckdb"), dict(params)
        return sql, params

    def _run_script(self, statements: list[str]) -> None:
        self._con.execute("BEGIN")
        for number, statement in enumerate(statements, 1):
            try:
                self._con.execute(statement).fetchall()
            except duckdb.Error as error:
                self._con.execute("ROLLBACK")
                raise WorkbenchError(f"DuckDB rejected statement {number} of {len(statements)} (all rolled back): "
                                     f"{error}\n    {statement[:500]}") from error
        self._con.execute("COMMIT")

    def _copy(self, target: exp.Table, schema: pa.Schema, batches: Iterable[pa.RecordBatch], advance: Advance,
              record: exp.Insert) -> str:
        view = f"_workbench_arrow_{uuid.uuid4().hex[:12]}"
        columns = [exp.to_identifier(name, quoted=True) for name in schema.names]
        insert = exp.insert(exp.select(*columns).from_(exp.to_identifier(view, quoted=True)), target,
                            columns=columns).sql("duckdb")
        empty = exp.select(exp.Not(this=exp.Exists(this=exp.select("*").from_(target)))).sql("duckdb")
        fresh = self._con.execute(empty).fetchall()[0][0]
        uncommitted, committed = 0, False
        self._con.execute("BEGIN")
        try:
            for batch in batches:
                self._con.register(view, batch)
                try:
                    self._con.execute(insert).fetchall()
                finally:
                    self._con.unregister(view)
                advance(batch.num_rows)
                uncommitted += batch.num_rows
                if fresh and uncommitted >= self.commit_rows:  # a transaction's memory grows with its rows
                    self._con.execute("COMMIT")
                    self._con.execute("BEGIN")
                    uncommitted, committed = 0, True
            self._con.execute(record.sql("duckdb")).fetchall()
        except BaseException:
            self._con.execute("ROLLBACK")
            if committed:  # the table was empty: emptied again, as one transaction would have left it
                self._con.execute(exp.delete(target).sql("duckdb")).fetchall()
            raise
        self._con.execute("COMMIT")
        return "arrow"

    def _record(self, record: exp.Insert) -> None:
        self._con.execute(record.sql("duckdb")).fetchall()

    def _analyze(self) -> None:
        self._con.execute("ANALYZE").fetchall()

    def _close(self) -> None:
        self._watchdog.stop()
        self._con.close()
        self._db.close()

    def _describe(self) -> str:
        return f"duckdb:{self.path}" if self.path else "duckdb (in memory)"


class _Interruptible:
    """A DuckDB cursor whose statements stop with KeyboardInterrupt on SIGINT (the kernel's stop button).

    DuckDB answers SIGINT during a statement with ``RuntimeError("Query interrupted")``; code that records
    failed statements and goes on would take the person's stop for a failure. Everything else passes through.
    """

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self._cursor = cursor

    def execute(self, *args: Any) -> _Interruptible:
        self._stoppable(self._cursor.execute, *args)
        return self

    def fetchall(self) -> list[tuple]:
        return self._stoppable(self._cursor.fetchall)

    def df(self) -> pd.DataFrame:
        return self._stoppable(self._cursor.df)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    @staticmethod
    def _stoppable(call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except RuntimeError as error:
            if str(error) == "Query interrupted":
                raise KeyboardInterrupt from error
            raise


class _Watchdog:
    """One sleeping thread per engine that interrupts the connection when a statement outlives its deadline.

    Cheaper than a ``threading.Timer`` per statement (a thread start each time): arming a deadline no
    earlier than the one the thread sleeps toward wakes nothing; a disarmed deadline is dropped when
    the thread next wakes.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._deadline: float | None = None  # of the statement now running
        self._target: duckdb.DuckDBPyConnection | None = None
        self._waking_at: float | None = None  # when the thread wakes; None: asleep until notified
        self._fired = self._stopped = False
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, con: duckdb.DuckDBPyConnection, timeout_s: float | None) -> Iterator[Callable[[], bool]]:
        """Interrupt ``con`` after ``timeout_s`` seconds (None: never); yields "did it fire?"."""
        if timeout_s is None:
            yield lambda: False
            return
        with self._lock:
            self._deadline, self._target, self._fired = time.monotonic() + timeout_s, con, False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="workbench-duckdb-timeout", daemon=True)
                self._thread.start()
            elif self._waking_at is None or self._deadline < self._waking_at:
                self._lock.notify()
        try:
            yield lambda: self._fired
        finally:
            with self._lock:
                self._deadline = self._target = None

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify()

    def _run(self) -> None:
        with self._lock:
            while not self._stopped:
                if self._deadline is None:
                    self._waking_at = None
                    self._lock.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    self._fired = True
                    self._target.interrupt()
                    self._deadline = None
                    continue
                self._waking_at = self._deadline
                self._lock.wait(remaining)


@lru_cache(maxsize=4096)
def _is_dml(sql: str) -> bool:
    return _DML.match(sql) is not None


def _failed(sql: str, error: duckdb.Error) -> WorkbenchError:
    return WorkbenchError(f"DuckDB: {error}\n    in: {sql.strip()[:500]}")
