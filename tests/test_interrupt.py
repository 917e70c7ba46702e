"""The kernel's stop button in the middle of long work: nothing half-written may look complete afterwards.

JupyterLab's stop button sends SIGINT to the kernel, which raises KeyboardInterrupt in the running cell.
Each test starts the real work (a study, a PostgreSQL load, the advisor), waits in a watcher thread
until the work is under way (a results part written, a COPY in progress, an index built), sends the
process a real SIGINT, and reads what the interrupted work left behind.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from workbench.advisor import advise
from workbench.bench import IndexSpec, Study, Variant
from workbench.bench.results import INCOMPLETE, Results
from workbench.datagen import generate
from workbench.datagen.blocks import Shard
from workbench.datagen.generate import stream
from workbench.datagen.parquet import read_parquet, write_parquet
from workbench.domains import domain
from workbench.engines import connect
from workbench.schema.sketch import sketch

WATCH_SECONDS = 120


@contextmanager
def interrupted_when(ready: Callable[[], bool]) -> Iterator[list[bool]]:
    """Send this process SIGINT (as the kernel's stop button does) once ``ready()`` holds; the block must
    end in KeyboardInterrupt, which is kept from the caller."""
    sent: list[bool] = []
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + WATCH_SECONDS
        while not done.is_set() and time.monotonic() < deadline:
            if ready():
                sent.append(True)
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield sent
    except KeyboardInterrupt:
        stopped = True
    else:
        stopped = False
    finally:
        done.set()
        watcher.join()  # a signal sent just as the work ended interrupts this wait: still inside the block
    assert sent, "the work ended before the watcher saw it under way: nothing was interrupted"
    assert stopped, "SIGINT was sent but the work did not stop with KeyboardInterrupt"


def test_interrupted_study_says_it_is_incomplete_and_resumes(tmp_path):
    study = Study("search", "ecommerce", (Variant("no index"), Variant("by created", indexes=[
        IndexSpec("products", ["created_at"])])), engines=["duckdb"], scale="ci", tables=["products"],
        queries=["product_search"], repetitions=40, warmup=1, seed=3)
    first_part = tmp_path / "executions" / "part-00001.parquet"  # cold round flushed, then one warm-up round
    with interrupted_when(first_part.is_file):
        study.run(tmp_path, progress=False)
    partial = Results.load(tmp_path)
    assert not partial.complete and not (tmp_path / "results.parquet").exists()
    assert not (tmp_path / "report.html").exists()
    assert INCOMPLETE in repr(partial) and INCOMPLETE in partial._repr_html_()
    assert len(partial.executions) < 2 * (1 + 1 + 40)
    finished = study.run(tmp_path, resume=True, progress=False, report=False)
    assert finished.complete and INCOMPLETE not in repr(finished)
    assert len(finished.executions) == 2 * (1 + 1 + 40)
    assert not finished.executions.duplicated(["variant", "phase", "repetition", "draw"]).any()


def events_schema():
    """Devices and their events: the events table is large enough to interrupt while it loads."""
    builder = sketch("events")
    builder.table("devices", id="int pk", name="text not null")
    builder.table("events", id="bigint pk", device_id="-> devices", note="text not null")
    return builder.build()


def copying(server, engine) -> Callable[[], bool]:
    """True once a COPY into the engine's database (on any of its sessions) has sent rows."""

    def under_way() -> bool:
        with server.connect(engine.database) as watcher:
            row = watcher.execute("SELECT sum(tuples_processed) FROM pg_stat_progress_copy").fetchone()
        return bool(row and row[0])

    return under_way


@pytest.mark.parametrize("jobs", [1, 2])
def test_interrupted_load_leaves_no_table_that_looks_complete(pg_server, jobs):
    schema = events_schema()
    data = generate(schema, {"devices": 100, "events": 600_000}, seed=1, progress=False)
    with connect("postgres") as engine:
        with interrupted_when(copying(pg_server, engine)):
            engine.load(schema, data, progress=False, jobs=jobs)
        counts = engine.row_counts()
        status = engine.load_status().set_index("table_key")["status"].to_dict()
        assert counts == {"devices": 100, "events": 0}  # the interrupted COPY rolled back whole
        assert status == {"devices": "complete", "events": "failed"}
        assert engine.query("SELECT conname FROM pg_constraint WHERE contype = 'f'").empty  # added after a whole load


def test_interrupted_load_in_parts_leaves_the_table_empty(pg_server, tmp_path):
    schema = events_schema()
    for index in range(2):  # events in 2 files: copied in 2 parts at once
        write_parquet(stream(schema, {"devices": 100, "events": 1_200_000}, seed=1, shard=Shard(index, 2),
                             block_rows=600_000), tmp_path, dataset="events", scale=None, progress=False)
    data = read_parquet(tmp_path, schema)
    assert len(data["events"].files) == 2
    with connect("postgres") as engine:
        with interrupted_when(copying(pg_server, engine)):
            engine.load(schema, data, progress=False, jobs=2)
        assert engine.row_counts() == {"devices": 100, "events": 0}  # a part that committed was emptied again
        assert "complete" not in set(engine.load_status().query("table_key == 'events'")["status"])


def test_interrupted_parallel_finish_cancels_the_builds_and_keeps_the_rest_pending(pg_server):
    schema = events_schema()
    data = generate(schema, {"devices": 100, "events": 1_000_000}, seed=1, progress=False)
    with connect("postgres") as engine:

        def building() -> bool:
            with pg_server.connect(engine.database) as watcher:
                return bool(watcher.execute("SELECT count(*) FROM pg_stat_progress_create_index").fetchone()[0])

        with interrupted_when(building):
            engine.load(schema, data, progress=False, jobs=2)
        assert engine.row_counts() == {"devices": 100, "events": 1_000_000}  # the copies were complete
        left = list(engine._pending)
        assert left, "the interrupt came after every deferred statement had committed"
        with pg_server.connect(engine.database) as watcher:  # the cancelled builds are not running on
            assert watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                   " AND state = 'active' AND pid <> pg_backend_pid()").fetchone()[0] == 0
        engine.finish(jobs=2)  # what was left runs now
        keys = engine.query("SELECT conname FROM pg_constraint WHERE contype IN ('p', 'f')"
                            " AND connamespace = 'public'::regnamespace ORDER BY 1")
        assert keys.iloc[:, 0].tolist() == ["devices_pkey", "events_device_id_fkey", "events_pkey"]
        assert not engine._pending


def test_interrupted_advisor_leaves_the_engine_as_it_found_it(pg_server):
    shop = domain("ecommerce")
    with connect("postgres") as engine:
        shop.load(engine, "ci", seed=1, progress=False)
        own = set(engine.index_sizes()["index"])

        def building_a_candidate() -> bool:
            with pg_server.connect(engine.database) as watcher:
                found = watcher.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'").fetchall()
            return bool({name for (name,) in found} - own)

        with interrupted_when(building_a_candidate):
            advise(engine, shop.schema, shop.workload, budget_mb=50, draws=2, progress=False)
        assert set(engine.index_sizes()["index"]) == own
        assert engine.row_counts() == shop.generate("ci", seed=1, progress=False).row_counts()
