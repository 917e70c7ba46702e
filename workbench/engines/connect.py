"""``connect(target)``: one string picks the engine, so notebooks and the CLI switch with one word."""

from __future__ import annotations

from typing import Any

from workbench.engines.base import Engine
from workbench.engines.pgserver import redact
from workbench.errors import UnknownNameError

FORMS = {
    "duckdb": "DuckDB in memory (the default)",
    "duckdb:PATH": "DuckDB in a database file (kept on close)",
    "postgres": "a fresh database on the embedded PostgreSQL 18 server (dropped on close)",
    "postgresql://USER:PASSWORD@HOST:PORT/DB": "your server: the workbench works in a sandbox schema it drops on close",
}
_URL_SCHEMES = ("postgresql://", "postgres://")


def connect(target: str = "duckdb", **options: Any) -> Engine:
    """An engine for ``target``: ``"duckdb"``, ``"duckdb:PATH"``, ``"postgres"``, or a PostgreSQL URL/conninfo."""
    check_target(target)
    if target == "duckdb" or target.startswith("duckdb:"):
        from workbench.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(target.partition(":")[2] or None, **options)
    from workbench.engines.postgres import PostgresEngine

    if target in ("postgres", "postgresql"):
        return PostgresEngine.embedded(**options)
    return PostgresEngine.sandbox_on(target, **options)


def check_target(target: str) -> None:
    """Raise, with the valid forms, unless :func:`connect` knows ``target`` (checked before any long work)."""
    if (target == "duckdb" or target.startswith("duckdb:") or target in ("postgres", "postgresql")
            or target.startswith(_URL_SCHEMES) or "=" in target):
        return
    error = UnknownNameError("engine target", redact(target), [form.partition(":")[0] for form in FORMS])
    forms = "\n".join(f"  {form:<42} {meaning}" for form, meaning in FORMS.items())
    error.args = (f"{error}\nvalid forms:\n{forms}",)
    raise error
