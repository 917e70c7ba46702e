"""`workbench diff` and `workbench migrate`: the JSON shapes later checks rely on, scripts, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.cli import main

DATASETS = Path(__file__).resolve().parents[1] / "datasets" / "ecommerce"
V1, V2 = DATASETS / "schema.sql", DATASETS / "schema_v2.sql"


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_diff_json(capsys):
    code, out, _ = run(capsys, "diff", V1, V2, "--json")
    document = json.loads(out)
    assert code == 0
    assert {"kind": "rename column", "object": "public.orders.amount", "detail": "total -> amount"} in \
        document["changes"]
    rename = document["renames"][0]
    assert set(rename) == {"kind", "old", "new", "confidence", "applied"} and rename["applied"]


def test_diff_text_with_a_hint(capsys):
    code, out, err = run(capsys, "diff", V1, V2, "--rename", "orders.total=orders.amount")
    assert code == 0 and "100%, applied (hint)" in out and "outside the schema model" in err


def test_migrate_writes_both_scripts(capsys, tmp_path: Path):
    up, down = tmp_path / "up.sql", tmp_path / "down.sql"
    code, out, _ = run(capsys, "migrate", V1, V2, "--safe", "-o", up, "--down", down)
    assert code == 0 and out == ""
    assert "CREATE INDEX CONCURRENTLY" in up.read_text() and "DROP INDEX CONCURRENTLY" in down.read_text()
    code, out, _ = run(capsys, "migrate", V1, V2, "--json")
    document = json.loads(out)
    assert document["complete"] and {"changes", "renames", "up", "down"} <= set(document)


def test_missing_file(capsys):
    code, _, err = run(capsys, "diff", "nope.sql", V2)
    assert code == 2 and "nope.sql: no such file" in err


def test_unparseable_file_names_file_and_line(capsys, tmp_path: Path):
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE t (id int);\nCREATE TABLE u (id int,,);\n")
    code, _, err = run(capsys, "diff", V1, broken)
    assert code == 2 and f"{broken}:2" in err and "did not import cleanly" in err


def test_two_dialects(capsys, tmp_path: Path):
    mysql = tmp_path / "shop.mysql.sql"
    mysql.write_text("CREATE TABLE orders (order_id BIGINT PRIMARY KEY) ENGINE=InnoDB;\n")
    code, _, err = run(capsys, "diff", V1, mysql, "--new-from", "mysql")
    assert code == 2 and "different dialects (old: postgres, new: mysql)" in err


def test_a_target_that_cannot_do_it_writes_nothing(capsys, tmp_path: Path):
    up = tmp_path / "up.sql"
    code, out, err = run(capsys, "migrate", V1, V2, "--dialect", "duckdb", "-o", up)
    assert code == 2 and not up.exists() and out == ""
    assert "cannot reach its schema in duckdb" in err and "DuckDB cannot run" in err


def test_unreachable_url_hides_the_password(capsys):
    code, _, err = run(capsys, "diff", "postgresql://me:s3cret@127.0.0.1:9/shop", V2)
    assert code == 2 and "cannot connect to PostgreSQL at host=127.0.0.1" in err and "s3cret" not in err


def test_verify_needs_an_engine(capsys):
    code, _, err = run(capsys, "migrate", V1, V2, "--verify")
    assert code == 2 and "--engine postgres" in err


def test_an_unknown_rename_hint(capsys):
    code, _, err = run(capsys, "diff", V1, V2, "--rename", "orders.totl=orders.amount")
    assert code == 2 and "did you mean" in err
    code, _, err = run(capsys, "diff", V1, V2, "--rename", "orders.total")
    assert code == 2 and "write OLD=NEW" in err


@pytest.mark.postgres
def test_migrate_verify_and_measure_on_postgres(capsys, pg_server):
    code, out, _ = run(capsys, "migrate", V1, V2, "--verify", "--measure", "--engine", "postgres", "--scale", "ci",
                       "--json")
    document = json.loads(out)
    assert code == 0 and document["verify"]["ok"] and document["verify"]["rows_checked"] > 1000
    assert {"statement", "observed_lock", "rewrote", "blocked_ms"} <= set(document["measure"][0])


@pytest.mark.postgres
def test_migrate_from_a_live_database(capsys, pg_url: str):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE customers (customer_id integer PRIMARY KEY, email text NOT NULL)")
    code, out, _ = run(capsys, "diff", pg_url, V2, "--json")
    assert code == 0
    created = {c["object"] for c in json.loads(out)["changes"] if c["kind"] == "create table"}
    assert "public.orders" in created and "public.customers" not in created
    with psycopg.connect(pg_url) as connection:
        tables = connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert tables == 1, "the live database is only read"
