"""PostgreSQL: a fresh database on the embedded server, or a sandbox schema on the user's server.

On a server given by URL the workbench creates schemas named ``workbench_<id>`` (one more per model
namespace, ``workbench_<id>_<namespace>``), points ``search_path`` at them, refuses statements that
would write outside them, and drops only them on close. Loads use ``COPY ... (FORMAT BINARY)`` with
the column types read from the catalog, or text ``COPY`` when a column's type has no exact binary
match for its Arrow type.

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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from psycopg.adapt import Transformer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import ConnStatus, DiagnosticField, ExecStatus, TransactionStatus
from psycopg.pq.abc import PGresult
from sqlglot import exp

from workbench.engines import sandbox as sandboxing
from workbench.engines.base import BOOKKEEPING, Advance, Engine, named_parameters, server_frame
from workbench.engines.execution import Execution
from workbench.engines.execution import checksum as rows_checksum
from workbench.engines.pgserver import PRELOAD, Server, embedded_server, redact
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import Schema

BATCH_ROWS = 50_000  # rows converted to Python per step of COPY
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")

# Server type (base type of domains) -> Arrow types whose Python values its binary dumper takes.
_BINARY: dict[str, Callable[[pa.DataType], bool]] = {
    **dict.fromkeys(("int2", "int4", "int8"), pa.types.is_integer),
    **dict.fromkeys(("float4", "float8"), lambda t: pa.types.is_floating(t) or pa.types.is_integer(t)),
    "numeric": lambda t: pa.types.is_decimal(t) or pa.types.is_integer(t),
    "bool": pa.types.is_boolean,
    **dict.fromkeys(("text", "varchar", "bpchar", "name"),
                    lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)),
    "bytea": lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t),
}
# Dates and timestamps travel as the integers of PostgreSQL's binary format (days / microseconds since
# 2000-01-01, timestamptz in UTC), computed by Arrow: building Python datetimes would cost 5 us a value.
INT4_OID, INT8_OID, TEXT_OID = 23, 20, 25
_CHARACTER = frozenset({"varchar", "bpchar", "name"})
_PG_EPOCH_DAYS, _PG_EPOCH_MICROS = 10_957, 946_684_800_000_000
_TEMPORAL: dict[str, Callable[[pa.DataType], bool]] = {
    "date": pa.types.is_date,
    "timestamp": lambda t: pa.types.is_timestamp(t) and t.tz is None,
    "timestamptz": lambda t: pa.types.is_timestamp(t) and t.tz is not None,
}
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
    supports_deferred_foreign_keys = True
    supports_explain_buffers = True

    def __init__(self, server: Server, connection: psycopg.Connection, *, database: str | None = None,
                 sandbox: str | None = None):
        super().__init__()
        self.server, self._connection = server, connection
        self._timeout_ms: int | None = None  # the session's statement_timeout while timed() calls run
        self.database = database  # created for this engine and dropped on close (embedded server)
        self.sandbox = sandbox  # schema prefix created for this engine and dropped on close (user's server)
        self.supports_clone = database is not None  # CREATE DATABASE ... TEMPLATE needs a database of our own
        self._dbname = connection.info.dbname
        self._location = _where(server.url(self._dbname))
        self._statements: str | None = None  # the schema of pg_stat_statements, once found
        self._roles: list[str] = []  # roles created for this database or sandbox, dropped on close

    @classmethod
    def embedded(cls, server: Server | None = None) -> PostgresEngine:
        """A fresh database on the embedded PostgreSQL 18 server (started on first use)."""
        server = server or embedded_server()
        database = server.create_database("workbench")
        try:
            connection = server.connect(database)
        except BaseException:
            server.drop_database(database)
            raise
        return cls(server, connection, database=database)

    @classmethod
    def sandbox_on(cls, url: str) -> PostgresEngine:
        """A sandbox schema ``workbench_<id>`` in the database the URL names, on the user's server."""
        server = Server(url)
        try:
            connection = server.connect()
        except WorkbenchError as error:
            raise WorkbenchError(f"{error}\nchecked: {_where(url)}; is the server running and listening there "
                                 f"(listen_addresses, firewall), and are user, password and database "
                                 f"right (pg_hba.conf)?") from error.__cause__
        name = f"{sandboxing.SANDBOX_PREFIX}{uuid.uuid4().hex[:8]}"
        engine = cls(server, connection, sandbox=name)
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        engine._start_session()
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
            raise _failed(sql_text, error) from error

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
            return Execution("error", 0.0, error=redact(str(error)).strip())
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
            return Execution("error", (time.perf_counter() - started) * 1000, error=redact(str(error)).strip())
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
        return Execution("error", elapsed, error=redact(message) or f"PostgreSQL answered {status.name}")

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
        if self.sandbox:
            self._conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.sandbox)))
        self._apply_settings(self._settings)

    def _apply_settings(self, settings: Mapping[str, str]) -> None:
        if not settings:
            return
        refused = sorted(name for name in settings if name.lower() in sandboxing.PINNED_SETTINGS)
        if refused:
            pinned = ", ".join(sorted(sandboxing.PINNED_SETTINGS))
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
                                     f"{redact(str(error)).strip()}") from error

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

        The rows are converted to Python values before the clock starts, so the figure is the server's
        work (with its index maintenance) plus the protocol, not Arrow conversion.
        """
        self._check_open()
        copy, types, batches = self._copy_plan(self._stored(table).sql("postgres"), data)
        rows = [row for batch in batches for row in batch]
        try:
            with self._conn.transaction(force_rollback=True), self._conn.cursor() as cursor:
                started = time.perf_counter()
                with cursor.copy(copy) as stream:
                    if types:
                        stream.set_types(types)
                    for row in rows:
                        stream.write_row(row)
                return time.perf_counter() - started
        except psycopg.Error as error:
            raise _failed(copy.as_string(self._conn), error) from error

    def server_times(self) -> pd.DataFrame:
        """pg_stat_statements for this database (top-level statements), or an empty frame without it."""
        self._check_open()
        schema = self._statements_schema()
        if schema is None:
            return super().server_times()
        view = sql.Identifier(schema, "pg_stat_statements")
        rows = self._conn.execute(sql.SQL(
            "SELECT query, calls, mean_exec_time, mean_plan_time FROM {} WHERE toplevel"
            " AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " ORDER BY total_exec_time DESC").format(view)).fetchall()
        return server_frame(rows)

    def reset_server_times(self) -> None:
        """Forget this database's pg_stat_statements entries (and track planning time from now on)."""
        self._check_open()
        schema = self._statements_schema()
        if schema is None:
            return
        reset = sql.SQL("SELECT {}(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)").format(
            sql.Identifier(schema, "pg_stat_statements_reset"))
        try:
            self._conn.execute(reset)
        except psycopg.Error as error:
            raise WorkbenchError(f"cannot reset pg_stat_statements of {self._describe()}: "
                                 f"{redact(str(error)).strip()}\nfix: ask for EXECUTE on "
                                 f"pg_stat_statements_reset, or compare server_times() before and after") from error

    def _statements_schema(self) -> str | None:
        """Where pg_stat_statements is, created in this database when the engine may (not in a URL sandbox)."""
        if self._statements is not None:
            return self._statements
        if not self.sandbox:
            try:
                self._conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            except psycopg.Error:
                return None
        found = self._conn.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
                                   " ON n.oid = e.extnamespace WHERE e.extname = %s", [PRELOAD]).fetchone()
        if found is None:
            return None
        probe = sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(found[0], "pg_stat_statements"))
        try:  # fails when the library is not preloaded
            self._conn.execute(probe)
        except psycopg.Error:
            return None
        with suppress(WorkbenchError):  # not a superuser: planning times stay 0
            self._apply_settings({_TRACK_PLANNING: "on"})
            self._settings[_TRACK_PLANNING] = "on"
        self._statements = found[0]
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

    def _schemas(self) -> list[str]:
        """The schemas this engine may write: the sandbox ones, or every user schema of its own database."""
        names = [n for (n,) in self._conn.execute("SELECT nspname FROM pg_namespace ORDER BY nspname").fetchall()]
        if self.sandbox:
            return [n for n in names if n == self.sandbox or n.startswith(self.sandbox + "_")]
        return [n for n in names if not n.startswith(_SYSTEM_SCHEMAS) and not n.startswith("pg_temp")]

    def _physical(self, schema: Schema) -> Schema:
        return sandboxing.into_sandbox(schema, self.sandbox) if self.sandbox else schema

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
                                 f"{str(error).strip()}\n    {statements[number - 1][:500]}") from error

    def _copy(self, target: exp.Table, data: pa.Table, advance: Advance, record: exp.Insert) -> str:
        copy, types, batches = self._copy_plan(target.sql("postgres"), data)
        with self._conn.transaction(), self._conn.cursor() as cursor:
            with cursor.copy(copy) as stream:
                if types:
                    stream.set_types(types)
                for batch in batches:
                    for row in batch:
                        stream.write_row(row)
                    advance(len(batch))
            cursor.execute(sql.SQL(record.sql("postgres")))
        return "copy binary" if types else "copy text"

    def _copy_plan(self, table: str, data: pa.Table) -> tuple[sql.Composed, list[int], Iterator[list[tuple]]]:
        """``(COPY statement, binary type oids or [] for text COPY, batches of Python rows)`` for ``data``."""
        plan = [_binary_column(oid, name, field.type) for (oid, name), field in zip(
            self._column_types(table, data.column_names), data.schema, strict=True)]
        binary = None not in plan
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in data.column_names)
        copy = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
            sql.SQL(table), columns, sql.SQL(" (FORMAT BINARY)" if binary else ""))

        def batches() -> Iterator[list[tuple]]:
            for batch in data.to_batches(max_chunksize=BATCH_ROWS):
                columns = batch.columns if not binary else [
                    convert(column) for column, (_, convert) in zip(batch.columns, plan, strict=True)]
                yield list(zip(*(column.to_pylist() for column in columns), strict=True))

        return copy, [oid for oid, _ in plan] if binary else [], batches()

    def _column_types(self, table: str, columns: list[str]) -> list[tuple[int, str]]:
        """(oid, name) of each column's type as the server has it, domains resolved to their base type.

        Enums report ``varchar``: their binary form is their label's text, so they take the fast binary COPY.
        """
        found = dict((name, (oid, typname)) for name, oid, typname in self._conn.execute(
            "SELECT a.attname, b.oid, CASE WHEN b.typtype = 'e' THEN 'varchar' ELSE b.typname END"
            " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
            " JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
            " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped", [table]).fetchall())
        return [found[c] for c in columns]

    def _record(self, record: exp.Insert) -> None:
        self._conn.execute(sql.SQL(record.sql("postgres")))

    def _analyze(self) -> None:
        for schema in self._schemas():
            for (name,) in self._conn.execute(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND c.relkind IN ('r', 'p')", [schema]).fetchall():
                self._conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, name)))

    @property
    def role_prefix(self) -> str:
        """``wb_<id>_``: roles are cluster-wide, so those created for this database or sandbox carry its id."""
        return sandboxing.role_prefix(self.sandbox or self.database or self._dbname)

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles this engine created (adopted) and drops when it closes."""
        return tuple(self._roles)

    def adopt_roles(self, names: Iterable[str]) -> None:
        """Record roles created for this engine (named with :attr:`role_prefix`): dropped when it closes."""
        for name in names:
            if not name.startswith(self.role_prefix):
                raise WorkbenchError(f"refusing to adopt role {name!r}: roles the workbench drops start with "
                                     f"{self.role_prefix} (it never drops a role it did not create)")
            if name not in self._roles:
                self._roles.append(name)

    def drop_roles(self, names: Iterable[str]) -> None:
        """Drop roles this engine adopted; others are refused. What they own or were granted must be gone (the
        sandbox's objects, dropped first on close): nothing else is ever dropped with them."""
        names = list(names)
        if stranger := [n for n in names if n not in self._roles]:
            raise WorkbenchError(f"refusing to drop role {stranger[0]!r}: this engine did not create it")
        if names:
            self._conn.execute(sql.SQL("DROP ROLE {}").format(sql.SQL(", ").join(map(sql.Identifier, names))))
        self._roles = [n for n in self._roles if n not in names]

    def login(self, user: str, password: str | None = None) -> psycopg.Connection:
        """A new autocommit connection to this engine's database as ``user``, its search_path in the sandbox:
        the database as that role sees it (the row-level security and grants it gets)."""
        self._check_open()
        conninfo = make_conninfo(self.server.url(self._dbname), user=user, password=password)
        try:
            connection = psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as error:
            raise WorkbenchError(
                f"cannot log in to {self._location} as {user}: {redact(str(error)).strip()}\nfix: the server must "
                f"accept password logins for roles starting with {self.role_prefix} (pg_hba.conf), or use the "
                f"embedded server (connect('postgres'))") from error
        if self.sandbox:
            connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.sandbox)))
        return connection

    def run_script(self, statements: list[str]) -> None:
        """Run statements in one transaction: all of them, or none (the error names the failing one)."""
        self._check_open()
        self._run_script(statements)

    def _close(self) -> None:
        try:
            if self.sandbox and not self._conn.closed:
                self.drop_sandbox()
                self.drop_roles(self._roles)
        finally:
            self._conn.close()
            if self.database:
                self.server.drop_database(self.database)
                self._drop_roles_after_database()

    def _drop_roles_after_database(self) -> None:
        """Roles of a dropped database: nothing of theirs is left in it, so DROP ROLE alone."""
        if not self._roles:
            return
        roles = sql.SQL(", ").join(map(sql.Identifier, self._roles))
        try:
            with self.server.connect() as connection:
                connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(roles))
            self._roles = []
        except (psycopg.Error, WorkbenchError) as error:
            warnings.warn(f"roles {', '.join(self._roles)} of {self._describe()} were not dropped: "
                          f"{redact(str(error)).strip()}; drop them with DROP OWNED BY ... and DROP ROLE ... in "
                          f"the databases that still reference them", stacklevel=2)

    def drop_sandbox(self) -> None:
        """Drop the sandbox schemas (and everything in them); nothing outside them is touched."""
        if not self.sandbox:
            raise WorkbenchError(f"{self._describe()} has no sandbox: its whole database {self.database!r} is "
                                 f"dropped on close()")
        for schema in self._schemas():
            self._conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))

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
            raise _failed(sql_text, error) from error

    def _connection_lost(self, error: BaseException) -> bool:
        return isinstance(error, psycopg.OperationalError) or self._connection.closed

    def _guard(self, sql_text: str) -> None:
        """Refuse a statement that writes outside the sandbox (a guard against mistakes, not malice)."""
        if self.sandbox:
            sandboxing.check(sql_text, self.sandbox)


def _binary_column(oid: int, type_name: str, arrow: pa.DataType) -> tuple[int, Callable[[pa.Array], pa.Array]] | None:
    """(oid to dump with, Arrow conversion) for binary COPY of one column, or None when only text will do."""
    if _BINARY.get(type_name, lambda _: False)(arrow):
        # character types share text's binary form; psycopg has dumpers for text only
        return (TEXT_OID if type_name in _CHARACTER else oid), lambda column: column
    if not _TEMPORAL.get(type_name, lambda _: False)(arrow):
        return None
    if type_name == "date":
        return INT4_OID, lambda column: pc.subtract(column.cast(pa.date32()).cast(pa.int32()), _PG_EPOCH_DAYS)
    return INT8_OID, lambda column: pc.subtract(
        column.cast(pa.timestamp("us", tz=arrow.tz), safe=False).cast(pa.int64()), _PG_EPOCH_MICROS)


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


def _where(conninfo: str) -> str:
    """``host=... port=... user=... dbname=...`` of a conninfo or URL: never the password."""
    parts = conninfo_to_dict(conninfo)
    return " ".join(f"{key}={parts[key]}" for key in ("host", "port", "user", "dbname") if parts.get(key)) or \
        redact(conninfo)


def _failed(sql_text: str, error: psycopg.Error) -> WorkbenchError:
    return WorkbenchError(f"PostgreSQL: {redact(str(error)).strip()}\n    in: {sql_text.strip()[:500]}")
