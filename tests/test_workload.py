"""Workload files: parsing, weights, samplers over real data, binding, and problems reported."""

from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from workbench.errors import WorkbenchError
from workbench.schema.builder import SchemaBuilder
from workbench.schema.model import Column
from workbench.workload import Workload, parse_sampler, schema_mapping

DATASETS = Path(__file__).resolve().parent.parent / "datasets"

TEXT = """
-- name: search weight=5
-- params: term = word(products.name)
SELECT * FROM products WHERE name ILIKE '%' || :term || '%' ORDER BY created_at DESC LIMIT 20;

-- name: by_id weight=2
-- params: id = pick(products.product_id, skew=1.5)
SELECT name FROM products WHERE product_id = :id;

-- name: unknown_column
SELECT nope FROM products;

-- name: unknown_table
SELECT * FROM nowhere;

-- name: broken
SELEC 1;

-- name: unsampled
SELECT * FROM products WHERE product_id = :missing;
"""


class DuckSource:
    """The two things samplers need from an engine, over a plain DuckDB connection."""

    dialect = "duckdb"

    def __init__(self, connection):
        self.connection = connection

    def query(self, sql, params=None):
        return self.connection.execute(sql).df()


@pytest.fixture
def schema():
    builder = SchemaBuilder(dialect="postgres")
    products = builder.add_table("products", "public")
    products.columns += [Column("product_id", "bigint", False), Column("name", "text"),
                         Column("created_at", "timestamp with time zone")]
    return builder.build()


@pytest.fixture
def source():
    connection = duckdb.connect()
    connection.execute("CREATE TABLE products AS SELECT i AS product_id, 'lamp no' || i AS name, "
                       "TIMESTAMP '2024-01-01' + i * INTERVAL 1 HOUR AS created_at FROM range(1, 200) t(i)")
    return DuckSource(connection)


def test_queries_weights_and_every_problem_reported(schema):
    workload = Workload.from_text(TEXT, schema=schema, file="w.sql")
    assert [q.name for q in workload] == ["search", "by_id"]
    assert [q.weight for q in workload] == [5.0, 2.0]
    problems = {p.query: p for p in workload.problems}
    assert set(problems) == {"unknown_column", "unknown_table", "broken", "unsampled"}
    assert "nowhere" in problems["unknown_table"].reason
    assert "nope" in problems["unknown_column"].reason
    assert problems["broken"].line == 16 and str(problems["broken"]).startswith("w.sql:16:")
    assert "missing" in problems["unsampled"].reason


def test_a_folder_of_one_query_files_names_each_query_by_its_file(schema, tmp_path):
    (tmp_path / "q02.sql").write_text("SELECT nope FROM products;\n", encoding="utf-8")
    (tmp_path / "q01.sql").write_text("SELECT name FROM products WHERE product_id = 1;", encoding="utf-8")
    workload = Workload.from_folder(tmp_path, schema=schema)
    assert [q.name for q in workload] == ["q01"] and [p.query for p in workload.problems] == ["q02"]
    with pytest.raises(WorkbenchError, match=r"no \.sql files"):
        Workload.from_folder(tmp_path / "q01.sql")


def test_schema_mapping_names_every_column_for_qualify(schema):
    assert schema_mapping(schema) == {"public": {"products": {"product_id": "text", "name": "text",
                                                              "created_at": "text"}}}


def test_draws_are_seeded_skewed_and_bind_as_literals(schema, source):
    workload = Workload.from_text(TEXT, schema=schema)
    first = workload.draws(source, 200, seed=7)
    again = workload.draws(source, 200, seed=7)
    assert first == again
    assert first != workload.draws(source, 200, seed=8)
    ids = [d["id"] for d in first["by_id"]]
    assert ids.count(1) > 40  # skew 1.5: the first value dominates
    assert {d["term"] for d in first["search"]} == {"lamp"}
    sql = workload.query("search").bind(first["search"][0], "duckdb")
    assert "'lamp'" in sql and ":term" not in sql
    assert len(source.query(sql)) == 20


def test_recent_and_between_samplers(source):
    recent = parse_sampler("recent(products.created_at, days=2)")
    recent.prepare(source)
    value = recent.draw(np.random.default_rng(0))
    assert timedelta(0) <= max(recent.values) - value <= timedelta(days=2)
    assert parse_sampler("between(3, 4)").draw(np.random.default_rng(0)) in (3, 4)
    assert parse_sampler("choice('a', 'b')").draw(np.random.default_rng(0)) in ("a", "b")


def test_bad_sampler_names_the_choices():
    with pytest.raises(WorkbenchError, match="did you mean 'pick'"):
        parse_sampler("pik(products.name)")
    with pytest.raises(WorkbenchError, match=r"one table\.column"):
        parse_sampler("word('x')")


@pytest.mark.parametrize("domain", ["ecommerce", "multitenant", "timeseries", "notifications"])
def test_sample_domain_workloads_parse_cleanly(domain):
    workload = Workload.from_file(DATASETS / domain / "workload.sql")
    assert workload.problems == []
    assert len(workload) >= 4
