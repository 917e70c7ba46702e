"""Security lint (WB3xx) over real schemas: the findings per rule that were checked by hand. Every WB308 is a
real personal-data column (e-mail, phone, fax, address, birth date, IP address, a 3PID address); pagila's
rewards_report is SECURITY DEFINER without a search_path, and it grants ALL on schema public to PUBLIC."""

from __future__ import annotations

from collections import Counter

import pytest

from corpus import corpus_dir
from workbench.ddl import import_ddl
from workbench.security import lint

EXPECTED = {
    ("schemas/pagila_schema.sql", "postgres"): {"WB305": 1, "WB306": 1, "WB308": 5},
    ("schemas/chinook_postgres.sql", "postgres"): {"WB308": 10},
    ("schemas/northwind_postgres.sql", "postgres"): {"WB308": 11},
    ("schemas/job_imdb_schema.sql", "postgres"): {},
    ("schemas/chinook_mysql.sql", "mysql"): {"WB308": 10},
    ("schemas/sakila_sqlite_schema.sql", "sqlite"): {"WB308": 5},
    ("schemas/tpch_dss.ddl.sql", "postgres"): {"WB308": 4},
    ("evolution/synapse_main_full_v72.postgres.sql", "postgres"): {"WB308": 7},
}


@pytest.mark.parametrize(("file", "dialect"), sorted(EXPECTED))
def test_security_lint_counts(file, dialect):
    found = lint(import_ddl(corpus_dir() / file, dialect))
    assert dict(Counter(f.code for f in found)) == EXPECTED[(file, dialect)]


def test_pagila_findings_point_at_their_statements():
    found = {f.code: f for f in lint(import_ddl(corpus_dir() / "schemas" / "pagila_schema.sql"))}
    assert found["WB305"].line == 293 and "rewards_report(integer, numeric)" in found["WB305"].fix_sql
    assert found["WB306"].fix_sql == 'REVOKE ALL ON SCHEMA "public" FROM PUBLIC;'
