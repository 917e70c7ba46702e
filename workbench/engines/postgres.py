"""PostgreSQL: a fresh database on the embedded server, or a sandbox schema on the user's server.

On a server given by URL the workbench creates schemas named ``workbench_<id>`` (one more per model
namespace, ``workbench_<id>_<namespace>``), points ``search_path`` at them, refuses statements that
would write outside them, and drops only them on close. Every schema or database it creates carries a
marker (:mod:`workbench.engines.markers`) so that what a killed process left is found again;
:meth:`PostgresEngine.keep` keeps a load under the name the user gave, and :meth:`PostgresEngine.own`
registers objects outside the sandbox (roles) that must go with it. Loads use ``COPY ... (FORMAT BINARY)``
built from the Arrow columns cast to the column types read from the catalog, or CSV ``COPY`` when a column's
type has no exact binary form (see :mod:`workbench.engines.copy`).

``timed`` sends the statement text alone as one simple-protocol message (one round trip, no prepared
statement: the same protocol as pgbench and most applications). Its timeout is the session's
``statement_timeout``, set before the clock starts when it changes and restored before the connection
serves anything else, so it holds for timed statements only. It waits in libpq without the GIL and
cannot be interrupted from Python: give it a timeout.
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.adapt import Transformer
from psycopg.pq import ConnStatus, DiagnosticField, ExecStatus, TransactionStatus
from psycopg.pq.abc import PGresult
from sqlglot import exp

from workbench.engines import extensions, functions, guard, markers, pgstats
from workbench.engines import sandbox as sandboxing
from workbench.engines.base import BOOKKEEPING, Advance, Copy, Engine, named_parameters, record_batches, server_frame
from workbench.engines.conninfo import ConnInfo
from workbench.engines.copy import ServerColumn, copy_format
from workbench.engines.deferred import DeferredFailed, Run, run_deferred
from workbench.engines.execution import Execution
from workbench.engines.execution import checksum as rows_checksum
from workbench.engines.pgserver import EmbeddedServer, Server, embedded_server
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import Index, Schema

_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
_SESSION_CONTEXTS = frozenset({"user", "superuser"})  # pg_settings.context of what SET may change
_TRACK_PLANNING = "pg_stat_statements.track_planning"
_QUERY_CANCELED = b"57014"  # SQLSTATE of a statement stopped by statement_timeout (or a cancel request)


class PostgresEngine(Engine):
    """A PostgreSQL database the workbench works in; build it with :meth:`embedded` or :meth:`sandbox`."""

    name = "postgres"
    dialect = "postgres"
    supports_partitioning = True
    supports_index_methods = frozenset({"btree", "hash", "gist", "gin", "brin", "spgist", "bloom"})
    supports_fk_actions = frozenset({"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"})
    supports_deferred_keys = True
    supports_explain_buffers = True
    supports_parallel_load = True

    def __init__(self, server: Server, connection: psycopg.Connection, *, database: str | None = None,
                 sandbox: str | None = None, mark: markers.Mark | None = None):
        super().__init__()
        self.server, self._connection = server, connection
        self._timeout_ms: int | None = None  # the session's statement_timeout while timed() calls run
        self.database = database  # created for this engine and dropped on close (embedded server)
        self.sandbox = sandbox  # schema created for this engine and dropped on close (user's server)
        self.supports_clone = database is not None  # CREATE DATABASE ... TEMPLATE needs a database of our own
        self._dbname = connection.info.dbname
        self._location = server.where(self._dbname)
        self._owned = frozenset({sandbox} if sandbox else ())  # the schemas a sandbox may write
        self._mark = mark or markers.Mark.here()
        self._kept = False
        self._statements: tuple[str | None, str | None] | None = None  # pg_stat_statements: (schema, why not)
        self._counters: tuple[pgstats.Counters, dict[int, str] | None] = ({}, None)  # at mark_server_times()
        self._query_ids: dict[str, int | None] = {}
        self._extensions: dict[str, str] = {}  # extension -> the schema it lives in, once looked up
        self._calls: dict[str, tuple[functions.Call, list]] = {}  # extension function -> call made, notes
        self._sessions: set[psycopg.Connection] = set()  # of parallel loads and builds; an interrupt cancels them

    @classmethod
    def embedded(cls, server: Server | None = None, *, database: str | None = None) -> PostgresEngine:
        """A fresh database on the embedded PostgreSQL 18 server (started on first use), named ``database``
        when given (refused when it exists), else ``workbench_<id>``."""
        server = server or embedded_server()
        name = server.create_database("workbench", name=database)
        try:
            connection = server.connect(name)
        except BaseException:
            server.drop_database(name)
            raise
        engine = cls(server, connection, database=name)
        engine._warn_stale()
        return engine

    @classmethod
    def sandbox_on(cls, target: str | ConnInfo, *, schema: str | None = None) -> PostgresEngine:
        """A sandbox schema in the database the target names, on the user's server: ``schema`` when given
        (refused when it exists), else ``workbench_<id>``."""
        server = Server(target)
        connection = server.connect()
        name = schema or f"{sandboxing.SANDBOX_PREFIX}{uuid.uuid4().hex[:8]}"
        mark = markers.Mark.here()
        try:
            _create_schema(connection, name, mark, server.where())
        except BaseException:
            connection.close()
            raise
        engine = cls(server, connection, sandbox=name, mark=mark)
        engine._start_session()
        engine._warn_stale()
        return engine

    # -- engine primitives -----------------------------------------------------------------------

    @property
    def version(self) -> str:
        number = self._conn.info.server_version
        return f"{number // 10000}.{number % 10000}"

    @property
    def _home(self) -> str:
        return self.sandbox or "public"

    def settings(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT name, setting FROM pg_settings ORDER BY name").fetchall())

    def query(self, sql_text: str, params: Any = None) -> pd.DataFrame:
        self._check_open()
        with self._cursor(sql_text, params) as cursor:
            if cursor.description is None:
                return pd.DataFrame()
            return pd.DataFrame(cursor.fetchall(), columns=[d.name for d in cursor.description])

    def execute(self, sql_text: str, params: Any = None) -> None:
        self._check_open()
        with self._cursor(sql_text, params):
            pass

    def explain(self, sql_text: str, analyze: bool = False) -> dict | list:
        """``EXPLAIN (FORMAT JSON[, ANALYZE, BUFFERS])``; with ``analyze`` the statement runs and is rolled back."""
        self._check_open()
        self._guard(sql_text)
        options = "FORMAT JSON, ANALYZE, BUFFERS" if analyze else "FORMAT JSON"
        statement = sql.SQL("EXPLAIN ({}) {}").format(sql.SQL(options), sql.SQL(sql_text.strip().rstrip(";")))
        try:
            with self._conn.transaction(force_rollback=True):
                return self._conn.execute(statement).fetchone()[0]
        except psycopg.Error as error:
            raise self._failed(sql_text, error) from error

    def timed(self, sql_text: str, *, timeout_s: float | None = None, rollback: bool = False,
              checksum: bool = True) -> Execution:
        """Execute and receive all rows, timed; a timeout is ``statement_timeout`` (see the module doc).

        The statement goes through libpq's ``PQexec`` directly (psycopg's cursor machinery would add
        about half a pgbench round trip); rows become Python values after the clock, for the checksum.
        """
        self._check_open()
        if timeout_s is not None and timeout_s <= 0:
            raise WorkbenchError(f"timeout_s must be positive (or None for no timeout), not {timeout_s}")
        connection = self._connection
        try:
            self._guard(sql_text)  # cached per text: no parsing on the clock
            if connection.closed or connection.pgconn.status == ConnStatus.BAD:
                self.reconnect()
                connection = self._connection
            self._use_timeout(timeout_s)
        except (WorkbenchError, psycopg.Error) as error:
            return Execution("error", 0.0, error=self.server.scrub(str(error)))
        pgconn, statement = connection.pgconn, sql_text.encode()
        started = time.perf_counter()
        try:
            with connection.lock:
                if rollback:
                    pgconn.exec_(b"BEGIN")
                    started = time.perf_counter()
                result = pgconn.exec_(statement)
                elapsed = (time.perf_counter() - started) * 1000
                if pgconn.transaction_status != TransactionStatus.IDLE and pgconn.status == ConnStatus.OK:
                    pgconn.exec_(b"ROLLBACK")
        except psycopg.OperationalError as error:  # libpq gave no result at all: the next call reconnects
            return Execution("error", (time.perf_counter() - started) * 1000, error=self.server.scrub(str(error)))
        status = result.status
        if status == ExecStatus.TUPLES_OK:
            return Execution("ok", elapsed, result.ntuples, self._checksum(result) if checksum else None)
        if status == ExecStatus.COMMAND_OK:  # a write without RETURNING: its affected rows stand for the answer
            count = int(result.command_tuples or 0)
            return Execution("ok", elapsed, count, rows_checksum([(count,)]) if checksum else None)
        if status in (ExecStatus.COPY_IN, ExecStatus.COPY_OUT, ExecStatus.COPY_BOTH):
            connection.close()  # mid-COPY: the next timed() starts a fresh connection
            return Execution("error", elapsed, error="COPY to or from the client cannot be timed; use execute()")
        if result.error_field(DiagnosticField.SQLSTATE) == _QUERY_CANCELED and timeout_s is not None:
            return Execution("timeout", timeout_s * 1000, error=f"timed out after {timeout_s} s")
        message = result.error_message.decode(connection.info.encoding, "replace").strip()
        return Execution("error", elapsed, error=self.server.scrub(message) or f"PostgreSQL answered {status.name}")

    def _checksum(self, result: PGresult) -> str:
        loader = Transformer.from_context(self._connection)
        loader.set_pgresult(result)
        return rows_checksum(loader.load_rows(0, result.ntuples, tuple))

    @property
    def _conn(self) -> psycopg.Connection:
        """The connection for everything but :meth:`timed`: never left under timed()'s statement timeout."""
        if self._timeout_ms is not None:
            self._use_timeout(None)
        return self._connection

    def _use_timeout(self, timeout_s: float | None) -> None:
        """Set the session's statement_timeout for timed() (before its clock), or restore the configured one.

        A session setting kept while timed() calls follow each other costs nothing per statement (a
        ``SET LOCAL`` in the same message would cost the server a statement each time).
        """
        milliseconds = None if timeout_s is None else max(1, round(timeout_s * 1000))
        if milliseconds == self._timeout_ms:
            return
        connection, self._timeout_ms = self._connection, None  # unknown until the server confirms
        if connection.closed or connection.pgconn.status == ConnStatus.BAD:
            return  # the next timed() reconnects: a new session has no timeout
        if milliseconds is not None:
            connection.execute(sql.SQL("SET statement_timeout = {}").format(milliseconds))
        elif configured := {k.lower(): v for k, v in self._settings.items()}.get("statement_timeout"):
            connection.execute("SELECT set_config('statement_timeout', %s, false)", [configured])
        else:
            connection.execute("RESET statement_timeout")
        self._timeout_ms = milliseconds

    def reconnect(self) -> None:
        """A new connection (a new backend: cold caches and plans), search_path and settings re-applied."""
        self._check_open()
        self._connection.close()
        self._connection, self._timeout_ms = self.server.connect(self._dbname), None
        self._start_session()

    def _start_session(self) -> None:
        self.enter_sandbox(self._conn)
        self._apply_settings(self._settings)

    def enter_sandbox(self, connection: psycopg.Connection) -> None:
        """Point ``connection``'s search_path at the sandbox (on a user's server), so unqualified names land there."""
        if self.sandbox:
            connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.sandbox)))

    def _apply_settings(self, settings: Mapping[str, str]) -> None:
        if not settings:
            return
        refused = sorted(name for name in settings if name.lower() in guard.PINNED_SETTINGS)
        if refused:
            pinned = ", ".join(sorted(guard.PINNED_SETTINGS))
            raise WorkbenchError(f"refusing to configure {', '.join(refused)}: the workbench pins {pinned} "
                                 f"(its tables and sandbox depend on them)")
        contexts = dict(self._conn.execute("SELECT name, context FROM pg_settings").fetchall())
        for name in settings:
            context = contexts.get(name.lower())
            if context is None:
                raise UnknownNameError("PostgreSQL setting", name, contexts)
            if context not in _SESSION_CONTEXTS:
                raise WorkbenchError(f"PostgreSQL setting {name} cannot change per session (its context is "
                                     f"{context!r}); fix: set it on the server (ALTER SYSTEM, then reload or restart)")
        for name, value in settings.items():
            try:
                self._conn.execute("SELECT set_config(%s, %s, false)", [name, value])
            except psycopg.Error as error:
                raise WorkbenchError(f"PostgreSQL refused setting {name} = {value!r}: "
                                     f"{self.server.scrub(str(error))}") from error

    def clone(self) -> PostgresEngine:
        """A new database made with ``CREATE DATABASE ... TEMPLATE`` this one: same rows, indexes, statistics.

        The template must have no other session: this engine's own connection is closed for the copy
        and opened again after it (settings re-applied). The clone drops its database on close.
        """
        self._check_open()
        if not self.supports_clone:
            return super().clone()
        name = self.copy_database()
        try:
            twin = PostgresEngine(self.server, self.server.connect(name), database=name)
        except BaseException:
            self.server.drop_database(name)
            raise
        twin._created, twin._keys, twin._pending = set(self._created), dict(self._keys), list(self._pending)
        twin._settings = dict(self._settings)
        twin._start_session()
        return twin

    def copy_database(self) -> str:
        """The name of a new database copied from this one (``CREATE DATABASE ... TEMPLATE``), left to the caller
        (``server.drop_database(name)``); :meth:`clone` wraps one in an engine."""
        self._check_open()
        if not self.supports_clone:
            raise WorkbenchError(f"{self._describe()} cannot copy its database: only a database of its own on the "
                                 f"embedded server can be a template")
        self._connection.close()
        try:
            return self.server.create_database("workbench", template=self.database)
        finally:
            self.reconnect()

    def index_sizes(self) -> pd.DataFrame:
        """Every index of the workbench's tables (a partitioned index sums its partitions' indexes)."""
        self._check_open()
        rows = self._conn.execute(
            "SELECT tn.nspname, t.relname, i.relname, am.amname,"
            " (SELECT coalesce(sum(pg_relation_size(p.relid)), pg_relation_size(i.oid))"
            "  FROM pg_partition_tree(i.oid) p"
            "  WHERE p.isleaf)::bigint"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
            " JOIN pg_namespace tn ON tn.oid = t.relnamespace JOIN pg_am am ON am.oid = i.relam"
            " WHERE tn.nspname = ANY(%s) AND t.relname <> %s AND NOT i.relispartition ORDER BY 1, 2, 3",
            [self._schemas(), BOOKKEEPING]).fetchall()
        frame = pd.DataFrame([(self._model_key(schema, table), index, method, size)
                              for schema, table, index, method, size in rows],
                             columns=["table", "index", "method", "bytes"])
        return frame.astype({"bytes": "Int64"})

    def insert_seconds(self, table: str, data: pa.Table) -> float:
        """The load's COPY into model table ``table`` in a transaction rolled back after; only COPY is timed.

        The COPY data is encoded before the clock starts, so the figure is the server's work (with its
        index maintenance) plus the protocol, not the encoding.
        """
        self._check_open()
        stored = self._stored(table).sql("postgres")
        form = copy_format(self._column_types(stored, data.column_names, self._conn), data.schema)
        buffers = [form.header(), *(b for batch in record_batches(data) for b in form.buffers(batch)), form.trailer()]
        statement = form.statement(sql.SQL(stored), data.column_names)
        try:
            with self._conn.transaction(force_rollback=True), self._conn.cursor() as cursor:
                started = time.perf_counter()
                with cursor.copy(statement) as stream:
                    for buffer in buffers:
                        stream.write(buffer)
                return time.perf_counter() - started
        except psycopg.Error as error:
            raise self._failed(statement.as_string(self._conn), error) from error

    def mark_server_times(self, statements: Mapping[str, str] | None = None) -> None:
        """Snapshot pg_stat_statements' counters of this database (of ``statements`` only, name -> SQL text,
        by the server's query id): :meth:`server_times` reports what grew since. Nothing on the server is
        reset, so other users' statistics stay as they are."""
        self._check_open()
        schema, _ = self._statements_view()
        names = None if statements is None else {
            found: name for name, text in statements.items() if (found := self._query_id(text)) is not None}
        self._counters = (pgstats.counters(self._conn, schema, names) if schema else {}), names

    def server_times(self) -> pd.DataFrame:
        """Calls and mean execution/planning ms per statement since :meth:`mark_server_times`, from
        pg_stat_statements: the marked statements under their names, else every top-level statement of this
        database by its normalized text (empty without the extension: see :meth:`server_times_unavailable`)."""
        self._check_open()
        schema, _ = self._statements_view()
        if schema is None:
            return super().server_times()
        before, names = self._counters
        return server_frame(pgstats.grown(before, pgstats.counters(self._conn, schema, names), names))

    def _query_id(self, sql_text: str) -> int | None:
        if sql_text not in self._query_ids:
            self._guard(sql_text)
            self._query_ids[sql_text] = pgstats.query_id(self._conn, sql_text)
        return self._query_ids[sql_text]

    def server_times_unavailable(self) -> str | None:
        """Why :meth:`server_times` is empty (pg_stat_statements absent, not loaded or unreadable), or None."""
        self._check_open()
        return self._statements_view()[1]

    def _statements_view(self) -> tuple[str | None, str | None]:
        """(schema of pg_stat_statements, why not), created first in a database of the engine's own."""
        if self._statements is None:
            self._statements = pgstats.locate(self._conn, create=not self.sandbox)
            if self._statements[0] is not None:
                with suppress(WorkbenchError):  # not a superuser: planning times stay 0
                    self._apply_settings({_TRACK_PLANNING: "on"})
                    self._settings[_TRACK_PLANNING] = "on"
        return self._statements

    def row_counts(self) -> dict[str, int]:
        return {key: rows for key, rows, *_ in self._sizes()}

    def table_sizes(self) -> pd.DataFrame:
        return pd.DataFrame(self._sizes(), columns=["table", "rows", "table_bytes", "index_bytes"])

    def _sizes(self) -> list[tuple[str, int, int, int]]:
        tables = self._conn.execute(
            "SELECT n.nspname, c.relname,"
            " coalesce(sum(pg_table_size(t.relid)), pg_table_size(c.oid))::bigint,"
            " coalesce(sum(pg_indexes_size(t.relid)), pg_indexes_size(c.oid))::bigint"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN LATERAL pg_partition_tree(c.oid) t ON t.isleaf"
            " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY(%s) AND c.relname <> %s"
            " GROUP BY c.oid, n.nspname, c.relname ORDER BY 1, 2", [self._schemas(), BOOKKEEPING]).fetchall()
        rows = []
        for schema, name, table_bytes, index_bytes in tables:
            count = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))
            rows.append((self._model_key(schema, name), self._conn.execute(count).fetchone()[0],
                         table_bytes, index_bytes))
        return rows

    @property
    def schemas(self) -> list[str]:
        """The schemas holding this engine's tables (the sandbox's, or every user schema of its database)."""
        self._check_open()
        return self._schemas()

    def _schemas(self) -> list[str]:
        """The schemas this engine may write: the sandbox ones, or every user schema of its own database."""
        names = [n for (n,) in self._conn.execute("SELECT nspname FROM pg_namespace ORDER BY nspname").fetchall()]
        if self.sandbox:
            return [n for n in names if n in self._owned]
        return [n for n in names if not n.startswith(_SYSTEM_SCHEMAS) and not n.startswith("pg_temp")]

    def _physical(self, schema: Schema) -> Schema:
        """The model as stored here: moved into the sandbox, extension functions qualified or replaced."""
        placed = sandboxing.into_sandbox(schema, self.sandbox) if self.sandbox else schema
        calls, _ = self._extension_calls(schema)
        return functions.rewrite(placed, calls) if calls else placed

    def ddl(self, schema: Schema, *, constraints: bool = True) -> tuple[list[str], list[str], list]:
        now, deferred, notes = super().ddl(schema, constraints=constraints)
        return now, deferred, [*self._extension_calls(schema)[1], *notes]

    def _extension_calls(self, schema: Schema) -> tuple[dict[str, functions.Call], list]:
        """How this database calls the extension functions the model uses (see :mod:`functions`), with notes."""
        used = functions.called(schema)
        for name in used:
            if name not in self._calls:
                calls, notes = functions.resolve([name], self.extension_schema)
                self._calls[name] = (calls[name], notes)
        return ({name: self._calls[name][0] for name in used},
                [note for name in used for note in self._calls[name][1]])

    def create_schema(self, schema: Schema, *, constraints: bool = True) -> list:
        if self.sandbox:
            self._claim(self._physical(schema))
        return super().create_schema(schema, constraints=constraints)

    def _claim(self, physical: Schema) -> None:
        """Create (marked) the namespace schemas a sandboxed model needs, refusing any that exists already."""
        wanted = {t.schema for t in physical.tables if t.schema} | set(physical.schemas)
        new = sorted(wanted - self._owned)
        if not new:
            return
        mark = replace(self._mark, part_of=self.sandbox)
        with self._conn.transaction():
            for name in new:
                _create_schema(self._conn, name, mark, self._location)
        self._owned |= frozenset(new)

    def _run_script(self, statements: list[str]) -> None:
        for statement in statements:
            self._guard(statement)
        number = 0
        try:
            with self._conn.transaction():
                for number, statement in enumerate(statements, 1):  # noqa: B007 (number names the failure)
                    self._conn.execute(sql.SQL(statement))
        except psycopg.Error as error:
            raise WorkbenchError(f"PostgreSQL rejected statement {number} of {len(statements)} (all rolled back): "
                                 f"{self.server.scrub(str(error))}\n    {statements[number - 1][:500]}") from error

    def _copy(self, target: exp.Table, schema: pa.Schema, batches: Iterable[pa.RecordBatch], advance: Advance,
              record: exp.Insert | None) -> str:
        return self._copy_on(self._conn, target, schema, batches, advance, record)

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection]:
        """A connection of its own (search path and settings as this one's) for one thread of parallel work."""
        try:
            connection = self.server.connect(self._dbname)
        except WorkbenchError as error:
            raise WorkbenchError(f"{error}\nthe work runs on one connection per job (default: one per core); "
                                 f"jobs=1 (workbench load --jobs 1) needs no other connection") from None
        self._sessions.add(connection)
        try:
            self.enter_sandbox(connection)
            for name, value in self._settings.items():
                connection.execute("SELECT set_config(%s, %s, false)", [name, value])
            yield connection
        finally:
            self._sessions.discard(connection)
            connection.close()

    def _cancel_sessions(self) -> None:
        for connection in list(self._sessions):
            with suppress(psycopg.Error):
                connection.cancel_safe()

    @contextmanager
    def _copier(self) -> Iterator[Copy]:
        with self._session() as connection:
            yield lambda *args: self._copy_on(connection, *args)

    @contextmanager
    def _runner(self) -> Iterator[Run]:
        with self._session() as connection:
            yield lambda statement: connection.execute(sql.SQL(statement))

    def _copy_on(self, connection: psycopg.Connection, target: exp.Table, schema: pa.Schema,
                 batches: Iterable[pa.RecordBatch], advance: Advance, record: exp.Insert | None) -> str:
        table = target.sql("postgres")
        form = copy_format(self._column_types(table, schema.names, connection), schema)
        whole = record is not None  # else a part of a table that other sessions copy into at once
        fresh, partitioned = self._fresh(table, connection) if whole else (False, False)
        with connection.transaction(), connection.cursor() as cursor:
            if fresh:  # new in this transaction: wal_level=minimal writes no WAL for it, and COPY may FREEZE
                cursor.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(table)))
            with cursor.copy(form.statement(sql.SQL(table), schema.names, freeze=fresh and not partitioned)) as stream:
                stream.write(form.header())
                for batch in batches:
                    for buffer in form.buffers(batch):
                        stream.write(buffer)
                    advance(batch.num_rows)
                stream.write(form.trailer())
            if whole:
                cursor.execute(sql.SQL(record.sql("postgres")))
        return form.method

    def _fresh(self, table: str, connection: psycopg.Connection) -> tuple[bool, bool]:
        """(empty table of this engine's own database that no foreign key references, partitioned or not).

        Such a table may be truncated in the loading transaction: nothing is lost, and PostgreSQL then
        treats it as new (no WAL under wal_level=minimal, COPY FREEZE allowed except on partitioned tables).
        """
        if self.database is None:
            return False, False
        kind, referenced = connection.execute(
            "SELECT relkind, EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = %s::regclass)"
            " FROM pg_class WHERE oid = %s::regclass", [table, table]).fetchone()
        empty = connection.execute(sql.SQL("SELECT NOT EXISTS (SELECT FROM {})").format(sql.SQL(table))).fetchone()[0]
        return empty and not referenced, kind == "p"


    def _column_types(self, table: str, columns: list[str], connection: psycopg.Connection) -> list[ServerColumn]:
        """Each column's type as the server has it: domains resolved to their base type, enums, array elements."""
        rows = connection.execute(
            "SELECT a.attname, b.typname, b.typtype, e.typname"
            " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
            " JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
            " LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'"
            " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped", [table]).fetchall()
        found = {name: ServerColumn(name, base, kind == "e", element) for name, base, kind, element in rows}
        return [found[c] for c in columns]

    def _record(self, record: exp.Insert) -> None:
        self._conn.execute(sql.SQL(record.sql("postgres")))

    def _analyze(self) -> None:
        self._maintain("ANALYZE")

    def finish(self, jobs: int | None = None) -> None:
        """As the base does (with ``jobs`` connections, one per core by default: keys, indexes and ANALYZE of
        different tables at once, see :mod:`deferred`; ``jobs=1``: all in one transaction), then each
        sequence of a serial or identity column set past the loaded values, so that rows inserted later
        (into a kept load) draw keys that are free."""
        jobs = self.load_jobs(jobs)
        if jobs > 1:
            self._finish_parallel(jobs)
        else:
            super().finish()
        owned = self._conn.execute(
            "SELECT s.oid, q.seqmin, tn.nspname, t.relname, a.attname FROM pg_depend d"
            " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_sequence q ON q.seqrelid = s.oid"
            " JOIN pg_namespace sn ON sn.oid = s.relnamespace"
            " JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
            " WHERE d.deptype IN ('a', 'i') AND sn.nspname = ANY(%s) AND NOT t.relispartition",
            [self._schemas()]).fetchall()
        for sequence, least, schema, table, column in owned:
            self._conn.execute(sql.SQL("SELECT setval(%s::oid::regclass, greatest(max({}) + 1, %s), false) FROM {}")
                               .format(sql.Identifier(column), sql.Identifier(schema, table)), [sequence, least])

    def _finish_parallel(self, jobs: int) -> None:
        self._check_open()
        for statement in self._pending:
            self._guard(statement)
        analyze = [exp.Analyze(tables=[table]).sql("postgres") for table in self._own_tables()]

        def ran(statement: str) -> None:
            if statement in self._pending:
                self._pending.remove(statement)

        try:
            run_deferred([*self._pending, *analyze], "postgres", jobs, self._runner, ran=ran,
                         cancel=self._cancel_sessions)
        except DeferredFailed as failed:
            raise WorkbenchError(
                f"PostgreSQL rejected statement {failed.number} of {failed.total} after the load: "
                f"{self.server.scrub(str(failed.error))}\n    {failed.statement[:500]}\n"
                f"{len(self._pending)} statements are not run yet (finish() runs them again)") from failed.error

    def vacuum(self) -> None:
        """``VACUUM (ANALYZE)`` of this engine's own tables, named one by one (never the whole database)."""
        self._check_open()
        self._maintain("VACUUM (ANALYZE)")

    def _maintain(self, command: str) -> None:
        tables = [sql.Identifier(table.db, table.name) for table in self._own_tables()]
        if tables:
            self._conn.execute(sql.SQL("{} {}").format(sql.SQL(command), sql.SQL(", ").join(tables)))

    def _own_tables(self) -> list[exp.Table]:
        """The tables, partitioned tables and materialized views in this engine's own schemas."""
        return [exp.table_(name, db=schema, quoted=True) for schema, name in self._conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition ORDER BY 1, 2",
            [self._schemas()]).fetchall()]

    def extension_schema(self, name: str) -> str:
        """The schema extension ``name`` lives in: created in a database of the engine's own; on a user's
        server only found (raises :class:`~workbench.engines.extensions.MissingExtension` saying what the
        owner must run)."""
        self._check_open()
        if name not in self._extensions:
            self._extensions[name] = extensions.schema_of(self._conn, name, create=not self.sandbox,
                                                          where=self._location)
        return self._extensions[name]

    def _create_index(self, schema: Schema, table: str, index: Index) -> exp.Create:
        """As the base does, with extension operator classes named with their schema (search_path is the
        sandbox alone), after checking each extension is there."""
        found = {name: self.extension_schema(name) for name in extensions.needed(index)}
        return super()._create_index(schema, table, extensions.qualified(index, found))

    def keep(self) -> None:
        """Keep this engine's schema (URL) or database (embedded) after close, marked as a kept load: list it
        with ``workbench sandboxes``, remove it with ``workbench drop NAME``. An embedded server keeps running."""
        self._check_open()
        self._mark = replace(self._mark, kept=True)
        self._remark()
        if isinstance(self.server, EmbeddedServer):
            self.server.keep_running()
        self._kept = True

    def own(self, kind: str, name: str) -> None:
        """Register an object this engine created outside its sandbox (e.g. a role), dropped with it on close.

        It is written into the sandbox's marker first, so ``workbench sandboxes --drop-stale`` drops it too
        after a kill. Kinds: the keys of :data:`workbench.engines.markers.OWNED_KINDS`.
        """
        self._check_open()
        if kind not in markers.OWNED_KINDS:
            raise UnknownNameError("kind of owned object", kind, markers.OWNED_KINDS)
        self._mark = replace(self._mark, owns=(*self._mark.owns, (kind, name)))
        self._remark()

    def _remark(self) -> None:
        if self.database:
            self.server.mark(self.database, self._mark)
        else:
            self._conn.execute(markers.comment("schema", self.sandbox, self._mark))

    @property
    def role_prefix(self) -> str:
        """``wb_<id>_``: roles are cluster-wide, so those created for this database or sandbox carry its id."""
        return guard.role_prefix(self.sandbox or self.database or self._dbname)

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles this engine created (adopted) and drops when it closes."""
        return tuple(name for kind, name in self._mark.owns if kind == "role")

    def adopt_roles(self, names: Iterable[str]) -> None:
        """Record roles created for this engine (named with :attr:`role_prefix`): written into its marker, so
        they are dropped when it closes, or by ``workbench sandboxes --drop-stale`` after a kill."""
        for name in names:
            if not name.startswith(self.role_prefix):
                raise WorkbenchError(f"refusing to adopt role {name!r}: roles the workbench drops start with "
                                     f"{self.role_prefix} (it never drops a role it did not create)")
            if name not in self.roles:
                self.own("role", name)

    def drop_roles(self, names: Iterable[str]) -> None:
        """Drop roles this engine adopted; others are refused. What they own or were granted must be gone (the
        sandbox's objects, dropped first on close): nothing else is ever dropped with them."""
        names = list(names)
        if stranger := [n for n in names if n not in self.roles]:
            raise WorkbenchError(f"refusing to drop role {stranger[0]!r}: this engine did not create it")
        if names:
            self._conn.execute(sql.SQL("DROP ROLE {}").format(sql.SQL(", ").join(map(sql.Identifier, names))))
            dropped = {("role", name) for name in names}
            self._mark = replace(self._mark, owns=tuple(o for o in self._mark.owns if o not in dropped))
            self._remark()

    def login(self, user: str, password: str | None = None) -> psycopg.Connection:
        """A new autocommit connection to this engine's database as ``user``, its search_path in the sandbox:
        the database as that role sees it (the row-level security and grants it gets)."""
        self._check_open()
        address = self.server.address.replace(dbname=self._dbname, user=user,
                                              **({"password": password} if password is not None else {}))
        try:
            connection = psycopg.connect(address.conninfo(), autocommit=True)
        except psycopg.OperationalError as error:
            raise WorkbenchError(
                f"cannot log in to {self._location} as {user}: {address.scrub(str(error)).strip()}\nfix: the "
                f"server must accept password logins for roles starting with {self.role_prefix} (pg_hba.conf), "
                f"or use the embedded server (connect('postgres'))") from None
        self.enter_sandbox(connection)
        return connection

    def run_script(self, statements: list[str]) -> None:
        """Run statements in one transaction: all of them, or none (the error names the failing one)."""
        self._check_open()
        self._run_script(statements)

    def _close(self) -> None:
        """Drop what this engine created (unless kept), on a fresh connection when its own is mid-statement
        (e.g. a signal stopped a COPY)."""
        usable = not self._connection.closed and \
            self._connection.info.transaction_status == TransactionStatus.IDLE
        connection = self._connection if usable else None
        if not usable:
            self._connection.close()
        try:
            if self._kept or not (self.database or self.sandbox):  # kept, or attached to a database it did not create
                return
            if self.database:
                self._connection.close()
                self.server.drop_database(self.database)
                with self.server.connect() as admin:
                    markers.drop_owned(admin, self._mark.owns)
            else:
                with (connection or self.server.connect()) as admin:
                    markers.drop(admin, markers.Sandbox("schema", self.sandbox, self._mark, None,
                                                        tuple(sorted(self._owned - {self.sandbox}))))
        finally:
            self._connection.close()

    def _warn_stale(self) -> None:
        """Warn once per server and process about sandboxes killed runs left there."""
        where = self.server.where()
        if where not in _WARNED:
            _WARNED.add(where)
            with suppress(psycopg.Error):  # listing needs only the catalog; a refusal just means no warning
                if message := markers.stale_warning(markers.sandboxes(self._conn), where):
                    warnings.warn(message, StaleSandboxWarning, stacklevel=3)

    def _describe(self) -> str:
        where = f"database {self.database}" if self.database else f"sandbox {self.sandbox}"
        return f"postgres {where} at {self._location}"

    # -- helpers -----------------------------------------------------------------------------------

    def _cursor(self, sql_text: str, params: Any) -> psycopg.Cursor:
        """An executed cursor: ``:name`` placeholders with a Mapping run as ``$n``, else psycopg's own style."""
        self._guard(sql_text)
        try:
            if isinstance(params, Mapping):
                tree, values = _numbered(named_parameters(sql_text, params, "postgres"), params)
                cursor = psycopg.RawCursor(self._conn)
                return cursor.execute(tree.sql("postgres"), values)
            return self._conn.cursor().execute(sql_text, params)
        except psycopg.Error as error:
            raise self._failed(sql_text, error) from error

    def _failed(self, sql_text: str, error: psycopg.Error) -> WorkbenchError:
        return WorkbenchError(f"PostgreSQL: {self.server.scrub(str(error))}\n    in: {sql_text.strip()[:500]}")

    def _scrub(self, text: str) -> str:
        return self.server.scrub(text)

    def _connection_lost(self, error: BaseException) -> bool:
        return isinstance(error, psycopg.OperationalError) or self._connection.closed

    def _guard(self, sql_text: str) -> None:
        """Refuse a statement that writes outside the sandbox (a guard against mistakes, not malice)."""
        if self.sandbox:
            guard.check(sql_text, self._owned, self.role_prefix)

    def refuse_outside(self, sql_text: str) -> None:
        """Raise when ``sql_text`` would write outside this engine's sandbox: for statements that run on
        another connection to it (a migration's, a tenant's login)."""
        self._guard(sql_text)


class StaleSandboxWarning(UserWarning):
    """Sandboxes that killed runs left on a server (see ``workbench sandboxes``)."""


_WARNED: set[str] = set()  # servers already warned about in this process


def _create_schema(connection: psycopg.Connection, name: str, mark: markers.Mark, where: str) -> None:
    """CREATE SCHEMA with its marker in one transaction; refuse a name that exists; say what grant is missing."""
    try:
        with connection.transaction():
            exists, found = markers.mark_of(connection, "schema", name)
            if exists:
                raise markers.taken("schema", name, found, where)
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            connection.execute(markers.comment("schema", name, mark))
    except psycopg.errors.InsufficientPrivilege as error:
        user, database = connection.info.user, connection.info.dbname
        raise WorkbenchError(f"cannot create schema {name} on {where}: {str(error).strip()}\nfix: the workbench "
                             f"works in a schema of its own; the database owner can run `GRANT CREATE ON DATABASE "
                             f"{database} TO {user};`") from None


def _numbered(tree: exp.Expression, params: Mapping[str, Any]) -> tuple[exp.Expression, list[Any]]:
    """``:name`` placeholders replaced by ``$1, $2...`` (one number per name) and the values in that order."""
    order: dict[str, int] = {}

    def number(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            position = order.setdefault(node.name, len(order) + 1)
            return exp.Parameter(this=exp.Literal.number(position))
        return node

    tree = tree.transform(number)
    return tree, [params[name] for name in order]
