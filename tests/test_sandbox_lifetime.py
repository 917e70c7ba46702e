"""What a PostgreSQL engine creates, marks, keeps and drops; extension functions a server lacks."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pyarrow as pa
import pytest
from psycopg import sql

from workbench.ddl import import_ddl
from workbench.engines import markers
from workbench.engines.connect import connect
from workbench.errors import WorkbenchError

pytestmark = pytest.mark.postgres
NAMESPACED = ("CREATE TABLE items (id serial PRIMARY KEY, label text);"
              "CREATE SCHEMA sales; CREATE TABLE sales.regions (id int PRIMARY KEY, name text);")


def schemas_of(pg_url: str) -> dict[str, markers.Mark | None]:
    with psycopg.connect(pg_url, autocommit=True) as connection:
        rows = connection.execute("SELECT nspname, obj_description(oid, 'pg_namespace') FROM pg_namespace "
                                  "WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'").fetchall()
    return {name: markers.Mark.read(comment) for name, comment in rows}


def schema_sandboxes(connection: psycopg.Connection) -> list[markers.Sandbox]:
    """The marked schemas of the test's database (the server also holds marked test databases)."""
    return [s for s in markers.sandboxes(connection) if s.kind == "schema"]


def test_every_sandbox_schema_is_marked_and_dropped_with_what_it_owns(pg_url: str):
    schema = import_ddl(NAMESPACED).schema
    with connect(pg_url) as engine:
        role = f"{engine.sandbox}_reader"
        engine.load(schema, {"public.items": pa.table({"id": [1, 2], "label": ["a", "b"]}),
                             "sales.regions": pa.table({"id": [1], "name": ["north"]})}, progress=False)
        found = schemas_of(pg_url)
        mark = found[engine.sandbox]
        assert mark.pid == os.getpid() and mark.hostname == socket.gethostname() and mark.state() == "running"
        assert found[f"{engine.sandbox}_sales"].part_of == engine.sandbox
        with engine.server.connect() as admin:
            admin.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
        engine.own("role", role)
        assert schemas_of(pg_url)[engine.sandbox].owns == (("role", role),)
        engine.execute("INSERT INTO items (label) VALUES ('c')")  # the serial was set past the loaded ids
        with pytest.raises(WorkbenchError, match="kind of owned object"):
            engine.own("tablespace", "x")
    assert [name for name, mark in schemas_of(pg_url).items() if mark] == []
    with psycopg.connect(pg_url, autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [role]).fetchone() == (0,)


def test_a_stale_sandbox_is_dropped_with_its_namespaces_and_roles(pg_url: str):
    engine = connect(pg_url)
    engine.create_schema(import_ddl(NAMESPACED).schema)
    role = f"{engine.sandbox}_app"
    with engine.server.connect() as admin:
        admin.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
    engine.own("role", role)
    with psycopg.connect(pg_url, autocommit=True) as connection:
        (found,) = schema_sandboxes(connection)
        assert found.parts == (f"{engine.sandbox}_sales",) and found.bytes is not None
        markers.drop(connection, found)  # as `workbench sandboxes --drop-stale` does after a kill
        assert connection.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [role]).fetchone() == (0,)
    assert not any(schemas_of(pg_url).values())
    engine.close()  # its schemas are gone already: closing still works


def test_a_mark_is_stale_when_its_process_is_gone_or_it_is_old_elsewhere():
    here = markers.Mark.here()
    assert here.state() == "running" and replace(here, kept=True).state() == "kept"
    assert replace(here, pid=2 ** 22 + 7).state() == "stale"  # no such process
    old = (datetime.now(UTC) - timedelta(hours=30)).isoformat(timespec="seconds")
    assert replace(here, hostname="elsewhere", started_at=old).state() == "stale"
    assert replace(here, hostname="elsewhere").state() == "running"
    assert markers.Mark.read(here.json()) == here and markers.Mark.read("a comment of the user's") is None


def test_a_named_sandbox_refuses_schemas_it_did_not_create(pg_url: str):
    with psycopg.connect(pg_url, autocommit=True) as user:
        user.execute("CREATE SCHEMA shop_sales")  # the user's, named as the sandbox's namespace would be
        user.execute("CREATE SCHEMA shop_other")
        user.execute("CREATE TABLE shop_other.t (a int)")
    with connect(pg_url, schema="shop") as engine:
        with pytest.raises(WorkbenchError, match=r"'shop_sales' already exists .* the workbench did not create it"):
            engine.create_schema(import_ddl(NAMESPACED).schema)
        with pytest.raises(WorkbenchError, match="refusing"):  # a prefix is not ownership
            engine.execute("DROP TABLE shop_other.t")
    with pytest.raises(WorkbenchError, match="'shop_other' already exists"):
        connect(pg_url, schema="shop_other")
    assert set(schemas_of(pg_url)) >= {"shop_sales", "shop_other"} and "shop" not in schemas_of(pg_url)


def test_a_kept_sandbox_stays_after_close_marked_as_kept(pg_url: str):
    schema = import_ddl(NAMESPACED).schema
    with connect(pg_url, schema="kept") as engine:
        engine.load(schema, {"public.items": pa.table({"id": [1], "label": ["a"]})}, progress=False)
        engine.keep()
    with psycopg.connect(pg_url, autocommit=True) as connection:
        assert connection.execute("SELECT label FROM kept.items").fetchall() == [("a",)]
        (found,) = schema_sandboxes(connection)
        assert found.name == "kept" and found.state() == "kept" and found.parts == ("kept_sales",)
        markers.drop(connection, markers.find(connection, "kept"))
        with pytest.raises(WorkbenchError, match="did not create it"):
            markers.find(connection, "public")
    assert "kept" not in schemas_of(pg_url)


UUID_DDL = """CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE person (id int PRIMARY KEY, rowguid uuid NOT NULL DEFAULT public.uuid_generate_v4(),
                     CHECK (rowguid <> '00000000-0000-0000-0000-000000000000'));"""


def test_a_function_of_a_missing_extension_is_replaced_with_a_note_or_refused(pg_server):
    schema = import_ddl(UUID_DDL).schema  # AdventureWorks' pattern; the embedded server has no uuid-ossp
    with connect("postgres", server=pg_server) as engine:
        person = pa.table({"id": [1], "rowguid": ["5b0f2a34-8c1e-4c39-9a51-0d2b1f0e8a11"]})
        report = engine.load(schema, {"person": person}, progress=False)
        (note,) = [n for n in report.notes if n.construct == "extension function"]
        assert "uuid_generate_v4() is replaced by gen_random_uuid()" in note.message and "uuid-ossp" in note.message
        engine.execute("INSERT INTO person (id) VALUES (2)")
        assert engine.query("SELECT count(DISTINCT rowguid) AS n FROM person")["n"][0] == 2
    hashed = import_ddl("CREATE TABLE t (id uuid DEFAULT uuid_generate_v5(uuid_nil(), 'x'));").schema
    with connect("postgres", server=pg_server) as engine, \
            pytest.raises(WorkbenchError, match=r"uuid_generate_v5.*uuid-ossp.*no built-in equivalent"):
        engine.create_schema(hashed)
