"""DuckDB, the default engine: in-process, in memory or in a file, loaded straight from Arrow.

Loads register each Arrow slice as a view and ``INSERT INTO ... SELECT`` from it (millions of rows
per second; never row by row). Extensions are never downloaded: only the built-in ones are used.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from workbench.engines.base import BOOKKEEPING, Advance, Engine, named_parameters
from workbench.errors import WorkbenchError

BATCH_ROWS = 1_000_000  # rows per INSERT: large enough to stay fast, small enough for a moving progress bar
_OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


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
        try:
            self._con = duckdb.connect(str(self.path or ":memory:"), config={**_OFFLINE, **(config or {})})
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
        self._con.close()

    def _describe(self) -> str:
        return f"duckdb:{self.path}" if self.path else "duckdb (in memory)"


def _failed(sql: str, error: duckdb.Error) -> WorkbenchError:
    return WorkbenchError(f"DuckDB: {error}\n    in: {sql.strip()[:500]}")
