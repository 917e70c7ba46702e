"""Every `workbench` command runs from ``main([...])`` on small inputs; bad input exits 2 with a clear message."""

from __future__ import annotations

import argparse
import json

import pytest

from workbench.cli import build_parser, main

DDL = """
CREATE TABLE customers (customer_id integer PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE orders (
    order_id bigint PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (customer_id),
    total numeric(10,2)
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
"""
COMMANDS = ("inspect", "ddl", "er", "datasets", "load")


@pytest.fixture
def ddl_file(tmp_path):
    path = tmp_path / "shop.sql"
    path.write_text(DDL, encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def subcommands() -> dict[str, argparse.Action]:
    """Each subcommand's entry in `workbench --help` (the action holding its help string), by name."""
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    entries = {entry.dest: entry for entry in action._choices_actions}
    assert set(entries) == set(action.choices), "a subcommand is registered without help"
    return entries


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    listed = capsys.readouterr().out
    for command in COMMANDS:
        assert command in listed


def test_every_subcommand_has_a_help_string():
    entries = subcommands()
    assert set(COMMANDS) <= set(entries)
    for name, entry in entries.items():
        assert entry.help and entry.help.strip(), f"`workbench {name}` has no help string"


def test_every_subcommand_prints_its_own_help(capsys):
    for name in subcommands():
        with pytest.raises(SystemExit) as exited:
            main([name, "--help"])
        assert exited.value.code == 0
        assert f"workbench {name}" in capsys.readouterr().out


def test_inspect_text_and_json(capsys, ddl_file):
    code, out, _ = run(capsys, "inspect", ddl_file)
    assert code == 0
    assert "customers: 2 columns, PK (customer_id), 0 FKs" in out and "orders: 3 columns, PK (order_id), 1 FKs" in out
    code, out, _ = run(capsys, "inspect", ddl_file, "--json")
    document = json.loads(out)
    assert code == 0 and [t["name"] for t in document["tables"]] == ["customers", "orders"]
    orders = document["tables"][1]
    assert orders["foreign_keys"][0]["ref_table"] == "customers" and orders["indexes"][0]["columns"] == ["customer_id"]


def test_ddl_translates_to_stdout_or_a_file(capsys, ddl_file, tmp_path):
    code, out, _ = run(capsys, "ddl", ddl_file, "--to", "sqlite")
    assert code == 0 and "CREATE TABLE" in out and "orders_customer_idx" in out
    target = tmp_path / "shop.duckdb.sql"
    code, out, _ = run(capsys, "ddl", ddl_file, "--to", "duckdb", "-o", target)
    assert code == 0 and out == "" and "REFERENCES" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize(("suffix", "start"), [(".svg", "<"), (".mmd", "erDiagram"), (".dbml", "Table")])
def test_er_writes_the_diagram(capsys, ddl_file, tmp_path, suffix, start):
    target = tmp_path / f"shop{suffix}"
    code, out, _ = run(capsys, "er", ddl_file, "-o", target)
    assert code == 0 and out.startswith(f"wrote {target}")
    text = target.read_text(encoding="utf-8")
    assert text.lstrip().startswith(start) and "orders" in text


def test_datasets_lists_the_sample_domains(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"ecommerce", "multitenant", "notifications", "timeseries"} <= set(names)


def test_load_into_duckdb_memory_and_file(capsys, tmp_path):
    code, out, _ = run(capsys, "load", "ecommerce", "--quiet")
    assert code == 0 and "ecommerce at scale ci (seed 0)" in out
    assert " 1,000" in next(line for line in out.splitlines() if "public.orders" in line)
    assert "use --engine duckdb:PATH" in out.splitlines()[-1]  # an in-memory database is gone on exit
    database = tmp_path / "shop.duckdb"
    code, out, _ = run(capsys, "load", "ecommerce", "--engine", f"duckdb:{database}", "--scale", "0.0005", "--quiet")
    assert code == 0 and database.is_file() and "keeps the data only while" not in out
    assert "note: public.categories.categories_parent_id_fkey: DuckDB checks a key" in out  # said, not dropped
    assert " 500" in next(line for line in out.splitlines() if "public.orders" in line)  # a multiplier works


def test_load_into_embedded_postgres_says_the_database_is_temporary(capsys, pg_server):
    code, out, _ = run(capsys, "load", "notifications", "--engine", "postgres", "--quiet")
    assert code == 0 and "PostgresEngine" in out
    assert out.splitlines()[-1].startswith("note: postgres keeps the data only while this command runs")


@pytest.mark.parametrize(("argv", "message"), [
    (["inspect", "no/such/file.sql"], "no/such/file.sql: no such DDL file"),
    (["ddl", "no/such/file.sql", "--to", "duckdb"], "no such DDL file"),
    (["er", "no/such/file.sql", "-o", "x.svg"], "no such DDL file"),
    (["load", "ecommerce", "--engine", "oracle"], "unknown engine target 'oracle'"),
    (["load", "ecommerse"], "unknown dataset 'ecommerse'"),
    (["load", "ecommerce", "--scale", "hueg"], "unknown scale 'hueg'"),
])
def test_bad_input_exits_2_with_a_clear_message(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err


def test_bad_dialect_exits_2(capsys, ddl_file):
    code, _, err = run(capsys, "ddl", ddl_file, "--to", "cobol")
    assert code == 2 and "cobol" in err


def test_missing_required_argument_is_a_usage_error(capsys, ddl_file):
    with pytest.raises(SystemExit) as exited:
        main(["ddl", str(ddl_file)])
    assert exited.value.code == 2 and "--to" in capsys.readouterr().err
