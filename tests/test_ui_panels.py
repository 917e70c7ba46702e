"""The explore() panels: each is built, its controls are changed as a person would, and its views follow.

Bad choices (a table that does not exist, no variant, a budget below every index, a closed engine)
show a message in the panel and never raise; the static view (for stored notebooks) holds PNG
pictures and no inline SVG.
"""

from __future__ import annotations

import base64
import html
import re

import pytest

import workbench as wb
from workbench.bench import IndexSpec, Study, Variant
from workbench.errors import WorkbenchError
from workbench.ui import PANELS
from workbench.ui.panel import Panel

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_pictures(panel: Panel) -> list[bytes]:
    """The PNG pictures of a panel's static view; checks there is no SVG in it."""
    bundle = panel._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and bundle["text/plain"].startswith(f"<{type(panel).__name__}")
    assert "<svg" not in bundle["text/html"]
    found = re.findall(r'src="data:image/png;base64,([^"]+)"', bundle["text/html"])
    return [base64.b64decode(data) for data in found]


def message(panel: Panel) -> str:
    assert html.unescape(re.sub(r"<[^>]+>", "", panel.message.value)) == panel.note
    return panel.note


def test_explore_names_what_it_takes():
    with pytest.raises(WorkbenchError, match="explore\\(\\) has no panel for a int; it takes a Schema"):
        wb.explore(3)
    assert "workbench.advisor.advice.Advice" in PANELS


def test_schema_panel_redraws_around_the_picked_table(tmp_path):
    shop = wb.domain("ecommerce").schema
    panel = wb.explore(shop, folder=tmp_path)
    whole = panel.picture.value
    assert panel.picture.format == "svg+xml" and bytes(whole).startswith(b"<?xml") and message(panel) == ""
    assert "Lint findings of the design" in panel.side.value
    panel.set(table="orders")
    assert panel.picture.value != whole and "public.orders" in panel.side.value
    assert "Lint findings on public.orders" in panel.side.value and "order_id" in panel.side.value
    around_orders = panel.picture.value
    panel.set(depth=0)
    assert panel.picture.value != around_orders
    assert panel.caption.value.startswith("<small>1 table, 0 foreign keys, 1 view: within 0 hops of public.orders")
    panel.set(detail="table names", layout="top to bottom")
    assert panel.diagram.style.columns == "none" and panel.diagram.style.rankdir == "TB"
    panel.set(table="ordrs")
    assert message(panel) == "no table 'ordrs' in this schema; did you mean 'public.orders'?"
    assert panel.diagram.title.endswith("(depth 0)")  # the last good view stays
    panel.set(table="")
    assert message(panel) == "" and "around" not in repr(panel.diagram)
    pictures = static_pictures(panel)
    assert len(pictures) == 1 and pictures[0].startswith(b"\x89PNG")


def test_schema_panel_exports_the_current_view(tmp_path):
    s = wb.sketch("shop")
    s.table("customers", id="serial pk", email="text unique not null")
    s.table("orders", id="bigserial pk", customer_id="-> customers")
    s.table("notes", id="serial pk", body="text")
    s.area("sales", "customers", "orders")
    panel = wb.explore(s.build(), table="orders", folder=tmp_path)
    written = {kind: panel.export(kind) for kind in ("SVG", "Mermaid", "DBML")}
    assert {p.suffix for p in written.values()} == {".svg", ".mmd", ".dbml"}
    assert all(p.parent == tmp_path and p.stat().st_size > 0 for p in written.values())
    assert "notes" not in written["DBML"].read_text()  # the view around orders, not the whole schema
    panel._export_clicked("Mermaid")
    assert "wrote <a href=" in panel.exported.value
    panel.set(area="sales", table="notes")
    assert message(panel).startswith("notes is not in subject area 'sales' (it has customers, orders)")
    panel.set(table="")
    assert message(panel) == "" and {t.name for t in panel.diagram.content.tables} == {"customers", "orders"}


def test_schema_panel_with_a_closed_engine_says_so():
    shop = wb.domain("ecommerce")
    engine = wb.connect("duckdb")
    engine.close()
    panel = wb.explore(shop.schema, engine=engine)
    assert "is closed" in message(panel) and "workbench.connect" in message(panel)
    assert panel.picture.value  # the diagram still shows


@pytest.fixture(scope="module")
def study_results(tmp_path_factory):
    study = Study("search", "ecommerce", (Variant("no index"), Variant("by created", indexes=[
        IndexSpec("products", ["created_at"])]), Variant("by name", indexes=[IndexSpec("products", ["name"])])),
        engines=["duckdb"], scale="ci", tables=["products", "reviews"], queries=["product_search", "product_page"],
        repetitions=5, warmup=1, seed=3)
    return study.run(tmp_path_factory.mktemp("study"), progress=False, report=False)


def test_results_panel_follows_query_metric_and_variants(study_results):
    panel = study_results.explore()
    assert message(panel) == "" and panel.controls["query"].value == "product_search"
    first = panel.plot.value
    panel.set(metric="p95")
    assert panel.plot.value != first and "p95 ratio (x)" in panel.table.value
    panel.set(query="product_page", metric="throughput")
    assert "throughput ratio (x)" in panel.table.value and message(panel) == ""
    panel.set(variants=("no index", "by name"))
    assert "by created" not in panel.table.value and "by name" in panel.table.value
    panel.set(variants=())
    assert message(panel) == "pick at least one variant (ctrl- or shift-click in the list)"
    panel.set(variants=("no index",), metric="p50")
    assert message(panel) == "" and "no other variant than the baseline" in panel.table.value
    assert "Plan of no index" in panel.plan_view.value and bytes(panel.plan_picture.value).startswith(b"\x89PNG")
    panel.set(plan="by created", compare="no index")
    assert "by created → no index" in panel.plan_view.value
    assert len(static_pictures(panel)) == 2


def test_results_panel_says_when_a_query_has_no_data(tmp_path):
    failing = Study("broken", "ecommerce", (Variant("no index"), Variant("typo", indexes=[
        IndexSpec("products", ["nmae"])])), engines=["duckdb"], scale="ci", tables=["products"],
        queries=["product_search"], repetitions=2, warmup=0)
    results = failing.run(tmp_path, progress=False, report=False)
    panel = results.explore()
    panel.set(variants=("typo",))
    assert "no measured p50 for query 'product_search' on duckdb" in message(panel)
    assert "typo" in message(panel) and "nmae" in message(panel)
    panel.set(plan="typo")
    assert "no plan of typo" in panel.plan_view.value


@pytest.fixture(scope="module")
def advised(pg_server):
    shop = wb.domain("ecommerce")
    with wb.connect("postgres") as engine:
        shop.load(engine, "small", seed=1, progress=False)
        return wb.advise(engine, shop.schema, shop.workload, budget_mb=2, budgets_mb=[0.001, 0.5, 4], draws=2,
                         progress=False)


def test_advice_panel_slides_over_the_measured_budgets(advised):
    assert list(advised.by_budget) == [0.001, 0.5, 2, 4] and list(advised.curve()["budget_mb"]) == [0.001, 0.5, 2, 4]
    panel = advised.explore()
    assert panel.controls["budget"].value == 2 and "budget 2 MB" in panel.summary.value
    executions = advised.executions
    curve = panel.plot.value
    panel.set(budget=4)
    assert panel.plot.value != curve and "budget 4 MB" in panel.summary.value
    assert panel.statements.value.count("CREATE INDEX") == len(advised.by_budget[4].recommendations)
    panel.set(budget=0.001)
    assert message(panel).startswith(("no index fits within 0.001 MB", "no index pays off"))  # measured: either
    assert "-- nothing to create" in panel.statements.value and "none within this budget" in panel.chosen.value
    assert advised.executions == executions  # moving the slider measured nothing
    assert len(static_pictures(panel)) == 1


def test_advice_at_one_budget_says_how_to_measure_a_curve(advised):
    single = advised.by_budget[0.5]
    alone = type(single)(**{**single.__dict__, "by_budget": {}})
    panel = alone.explore()
    assert panel.controls["budget"].disabled and "budgets_mb=[" in message(panel)


def test_data_panel_shows_distribution_and_fanout_and_reloads():
    shop = wb.domain("ecommerce")
    panel = wb.explore(shop, engine="duckdb", seed=42, table="orders")
    assert message(panel) == "" and "scale ci, seed 42" in panel.counts.value
    assert panel.controls["column"].value == "customer_id" and panel.controls["fanout"].value[0] == "public.orders"
    before = panel.distribution.value
    panel.set(column="status")
    assert panel.distribution.value != before and "5 distinct" in panel.stats.value
    panel.set(fanout=("public.order_items", ("order_id",), "public.orders"))
    assert "order_items per orders (order_id): median" in panel.fanout_stats.value
    panel.set(table="public.customers")
    assert panel.controls["column"].value == "email" and "orders per customers" in panel.fanout_stats.value
    panel.set(column="city")
    assert "NULL" in panel.stats.value
    old = panel.engine
    panel.scale.value, panel.seed.value = "0.002", 7
    panel.load()
    assert old.closed and not panel.engine.closed and "scale 0.002, seed 7" in panel.counts.value
    assert panel.engine.row_counts()["public.orders"] == 2000
    panel.engine.close()
    panel.set(column="email")
    assert "was closed" in message(panel) and "press reload" in message(panel)
    panel.load()
    assert message(panel) == "" and len(static_pictures(panel)) == 2
    panel.engine.close()


def test_data_panel_on_an_engine_it_does_not_own():
    shop = wb.domain("timeseries")
    with wb.connect("duckdb") as engine:
        panel = wb.explore(shop, engine=engine)  # not loaded yet: the panel loads it
        assert panel.reload.disabled and message(panel) == "" and engine.row_counts()
    panel.set(column=panel.controls["column"].options[-1])
    assert "was closed" in message(panel) and "explore(domain)" in message(panel)


@pytest.fixture(scope="module")
def shop_migration():
    shop = wb.domain("ecommerce")
    v1, v2 = wb.import_ddl(shop.path / "schema.sql"), wb.import_ddl(shop.path / "schema_v2.sql")
    return wb.plan_migration(v1, v2, renames={"orders.total": "orders.amount"})


def test_migration_panel_shows_each_statement_with_its_lock_and_findings(shop_migration):
    panel = shop_migration.explore()
    assert message(panel) == "" and "ALTER TABLE public.orders RENAME COLUMN total TO amount;" in panel.detail.value
    assert "renaming-column" in panel.detail.value and "ACCESS EXCLUSIVE on public.orders" in panel.detail.value
    assert "Every statement of the up script" in panel.overview.value and "<th>phase</th>" in panel.overview.value
    rename = panel.detail.value
    rewrite = next(i for i, s in enumerate(shop_migration.up) if s.rewrite)
    panel.set(step=rewrite)
    assert panel.detail.value != rename and "rewrites the whole table while holding it" in panel.detail.value
    panel.set(direction="down")
    assert panel.controls["step"].value == 0 and "RENAME COLUMN amount TO total" in panel.detail.value
    assert "Every statement of the down script" in panel.overview.value
    assert static_pictures(panel) == []  # nothing measured: the plan is text and tables


def test_migration_panel_of_an_empty_plan_says_so(shop_migration):
    same = wb.plan_migration(shop_migration.diff.old, shop_migration.diff.old)
    panel = wb.explore(same)
    assert message(panel) == "the up script has no statements: the two schemas are the same"
    assert "<svg" not in panel._repr_mimebundle_()["text/html"]


def test_migration_panel_with_a_measurement_rings_the_chosen_statement(shop_migration, pg_server):
    with wb.connect("postgres") as engine:
        measured = shop_migration.measure(engine, scale="ci", seed=1, warmup_s=0.1, pause_s=0.01, progress=False)
        verified = shop_migration.verify(engine, progress=False)  # the catalogs only: no rows
    panel = shop_migration.explore(measured=measured, verified=verified)
    assert "Measured" in panel.evidence.value and "held (pg_locks)" in panel.evidence.value
    assert "&lt;Verification: round trip verified" in panel.evidence.value
    first = panel.plot.value
    panel.set(step=3)
    assert panel.plot.value != first and "workload errors" in panel.evidence.value
    panel.set(direction="down")
    assert message(panel).startswith("the measurement ran the up script")
    assert len(static_pictures(panel)) == 1


@pytest.fixture(scope="module")
def cache_results():
    shop = wb.domain("ecommerce")
    with wb.connect("duckdb") as engine:
        shop.load(engine, "ci", seed=1, progress=False)
        stream = wb.cache.trace(shop, engine, requests=3000, seed=1, workload=shop.path / "workload_cache.sql",
                                progress=False)
    sizes = [int(stream.working_set_bytes * f) for f in (0.05, 0.2, 1.0)]
    return wb.cache.simulate(stream, policies="lru,s3fifo", sizes=sizes, ttls=[None, 30],
                             strategies="cache-aside,refresh-ahead", progress=False)


def test_cache_panel_slides_over_the_simulated_sizes_and_ttls(cache_results):
    panel = cache_results.explore(policy="lru")
    sizes = [value for _, value in panel.controls["size"].options]
    assert message(panel) == "; ".join(cache_results.notes)  # the simulation's notes, e.g. refresh-ahead skipped
    assert "refresh-ahead is simulated only with a TTL" in message(panel)
    assert [label for label, _ in panel.controls["ttl"].options] == ["no TTL", "30 s"]
    assert "Belady (optimum)" in panel.figures.value and "What to cache within" in panel.chosen.value
    panel.set(size=sizes[-1], ttl=-1.0)
    curve, summary = panel.plot.value, panel.summary.value
    panel.set(size=sizes[0])
    assert panel.plot.value != curve and panel.summary.value != summary
    assert "Belady&#x27;s optimum" in panel.summary.value and "no TTL" in panel.summary.value
    panel.set(ttl=30.0, policy="s3fifo")
    assert "TTL 30 s" in panel.summary.value and "s3fifo at" in panel.summary.value
    assert len(panel.advice) == 4  # what to cache: simulated once per point visited (set() moves one by one)
    panel.set(strategy="refresh-ahead", ttl=-1.0)
    assert message(panel) == ("s3fifo was not simulated with refresh-ahead, on-write, no TTL; refresh-ahead was "
                              "simulated with: on-write, TTL 30 s")
    assert len(static_pictures(panel)) == 1


def test_cache_panel_refuses_a_size_that_was_not_simulated(cache_results):
    with pytest.raises(WorkbenchError, match="cache size 12 was not simulated; the stops are: "):
        cache_results.explore(size=12)


@pytest.fixture(scope="module")
def proof(pg_server):
    tenants = wb.domain("multitenant")
    policy = wb.security.Policy.from_toml(tenants.path / "policy.toml")
    with wb.connect("postgres") as engine:
        tenants.load(engine, "ci", seed=1, progress=False)
        return wb.security.prove(engine, policy, progress=False)


def test_tenancy_panel_shows_an_attack_and_what_stopped_it(proof):
    panel = proof.explore()
    assert message(panel) == "" and panel.controls["attack"].value == "read_other_tenant"
    assert "read no row of tenant 2" in panel.detail.value and "allowed by design" in panel.matrix.value
    assert "the policy's statements on customers (dry run)" in panel.barriers.value
    assert "ENABLE ROW LEVEL SECURITY" in panel.barriers.value
    matrix, cells = panel.matrix.value, panel.plot.value
    panel.set(attack="insert_forged_tenant")
    assert panel.plot.value != cells and "permission denied for table customers" in panel.detail.value
    panel.set(tenant=2)
    assert panel.matrix.value != matrix and "tenant 2 attacking" in panel.matrix.value
    panel.set(attack="owner_without_force", role="app_ro")
    assert message(panel) == ("owner_without_force was not run as app_ro: it aims at tenant tables, and has nothing "
                              "of that to aim at as this role; it ran as migrator")
    panel.set(role="migrator")
    assert message(panel) == "" and "FORCE ROW LEVEL SECURITY" in panel.detail.value
    assert len(static_pictures(panel)) == 1
