"""The engine contract: one suite run against DuckDB and a real PostgreSQL, plus the URL sandbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pyarrow as pa
import pytest
from psycopg.conninfo import conninfo_to_dict

from workbench.ddl import import_ddl
from workbench.engines.base import Engine, LoadInterrupted
from workbench.engines.connect import connect
from workbench.engines.pgserver import Server
from workbench.errors import UnknownNameError, WorkbenchError

DDL = """
CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL UNIQUE, name text);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    total numeric(10, 2),
    created date
);
CREATE INDEX orders_customer ON orders (customer_id);
"""
INDEXES = {  # each engine's own catalog, to check the deferred index really was built
    "duckdb": "SELECT index_name FROM duckdb_indexes()",
    "postgres": "SELECT indexname AS index_name FROM pg_indexes WHERE schemaname <> 'pg_catalog'",
}
PASSWORD = "s3cret-Pa55"


@pytest.fixture(scope="module")
def schema():
    return import_ddl(DDL).schema


def customers() -> pa.Table:
    return pa.table({"id": pa.array([1, 2, 3], pa.int32()), "email": ["a@x.org", "b@x.org", "c@x.org"],
                     "name": ["Ann", None, "Cy"]})


def orders(customer_ids: list[int | None] | None = None) -> pa.Table:
    return pa.table({
        "id": pa.array([10, 11, 12, 13], pa.int64()),
        "customer_id": pa.array(customer_ids or [1, 1, 2, 3], pa.int32()),
        "total": pa.array([1.5, 20.0, 3.25, 4.0]),
        "created": pa.array([None, 18000, 18001, 18002], pa.date32()),
    })


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request) -> Iterator[Engine]:
    if request.param == "duckdb":
        engine = connect("duckdb")
    else:
        engine = connect("postgres", server=request.getfixturevalue("pg_server"))
    with engine:
        yield engine


@pytest.fixture
def loaded(engine: Engine, schema) -> Engine:
    report = engine.load(schema, {"customers": customers(), "orders": orders()}, progress=False)
    assert report.rows == 7 and [t.table for t in report.tables] == ["public.customers", "public.orders"]
    assert report.to_frame()["rows"].tolist() == [3, 4]
    return engine


def test_load_counts_rows_and_builds_keys_and_indexes_after(loaded: Engine):
    assert loaded.row_counts() == {"public.customers": 3, "public.orders": 4}
    assert "orders_customer" in loaded.query(INDEXES[loaded.name])["index_name"].tolist()
    with pytest.raises(WorkbenchError, match=r"(?i)foreign key"):
        loaded.execute("INSERT INTO orders (id, customer_id) VALUES (99, 42)")
    with pytest.raises(WorkbenchError, match=r"(?i)duplicate|unique"):
        loaded.execute("INSERT INTO customers (id, email) VALUES (4, 'a@x.org')")
    status = loaded.load_status().sort_values("table_key")  # by time: tables load at once on PostgreSQL
    assert status[["table_key", "rows", "status"]].values.tolist() == [
        ["public.customers", 3, "complete"], ["public.orders", 4, "complete"]]


def test_query_with_portable_named_params(loaded: Engine):
    frame = loaded.query("SELECT id, name FROM customers WHERE id >= :low AND email LIKE '%x.org' "
                         "AND id <> :low + 1 ORDER BY id", {"low": 1})
    assert frame["id"].tolist() == [1, 3] and list(frame.columns) == ["id", "name"]
    with pytest.raises(WorkbenchError, match="no value for parameter"):
        loaded.query("SELECT * FROM customers WHERE id = :missing", {"other": 1})


def test_explain_with_and_without_analyze(loaded: Engine):
    plan = loaded.explain("SELECT * FROM orders WHERE customer_id = 1")
    assert "orders" in json.dumps(plan)
    analyzed = loaded.explain("SELECT * FROM orders WHERE customer_id = 1", analyze=True)
    text = json.dumps(analyzed)
    assert "orders" in text and ('"Actual Rows"' if loaded.name == "postgres" else '"timing"') in text
    loaded.explain("DELETE FROM orders", analyze=True)  # runs, then is rolled back
    assert loaded.row_counts()["public.orders"] == 4


def test_table_sizes_version_settings(loaded: Engine):
    sizes = loaded.table_sizes().set_index("table")
    assert list(sizes.columns) == ["rows", "table_bytes", "index_bytes"]
    assert sizes["rows"].to_dict() == {"public.customers": 3, "public.orders": 4}
    if loaded.supports_sizes:
        assert (sizes["table_bytes"] > 0).all() and (sizes["index_bytes"] > 0).all()
    assert loaded.version[0].isdigit()
    assert len(loaded.settings()) > 20


@pytest.mark.parametrize("bad", [
    pytest.param(lambda: orders([1, None, 2, 3]), id="not-null-violation"),
    pytest.param(lambda: orders().set_column(1, "customer_id", pa.array(["1", "x", "2", "3"])), id="wrong-type"),
])
def test_interrupted_load_leaves_earlier_tables_complete(engine: Engine, schema, bad):
    with pytest.raises(LoadInterrupted, match=r"'public\.orders'") as caught:
        engine.load(schema, {"customers": customers(), "orders": bad()}, progress=False)
    assert caught.value.complete == ["public.customers"] and caught.value.total == 4
    assert "rolled back" in str(caught.value)
    assert engine.row_counts() == {"public.customers": 3, "public.orders": 0}
    status = engine.load_status().sort_values("table_key")  # by time: a parallel load's orders may fail first
    assert status[["table_key", "status"]].values.tolist() == [
        ["public.customers", "complete"], ["public.orders", "failed"]]


def test_temporal_and_numeric_values_round_trip(engine: Engine):
    schema = import_ddl("CREATE TABLE t (k int, d date, ts timestamp, tz timestamptz, n numeric(8, 2))").schema
    data = pa.table({
        "k": pa.array([1, 2, 3], pa.int32()),
        "d": pa.array([dt.date(1999, 12, 31), dt.date(2024, 2, 29), None]),
        "ts": pa.array([dt.datetime(1970, 1, 1, 0, 0, 0, 1), dt.datetime(2024, 2, 29, 13, 14, 15, 123456), None],
                       pa.timestamp("ns")),
        "tz": pa.array([dt.datetime(1960, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 2, 29, 13, 14, 15, tzinfo=dt.UTC),
                        None], pa.timestamp("s", tz="Europe/Paris")),
        "n": pa.array([1, 2, None]),
    })
    report = engine.load(schema, {"t": data}, progress=False)
    if engine.name == "postgres":
        assert report.tables[0].method == "copy binary"  # dates and timestamps take the fast path
    engine.execute("SET TimeZone = 'UTC'")
    rows = engine.query("SELECT CAST(d AS TEXT) AS d, CAST(ts AS TEXT) AS ts, CAST(tz AS TEXT) AS tz, "
                        "CAST(n AS INTEGER) AS n FROM t ORDER BY k")
    assert rows.values.tolist()[:2] == [
        ["1999-12-31", "1970-01-01 00:00:00.000001", "1960-01-01 00:00:00+00", 1],
        ["2024-02-29", "2024-02-29 13:14:15.123456", "2024-02-29 13:14:15+00", 2]]
    assert rows.iloc[2].isna().all()


def test_create_schema_with_constraints_then_load(engine: Engine, schema):
    notes = engine.create_schema(schema)
    assert notes == [] and "orders_customer" in engine.query(INDEXES[engine.name])["index_name"].tolist()
    engine.load(schema, {"customers": customers(), "orders": orders()}, progress=False)
    assert engine.row_counts() == {"public.customers": 3, "public.orders": 4}


def test_load_rejects_unknown_columns(engine: Engine, schema):
    with pytest.raises(UnknownNameError, match="emial"):
        engine.load(schema, {"customers": customers().rename_columns(["id", "emial", "name"])}, progress=False)


def test_duckdb_file_is_kept_and_sized(tmp_path, schema):
    path = tmp_path / "design.duckdb"
    with connect(f"duckdb:{path}") as engine:
        engine.load(schema, {"customers": customers(), "orders": orders()}, progress=False)
        assert (engine.table_sizes()["table_bytes"] > 0).all()
    with connect(f"duckdb:{path}") as engine:
        assert engine.row_counts() == {"customers": 3, "orders": 4}  # model keys are not stored in the file


def test_unknown_target_suggests_and_lists_forms():
    with pytest.raises(UnknownNameError, match="did you mean 'duckdb'") as caught:
        connect("duckbd")
    assert "postgresql://USER:PASSWORD@HOST:PORT/DB" in str(caught.value)
    with pytest.raises(UnknownNameError) as caught:
        connect(f"postgresq://me:{PASSWORD}@db.example/x")
    assert PASSWORD not in str(caught.value)


def test_unreachable_server_names_host_port_not_password():
    with pytest.raises(WorkbenchError) as caught:
        connect(f"postgresql://nobody:{PASSWORD}@127.0.0.1:1/db")
    message = str(caught.value)
    assert "host=127.0.0.1" in message and "port=1" in message and PASSWORD not in message


def _url_with_password(conninfo: str) -> tuple[str, str]:
    parts = conninfo_to_dict(conninfo)
    password = parts.get("password") or PASSWORD  # the embedded server trusts local users: any password works
    url = (f"postgresql://{quote(parts['user'])}:{quote(password)}@/{quote(parts['dbname'])}"
           f"?host={quote(parts['host'], safe='')}&port={parts.get('port', 5432)}")
    return url, password


@pytest.mark.postgres
def test_url_target_works_only_in_its_sandbox(pg_url: str):
    with psycopg.connect(pg_url, autocommit=True) as user:
        user.execute("CREATE TABLE public.precious (id int PRIMARY KEY, note text)")
        user.execute("INSERT INTO public.precious VALUES (1, 'keep me')")
    url, password = _url_with_password(pg_url)
    namespaced = import_ddl(DDL + "CREATE SCHEMA sales; CREATE TABLE sales.regions (id int PRIMARY KEY, name text);"
                            "CREATE TABLE precious (id int PRIMARY KEY);").schema
    engine = connect(url)
    sandbox = engine.sandbox
    assert sandbox.startswith("workbench_")
    engine.load(namespaced, {"customers": customers(), "orders": orders(),
                             "sales.regions": pa.table({"id": [1], "name": ["north"]}),
                             "public.precious": pa.table({"id": [7]})}, progress=False)
    assert engine.row_counts() == {"public.customers": 3, "public.orders": 4, "sales.regions": 1,
                                   "public.precious": 1}
    for statement in ("DROP TABLE public.precious", "DELETE FROM public.precious", "DROP SCHEMA public CASCADE",
                      "SET search_path TO public", "CREATE TABLE public.intruder (a int)"):
        with pytest.raises(WorkbenchError, match="refusing") as caught:
            engine.execute(statement)
        assert password not in str(caught.value)
    engine.execute("DELETE FROM precious")  # unqualified: the sandbox's own table
    with pytest.raises(WorkbenchError) as caught:
        engine.query("SELECT * FROM no_such_table")
    assert "no_such_table" in str(caught.value) and password not in str(caught.value)
    for shown in (repr(engine), str(engine)):
        assert sandbox in shown and password not in shown
    engine.close()
    engine.close()  # idempotent
    with psycopg.connect(pg_url, autocommit=True) as user:
        assert user.execute("SELECT * FROM public.precious").fetchall() == [(1, "keep me")]
        left = user.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'workbench%'").fetchall()
        assert left == []
    with pytest.raises(WorkbenchError, match="closed"):
        engine.query("SELECT 1")


@pytest.mark.postgres
def test_embedded_target_drops_its_database(pg_server: Server):
    engine = connect("postgres", server=pg_server)
    database = engine.database
    with pg_server.connect() as admin:
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchall()
    engine.close()
    with pg_server.connect() as admin:
        assert not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchall()


def test_enum_columns_load_and_read_back(engine: Engine):
    schema = import_ddl("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');\n"
                        "CREATE TABLE m (k int PRIMARY KEY, feeling mood NOT NULL)").schema
    data = pa.table({"k": pa.array([1, 2, 3], pa.int32()), "feeling": ["happy", "sad", "ok"]})
    report = engine.load(schema, {"m": data}, progress=False)
    if engine.name == "postgres":
        assert report.tables[0].method == "copy binary"  # an enum's binary form is its label's text
    rows = engine.query("SELECT k, CAST(feeling AS TEXT) AS label FROM m ORDER BY feeling")  # enum order
    assert rows.values.tolist() == [[2, "sad"], [3, "ok"], [1, "happy"]]


def test_a_pg_dump_domain_loads_into_a_sandbox_on_a_url(pg_url: str):
    """Sequences owned by ``public`` tables move into the sandbox with them (the guard refuses ``public``)."""
    from workbench.domains import domain

    shop = domain("ecommerce")
    with connect(pg_url) as engine:
        shop.load(engine, "ci", seed=1, progress=False)
        assert engine.sandbox and engine.row_counts()["public.orders"] > 0
        owned = engine.query("SELECT count(*) AS n FROM pg_depend d JOIN pg_class s ON s.oid = d.objid "
                             "JOIN pg_namespace n ON n.oid = s.relnamespace "
                             "WHERE s.relkind = 'S' AND d.deptype = 'a' AND n.nspname = current_schema()")
        assert owned["n"][0] > 0
