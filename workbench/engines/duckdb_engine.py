"""DuckDB, the default engine: in-process, in memory or in a file, loaded straight from Arrow.

Loads register each Arrow slice as a view and ``INSERT INTO ... SELECT`` from it (millions of rows
per second; never row by row). Extensions are never downloaded: only the built-in ones are used.
Statements run on a cursor of the database handle, so :meth:`DuckDBEngine.reconnect` can replace it;
timeouts are a watchdog thread calling ``interrupt()``.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from workbench.engines.base import BOOKKEEPING, Advance, Engine, named_parameters
from workbench.engines.execution import Execution
from workbench.engines.execution import checksum as rows_checksum
from workbench.errors import UnknownNameError, WorkbenchError

BATCH_ROWS = 1_000_000  # rows per INSERT: large enough to stay fast, small enough for a moving progress bar
_OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
# A DML statement answers with one ``Count`` row: that is its affected-row count, as PostgreSQL reports it.
_DML = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*(?:insert|update|delete|merge)\b", re.I | re.S)


class DuckDBEngine(Engine):
    """DuckDB in memory (``path=None``) or in a database file, which is kept on close."""

    name = "duckdb"
    dialect = "duckdb"
    supports_index_methods = frozenset({"btree"})  # every index is an ART, used for point lookups only
    supports_fk_actions = frozenset({"RESTRICT", "NO ACTION"})
    supports_sizes = False  # no per-table byte counts; file databases report allocated blocks

    def __init__(self, path: str | Path | None = None, *, config: Mapping[str, Any] | None = None):
        super().__init__()
        self.path = Path(path) if path is not None else None
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

    def _copy(self, target: exp.Table, data: pa.Table, advance: Advance, record: exp.Insert) -> str:
        view = f"_workbench_arrow_{uuid.uuid4().hex[:12]}"
        columns = [exp.to_identifier(name, quoted=True) for name in data.column_names]
        insert = exp.insert(exp.select(*columns).from_(exp.to_identifier(view, quoted=True)), target,
                            columns=columns).sql("duckdb")
        self._con.execute("BEGIN")
        try:
            for offset in range(0, data.num_rows, BATCH_ROWS):
                chunk = data.slice(offset, BATCH_ROWS)
                self._con.register(view, chunk)
                try:
                    self._con.execute(insert).fetchall()
                finally:
                    self._con.unregister(view)
                advance(chunk.num_rows)
            self._con.execute(record.sql("duckdb")).fetchall()
        except BaseException:
            self._con.execute("ROLLBACK")
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
