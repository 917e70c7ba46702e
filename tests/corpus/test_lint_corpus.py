"""Lint over real schemas and workloads: the findings per rule that were checked by hand (anything
more is a false positive to fix; anything less, a rule that stopped seeing)."""

from __future__ import annotations

from collections import Counter

import pytest

from corpus import corpus_dir
from workbench.advisor import lint, lint_workload
from workbench.cli.inputs import read_workload
from workbench.ddl import import_ddl
from workbench.workload import Workload

# file (in the corpus), dialect -> findings per rule code
EXPECTED = {
    ("schemas/pagila_schema.sql", "postgres"): {"WB102": 7},
    ("schemas/chinook_postgres.sql", "postgres"): {"WB104": 1, "WB106": 3},
    ("schemas/chinook_mysql.sql", "mysql"): {"WB104": 1},  # InnoDB indexes foreign keys itself: no WB102
    ("schemas/chinook_sqlite.sql", "sqlite"): {"WB104": 1},  # PascalCase throughout: no naming finding
    ("schemas/northwind_postgres.sql", "postgres"): {"WB102": 10, "WB105": 3},  # unit_price and freight are real
    ("schemas/tpch_dss.ddl.sql", "postgres"): {"WB101": 8},  # dss.ddl declares no keys (dss.ri does)
    ("schemas/sakila_mysql_schema.sql", "mysql"): {},
    # Synapse keys most tables by unique indexes, not primary keys (77 of the 107 get one as the fix)
    ("evolution/synapse_main_full_v72.postgres.sql", "postgres"): {"WB101": 107, "WB102": 3, "WB103": 1, "WB104": 6},
}


def per_rule(findings) -> dict[str, int]:
    return dict(Counter(f.code for f in findings))


@pytest.mark.parametrize(("file", "dialect"), sorted(EXPECTED))
def test_schema_lint_counts(file, dialect):
    assert per_rule(lint(import_ddl(corpus_dir() / file, dialect))) == EXPECTED[(file, dialect)]


def job_schema():
    schemas = corpus_dir() / "schemas"
    text = (schemas / "job_imdb_schema.sql").read_text() + "\n" + (schemas / "job_imdb_fkindexes.sql").read_text()
    return import_ddl(text).schema


def test_job_schema_and_workload():
    schema = job_schema()
    assert per_rule(lint(schema)) == {}
    workload = read_workload(corpus_dir() / "workloads" / "job", schema)
    found = lint(schema, workload=workload)
    assert per_rule(found) == {"WB201": 2, "WB111": 8}  # 8 of 22 FK indexes serve none of these 6 queries
    assert found.notes == ["WB110 not run without loaded data (engine=...)"]


def test_tpch_workload():
    schema = import_ddl(corpus_dir() / "schemas" / "tpch_dss.ddl.sql").schema
    workload = read_workload(corpus_dir() / "workloads" / "tpch", schema, "duckdb")
    assert len(workload) == 22 and not workload.problems
    found = lint_workload(workload, schema)
    assert {(f.code, f.object) for f in found} == {("WB201", f"query q{n:02d}") for n in (2, 9, 13, 16)}
    assert found.notes == []  # every query resolved against the schema
    broken = (corpus_dir() / "workloads" / "tpch" / "q03.sql").read_text().replace("AND c_custkey = o_custkey", "")
    cartesian = lint_workload(Workload.from_text(broken, dialect="duckdb", schema=schema), schema)
    assert [f.message for f in cartesian] == ["no condition joins customer to (orders, lineitem): a cartesian product"]
