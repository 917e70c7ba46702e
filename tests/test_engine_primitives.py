"""The measuring primitives of every engine (timed, clone, reconnect, configure, indexes, inserts, server
times): one contract suite run against DuckDB and a real PostgreSQL, plus the URL sandbox's refusals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest
from sqlglot import exp

from workbench.ddl import import_ddl
from workbench.engines.base import SERVER_TIMES, Engine, Execution
from workbench.engines.connect import connect
from workbench.engines.execution import checksum
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.schema.model import Index, IndexElement

ROWS = 2_000
DDL = "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, price numeric(8, 2));"
SLOW = {  # runs for minutes unless interrupted
    "duckdb": "SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range < 0",
    "postgres": "SELECT pg_sleep(60)",
}
NAME_INDEX = Index(name=None, elements=(IndexElement("name"),))


@pytest.fixture(scope="module")
def schema():
    return import_ddl(DDL).schema


def items(start: int = 0, count: int = ROWS) -> pa.Table:
    ids = list(range(start, start + count))
    return pa.table({"id": pa.array(ids, pa.int32()), "name": [f"item {i % 97}" for i in ids],
                     "price": pa.array([i / 4 for i in ids])})


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request, schema) -> Iterator[Engine]:
    if request.param == "duckdb":
        engine = connect("duckdb")
    else:
        engine = connect("postgres", server=request.getfixturevalue("pg_server"))
    with engine:
        engine.load(schema, {"items": items()}, progress=False)
        yield engine


def test_timed_counts_rows_and_checksums_ignore_order(engine: Engine):
    ascending = engine.timed("SELECT id, name, price FROM items ORDER BY id")
    descending = engine.timed("SELECT id, name, price FROM items ORDER BY id DESC")
    other = engine.timed("SELECT id, name, price FROM items WHERE id > 0")
    assert isinstance(ascending, Execution) and ascending.ok and ascending.error is None
    assert ascending.rows == ROWS and ascending.latency_ms > 0
    assert ascending.checksum == descending.checksum != other.checksum
    assert other.rows == ROWS - 1
    unchecked = engine.timed("SELECT id FROM items", checksum=False)
    assert unchecked.ok and unchecked.rows == ROWS and unchecked.checksum is None
    assert engine.timed("SELECT id FROM items WHERE id < 0").rows == 0


def test_checksums_agree_across_engines(schema, pg_server):
    query = "SELECT id, name, price, id * 2 AS twice, price * 0 AS zero FROM items WHERE id < 500"
    sums = set()
    for engine in (connect("duckdb"), connect("postgres", server=pg_server)):
        with engine:
            engine.load(schema, {"items": items()}, progress=False)
            sums.add(engine.timed(query).checksum)
    assert len(sums) == 1


def test_execution_repr_never_raises():
    assert repr(Execution("error", 1.0)) == "<Execution error 1.000 ms: >"
    assert "3 rows" in repr(Execution("ok", 0.5, 3, "ab"))
    assert "line one" in repr(Execution("timeout", 100.0, error="line one\nline two"))


def test_checksum_values():
    assert checksum([]) == "0" * 16
    assert checksum([(1, "a"), (2, None)]) == checksum([(2, None), (1, "a")])
    assert checksum([(1, "a")]) != checksum([(1, "a"), (1, "a")])  # duplicates count
    assert checksum([(Decimal("1.50"), Decimal("2"))]) == checksum([(1.5, 2)])


def test_float_checksums_ignore_summation_order():
    values = [0.1 * i + 1e-3 / (i + 1) for i in range(1, 2000)]
    forward, backward = sum(values), sum(reversed(values))
    assert forward != backward  # a double's sum depends on the order it was added in
    assert checksum([(forward, len(values))]) == checksum([(backward, len(values))])
    assert checksum([(Decimal(repr(forward)),)]) == checksum([(forward,)])
    assert checksum([(2**53 + 2,)]) != checksum([(2**53,)])  # integers stay exact
    assert checksum([(1.0000001,)]) != checksum([(1.0000002,)])  # 12 digits still tell these apart
    assert checksum([(3.0,)]) == checksum([(3,)]) == checksum([(Decimal("3.000"),)])


def test_writes_report_affected_rows_and_roll_back(engine: Engine):
    deleted = engine.timed("DELETE FROM items WHERE id < 10", rollback=True)
    assert deleted.ok and deleted.rows == 10 and deleted.checksum == checksum([(10,)])
    assert engine.row_counts()["public.items"] == ROWS
    kept = engine.timed("DELETE FROM items WHERE id < 10")
    assert kept.ok and kept.rows == 10
    assert engine.row_counts()["public.items"] == ROWS - 10


def test_errors_are_statuses_and_the_engine_stays_usable(engine: Engine):
    for rollback in (False, True):
        failed = engine.timed("SELECT * FROM no_such_table", rollback=rollback)
        assert failed.status == "error" and "no_such_table" in failed.error
        assert failed.rows is None and failed.checksum is None and failed.latency_ms >= 0
        broken = engine.timed("INSERT INTO items (id, name) VALUES (1, 'duplicate')", rollback=rollback)
        assert broken.status == "error"
        assert engine.timed("SELECT count(*) FROM items").ok


def test_timeouts_are_censored_statuses(engine: Engine):
    assert engine.timed("SELECT 1", timeout_s=60).ok  # a later, shorter deadline must still fire on time
    for rollback in (False, True):
        started = time.monotonic()
        result = engine.timed(SLOW[engine.name], timeout_s=0.2, rollback=rollback)
        assert time.monotonic() - started < 30  # not the 60 s armed before (a correctness bound, not a speed one)
        assert result.status == "timeout" and result.latency_ms == 200.0
        assert result.rows is None and result.checksum is None and "0.2" in result.error
    after = engine.timed("SELECT count(*) FROM items", timeout_s=30)
    assert after.ok and after.rows == 1
    if engine.name == "postgres":  # the timeout holds for timed statements only
        assert engine.query("SHOW statement_timeout").iloc[0, 0] == "0"
        engine.configure({"statement_timeout": "50s"})
        assert engine.timed(SLOW["postgres"], timeout_s=0.1).status == "timeout"
        assert engine.query("SHOW statement_timeout").iloc[0, 0] == "50s"
        assert engine.timed("SHOW statement_timeout").checksum == checksum([("50s",)])


def test_configure_validates_and_survives_reconnect(engine: Engine):
    setting, value = {"duckdb": ("threads", "1"), "postgres": ("work_mem", "7MB")}[engine.name]
    engine.configure({setting: value})
    engine.reconnect()
    shown = engine.query("SELECT current_setting(:name) AS value", {"name": setting})["value"].iloc[0]
    assert str(shown) == value
    assert engine.timed("SELECT count(*) FROM items").ok
    with pytest.raises(UnknownNameError, match="wrok_mem"):
        engine.configure({"wrok_mem": "1MB"})


@pytest.mark.postgres
def test_postgres_refuses_pinned_and_server_settings(pg_server):
    with connect("postgres", server=pg_server) as engine:
        with pytest.raises(WorkbenchError, match="refusing to configure search_path"):
            engine.configure({"search_path": "elsewhere"})
        with pytest.raises(WorkbenchError, match="shared_buffers cannot change per session"):
            engine.configure({"shared_buffers": "1GB"})
        with pytest.raises(WorkbenchError, match="work_mem = 'lots'"):
            engine.configure({"work_mem": "lots"})


@pytest.mark.postgres
def test_reconnect_opens_a_new_backend_and_a_dead_one_is_replaced(pg_server, schema):
    with connect("postgres", server=pg_server) as engine:
        engine.load(schema, {"items": items()}, progress=False)
        first = engine.query("SELECT pg_backend_pid() AS pid")["pid"].iloc[0]
        engine.reconnect()
        second = engine.query("SELECT pg_backend_pid() AS pid")["pid"].iloc[0]
        assert first != second
        with pg_server.connect() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [int(second)])
        dead = engine.timed("SELECT count(*) FROM items")
        assert dead.status == "error"
        assert engine.timed("SELECT count(*) FROM items").ok


def test_clone_holds_the_same_rows_and_is_independent(engine: Engine, schema):
    if not engine.supports_clone:
        with pytest.raises(WorkbenchError, match="cannot clone"):
            engine.clone()
        return
    engine.configure({"work_mem": "9MB"})
    engine.build_index(schema, "items", NAME_INDEX)
    with engine.clone() as twin:
        assert twin.row_counts() == engine.row_counts() == {"public.items": ROWS}
        assert twin.index_sizes()["index"].tolist() == engine.index_sizes()["index"].tolist()
        assert twin.query("SELECT current_setting('work_mem') AS v")["v"].iloc[0] == "9MB"
        query = "SELECT * FROM items"
        assert twin.timed(query).checksum == engine.timed(query).checksum
        twin.execute("DELETE FROM items WHERE id < 100")
        assert twin.row_counts()["public.items"] == ROWS - 100
        assert engine.row_counts()["public.items"] == ROWS
        database = twin.database
    assert engine.query("SELECT current_setting('work_mem') AS v")["v"].iloc[0] == "9MB"  # reconnected
    assert engine.query("SELECT count(*) AS n FROM pg_database WHERE datname = :d", {"d": database})["n"][0] == 0


def test_index_build_sizes_and_drop(engine: Engine, schema):
    statement = engine.index_statement(schema, "items", NAME_INDEX)
    assert statement.startswith("CREATE INDEX items_name_idx ON ")
    assert engine.index_name(schema, "items", NAME_INDEX) == "items_name_idx"
    before = set(engine.index_sizes()["index"])
    seconds = engine.build_index(schema, "items", NAME_INDEX)
    assert seconds > 0
    sizes = engine.index_sizes()
    assert list(sizes.columns) == ["table", "index", "method", "bytes"] and str(sizes["bytes"].dtype) == "Int64"
    built = sizes[sizes["index"] == "items_name_idx"]
    assert built["table"].tolist() == ["public.items"]
    if engine.name == "postgres":
        assert built["method"].tolist() == ["btree"] and built["bytes"].iloc[0] > 0
        assert "items_pkey" in before
    else:
        assert built["method"].tolist() == ["art"] and built["bytes"].isna().all()
    engine.drop_index(schema, "items", NAME_INDEX)
    assert set(engine.index_sizes()["index"]) == before


def test_index_the_engine_cannot_build_names_the_reason(engine: Engine, schema):
    gin = Index(name="items_trgm", elements=(IndexElement("name", opclass="gin_trgm_ops"),), method="gin")
    if engine.name == "duckdb":
        with pytest.raises(WorkbenchError, match=r"cannot build index items_trgm on public\.items: .*no gin index"):
            engine.index_statement(schema, "items", gin)
    else:
        assert "USING gin" in engine.index_statement(schema, "items", gin)


def test_insert_seconds_leaves_rows_unchanged(engine: Engine):
    seconds = engine.insert_seconds("public.items", items(ROWS, 500))
    assert seconds > 0
    assert engine.row_counts()["public.items"] == ROWS
    assert engine.insert_seconds("items", items(ROWS, 10)) > 0  # a bare name works when unambiguous
    with pytest.raises(UnknownNameError):
        engine.insert_seconds("nope", items(ROWS, 10))
    with pytest.raises(WorkbenchError):  # duplicate keys: the insert fails, nothing is left behind
        engine.insert_seconds("items", items(0, 10))
    assert engine.row_counts()["public.items"] == ROWS


def test_server_times_see_a_query_after_it_ran(engine: Engine):
    assert engine.timed("SELECT count(*) FROM items WHERE price > 1").ok  # before the mark: not counted
    engine.mark_server_times()
    for price in (3, 4):
        assert engine.timed(f"SELECT count(*) FROM items WHERE price > {price}").ok
    times = engine.server_times()
    assert list(times.columns) == list(SERVER_TIMES)
    if engine.name == "duckdb":
        assert times.empty and engine.server_times_unavailable()
        return
    assert engine.server_times_unavailable() is None
    seen = times[times["query"].str.contains("FROM items WHERE price >", regex=False)]
    assert seen["calls"].tolist() == [2] and seen["mean_exec_ms"].iloc[0] > 0
    engine.mark_server_times({"pricey": "SELECT count(*) FROM items WHERE price > 9", "other": "SELECT 1"})
    for price in (5, 6, 7):
        assert engine.timed(f"SELECT count(*) FROM items WHERE price > {price}").ok
    named = engine.server_times()
    assert named[["query", "calls"]].values.tolist() == [["pricey", 3]]  # by query id: any constant


@pytest.mark.postgres
def test_url_sandbox_cannot_clone_and_refuses_writes_outside(pg_url: str, schema):
    with psycopg.connect(pg_url, autocommit=True) as user:
        user.execute("CREATE TABLE public.precious (id int)")
    with connect(pg_url) as engine:
        engine.load(schema, {"items": items(0, 50)}, progress=False)
        assert not engine.supports_clone
        with pytest.raises(WorkbenchError, match="cannot clone"):
            engine.clone()
        refused = engine.timed("DROP TABLE public.precious")
        assert refused.status == "error" and "refusing" in refused.error
        assert engine.timed("SELECT count(*) FROM items", timeout_s=5).rows == 1
        stored = engine.places(schema)["public.items"]  # in the sandbox namespace, not the user's public
        assert stored.db != "public"
        assert engine.query(exp.select("count(*)").from_(stored).sql("postgres")).iloc[0, 0] == 50
        engine.build_index(schema, "items", NAME_INDEX)
        built = engine.index_sizes().set_index("index")
        assert built.loc["items_name_idx", "table"] == "public.items"
        engine.drop_index(schema, "items", NAME_INDEX)
        assert "items_name_idx" not in set(engine.index_sizes()["index"])
        assert list(engine.server_times().columns) == list(SERVER_TIMES)
        for statement in ("VACUUM ANALYZE", "ANALYZE", "VACUUM public.precious", "CLUSTER", "CHECKPOINT",
                          "DISCARD ALL", "SELECT pg_stat_statements_reset()", "SELECT pg_stat_reset()",
                          "SELECT set_config('search_path', 'public', false)", "REINDEX DATABASE x",
                          "DO $$ BEGIN DELETE FROM public.precious; END $$",  # PL/pgSQL read by its own parser
                          "DO $$ BEGIN PERFORM pg_stat_statements_reset(); END $$",
                          "DO $$ BEGIN EXECUTE 'DELETE FROM ' || 'public.precious'; END $$",
                          "DO LANGUAGE plpython3u $$ plpy.execute('DELETE FROM public.precious') $$",
                          "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM "
                          "public.precious; RETURN NEW; END $$",  # a function's body is checked too
                          "ALTER SYSTEM SET work_mem = '1GB'", "CREATE ROLE intruder", "ALTER ROLE postgres NOLOGIN",
                          "GRANT SELECT ON items TO postgres", "ALTER TABLE items OWNER TO postgres"):
            with pytest.raises(WorkbenchError, match="refusing"):
                engine.execute(statement)
        engine.execute("VACUUM (ANALYZE) items")  # its own table, unqualified: allowed
        reader = f"{engine.role_prefix}reader"  # a role of its own: created, granted, adopted, dropped on close
        engine.execute(f"CREATE ROLE {reader} NOLOGIN; GRANT SELECT ON items TO {reader}")
        engine.adopt_roles([reader])
        engine.execute("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := "
                       "upper(NEW.name); RETURN NEW; END $$")
        engine.execute("DO $$ DECLARE n bigint; BEGIN LOOP UPDATE items SET name = name WHERE id < 0; "
                       "GET DIAGNOSTICS n = ROW_COUNT; EXIT WHEN n = 0; END LOOP; END $$")  # a batched backfill
    with psycopg.connect(pg_url, autocommit=True) as user:
        assert user.execute("SELECT count(*) FROM public.precious").fetchone() == (0,)
        assert user.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [reader]).fetchone() == (0,)


def test_duckdb_file_reconnect_reopens_the_file(tmp_path, schema):
    with connect(f"duckdb:{tmp_path / 'design.duckdb'}") as engine:
        engine.load(schema, {"items": items(0, 20)}, progress=False)
        engine.configure({"threads": "1"})
        engine.reconnect()
        assert engine.row_counts() == {"public.items": 20}
        assert engine.query("SELECT current_setting('threads') AS v")["v"].iloc[0] == 1
        assert engine.timed("SELECT * FROM items", timeout_s=5).rows == 20


@pytest.mark.postgres
def test_clone_names_the_other_sessions_and_keeps_the_engine_usable(pg_server, schema):
    with connect("postgres", server=pg_server) as engine:
        engine.load(schema, {"items": items(0, 10)}, progress=False)
        other = r"\d+ other session\(s\) are connected to the template"  # ours, and perhaps an autovacuum worker
        with pg_server.connect(engine.database), pytest.raises(WorkbenchError, match=other):
            engine.clone()
        assert engine.timed("SELECT * FROM items").rows == 10
