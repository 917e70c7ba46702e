"""The columns-vs-document example study (datasets/ecommerce/study_document.toml) on the embedded PostgreSQL."""

from pathlib import Path

import pytest

from workbench.bench import Study
from workbench.errors import WorkbenchError

STUDY = Path(__file__).resolve().parent.parent / "datasets" / "ecommerce" / "study_document.toml"
GIN = "product_docs_doc_idx"


def test_document_variants_answer_like_the_columns_and_gin_serves_containment(tmp_path, pg_server):
    # 1000 products (scale "small"): PostgreSQL picks the GIN index for @> there; at 100 (ci) it scans the table
    study = Study.from_toml(STUDY, scale="ci", rows={"products": 1000}, repetitions=2, warmup=0, insert_rows=0)
    results = study.run(tmp_path, progress=False, report=False)
    variants = results.variants.set_index("variant")
    assert list(variants.index) == ["columns", "document", "document + GIN"]
    assert set(variants["status"]) == {"ok"}
    assert "CREATE TABLE product_docs" in variants.loc["document", "ddl"] and GIN not in variants.loc["document", "ddl"]
    assert "jsonb_path_ops" in variants.loc["document + GIN", "ddl"]
    runs = results.executions
    assert set(runs["status"]) == {"ok"} and results.answers().empty
    measured = runs[runs["phase"] == "measure"]
    assert (measured.groupby(["query", "draw"])["checksum"].nunique() == 1).all()  # every variant, same answer
    assert (measured.loc[measured["query"] == "product_by_sku", "rows"] == 1).all()
    plans = results.plans.set_index(["variant", "query"])["indexes_used"]
    assert GIN in plans["document + GIN", "product_by_sku"].split(",")
    assert GIN not in plans["document", "product_by_sku"]


def test_a_missing_study_workload_file_is_named(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(f'name = "x"\ndomain = "{STUDY.parent}"\nworkload = "missing.sql"\n[[variants]]\nname = "a"\n')
    with pytest.raises(WorkbenchError, match=r"workload file .*missing\.sql does not exist"):
        Study.from_toml(path)
