"""The workload index advisor: candidates from queries, measured selection, advice, apply, CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from workbench.advisor.advice import advise
from workbench.advisor.candidates import Candidate, candidates
from workbench.advisor.evaluate import Evaluator
from workbench.advisor.schema_rules import covers, index_key
from workbench.advisor.select import Selection, Step, greedy, improve
from workbench.bench.writes import insert_sample
from workbench.cli import main
from workbench.ddl import import_ddl
from workbench.domains import domain
from workbench.engines import connect
from workbench.errors import WorkbenchError
from workbench.schema.model import Index, IndexElement
from workbench.workload import Workload

DDL = """
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, country text);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers (id),
    status text NOT NULL, created timestamptz NOT NULL, total numeric(10, 2), a integer, b integer, c integer,
    d integer);
CREATE TABLE items (id integer PRIMARY KEY, grp integer NOT NULL, code integer NOT NULL, note text);
"""


@pytest.fixture(scope="module")
def schema():
    return import_ddl(DDL).schema


def keys(found: list[Candidate], table: str = "orders") -> set[str]:
    return {c.key.split(" ", 1)[1] for c in found if c.table.endswith(table)}


def workload(text: str, schema) -> Workload:
    loaded = Workload.from_text(text, schema=schema)
    assert not loaded.problems, loaded.problems
    return loaded


def test_equality_columns_come_before_range_columns(schema):
    found = candidates(schema, workload("""-- name: q
-- params: t = between(1, 9); c = between(1, 9)
SELECT id FROM orders WHERE created > :t AND customer_id = :c;""", schema))
    assert "(customer_id, created)" in keys(found)
    assert "(created, customer_id)" not in keys(found)


def test_order_by_follows_the_equality_columns(schema):
    found = candidates(schema, workload("""-- name: q
-- params: c = between(1, 9)
SELECT id, created FROM orders WHERE customer_id = :c ORDER BY created DESC LIMIT 10;""", schema))
    assert "(customer_id, created DESC)" in keys(found)


def test_infix_like_gives_a_trigram_index_and_duckdb_gets_none(schema):
    text = """-- name: q
-- params: term = choice('ab', 'cd')
SELECT id FROM customers WHERE name LIKE '%' || :term || '%';"""
    assert "USING gin (name gin_trgm_ops)" in keys(candidates(schema, workload(text, schema)), "customers")
    assert not candidates(schema, workload(text, schema), dialect="duckdb")


def test_constant_predicates_give_partial_indexes(schema):
    found = candidates(schema, workload("""-- name: q
-- params: t = between(1, 9)
SELECT sum(total) FROM orders WHERE status = 'open' AND created >= :t;""", schema))
    assert "(created) WHERE status = 'open'" in keys(found)


def test_composites_stop_at_three_columns_and_cover_what_the_query_reads(schema):
    found = candidates(schema, workload("""-- name: q
SELECT total FROM orders WHERE a = 1 AND b = 2 AND c = 3 AND d = 4;""", schema))
    assert found and all(len(c.index.elements) <= 3 for c in found)
    assert "(a, b, c)" in keys(found)
    assert any(c.index.include == ("total", "d") for c in found)


def test_join_keys_get_an_index_and_primary_keys_are_not_proposed_again(schema):
    found = candidates(schema, workload("""-- name: q
SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.country = 'NO';""",
                                        schema))
    assert "(customer_id)" in keys(found)
    assert "(id)" not in keys(found, "customers")


def test_names_are_distinct_and_valid(schema):
    found = candidates(schema, workload("""-- name: q1
-- params: c = between(1, 9)
SELECT id FROM orders WHERE customer_id = :c ORDER BY created DESC LIMIT 5;
-- name: q2
-- params: c = between(1, 9)
SELECT id FROM orders WHERE customer_id = :c ORDER BY created LIMIT 5;""", schema))
    names = [c.name for c in found]
    assert len(names) == len(set(names)) and all(0 < len(n) <= 63 for n in names)


# -- on a loaded PostgreSQL database ---------------------------------------------------------------

ROWS = 40_000
LOOKUP = """-- name: lookup weight=10
-- params: g = between(0, 3999)
SELECT id, code FROM items WHERE grp = :g;
-- name: by_id
-- params: i = between(1, 40000)
SELECT note FROM items WHERE id = :i;"""


def load_items(engine, schema) -> None:
    rng = np.random.default_rng(7)
    ids = np.arange(1, ROWS + 1, dtype=np.int32)
    data = pa.table({"id": ids, "grp": rng.integers(0, 4000, ROWS, dtype=np.int32),
                     "code": rng.integers(0, 100, ROWS, dtype=np.int32),
                     "note": pa.array([f"note {i}" for i in ids])})
    engine.load(schema, {schema.table("items").key: data}, progress=False)


@pytest.fixture
def items_pg(pg_url, schema):
    items = schema.with_tables((schema.table("items"),))
    with connect(pg_url) as engine:
        load_items(engine, items)
        yield engine, items


def test_advice_recommends_the_lookup_index_and_measured_time_improves(items_pg):
    engine, schema = items_pg
    own = set(engine.index_sizes()["index"])
    advice = advise(engine, schema, workload(LOOKUP, schema), budget_mb=50, draws=3, progress=False)
    assert any(r.index.startswith("(grp") for r in advice.recommendations)  # the obvious index; others may follow
    row = advice.queries.set_index("query").loc["lookup"]
    assert row.after_ms < row.before_ms
    assert advice.saved_ms > 0 and 0 < advice.storage_bytes <= 50 * 1024 * 1024
    assert advice.recommendations[0].statement.startswith("CREATE INDEX CONCURRENTLY")
    assert set(engine.index_sizes()["index"]) == own  # the advisor drops what it built to measure
    assert json.loads(advice.to_json())["recommendations"][0]["name"] == advice.recommendations[0].name
    assert "Index advice" in advice._repr_html_() and "Advice postgres" in repr(advice)


def test_dry_run_equals_apply_and_apply_stays_in_the_sandbox(items_pg):
    engine, schema = items_pg
    advice = advise(engine, schema, workload(LOOKUP, schema), budget_mb=50, draws=2, progress=False)
    planned = advice.sql(engine=engine)
    assert advice.apply(engine) == planned
    built = set(engine.index_sizes()["index"])
    assert {r.name for r in advice.recommendations} <= built
    sandbox = engine.sandbox
    assert sandbox and all(f"{sandbox}." in s for s in planned if s.startswith("CREATE INDEX"))
    for statement in advice.sql(drops=True):  # for the user: the model's own names, not a sandbox gone after
        assert sandbox not in statement and "workbench_" not in statement
    assert [s.replace(f"{sandbox}.", "public.") for s in planned] == advice.sql()
    outside = replace(advice, setup=["DROP INDEX public.items_pkey"])
    with pytest.raises(WorkbenchError, match="sandbox"):
        outside.apply(engine)


NOTE_SEARCH = """-- name: search weight=10
-- params: t = between(1000, 9999)
SELECT id FROM items WHERE note LIKE '%' || :t || '%';"""


def test_trigram_advice_on_a_users_database_uses_its_extension_where_it_lives(pg_url, schema):
    items = schema.with_tables((schema.table("items"),))

    def advice():
        with connect(pg_url) as engine:
            load_items(engine, items)
            return advise(engine, items, workload(NOTE_SEARCH, items), budget_mb=50, draws=2, progress=False)

    absent = advice()
    assert any("its owner can run `CREATE EXTENSION pg_trgm;`" in note for note in absent.notes)
    assert not any("gin" in r.statement for r in absent.recommendations)
    with psycopg.connect(pg_url, autocommit=True) as owner:  # the owner installs it, off the search path
        owner.execute("CREATE SCHEMA ext")
        owner.execute("CREATE EXTENSION pg_trgm SCHEMA ext")
    present = advice()
    trigram = [r.statement for r in present.recommendations if "gin" in r.statement]
    assert trigram and "ext.gin_trgm_ops" in trigram[0] and present.setup == []
    assert "workbench_" not in trigram[0]


def test_selection_keeps_the_budget_and_skips_an_index_that_duplicates_a_pick(items_pg):
    engine, schema = items_pg
    table = schema.table("items").key
    one = Candidate(table, Index("items_grp_a_idx", (IndexElement("grp"),)), frozenset({"lookup"}))
    two = Candidate(table, Index("items_grp_b_idx", (IndexElement("grp"), IndexElement("code"))),
                    frozenset({"lookup"}))
    own = set(engine.index_sizes()["index"])
    evaluator = Evaluator(engine, schema, workload(LOOKUP, schema), draws=3, progress=False)
    try:
        picked = greedy(evaluator, [one, two], budget_bytes=1e9).picked
        assert len(picked) == 1  # the second saves nothing once the first is there
        assert not greedy(evaluator, [one, two], budget_bytes=min(evaluator.sizes.values()) - 1).picked
        before = evaluator.executions
        evaluator.times(frozenset({one}))
        evaluator.times(frozenset({one}))
        assert evaluator.executions == before  # every (query, index set) is measured once
    finally:
        evaluator.close()
    assert set(engine.index_sizes()["index"]) == own


def test_cli_advise_json_on_a_tiny_domain(capsys):
    assert main(["advise", "ecommerce", "--engine", "postgres", "--scale", "ci", "--budget-mb", "1",
                 "--draws", "2", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"recommendations", "drops", "queries", "saved_ms", "storage_mb"} <= set(document)
    assert document["storage_mb"] <= 1
    assert {q["query"] for q in document["queries"]} >= {"product_search", "customer_orders"}


def test_duckdb_advice_measures_art_candidates_directly(schema):
    items = schema.with_tables((schema.table("items"),))
    with connect("duckdb") as engine:
        load_items(engine, items)
        advice = advise(engine, items, workload(LOOKUP, items), budget_mb=50, draws=2, progress=False)
    assert advice.candidates >= 1  # the equality column grp; nothing else is an ART lookup
    assert not any("CONCURRENTLY" in s for s in advice.sql())
    assert all(r.index.startswith("(grp") for r in advice.recommendations)
    assert not advice.recommendations or any("estimates" in n for n in advice.notes)


def test_an_index_is_covered_by_a_longer_one_or_one_with_more_include_columns():
    short = index_key(Index("a", (IndexElement("grp"),)))
    longer = index_key(Index("ab", (IndexElement("grp"), IndexElement("code"))))
    wider = index_key(Index("ai", (IndexElement("grp"),), include=("code",)))
    assert covers(short, longer) and covers(short, wider)
    assert not covers(longer, short) and not covers(wider, short) and not covers(short, short)


def test_insert_sample_combines_parents_for_a_key_made_of_foreign_keys():
    shop = domain("ecommerce").schema
    data = pa.table({"product_id": [1, 1, 2], "warehouse_id": [1, 2, 1], "quantity": [3, 4, 5]})
    assert insert_sample(shop, "inventory", data, 5).to_pylist() == \
        [{"product_id": 2, "warehouse_id": 2, "quantity": 3}]


def test_write_cost_is_measured_for_a_key_made_of_foreign_keys():
    shop = domain("ecommerce")
    with connect("postgres") as engine:
        shop.load(engine, "ci", seed=42, progress=False)
        inventory = shop.schema.table("inventory")
        candidate = Candidate(inventory.key, Index("inventory_quantity_idx", (IndexElement("quantity"),)),
                              frozenset())
        evaluator = Evaluator(engine, shop.schema, shop.workload, draws=1, progress=False)
        try:
            assert evaluator.insert_ms(candidate) >= 0
            assert candidate.key not in evaluator.unmeasured
        finally:
            evaluator.close()


def test_improve_swaps_a_pick_for_a_better_one_that_fits(items_pg):
    engine, schema = items_pg
    table = schema.table("items").key
    weak = Candidate(table, Index("items_code_idx", (IndexElement("code"),)), frozenset({"lookup"}))
    strong = Candidate(table, Index("items_grp_idx", (IndexElement("grp"),)), frozenset({"lookup"}))
    evaluator = Evaluator(engine, schema, workload(LOOKUP, schema), draws=3, progress=False)
    try:
        budget = max(evaluator.size(weak), evaluator.size(strong))
        for candidate in (weak, strong):  # improve() considers the alternatives greedy measured alone
            evaluator.times(frozenset({candidate}), evaluator.affected(candidate))
        total = evaluator.weighted(evaluator.times(frozenset({weak})))
        selection = Selection(steps=[Step(weak, 0.0, 0.0, evaluator.size(weak), total)])
        improved = improve(evaluator, selection, [weak, strong], budget_bytes=budget)
        assert improved.picked == frozenset({strong}) and improved.swapped == [(weak, strong)]
        assert improved.total_ms < total
    finally:
        evaluator.close()


def test_a_close_call_is_rechecked_in_interleaved_rounds_once(items_pg):
    engine, schema = items_pg
    table = schema.table("items").key
    plain = Candidate(table, Index("items_grp_idx", (IndexElement("grp"),)), frozenset({"lookup"}))
    covering = Candidate(table, Index("items_grp_code_idx", (IndexElement("grp"),), include=("code",)),
                         frozenset({"lookup"}))
    evaluator = Evaluator(engine, schema, workload(LOOKUP, schema), draws=2, progress=False)
    try:
        queries = evaluator.affected(plain)
        entries = [(frozenset(), queries), (frozenset({plain}), queries), (frozenset({covering}), queries)]
        evaluator.times(frozenset())  # the first measurement warms the data up
        before = evaluator.executions
        first = evaluator.recheck(entries, 3)
        timed = evaluator.executions - before
        assert timed == 3 * len(entries) * len(queries) * (1 + 2)  # rounds x entries x queries x (warm-up + draws)
        assert len(evaluator.rechecked) == len(entries) * len(queries)
        assert evaluator.recheck(entries, 3) == first and evaluator.executions == before + timed  # re-checked once
        assert first[0]["lookup"] > first[1]["lookup"]  # no index against the lookup index
        assert len(greedy(evaluator, [plain, covering], budget_bytes=1e9).picked) == 1
    finally:
        evaluator.close()
