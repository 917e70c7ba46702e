"""A PostgreSQL server that dies in the middle of a load: the error says so, and nothing looks complete after.

The test starts its own embedded server in a temporary data directory (the session's server stays
untouched), shuts it down the way ``pg_ctl stop -m immediate`` does (SIGQUIT to the postmaster) once
the server reports COPY progress, then restarts it and reads what the load left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from workbench.datagen import generate
from workbench.engines.base import BOOKKEEPING, LoadInterrupted
from workbench.engines.pgserver import ENV_PGDATA, EmbeddedServer, embedded_server
from workbench.engines.postgres import PostgresEngine
from workbench.errors import WorkbenchError
from workbench.schema.sketch import sketch

ROWS = 600_000  # about half a second of COPY: long enough to be caught in the middle
WATCH_SECONDS = 60


@pytest.fixture
def own_server(monkeypatch) -> Iterator[EmbeddedServer]:
    """A server of its own, outside pytest's tmp_path: a pytest run starting meanwhile resets that tree to
    mode 0700, which locks out the server's system user (run as root) when it restarts."""
    with tempfile.TemporaryDirectory(prefix="workbench-load-failure-", ignore_cleanup_errors=True) as folder:
        monkeypatch.setenv(ENV_PGDATA, str(Path(folder) / "pgdata"))
        yield embedded_server()
        with contextlib.suppress(WorkbenchError):
            embedded_server().stop()


def stop_immediately_during_copy(server: EmbeddedServer, seen: list[int]) -> None:
    """Wait until the server reports COPY progress, then stop it at once (no checkpoint, backends killed)."""
    deadline = time.monotonic() + WATCH_SECONDS
    with server.connect() as connection:
        while time.monotonic() < deadline:
            row = connection.execute("SELECT tuples_processed FROM pg_stat_progress_copy").fetchone()
            if row and row[0]:
                seen.append(row[0])
                break
            time.sleep(0.002)
    if seen:
        postmaster = int((server.data_directory / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGQUIT)  # what `pg_ctl stop -m immediate` sends


def test_server_dying_mid_copy_names_the_table_and_leaves_nothing_complete(own_server):
    builder = sketch("events")
    builder.table("events", event_id="bigint pk", kind="text not null", happened_at="timestamptz not null")
    schema = builder.build()
    data = generate(schema, ROWS, progress=False)
    engine = PostgresEngine.embedded(own_server)
    seen: list[int] = []
    watcher = threading.Thread(target=stop_immediately_during_copy, args=(own_server, seen))
    watcher.start()
    try:
        with pytest.raises(LoadInterrupted) as caught:
            engine.load(schema, data, progress=False)
    finally:
        watcher.join()
    assert seen, "the server never reported COPY progress"
    error = caught.value
    assert error.table == "events" and error.total == ROWS and error.rows_sent < ROWS and error.complete == []
    message = str(error)
    assert "'events'" in message and "OperationalError" in message and "server closed the connection" in message
    assert error.connection_lost and "start it again" in message
    assert isinstance(error, WorkbenchError)

    own_server.stop()  # the handle of the dead server; start it again on the same directory (crash recovery)
    restarted = embedded_server()
    with restarted.connect(engine.database) as connection:
        count = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("events"))).fetchone()
        assert count == (0,)
        recorded = connection.execute("SELECT to_regclass(%s) IS NOT NULL", [BOOKKEEPING]).fetchone()[0]
        statuses = connection.execute(sql.SQL("SELECT status FROM {} WHERE table_key = %s").format(
            sql.Identifier(BOOKKEEPING)), ["events"]).fetchall() if recorded else []
        assert ("complete",) not in statuses
    engine.close()  # drops its database on the restarted server
