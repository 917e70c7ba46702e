"""Study variants and declarations: index specs to model indexes and DDL, TOML reading, dry runs, samples."""

from pathlib import Path

import pyarrow as pa
import pytest

from workbench.bench import IndexSpec, Study, Variant
from workbench.bench.study import subset
from workbench.bench.writes import insert_sample
from workbench.domains import domain
from workbench.errors import WorkbenchError

DATASETS = Path(__file__).resolve().parent.parent / "datasets"


@pytest.fixture(scope="module")
def schema():
    return domain("ecommerce").schema


def test_index_spec_renders_every_kind(schema):
    specs = {
        "composite": IndexSpec("orders", ["customer_id", "ordered_at"], descending=["ordered_at"]),
        "covering": IndexSpec("orders", ["customer_id"], include=["total"]),
        "partial": IndexSpec("orders", ["ordered_at"], where="status = 'new'"),
        "expression": IndexSpec("customers", ["lower(email)"], unique=True),
        "hash": IndexSpec("products", ["sku"], method="hash"),
        "trigram": IndexSpec("products", ["name"], method="gin", opclass="gin_trgm_ops"),
        "brin": IndexSpec("orders", ["ordered_at"], method="brin"),
    }
    study = Study("kinds", "ecommerce", [Variant(name, indexes=[spec]) for name, spec in specs.items()])
    ddl = {name: study.ddl(name, "postgres") for name in specs}
    assert ddl["composite"][-1].endswith("(customer_id, ordered_at DESC)")
    assert "INCLUDE (total)" in ddl["covering"][-1]
    assert "WHERE status = 'new'" in ddl["partial"][-1]
    assert ddl["expression"][-1].startswith("CREATE UNIQUE INDEX") and "LOWER(email)" in ddl["expression"][-1]
    assert "USING hash" in ddl["hash"][-1]
    assert ddl["trigram"] == ['CREATE EXTENSION IF NOT EXISTS "pg_trgm"',
                              "CREATE INDEX products_name_gin_idx ON public.products USING gin(name gin_trgm_ops)"]
    assert "USING brin" in ddl["brin"][-1]
    assert study.ddl("composite", "duckdb") == ["CREATE INDEX orders_customer_id_ordered_at_idx ON orders("
                                                "customer_id, ordered_at DESC)"]


def test_gin_on_jsonb_renders_with_its_operator_class():
    documents = IndexSpec("preferences", ["settings"], method="gin", opclass="jsonb_path_ops")
    study = Study("docs", "notifications", [Variant("gin", indexes=[documents])])
    assert study.ddl("gin", "postgres") == ["CREATE INDEX preferences_settings_gin_idx ON public.preferences "
                                            "USING gin(settings jsonb_path_ops)"]


def test_engine_gaps_and_bad_columns_raise_with_the_reason(schema):
    study = Study("gaps", "ecommerce", [
        Variant("trigram", indexes=[IndexSpec("products", ["name"], method="gin", opclass="gin_trgm_ops")]),
        Variant("bad column", indexes=[IndexSpec("products", ["nmae"])]),
        Variant("art", indexes=[IndexSpec("products", ["sku"], method="art")]),
    ])
    with pytest.raises(WorkbenchError, match="no gin index"):
        study.ddl("trigram", "duckdb")
    with pytest.raises(WorkbenchError, match="did you mean 'name'"):
        study.ddl("bad column", "postgres")
    with pytest.raises(WorkbenchError, match="only in DuckDB"):
        study.ddl("art", "postgres")
    assert study.ddl("art", "duckdb") == ["CREATE INDEX products_sku_idx ON products(sku)"]
    with pytest.raises(WorkbenchError, match="index method"):
        IndexSpec("products", ["name"], method="gim")


def test_settings_and_setup_show_in_the_dry_run():
    variant = Variant("tuned", settings={"work_mem": "64MB"}, setup=["CREATE TABLE x AS SELECT 1 AS a"])
    study = Study("tuned", "ecommerce", [Variant("as is"), variant])
    assert study.ddl("tuned", "postgres") == ["CREATE TABLE x AS SELECT 1 AS a", "SET work_mem = '64MB'"]
    assert "work_mem = 64MB" in repr(variant)


def test_study_file_reads_variants_and_overrides():
    study = Study.from_toml(DATASETS / "ecommerce" / "study_search.toml", scale="ci", engines=["duckdb"])
    assert study.engines == ("duckdb",) and study.scale == "ci" and study.baseline == "no index"
    assert [v.name for v in study.variants] == ["no index", "b-tree on created_at", "trigram on name", "both"]
    assert [q.name for q in study.workload] == ["product_search"]
    assert {t.key for t in study.schema.tables} == {"public.products", "public.categories"}
    assert study.variant("both").tables == ("products",)


def test_study_file_errors_name_the_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\ndomain = "ecommerce"\n[[variants]]\nname = "a"\nindex = []\n')
    with pytest.raises(WorkbenchError, match="did you mean 'indexes'"):
        Study.from_toml(path)
    path.write_text('name = "x"\ndomain = "ecommerce"\nqueries = ["nope"]\n[[variants]]\nname = "a"\n')
    with pytest.raises(WorkbenchError, match="unknown query"):
        _ = Study.from_toml(path).workload


def test_subset_keeps_parents_and_drops_views_of_missing_tables(schema):
    small = subset(schema, ("reviews",))
    assert {t.name for t in small.tables} == {"reviews", "products", "customers", "categories"}
    assert small.views == ()


def test_insert_sample_moves_unique_keys_past_existing_rows(schema):
    data = pa.table({"product_id": [1, 2, 3], "sku": ["A", "B", "C"], "name": ["x", "y", "z"],
                     "category_id": [1, 1, 2]})
    sample = insert_sample(schema, "products", data, 2)
    assert sample["product_id"].to_pylist() == [4, 5]
    assert sample["sku"].to_pylist() == ["A~w", "B~w"]
    assert sample["category_id"].to_pylist() == [1, 1]  # foreign keys still point at existing parents
    with pytest.raises(WorkbenchError, match="foreign keys only"):
        insert_sample(schema, "inventory", pa.table({"product_id": [1], "warehouse_id": [1], "quantity": [3]}), 1)


def test_generated_index_names_avoid_the_schemas_own():
    series = domain("timeseries").schema  # already has readings_recorded_at_idx
    index = IndexSpec("readings", ["recorded_at"]).to_index(series, "postgres")
    assert index.name == "readings_recorded_at_2_idx"
    assert IndexSpec("readings", ["recorded_at"], method="brin").to_index(series, "postgres").name == \
        "readings_recorded_at_brin_idx"


def test_insert_sample_moves_timestamps_past_the_latest():
    series = domain("timeseries").schema
    when = pa.array([0, 10, 20], pa.timestamp("us", tz="UTC"))
    data = pa.table({"device_id": [1, 1, 2], "recorded_at": when, "value": [1.0, 2.0, 3.0]})
    sample = insert_sample(series, "readings", data, 2)
    assert sample["recorded_at"].cast(pa.int64()).to_pylist() == [21, 31]
    assert sample["recorded_at"].type == when.type and sample["device_id"].to_pylist() == [1, 1]
