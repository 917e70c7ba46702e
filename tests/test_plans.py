"""Plans of real queries on DuckDB and PostgreSQL: scans, misestimates, partitions, diffs, diagrams."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest

from workbench import plans
from workbench.ddl import import_ddl
from workbench.engines import Engine, connect
from workbench.engines.pgserver import Server
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.plans import Plan, PlanNode

DDL = """
CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL, cat integer NOT NULL, sub integer NOT NULL);
CREATE TABLE orders (id integer PRIMARY KEY, product_id integer NOT NULL REFERENCES products (id), qty integer);
CREATE INDEX orders_product ON orders (product_id);
"""
PRODUCTS, ORDERS = 20_000, 40_000
BY_ID = "SELECT * FROM products WHERE id = 42"
BY_NAME = "SELECT * FROM products WHERE name = 'p42'"
CORRELATED = "SELECT * FROM products WHERE cat = 1 AND sub = 1"  # sub always equals cat: 100x more rows than guessed
JOIN = "SELECT p.name, o.qty FROM products p JOIN orders o ON o.product_id = p.id WHERE p.id < 20"
HASH_JOIN = "SELECT p.cat, sum(o.qty) FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.cat"


def load(engine: Engine) -> Engine:
    ids = np.arange(PRODUCTS, dtype=np.int32)
    order_ids = np.arange(ORDERS, dtype=np.int32)
    data = {
        "products": pa.table({"id": ids, "name": [f"p{i}" for i in ids], "cat": ids % 100, "sub": ids % 100}),
        "orders": pa.table({"id": order_ids, "product_id": order_ids % PRODUCTS, "qty": order_ids % 7}),
    }
    engine.load(import_ddl(DDL).schema, data, progress=False)
    return engine


def pre_order(raw: dict) -> list[dict]:
    """The nodes of a PostgreSQL JSON plan, parents first."""
    return [raw, *(node for child in raw.get("Plans", ()) for node in pre_order(child))]


@pytest.fixture(scope="module")
def pg(pg_server: Server) -> Iterator[Engine]:
    """One loaded PostgreSQL database for the read-only tests of this module."""
    name = pg_server.create_database("plans")
    with connect(pg_server.url(name)) as engine:
        yield load(engine)
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as engine:
        yield load(engine)


def test_postgres_index_scan_and_seq_scan(pg: Engine) -> None:
    by_id, by_name = plans.explain(pg, BY_ID), plans.explain(pg, BY_NAME)
    assert by_id.root.operator == "Index Scan" and by_id.root.relation == "products"
    assert by_id.indexes_used == ("products_pkey",)
    assert by_id.root.actual_rows == 1 and by_id.root.loops == 1
    assert by_name.root.operator == "Seq Scan" and by_name.indexes_used == ()
    assert by_name.relations == ("products",)
    assert by_name.total_cost is not None and by_name.total_cost > by_id.total_cost
    assert by_name.planning_ms is not None and by_name.execution_ms is not None
    assert by_name.root.buffers["shared_hit"] + by_name.root.buffers["shared_read"] > 0
    assert "Seq Scan on products" in by_name.summary() and "no index used" in by_name.summary()


def test_postgres_totals_multiply_per_loop_figures(pg: Engine) -> None:
    plan = plans.explain(pg, JOIN)
    looped = [node for node in plan.nodes() if (node.loops or 0) > 1]
    assert looped, plan.to_frame()
    for node, source in zip(plan.nodes(), pre_order(plan.document[0]["Plan"]), strict=True):
        assert node.actual_rows == source["Actual Rows"] * source["Actual Loops"]
        assert node.total_ms == pytest.approx(source["Actual Total Time"] * source["Actual Loops"])
        assert 0 <= node.self_ms <= node.total_ms
    assert plan.root.actual_rows == 20 * ORDERS // PRODUCTS  # ids 0..19, two orders each
    assert set(plan.relations) == {"products", "orders"}


def test_misestimate_on_correlated_columns_is_flagged(pg: Engine) -> None:
    plan = plans.explain(pg, CORRELATED)
    flagged = plan.misestimates()
    assert [node.label for node in flagged] == ["Seq Scan on products"]
    node = flagged[0]
    assert node.estimate_factor >= 10 and node.underestimated and node.actual_rows == PRODUCTS / 100
    assert "estimate off" in plan.summary() and "Seq Scan on products" in plan.summary()
    assert plans.explain(pg, BY_ID).misestimates() == []
    assert plans.explain(pg, "SELECT * FROM orders ORDER BY qty LIMIT 5").misestimates() == []  # stopped early
    svg = plan.svg()
    assert svg.lstrip().startswith("<?xml") and "(under)" in svg and 'stroke="#d00000"' in svg
    assert 'stroke="#d00000"' not in plans.explain(pg, BY_ID).svg()
    bundle = plan._repr_mimebundle_()
    assert "<svg" not in bundle["text/html"] and '<img src="data:image/png;base64,' in bundle["text/html"]
    assert bundle["text/plain"].startswith("<Plan postgres")


def test_diff_reports_the_scan_change(pg_url: str) -> None:
    with connect(pg_url) as engine:
        load(engine)
        before = plans.explain(engine, BY_NAME)
        engine.execute("CREATE INDEX products_name ON products (name)")
        after = plans.explain(engine, BY_NAME)
    change = plans.diff(before, after)
    assert [c.description for c in change.changes] == ["Seq Scan -> Index Scan on products using products_name"]
    assert change.changes[0].kind == "changed"
    assert "Seq Scan -> Index Scan on products using products_name" in change.summary()
    times = change.relation_times()
    assert times["relation"].tolist() == ["products"] and times[["before_ms", "after_ms"]].notna().all(axis=None)
    assert change.speedup is not None and change.speedup > 0
    assert "Index Scan" in change._repr_html_() and "PlanDiff" in repr(change)
    assert plans.diff(before, before).changes == ()


def test_diff_tolerates_inserted_nodes() -> None:
    scan = PlanNode("Seq Scan", relation="orders", estimated_rows=10)
    sort = PlanNode("Sort", children=(scan,))
    before = Plan("postgres", PlanNode("Limit", children=(scan,)), analyzed=False)
    after = Plan("postgres", PlanNode("Limit", children=(PlanNode("Sort", children=(
        PlanNode("Index Scan", relation="orders", index="orders_pkey"),)),)), analyzed=False)
    change = plans.diff(before, after)
    assert [c.description for c in change.changes] == [
        "Seq Scan -> Index Scan on orders using orders_pkey", "added Sort"]
    assert [c.description for c in plans.diff(Plan("postgres", sort, False), before).changes] == [
        "removed Sort", "added Limit"]


def test_partitions_scanned(pg_url: str) -> None:
    with connect(pg_url) as engine:
        engine.execute("CREATE TABLE readings (id integer, k integer) PARTITION BY RANGE (k)")
        for part in range(4):
            engine.execute(f"CREATE TABLE readings_{part} PARTITION OF readings "
                           f"FOR VALUES FROM ({part * 10}) TO ({part * 10 + 10})")
        engine.execute("INSERT INTO readings SELECT i, i % 40 FROM generate_series(1, 4000) AS i")
        engine.execute("ANALYZE readings")
        some, every = plans.explain(engine, "SELECT count(*) FROM readings WHERE k < 15"), \
            plans.explain(engine, "SELECT count(*) FROM readings")
    assert some.partitions_scanned == 2 and some.relations == ("readings_0", "readings_1")
    assert every.partitions_scanned == 4 and every.partitions_removed == 0
    assert "2 partitions scanned" in some.summary()


def test_duckdb_hash_join(duck: Engine) -> None:
    plan = plans.explain(duck, HASH_JOIN)
    operators = [node.operator for node in plan.nodes()]
    assert "HASH_JOIN" in operators and operators[0] not in ("RESULT_COLLECTOR", "EXPLAIN_ANALYZE")
    assert set(plan.relations) == {"orders", "products"}
    assert plan.root.actual_rows == 100 and plan.analyzed and plan.total_cost is None
    assert sum(node.self_ms for node in plan.nodes()) == pytest.approx(plan.root.total_ms)
    scans = {node.relation: node for node in plan.nodes() if node.relation}
    assert scans["orders"].actual_rows == ORDERS and scans["products"].estimated_rows is not None
    assert plan.execution_ms is not None and plan.planning_ms is not None
    assert "% of time in" in plan.summary()
    assert "HASH_JOIN" in plan.diagram().source
    frame = plan.to_frame()
    assert frame["operator"].tolist() == operators and frame["share"].sum() == pytest.approx(1.0)


def test_duckdb_index_scan_and_plain_explain(duck: Engine) -> None:
    plan = plans.explain(duck, BY_ID)
    assert plan.root.operator == "INDEX_SCAN" and plan.root.relation == "products"
    assert plan.indexes_used == ("products_id_pkey",)  # DuckDB's name for the key, read from its catalog
    assert plans.explain(duck, "SELECT * FROM orders WHERE product_id = 7").indexes_used == ("orders_product",)
    estimate = plans.explain(duck, BY_NAME, analyze=False)
    assert not estimate.analyzed and estimate.root.actual_rows is None and estimate.root.self_ms is None
    assert "not executed" in estimate.summary()
    assert plans.diff(estimate, plan).changes[0].description.startswith("SEQ_SCAN -> INDEX_SCAN on products")


def test_from_document(pg: Engine) -> None:
    plan = plans.explain(pg, JOIN, analyze=False)
    again = plans.from_document(json.dumps(plan.document), "postgres")
    assert [n.label for n in again.nodes()] == [n.label for n in plan.nodes()] and not again.analyzed
    assert again.root.actual_rows is None and again.total_cost == plan.total_cost
    with pytest.raises(UnknownNameError, match="did you mean 'duckdb'"):
        plans.from_document(plan.document, "duckbd")
    with pytest.raises(WorkbenchError, match="not a PostgreSQL JSON plan"):
        plans.from_document({"rows": 1}, "postgres")
    with pytest.raises(WorkbenchError, match="not a DuckDB JSON plan"):
        plans.from_document({"rows": 1}, "duckdb")


def test_display_of_odd_labels() -> None:
    node = PlanNode("Function Scan <script>", relation='we"ird & ünïcode', estimated_rows=1, actual_rows=500,
                    loops=1, total_ms=1.0, self_ms=1.0)
    plan = Plan("postgres", node, analyzed=True, execution_ms=1.0)
    assert "&lt;script&gt;" in plan.svg() and "estimate off 500x" in plan.summary()
    assert "data:image/png" in plan._repr_html_() and repr(plan).startswith("<Plan postgres")


def test_postgres_parallel_rows_count_every_process(pg_url: str) -> None:
    with connect(pg_url) as engine:
        load(engine)
        engine.configure({"parallel_setup_cost": "0", "parallel_tuple_cost": "0", "min_parallel_table_scan_size": "0",
                          "max_parallel_workers_per_gather": "2"})
        plan = plans.explain(engine, "SELECT count(*) FROM orders WHERE qty = 3")
    gather = next(node for node in plan.nodes() if node.operator in ("Gather", "Gather Merge"))
    scan = next(node for node in plan.nodes() if node.operator == "Parallel Seq Scan")
    processes = gather.details["Workers Launched"] + 1
    assert scan.loops == processes
    assert scan.actual_rows == pytest.approx(len(range(3, ORDERS, 7)), abs=1)
    raw = next(source for source in pre_order(plan.document[0]["Plan"]) if source.get("Parallel Aware"))
    assert scan.total_ms == pytest.approx(raw["Actual Total Time"] * raw["Actual Loops"] / processes)


def test_display_never_raises() -> None:
    broken = Plan("postgres", PlanNode(None), analyzed=False)  # type: ignore[arg-type]  # an operator-less node
    assert "could not draw the plan" in broken._repr_html_()
    assert "could not draw the plan" in broken._repr_mimebundle_()["text/html"] and repr(broken)
