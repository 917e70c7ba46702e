"""The embedded PostgreSQL server: starts, is configured, creates and drops databases, hides passwords."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from workbench.engines.pgserver import EmbeddedServer, Server, embedded_server
from workbench.errors import WorkbenchError


def test_embedded_server_is_one_per_process_and_runs_postgres_18():
    server = embedded_server()
    assert server is embedded_server()
    assert isinstance(server, EmbeddedServer)
    assert server.version.startswith("18.")
    for program in ("psql", "pg_dump", "pgbench"):
        assert (server.bin_dir / program).is_file()
    with server.connect() as connection:
        row = connection.execute("SHOW shared_preload_libraries").fetchone()
    assert row is not None and "pg_stat_statements" in row[0]


def test_extensions_can_be_created(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION pg_stat_statements")
        connection.execute("CREATE EXTENSION pg_trgm")
        connection.execute("SELECT 42")
        statements = connection.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
        similarity = connection.execute("SELECT similarity('workbench', 'workbanch')").fetchone()
    assert statements is not None and statements[0] > 0
    assert similarity is not None and 0 < similarity[0] < 1


def _databases(server: Server) -> set[str]:
    with server.connect() as connection:
        return {row[0] for row in connection.execute("SELECT datname FROM pg_database")}


def test_create_and_drop_database(pg_server):
    name = pg_server.create_database("wb test")  # any prefix is safe: the name is quoted as an identifier
    assert name.startswith("wb test_") and name in _databases(pg_server)
    with psycopg.connect(pg_server.url(name)) as connection:
        row = connection.execute("SELECT current_database()").fetchone()
    assert row == (name,)
    other = pg_server.create_database("wb")
    assert other != name
    pg_server.drop_database(name)
    pg_server.drop_database(other)
    assert not {name, other} & _databases(pg_server)


def test_drop_database_refuses_what_it_did_not_create(pg_server):
    with pytest.raises(WorkbenchError, match="did not create"):
        pg_server.drop_database("postgres")
    assert "postgres" in _databases(pg_server)


def test_too_long_prefix_is_refused(pg_server):
    with pytest.raises(WorkbenchError, match="too long"):
        pg_server.create_database("x" * 60)


def test_passwords_stay_out_of_reprs_and_errors(tmp_path):
    server = Server(f"postgresql://ann:s3cret@/shop?host={tmp_path}&connect_timeout=2")
    assert "s3cret" not in repr(server) and "user=ann" in repr(server)
    with pytest.raises(WorkbenchError) as caught:
        server.connect()
    assert "s3cret" not in str(caught.value) and "cannot connect" in str(caught.value)


def test_a_server_that_cannot_start_says_where_and_how_to_fix(tmp_path, monkeypatch):
    pgdata = tmp_path / "broken"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("18\n")  # looks initialised, but holds no cluster
    monkeypatch.setenv("WORKBENCH_PGDATA", str(pgdata))
    with pytest.raises(WorkbenchError) as caught:
        embedded_server()
    message = str(caught.value)
    assert str(pgdata / "log") in message and "postgresql.conf" in message
    assert "WORKBENCH_PGDATA" in message and "WORKBENCH_PG_URL" in message


def _wait_until_stopped(pgdata: Path) -> None:
    deadline = time.monotonic() + 10
    while (pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (pgdata / "postmaster.pid").exists(), f"the server in {pgdata} is still running"


def test_server_stops_at_interpreter_exit(tmp_path):
    pgdata = tmp_path / "atexit"
    subprocess.run([sys.executable, "-c", "from workbench.engines.pgserver import embedded_server; "
                                          "embedded_server().connect().close()"],
                   check=True, env={**os.environ, "WORKBENCH_PGDATA": str(pgdata)}, timeout=60)
    assert (pgdata / "PG_VERSION").exists()
    _wait_until_stopped(pgdata)


def test_orphan_server_of_a_killed_process_is_reattached_and_stopped(tmp_path, monkeypatch):
    pgdata = tmp_path / "orphan"
    monkeypatch.setenv("WORKBENCH_PGDATA", str(pgdata))
    child = subprocess.Popen(
        [sys.executable, "-c", "from workbench.engines.pgserver import embedded_server; embedded_server(); "
                               "print('up', flush=True); import time; time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "up"
    finally:
        child.send_signal(signal.SIGKILL)  # no atexit: the server stays up as an orphan
        child.wait()
    orphan_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    server = embedded_server()
    assert int((pgdata / "postmaster.pid").read_text().split()[0]) == orphan_pid  # reattached, not restarted
    with server.connect() as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
    server.stop()
    _wait_until_stopped(pgdata)
    assert embedded_server() is not server  # a stopped server is not handed out again
    embedded_server().stop()


def test_repr_of_embedded_server_names_its_directory():
    server = embedded_server()
    assert str(server.data_directory) in repr(server)
    assert Path(server.log_file).parent == server.data_directory
