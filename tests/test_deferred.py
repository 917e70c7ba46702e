"""Keys built after the data (pg_dump's layout) and the deferred statements run on K connections."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pyarrow as pa
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from workbench.ddl import import_ddl
from workbench.ddl.export import to_ddl
from workbench.engines import connect
from workbench.engines.deferred import DeferredFailed, relations, run_deferred
from workbench.errors import WorkbenchError

DDL = """
CREATE TABLE parent (id int PRIMARY KEY, code text UNIQUE, name text);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id), qty int CHECK (qty > 0));
CREATE INDEX child_parent_idx ON child (parent_id);
CREATE VIEW named AS SELECT p.id, p.name, count(*) AS children FROM parent p JOIN child c ON c.parent_id = p.id
    GROUP BY p.id;
"""


@pytest.fixture
def schema():
    return import_ddl(DDL).schema


def test_keys_apart_writes_them_after_the_table_and_keeps_checks_inline(schema):
    statements = to_ddl(schema, "postgres", keys_apart=True).statements
    create = next(s for s in statements if s.startswith("CREATE TABLE public.child"))
    assert "PRIMARY KEY" not in create and "CHECK" in create
    assert any("ALTER TABLE public.child ADD CONSTRAINT" in s and "PRIMARY KEY (id)" in s for s in statements)
    assert any("UNIQUE (code)" in s and s.startswith("ALTER TABLE public.parent") for s in statements)
    inline = to_ddl(schema, "postgres").statements
    assert any("PRIMARY KEY" in s for s in inline if s.startswith("CREATE TABLE public.child"))


def test_relations_of_statements():
    assert relations("ALTER TABLE a.x ADD CONSTRAINT f FOREIGN KEY (p) REFERENCES a.y (id)", "postgres") == {"x", "y"}
    assert relations("CREATE INDEX i ON s.t (c)", "postgres") == {"i", "t"}
    assert relations("VACUUM", "postgres") is None  # unknown: runs alone


def test_a_statement_waits_for_earlier_ones_on_its_relations():
    log, lock = [], threading.Lock()

    @contextmanager
    def session():
        def run(statement: str) -> None:
            with lock:
                log.append(("start", statement))
            time.sleep(0.05)
            with lock:
                log.append(("end", statement))
        yield run

    statements = ["CREATE INDEX a1 ON a (x)", "CREATE INDEX b1 ON b (x)",
                  "ALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES a (x)", "CREATE INDEX b2 ON b (y)"]
    ran: list[str] = []
    run_deferred(statements, "postgres", 3, session, ran=ran.append, cancel=lambda: None)
    assert sorted(ran) == sorted(statements)
    position = {event: i for i, event in enumerate(log)}
    assert position[("end", statements[0])] < position[("start", statements[2])]  # the key waits for a
    assert position[("end", statements[1])] < position[("start", statements[3])]  # b2 waits for b1
    assert position[("start", statements[1])] < position[("end", statements[0])]  # a and b at once


def test_first_failure_stops_the_rest_and_only_what_ran_is_reported_done():
    @contextmanager
    def session():
        def run(statement: str) -> None:
            if "bad" in statement:
                raise RuntimeError("no")
        yield run

    statements = ["CREATE INDEX i1 ON t (x)", "CREATE INDEX bad ON t (y)", "CREATE INDEX i3 ON t (z)"]
    ran: list[str] = []
    with pytest.raises(DeferredFailed) as failed:
        run_deferred(statements, "postgres", 2, session, ran=ran.append, cancel=lambda: None)
    assert failed.value.number == 2 and failed.value.statement == statements[1]
    assert ran == statements[:1]  # what the engine drops from its pending statements; the rest stay


@pytest.mark.parametrize("jobs", [1, 2])
def test_load_builds_keys_indexes_and_views_after_the_data(pg_server, schema, jobs):
    data = {"parent": pa.table({"id": [1, 2], "code": ["a", "b"], "name": ["x", "y"]}),
            "child": pa.table({"id": [1, 2, 3], "parent_id": [1, 1, 2], "qty": [1, 2, 3]})}
    with connect("postgres", server=pg_server) as engine:
        engine.load(schema, data, progress=False, jobs=jobs)
        found = engine.query("SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u', 'f')"
                             " AND conrelid IN ('parent'::regclass, 'child'::regclass) ORDER BY 1")
        assert list(found.iloc[:, 0]) == ["child_parent_id_fkey", "child_pkey", "parent_code_key", "parent_pkey"]
        assert engine.query("SELECT children FROM named ORDER BY id").iloc[:, 0].tolist() == [2, 1]
        assert engine.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'child_parent_idx'").iloc[0, 0] == 1


@pytest.mark.parametrize("jobs", [1, 2])
def test_duplicate_key_in_the_data_fails_naming_the_key_and_keeps_what_is_left(pg_server, schema, jobs):
    data = {"parent": pa.table({"id": [1, 1], "code": ["a", "b"], "name": ["x", "y"]}),
            "child": pa.table({"id": [1], "parent_id": [1], "qty": [1]})}
    with connect("postgres", server=pg_server) as engine:
        with pytest.raises(WorkbenchError, match=r"(?s)parent_pkey.*Key \(id\)=\(1\) is duplicated.*PRIMARY KEY"):
            engine.load(schema, data, progress=False, jobs=jobs)
        assert engine._pending  # nothing silently dropped: finish() runs them again


def test_parallel_load_into_tables_with_their_keys_waits_for_the_parents_commit(pg_server, schema):
    data = {"parent": pa.table({"id": list(range(1, 50_001)), "code": [f"c{i}" for i in range(50_000)],
                                "name": ["x"] * 50_000}),
            "child": pa.table({"id": [1, 2, 3], "parent_id": [1, 49_999, 50_000], "qty": [1, 2, 3]})}
    with connect("postgres", server=pg_server) as engine:
        engine.create_schema(schema)  # keys in place: a child row copied before its parent commits is refused
        engine.load(schema, data, progress=False, jobs=2)
        assert engine.row_counts() == {"public.parent": 50_000, "public.child": 3}


def test_a_server_refusing_more_connections_fails_before_any_copy_and_names_jobs_1(pg_server, pg_url, schema):
    data = {"parent": pa.table({"id": [1, 2], "code": ["a", "b"], "name": ["x", "y"]}),
            "child": pa.table({"id": [1], "parent_id": [1], "qty": [1]})}
    database = conninfo_to_dict(pg_url)["dbname"]
    with pg_server.connect(database) as admin:
        admin.execute("CREATE ROLE wb_one_connection LOGIN CONNECTION LIMIT 1")
        admin.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO wb_one_connection").format(sql.Identifier(database)))
        try:
            with connect(make_conninfo(pg_url, user="wb_one_connection")) as engine:
                with pytest.raises(WorkbenchError, match=r"(?s)too many connections.*jobs=1"):
                    engine.load(schema, data, progress=False, jobs=2)
                assert engine.load_status().empty and not any(engine.row_counts().values())
                engine.load(schema, data, progress=False, jobs=1)
                assert engine.row_counts() == {"public.parent": 2, "public.child": 1}
        finally:
            admin.execute("DROP OWNED BY wb_one_connection")
            admin.execute("DROP ROLE wb_one_connection")
