"""Markers on what the workbench creates on a server, so that a later run finds what a killed one left.

Every sandbox schema (on a user's server) and every database (on the embedded server) carries a comment
holding JSON: ``created_by``, ``pid``, ``hostname``, ``started_at``, ``command``, ``kept`` (a load the user
asked to keep) and ``owns`` (objects outside it, such as roles, dropped with it). A marked place is *stale*
when it is not kept and its process is gone (same host), or it is older than ``max_age`` (another host).
:func:`sandboxes` lists marked places only, and :func:`drop` refuses anything without a marker.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
import psutil
import psycopg
from psycopg import sql

from workbench.engines.conninfo import shown
from workbench.errors import UnknownNameError, WorkbenchError

CREATED_BY = "workbench"
MAX_AGE = timedelta(hours=24)
OWNED_KINDS = {"role": "ROLE"}  # kinds an engine may own outside its sandbox -> the object type to DROP
_SCHEMAS = """SELECT n.nspname, obj_description(n.oid, 'pg_namespace'),
  (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
   WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'p'))::bigint
FROM pg_namespace n WHERE obj_description(n.oid, 'pg_namespace') LIKE '%%"created_by"%%' ORDER BY 1"""
_DATABASES = """SELECT datname, shobj_description(oid, 'pg_database'),
  CASE WHEN has_database_privilege(datname, 'CONNECT') THEN pg_database_size(datname) END
FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE '%%"created_by"%%' ORDER BY 1"""


@dataclass(frozen=True)
class Mark:
    """Who created a schema or database, where and when (the JSON in its comment)."""

    pid: int
    hostname: str
    started_at: str
    command: str
    kept: bool = False
    part_of: str | None = None  # a sandbox's namespace schema names its base schema here
    owns: tuple[tuple[str, str], ...] = ()  # (kind, name) of objects outside it dropped with it
    created_by: str = CREATED_BY

    @classmethod
    def here(cls, *, kept: bool = False, part_of: str | None = None) -> Mark:
        """A mark for this process, now."""
        return cls(os.getpid(), socket.gethostname(), datetime.now(UTC).isoformat(timespec="seconds"), _command(),
                   kept, part_of)

    @classmethod
    def read(cls, comment: str | None) -> Mark | None:
        """The mark in a comment, or None when the comment is not one of ours."""
        try:
            data = json.loads(comment or "")
            if not isinstance(data, dict) or data.get("created_by") != CREATED_BY:
                return None
            owns = tuple((str(kind), str(name)) for kind, name in data.get("owns", ()))
            return cls(int(data["pid"]), str(data["hostname"]), str(data["started_at"]), str(data["command"]),
                       bool(data.get("kept", False)), data.get("part_of"), owns)
        except (ValueError, KeyError, TypeError):
            return None

    def json(self) -> str:
        data = {"created_by": self.created_by, "pid": self.pid, "hostname": self.hostname,
                "started_at": self.started_at, "command": self.command, "kept": self.kept,
                "owns": [list(item) for item in self.owns]}
        return json.dumps(data | ({"part_of": self.part_of} if self.part_of else {}))

    def state(self, max_age: timedelta = MAX_AGE) -> str:
        """``kept``, ``running`` (its process lives), or ``stale`` (see the module docstring)."""
        if self.kept:
            return "kept"
        started = datetime.fromisoformat(self.started_at)
        if self.hostname != socket.gethostname():
            return "stale" if datetime.now(UTC) - started > max_age else "running"
        try:  # a process with this id that started after the mark is another one
            alive = psutil.Process(self.pid).create_time() <= started.timestamp() + 1
        except psutil.Error:
            alive = False
        return "running" if alive else "stale"


@dataclass(frozen=True)
class Sandbox:
    """A marked schema (with its namespace schemas) or database on a server."""

    kind: str  # "schema" or "database"
    name: str
    mark: Mark
    bytes: int | None
    parts: tuple[str, ...] = field(default=())  # namespace schemas that belong to it

    def state(self, max_age: timedelta = MAX_AGE) -> str:
        return self.mark.state(max_age)


def comment(kind: str, name: str, mark: Mark) -> sql.Composed:
    """``COMMENT ON SCHEMA|DATABASE name IS '<mark>'``."""
    return sql.SQL("COMMENT ON {} {} IS {}").format(sql.SQL(kind.upper()), sql.Identifier(name),
                                                    sql.Literal(mark.json()))


def mark_of(connection: psycopg.Connection, kind: str, name: str) -> tuple[bool, Mark | None]:
    """``(exists, mark)`` of a schema (in the connection's database) or a database."""
    query = ("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s" if kind == "schema"
             else "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s")
    row = connection.execute(query, [name]).fetchone()
    return row is not None, Mark.read(row[0]) if row else None


def taken(kind: str, name: str, mark: Mark | None, where: str) -> WorkbenchError:
    """The refusal to create ``name`` where a schema or database of that name exists."""
    if mark is None:
        return WorkbenchError(f"{kind} {name!r} already exists on {where} and the workbench did not create it: it "
                              f"is left alone; fix: choose another name (--schema NAME)")
    what = "holds a load the workbench kept" if mark.kept else "is a workbench sandbox"
    return WorkbenchError(f"{kind} {name!r} already exists on {where}: it {what} (created {mark.started_at} by "
                          f"{mark.command!r}, process {mark.pid} on {mark.hostname}); fix: drop it first with "
                          f"`workbench drop {name} --engine ...`, or choose another name (--schema NAME)")


def sandboxes(connection: psycopg.Connection) -> list[Sandbox]:
    """Every marked schema in the connection's database and every marked database on its server."""
    found, parts = [], {}
    for name, text, size in connection.execute(_SCHEMAS).fetchall():
        mark = Mark.read(text)
        if mark is not None and mark.part_of:
            parts.setdefault(mark.part_of, []).append((name, size))
        elif mark is not None:
            found.append(Sandbox("schema", name, mark, size))
    found = [Sandbox(s.kind, s.name, s.mark, s.bytes + sum(b for _, b in parts.get(s.name, ())),
                     tuple(n for n, _ in parts.get(s.name, ()))) for s in found]
    for name, text, size in connection.execute(_DATABASES).fetchall():
        if (mark := Mark.read(text)) is not None:
            found.append(Sandbox("database", name, mark, size))
    return found


def stale_warning(found: Iterable[Sandbox], where: str) -> str | None:
    """What to say about the stale sandboxes among ``found`` (None when there are none)."""
    stale = [s for s in found if s.state() == "stale"]
    if not stale:
        return None
    names = ", ".join(s.name for s in stale[:5]) + (" ..." if len(stale) > 5 else "")
    size = sum(s.bytes or 0 for s in stale) / 1024 ** 2
    return (f"{len(stale)} stale workbench sandbox(es) on {where} ({size:,.1f} MB), left by runs that ended without "
            f"cleaning up: {names}; list them with `workbench sandboxes --engine TARGET`, drop them with "
            f"`workbench sandboxes --engine TARGET --drop-stale`")


def table(found: Iterable[Sandbox], max_age: timedelta = MAX_AGE) -> pd.DataFrame:
    """One row per sandbox: kind, name, state, size, when, which process and command made it."""
    rows = [(s.kind, s.name, s.state(max_age), s.bytes, s.mark.started_at, s.mark.hostname, s.mark.pid,
             s.mark.command, ", ".join(s.parts)) for s in found]
    return pd.DataFrame(rows, columns=["kind", "name", "state", "bytes", "started_at", "host", "pid", "command",
                                       "namespaces"])


def find(connection: psycopg.Connection, name: str) -> Sandbox:
    """The marked schema or database called ``name``; refuse a name that exists without a marker."""
    found = sandboxes(connection)
    for sandbox in found:
        if sandbox.name == name:
            return sandbox
    for kind in ("schema", "database"):
        exists, _ = mark_of(connection, kind, name)
        if exists:
            raise WorkbenchError(f"refusing to drop {kind} {name!r}: the workbench did not create it (it carries no "
                                 f"workbench marker); drop it yourself if you mean it")
    raise UnknownNameError("schema or database created by the workbench", name, (s.name for s in found))


def drop(connection: psycopg.Connection, sandbox: Sandbox) -> None:
    """Drop a marked schema (with its namespace schemas) or database, then the objects it owns."""
    if sandbox.kind == "database":
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(sandbox.name)))
    else:
        with connection.transaction():
            for name in (sandbox.name, *sandbox.parts):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
    drop_owned(connection, sandbox.mark.owns)


def drop_owned(connection: psycopg.Connection, owns: Iterable[tuple[str, str]]) -> None:
    """Drop objects a sandbox owned outside itself (roles...), last registered first."""
    for kind, name in reversed(list(owns)):
        connection.execute(sql.SQL("DROP {} IF EXISTS {}").format(sql.SQL(OWNED_KINDS[kind]), sql.Identifier(name)))


def _command() -> str:
    """This process's command line, with any connection target shown by its label (never a password)."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return " ".join([program, *map(_shown_argument, sys.argv[1:])])[:300]


def _shown_argument(argument: str) -> str:
    """An argument, ``--option=value`` included, with a connection target shown by its label."""
    option, equals, value = argument.partition("=")
    return f"{option}={shown(value)}" if argument.startswith("--") and equals else shown(argument)
