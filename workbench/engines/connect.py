"""``connect(target)``: one string picks the engine, so notebooks and the CLI switch with one word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.engines.base import Engine
from workbench.engines.conninfo import URL_SCHEMES, ConnInfo, hidden
from workbench.engines.pgserver import Server
from workbench.errors import UnknownNameError, WorkbenchError

FORMS = {
    "duckdb": "DuckDB in memory (the default)",
    "duckdb:PATH": "DuckDB in a database file (kept on close)",
    "postgres": "a fresh database on the embedded PostgreSQL 18 server (dropped on close)",
    "postgres:DIR": "the same on an embedded server whose data directory is DIR (left running)",
    "postgresql://USER:PASSWORD@HOST:PORT/DB": "your server (percent-encode special characters): the workbench "
                                               "works in a sandbox schema it drops on close",
}
_EMBEDDED = ("postgres", "postgresql")


def connect(target: str | ConnInfo = "duckdb", **options: Any) -> Engine:
    """An engine for ``target``: ``"duckdb"``, ``"duckdb:PATH"``, ``"postgres"``, ``"postgres:DIR"``, or a
    PostgreSQL URL/conninfo (parsed at once: nothing shows its password).

    PostgreSQL options: ``database=NAME`` (embedded) or ``schema=NAME`` (URL) name the place the data goes,
    kept after close once :meth:`~workbench.engines.postgres.PostgresEngine.keep` is called.
    """
    kind = check_target(target)
    if kind == "duckdb":
        from workbench.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(target.partition(":")[2] or None, **options)
    from workbench.engines.postgres import PostgresEngine

    if kind == "url":
        return PostgresEngine.sandbox_on(target, **options)
    if ":" in target and "server" not in options:
        options["server"] = server_of(target)
    return PostgresEngine.embedded(**options)


def server_of(target: str | ConnInfo) -> Server:
    """The PostgreSQL server of a target (a URL or conninfo, ``postgres`` or ``postgres:DIR``), not an engine."""
    kind = target_kind(target)
    if kind == "url":
        return Server(target)
    if kind == "embedded":
        from workbench.engines.pgserver import embedded_server

        directory = target.partition(":")[2]
        if not directory:
            return embedded_server()
        server = embedded_server(Path(directory))
        server.keep_running()  # a data directory the user named is theirs: its server outlives the command
        return server
    raise WorkbenchError(f"{hidden(target)} is not a PostgreSQL target; give postgresql://... (your server), "
                         f"postgres (the embedded server) or postgres:DIR (an embedded server in DIR)")


def target_kind(target: str | ConnInfo) -> str | None:
    """``url``, ``duckdb``, ``embedded``, or None for a target that is none of the forms."""
    if isinstance(target, ConnInfo) or target.startswith(URL_SCHEMES):
        return "url"
    if target == "duckdb" or target.startswith("duckdb:"):
        return "duckdb"
    if target.partition(":")[0] in _EMBEDDED:
        return "embedded"
    return "url" if "=" in target else None  # a key=value conninfo


def check_target(target: str | ConnInfo) -> str:
    """The kind of ``target`` (see :func:`target_kind`); raise, with the valid forms, when it is none of them
    (checked before any long work)."""
    kind = target_kind(target)
    if kind is None:
        error = UnknownNameError("engine target", hidden(target), [form.partition(":")[0] for form in FORMS])
        forms = "\n".join(f"  {form:<42} {meaning}" for form, meaning in FORMS.items())
        error.args = (f"{error}\nvalid forms:\n{forms}",)
        raise error
    return kind
