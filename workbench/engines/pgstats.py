"""Server-side times from pg_stat_statements, read without resetting anything: differences of its counters.

``pg_stat_statements_reset()`` clears the statistics of every user of a database (without arguments, of the
whole server), so the workbench never calls it. :func:`counters` snapshots this database's counters before,
:func:`grown` gives what grew after, for the statements asked about: their query ids come from
``EXPLAIN (VERBOSE)`` (its ``Query Identifier``) on the same connection. PostgreSQL 18 identifies a table
by its name, not its oid, so the same statement on two sandboxes (or on the user's own table of that name)
shares one id: read the counters right before and after the statements run (as a study does per variant
and round), not once around interleaved work.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import psycopg
from psycopg import sql

EXTENSION = "pg_stat_statements"
# (userid, queryid) -> (query text, calls, total execution ms, total planning ms)
Counters = dict[tuple[int, int], tuple[str, int, float, float]]
_COUNTERS = ("SELECT userid, queryid, {}, calls, total_exec_time, total_plan_time FROM {}({}) WHERE toplevel"
             " AND queryid IS NOT NULL AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())")


def locate(connection: psycopg.Connection, *, create: bool) -> tuple[str | None, str | None]:
    """``(schema of the pg_stat_statements view, None)``, or ``(None, why it cannot be read)``.

    ``create``: install the extension first where the engine owns the database (never on a user's server).
    """
    database = connection.info.dbname
    if create:
        try:
            connection.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(EXTENSION)))
        except psycopg.Error as error:
            return None, f"{EXTENSION} cannot be created in database {database} ({str(error).strip()})"
    found = connection.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                               " WHERE e.extname = %s", [EXTENSION]).fetchone()
    if found is None:
        return None, (f"{EXTENSION} is not installed in database {database}; its owner can run "
                      f"`CREATE EXTENSION {EXTENSION};` there (the server also needs shared_preload_libraries = "
                      f"'{EXTENSION}')")
    try:
        connection.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(found[0], EXTENSION)))
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0]
        return None, (f"{EXTENSION} is installed in database {database} but cannot be read ({reason}); it needs "
                      f"shared_preload_libraries = '{EXTENSION}' on the server")
    return found[0], None


def counters(connection: psycopg.Connection, schema: str, ids: Collection[int] | None = None) -> Counters:
    """This database's top-level counters now: of every statement, or (without their texts) of ``ids``."""
    text = ids is None  # reading the texts means reading the extension's text file: only when asked
    query = sql.SQL(_COUNTERS).format(sql.SQL("query" if text else "''"), sql.Identifier(schema, EXTENSION),
                                      sql.Literal(text))
    if ids is not None:
        query = sql.SQL("{} AND queryid = ANY({})").format(query, sql.Literal(list(ids)))
    rows = connection.execute(query).fetchall()
    return {(userid, queryid): (query, calls, exec_ms, plan_ms) for userid, queryid, query, calls, exec_ms, plan_ms
            in rows}


def query_id(connection: psycopg.Connection, sql_text: str) -> int | None:
    """The server's query identifier of a statement (from EXPLAIN VERBOSE; nothing runs), or None."""
    explain = sql.SQL("EXPLAIN (VERBOSE, FORMAT JSON) {}").format(sql.SQL(sql_text.strip().rstrip(";")))
    try:
        with connection.transaction(force_rollback=True):
            document = connection.execute(explain).fetchone()[0]
    except psycopg.Error:
        return None
    return document[0].get("Query Identifier") if isinstance(document, list) and document else None


def grown(before: Counters, after: Counters, names: Mapping[int, str] | None = None,
          ) -> list[tuple[str, int, float, float]]:
    """``(query, calls, mean execution ms, mean planning ms)`` of what ran between two snapshots.

    ``names`` (query id -> name): only those statements, under their names; else every statement, by its text.
    An entry evicted and created again in between counts from zero.
    """
    totals: dict[str, list[float]] = {}
    for key, (text, calls, exec_ms, plan_ms) in after.items():
        if names is not None and key[1] not in names:
            continue
        _, calls_before, exec_before, plan_before = before.get(key, ("", 0, 0.0, 0.0))
        if calls < calls_before:
            calls_before, exec_before, plan_before = 0, 0.0, 0.0
        if calls == calls_before:
            continue
        total = totals.setdefault(text if names is None else names[key[1]], [0, 0.0, 0.0])
        total[0] += calls - calls_before
        total[1] += exec_ms - exec_before
        total[2] += plan_ms - plan_before
    return [(name, int(calls), exec_ms / calls, plan_ms / calls)
            for name, (calls, exec_ms, plan_ms) in sorted(totals.items(), key=lambda item: -item[1][1])]
