"""Design lint: every rule fires on a small positive example and stays silent on a negative one;
rule selection, custom rules, findings as frame/JSON/HTML, data rules on DuckDB, plans on PostgreSQL, the CLI."""

from __future__ import annotations

import doctest
import importlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

from workbench.advisor import RULES, Findings, Flag, Naming, lint, rule
from workbench.cli import main
from workbench.ddl import import_ddl
from workbench.domains import domain, domains
from workbench.engines import connect
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.security import SECURITY_RULES
from workbench.workload import Workload

DATASETS = Path(__file__).resolve().parent.parent / "datasets"
PARENT = "CREATE TABLE p (id int PRIMARY KEY); "

# rule code -> (DDL where it fires, DDL where it does not), each linted on its own (schema rules only)
SCHEMA_CASES = {
    "WB101": ("CREATE TABLE t (a int, b text);", "CREATE TABLE t (a int PRIMARY KEY, b text);"),
    "WB102": (PARENT + "CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p (id));",
              PARENT + "CREATE TABLE c (id int, p_id int REFERENCES p (id), PRIMARY KEY (p_id, id));"),
    "WB103": ("CREATE TABLE t (id int PRIMARY KEY, a int); CREATE INDEX t_a ON t (a); CREATE INDEX t_a2 ON t (a);",
              "CREATE TABLE t (id int PRIMARY KEY, a int); CREATE INDEX t_a ON t (a); "
              "CREATE INDEX t_a2 ON t (a) WHERE a > 0;"),
    "WB104": ("CREATE TABLE t (a int, b int, PRIMARY KEY (a, b)); CREATE INDEX t_a ON t (a);",
              "CREATE TABLE t (a int, b int, PRIMARY KEY (a, b)); CREATE INDEX t_b ON t (b); "
              "CREATE UNIQUE INDEX t_a ON t (a);"),
    "WB105": ("CREATE TABLE t (id int PRIMARY KEY, unit_price double precision);",
              "CREATE TABLE t (id int PRIMARY KEY, unit_price numeric(10,2), latitude double precision);"),
    "WB106": ("CREATE TABLE t (id int PRIMARY KEY, created_at timestamp);",
              "CREATE TABLE t (id int PRIMARY KEY, created_at timestamptz, day date);"),
    "WB107": ("CREATE TABLE t (id int PRIMARY KEY, phone1 text, phone2 text, phone3 text);",
              "CREATE TABLE t (id int PRIMARY KEY, address text, address2 text, ipv4 text, ipv6 text);"),
    "WB108": ("CREATE TABLE t (id int PRIMARY KEY, owner_type text, owner_id int);",
              PARENT + "CREATE TABLE t (id int PRIMARY KEY, owner_type text, owner_id int REFERENCES p (id)); "
              "CREATE TABLE media (id int PRIMARY KEY, media_type text, media_id text UNIQUE); "
              "CREATE TABLE rooms (room_id int PRIMARY KEY); "
              "CREATE TABLE stats (id int PRIMARY KEY, room_type text, room_id int);"),
    "WB112": ('CREATE TABLE "Orders" (id int PRIMARY KEY, customer_id int, "order" int);',
              "CREATE TABLE orders (id int PRIMARY KEY, customer_id int, placed_on date);"),
}


def codes(findings: Findings) -> list[str]:
    return [f.code for f in findings]


@pytest.mark.parametrize("code", sorted(SCHEMA_CASES))
def test_schema_rule_fires_on_positive_and_not_on_negative(code):
    positive, negative = SCHEMA_CASES[code]
    assert code in codes(lint(import_ddl(positive).schema)), positive
    assert code not in codes(lint(import_ddl(negative).schema)), negative


@pytest.mark.parametrize("rule_", (*RULES, *SECURITY_RULES), ids=lambda r: r.code)
def test_every_rule_is_documented_with_a_runnable_example(rule_):
    module = importlib.import_module(rule_.check.__module__)
    tests = doctest.DocTestFinder().find(rule_.check, rule_.code, globs=vars(module).copy())
    assert tests and tests[0].examples, f"{rule_.id} has no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert rule_.severity in ("error", "warning", "info") and rule_.doc


def test_rule_ids_are_unique():
    every = (*RULES, *SECURITY_RULES)
    assert len({r.code for r in every}) == len({r.name for r in every}) == len(every)


def test_tenant_rule_only_in_multitenant_mode():
    ddl = ("CREATE TABLE tenants (tenant_id int PRIMARY KEY); "
           "CREATE TABLE orders (tenant_id int REFERENCES tenants, id int PRIMARY KEY, placed date); "
           "CREATE TABLE lines (order_id int REFERENCES orders (id), n int, PRIMARY KEY (order_id, n)); "
           "CREATE INDEX orders_placed ON orders (placed);")
    schema = import_ddl(ddl).schema
    assert "WB109" not in codes(lint(schema))
    found = [f for f in lint(schema, tenant_column="tenant_id") if f.code == "WB109"]
    assert {f.object for f in found} == {"public.orders primary key", "public.orders index orders_placed",
                                         "public.lines"}
    fixed = next(f for f in found if f.object.endswith("orders_placed")).fix_sql
    assert "DROP INDEX public.orders_placed" in fixed and "(tenant_id, placed)" in fixed
    clean = lint(domain(DATASETS / "multitenant").schema, tenant_column="tenant_id")
    assert "WB109" not in codes(clean)


def test_fix_sql_is_rendered_in_the_schema_dialect():
    found = lint(import_ddl(SCHEMA_CASES["WB102"][0]).schema, disable=["WB112"])
    assert [f.fix_sql for f in found] == ["CREATE INDEX c_p_id_idx ON public.c(p_id);"]
    duck = lint(import_ddl('CREATE TABLE "Order" (id integer PRIMARY KEY, price real);', "duckdb").schema)
    assert [f.fix_sql for f in duck] == ['ALTER TABLE "Order" ALTER COLUMN price SET DATA TYPE DECIMAL(12, 2);', None]
    sqlite = lint(import_ddl("CREATE TABLE orders (id integer PRIMARY KEY, price real);", "sqlite").schema)
    assert [(f.code, f.fix_sql) for f in sqlite] == [("WB105", None)]  # SQLite cannot change a column's type


def test_mysql_foreign_keys_are_not_flagged_innodb_indexes_them():
    ddl = "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p (id));"
    assert "WB102" not in codes(lint(import_ddl(ddl, "mysql").schema))


def test_disable_by_code_or_name_and_unknown_names_are_refused():
    schema = import_ddl('CREATE TABLE "T" (a int);').schema
    assert set(codes(lint(schema))) == {"WB101", "WB112"}
    assert codes(lint(schema, disable=["WB101", "naming-convention"])) == []
    with pytest.raises(UnknownNameError, match="did you mean 'missing-primary-key'"):
        lint(schema, disable=["missing-primary-keys"])


def test_custom_rule_and_rule_selection():
    @rule("X001 no-blob-columns", "error")
    def no_blobs(ctx):
        """Keep files out of the database."""
        for table in ctx.schema.tables:
            for column in table.columns:
                if column.type.lower() == "bytea":
                    yield Flag(f"{table.key}.{column.name}", "stores a file", source=table)

    schema = import_ddl("CREATE TABLE f (id int PRIMARY KEY,\n  body bytea);").schema
    found = lint(schema, rules=(*RULES, no_blobs))
    assert [(f.rule, f.severity, f.object) for f in found] == [("X001 no-blob-columns", "error", "public.f.body")]
    assert codes(lint(schema, rules=[no_blobs], disable=["X001"])) == []
    with pytest.raises(WorkbenchError, match="kebab-case"):
        rule("bad id")
    with pytest.raises(WorkbenchError, match="decorate its function with @rule"):
        lint(schema, rules=[no_blobs.check])


def test_naming_is_configurable():
    schema = import_ddl("CREATE TABLE orders (id int PRIMARY KEY, customerId int, line2 text);").schema
    assert codes(lint(schema)) == []  # unquoted customerId is folded to customerid: snake_case
    strict = lint(schema, naming={"column": r"^[a-z_]+$"})
    assert [f.message for f in strict] == ["columns: line2 is not matching ^[a-z_]+$"]
    pascal = import_ddl("CREATE TABLE Album (AlbumId int PRIMARY KEY, Title text, ArtistId int);", "sqlite").schema
    assert codes(lint(pascal)) == []  # the schema's own style (PascalCase) is the convention
    assert codes(lint(pascal, naming=Naming(table="snake_case", column=None))) == ["WB112"]


def test_findings_frame_json_html_and_locations():
    found = lint(domain(DATASETS / "ecommerce").imported)
    assert codes(found) == ["WB102"] * 4
    first = found[0]
    assert first.file.endswith("ecommerce/schema.sql") and first.line == 82 and first.object.startswith(
        "public.categories")
    frame = found.to_frame()
    assert list(frame.columns) == ["rule", "severity", "object", "message", "fix_sql", "file", "line"]
    assert frame["line"].tolist() == [82, 92, 162, 174]
    document = json.loads(found.to_json())
    assert len(document["findings"]) == 4 and document["notes"]
    assert "<table>" in found._repr_html_() and "foreign-key-without-index" in found._repr_html_()
    assert repr(found).startswith("<Findings: 4 warnings (2 notes)>")
    assert str(found).splitlines()[-1] == "4 warnings (2 notes)"
    assert Findings()._repr_html_() == "<p>no findings</p>"


def test_rules_that_cannot_run_are_noted_not_dropped():
    found = lint(import_ddl("CREATE TABLE t (a int PRIMARY KEY);").schema)
    assert found.notes == ["WB110 not run without loaded data (engine=...)",
                           "WB111, WB201, WB202, WB203, WB204, WB205, WB206, WB207, WB208 not run without a "
                           "workload (workload=...)"]


def test_sample_domains_have_no_errors():
    for found_domain in domains(DATASETS):
        tenant = "tenant_id" if found_domain.name == "multitenant" else None
        found = lint(found_domain.imported, workload=found_domain.workload, tenant_column=tenant)
        assert not found.errors, found


def test_low_cardinality_text_on_duckdb_data():
    schema = import_ddl("CREATE TABLE t (id int PRIMARY KEY, status text, checked text CHECK (checked IN ('a', 'b')),"
                        " note text);").schema
    rows = 300
    data = pa.table({"id": range(rows), "status": ["new", "paid", "sent"] * 100, "checked": ["a", "b", "a"] * 100,
                     "note": [f"note {i}" for i in range(rows)]})
    with connect("duckdb") as engine:
        engine.load(schema, {"public.t": data}, progress=False)
        found = [f for f in lint(schema, engine=engine) if f.code == "WB110"]
        assert [f.object for f in found] == ["public.t.status"]
        assert "3 distinct values over 300 rows" in found[0].message
    assert found[0].fix_sql == ("CREATE TABLE public.t_status (status TEXT PRIMARY KEY);\n"
                                "INSERT INTO public.t_status SELECT DISTINCT status FROM public.t "
                                "WHERE NOT status IS NULL;\n"
                                "ALTER TABLE public.t ADD FOREIGN KEY (status) REFERENCES public.t_status (status);")


def test_unused_index_from_postgres_plans(pg_url):
    schema = import_ddl("CREATE TABLE items (id int PRIMARY KEY, name text, price int, kind text);"
                        "CREATE INDEX items_price ON items (price); CREATE INDEX items_kind ON items (kind);").schema
    workload = Workload.from_text("-- name: cheap\n-- params: p = between(1, 5)\n"
                                  "SELECT id, name FROM items WHERE price = :p;", schema=schema)
    rows = 20_000
    data = pa.table({"id": range(rows), "name": [f"item {i}" for i in range(rows)],
                     "price": [i % 1000 for i in range(rows)], "kind": ["a", "b"] * (rows // 2)})
    with connect(pg_url) as engine:
        engine.load(schema, {"public.items": data}, progress=False)
        found = [f for f in lint(schema, engine=engine, workload=workload) if f.code == "WB111"]
    assert [f.object for f in found] == ["public.items index items_kind"]
    assert "no plan of the 1 workload queries on postgres reads it" in found[0].message
    assert found[0].fix_sql == "DROP INDEX public.items_kind;"


def test_cli_text_json_and_exit_codes(tmp_path, capsys):
    ddl = tmp_path / "shop.sql"
    ddl.write_text("CREATE TABLE orders (id int, total real);\n", encoding="utf-8")
    assert main(["lint", str(ddl)]) == 1  # a missing primary key is an error
    text = capsys.readouterr().out
    assert f"{ddl}:1: WB101 missing-primary-key [error] public.orders: has no primary key" in text
    assert "fix: ALTER TABLE public.orders ALTER COLUMN total SET DATA TYPE DECIMAL(12, 2);" in text
    assert main(["lint", str(ddl), "--disable", "WB101"]) == 0
    capsys.readouterr()
    assert main(["lint", str(ddl), "--json", "--fail-on", "never"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in document["findings"]] == ["WB101 missing-primary-key", "WB105 float-for-money"]
    assert main(["lint", str(ddl), "--disable", "WB101", "--fail-on", "warning"]) == 1
    capsys.readouterr()
    assert main(["lint", str(tmp_path / "nope.sql")]) == 2
    assert "nope.sql: no such DDL file" in capsys.readouterr().err


def test_cli_lints_a_domain_folder_with_its_workload(capsys):
    assert main(["lint", str(DATASETS / "multitenant"), "--tenant-column", "tenant_id"]) == 0
    text = capsys.readouterr().out
    assert "WB207 order-by-without-limit [info] query customer_orders" in text
    assert text.splitlines()[-1] == "1 warning, 1 info (1 notes)"


def test_cli_data_rules_load_the_domain(capsys):
    assert main(["lint", str(DATASETS / "notifications"), "--engine", "duckdb", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["notes"] == []  # every rule ran
    assert main(["lint", str(DATASETS / "notifications" / "schema.sql"), "--engine", "duckdb"]) == 2


def test_fixes_run_on_postgres(pg_url):
    ddl = ("CREATE TABLE tenants (tenant_id int PRIMARY KEY);"
           "CREATE TABLE orders (tenant_id int NOT NULL REFERENCES tenants, id int NOT NULL, total real,"
           " placed timestamp, kind text);"
           "CREATE INDEX orders_kind ON orders (kind); CREATE INDEX orders_kind2 ON orders (kind);"
           "CREATE INDEX orders_placed ON orders (placed);")
    schema = import_ddl(ddl).schema
    with connect(pg_url) as engine:
        engine.create_schema(schema)
        found = lint(schema, tenant_column="tenant_id")
        fixed = [f for f in found if f.fix_sql]
        assert {f.code for f in fixed} == {"WB101", "WB102", "WB103", "WB105", "WB106", "WB109"}
        assert "ADD PRIMARY KEY (tenant_id, id)" in next(f.fix_sql for f in fixed if f.code == "WB101")
        for finding in fixed:
            if finding.object.endswith("orders_kind2"):
                continue  # WB103 and WB109 both fix it: dropped once
            for statement in finding.fix_sql.split(";\n"):  # the sandbox's search_path holds the tables
                engine.execute(statement.rstrip(";").replace("public.", ""))
        types = engine.query("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'orders' AND column_name IN ('total', 'placed') ORDER BY 1")
        assert types["data_type"].tolist() == ["timestamp with time zone", "numeric"]


def test_duplicate_keeps_what_enforces():
    ddl = ("CREATE TABLE t (id int PRIMARY KEY, a int, CONSTRAINT t_id_key UNIQUE (id)); "
           "CREATE INDEX t_a ON t (a); CREATE UNIQUE INDEX t_a_key ON t (a);")
    found = [(f.object, f.message, f.fix_sql) for f in lint(import_ddl(ddl).schema) if f.code == "WB103"]
    assert found == [
        ("public.t unique constraint t_id_key", "duplicates primary key on (id)",
         "ALTER TABLE public.t DROP CONSTRAINT t_id_key;"),
        ("public.t index t_a", "duplicates index t_a_key on (a)", "DROP INDEX public.t_a;"),
    ]
