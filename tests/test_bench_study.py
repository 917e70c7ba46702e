"""The study runner on small data: method (interleaving, shared draws), failures recorded, resume, CLI."""

import json
from pathlib import Path

import pandas as pd
import pytest

from workbench.bench import IndexSpec, Study, Variant
from workbench.bench.store import EXECUTIONS
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.workload import Workload

ENGINES = ["duckdb", "postgres"]
KEY = ["engine", "variant", "query", "phase", "repetition", "draw"]
BY_CREATED = IndexSpec("products", ["created_at"])


def search_study(engine: str, *variants: Variant, repetitions: int = 3, **options) -> Study:
    variants = variants or (Variant("no index"), Variant("by created", indexes=[BY_CREATED]))
    return Study("search", "ecommerce", variants, engines=[engine], scale="ci", tables=["products"],
                 queries=["product_search"], repetitions=repetitions, warmup=1, seed=3, **options)


def override(sql: str) -> Workload:
    return Workload.from_text(f"-- name: product_search\n-- params: term = word(products.name)\n{sql};\n")


@pytest.mark.parametrize("engine", ENGINES)
def test_rounds_interleave_variants_and_share_draws(engine, tmp_path, pg_server):
    variants = [Variant("a"), Variant("b", indexes=[BY_CREATED]), Variant("c")]
    results = search_study(engine, *variants, repetitions=6).run(tmp_path, progress=False, report=False)
    runs = pd.read_parquet(tmp_path / "results.parquet")
    assert list(runs.columns) == EXECUTIONS.names
    measured = runs[runs["phase"] == "measure"]
    assert list(measured["repetition"]) == sorted(measured["repetition"])  # round r of every variant, then r + 1
    orders = {tuple(group["variant"]) for _, group in measured.groupby("repetition")}
    assert len(orders) > 1 and all(sorted(order) == ["a", "b", "c"] for order in orders)
    assert (runs["phase"].value_counts().to_dict() == {"measure": 18, "warmup": 3, "cold": 3})
    for _, group in measured.groupby("draw"):  # the same parameters, hence the same answer, for every variant
        assert group["params"].nunique() == 1 and group["checksum"].nunique() == 1
    assert measured["draw"].nunique() == 6
    assert set(runs["status"]) == {"ok"} and results.answers().empty
    assert not runs.duplicated(KEY).any()


def test_draws_are_identical_across_engines(tmp_path, pg_server):
    study = search_study("duckdb").with_options(engines=("duckdb", "postgres"))
    study.run(tmp_path, progress=False, report=False)
    runs = pd.read_parquet(tmp_path / "results.parquet")
    params = runs[runs["phase"] == "measure"].groupby("draw")["params"].nunique()
    assert (params == 1).all()
    plans = pd.read_parquet(tmp_path / "plans.parquet")
    assert set(plans["engine"]) == {"duckdb", "postgres"} and plans["plan_json"].notna().all()


@pytest.mark.parametrize("engine", ENGINES)
def test_timeout_is_recorded_at_the_timeout(engine, tmp_path, pg_server):
    slow = {"duckdb": "SELECT count(*) FROM range(400000000) r(i) WHERE i % 7 = length(:term)",
            "postgres": "SELECT pg_sleep(2), :term AS term"}[engine]
    study = search_study(engine, Variant("fast"), Variant("slow", workload=override(slow)), timeout_s=0.2,
                         repetitions=2)
    study.run(tmp_path, progress=False, report=False)
    runs = pd.read_parquet(tmp_path / "results.parquet")
    slow_runs = runs[runs["variant"] == "slow"]
    assert set(slow_runs["status"]) == {"timeout"} and len(slow_runs) == 4
    assert (slow_runs["latency_ms"] >= 200).all() and slow_runs["rows"].isna().all()
    assert set(runs.loc[runs["variant"] == "fast", "status"]) == {"ok"}


@pytest.mark.parametrize("engine", ENGINES)
def test_failing_variant_is_recorded_and_the_rest_runs(engine, tmp_path, pg_server):
    study = search_study(engine, Variant("no index"), Variant("typo", indexes=[IndexSpec("products", ["nmae"])]),
                         Variant("trigram", indexes=[IndexSpec("products", ["name"], method="gin",
                                                               opclass="gin_trgm_ops")]))
    results = study.run(tmp_path, progress=False, report=False)
    variants = pd.read_parquet(tmp_path / "variants.parquet").set_index("variant")
    assert variants.loc["typo", "status"] == "failed" and "did you mean 'name'" in variants.loc["typo", "error"]
    trigram = variants.loc["trigram"]
    if engine == "duckdb":
        assert trigram["status"] == "failed" and "no gin index" in trigram["error"]
    else:
        assert trigram["status"] == "ok" and "gin_trgm_ops" in trigram["ddl"] and trigram["index_bytes"] > 0
        assert trigram["insert_rows_per_s"] > 0
    ran = set(pd.read_parquet(tmp_path / "results.parquet")["variant"])
    assert ran == ({"no index"} if engine == "duckdb" else {"no index", "trigram"})
    assert "typo" in set(results.failures()["variant"])


def test_lost_connection_is_an_error_and_the_study_goes_on(tmp_path, pg_server):
    killer = override("SELECT pg_terminate_backend(pg_backend_pid()), :term AS term")
    study = Study("restart", "ecommerce", [Variant("as is"), Variant("killer", workload=killer)],
                  engines=["postgres"], scale="ci", tables=["reviews"], queries=["product_search", "product_page"],
                  repetitions=2, warmup=0, seed=1)
    study.run(tmp_path, progress=False, report=False)
    runs = pd.read_parquet(tmp_path / "results.parquet")
    killed = runs[(runs["variant"] == "killer") & (runs["query"] == "product_search")]
    assert set(killed["status"]) == {"error"} and killed["error"].notna().all()
    others = runs[(runs["variant"] == "as is") | (runs["query"] == "product_page")]
    assert set(others["status"]) == {"ok"}  # the runner reconnected after each lost connection


@pytest.mark.parametrize("engine", ENGINES)
def test_resume_completes_an_interrupted_run_without_duplicates(engine, tmp_path, pg_server):
    study = search_study(engine, repetitions=4)
    partial = study.run(tmp_path, progress=False, max_rounds=2, report=False)
    assert partial.meta["complete"] is False
    first = pd.read_parquet(tmp_path / "results.parquet")
    assert set(first.loc[first["phase"] == "measure", "repetition"]) == {0, 1}
    study.run(tmp_path, resume=True, progress=False, report=False)
    runs = pd.read_parquet(tmp_path / "results.parquet")
    assert not runs.duplicated(KEY).any()
    assert len(runs) == 2 * (1 + 1 + 4) and len(runs[runs["phase"] == "measure"]) == 8
    kept = runs.merge(first, on=KEY, suffixes=("", "_first"))
    assert len(kept) == len(first) and (kept["started_at"] == kept["started_at_first"]).all()
    with pytest.raises(WorkbenchError, match="seed: 3 there, 4 now"):
        study.with_options(seed=4).run(tmp_path, resume=True, progress=False, report=False)


@pytest.mark.parametrize(("setting", "change"), [
    ("repetitions", {"repetitions": 5}), ("warmup", {"warmup": 0}), ("seed", {"seed": 4}),
    ("engines", {"engines": ("duckdb", "postgres")}), ("variants", {"variants": (Variant("no index"),)}),
    ("queries", {"queries": ("product_page",)}), ("scale", {"scale": "small"}), ("timeout_s", {"timeout_s": 1.0}),
])
def test_resume_with_other_measurement_settings_is_refused(interrupted, setting, change):
    study, out = interrupted
    before = sorted(p.name for p in (out / "executions").iterdir())
    with pytest.raises(WorkbenchError, match=rf"cannot resume in .*\({setting}: .* there, .* now\); resume with"):
        study.with_options(**change).run(out, resume=True, progress=False, report=False)
    assert sorted(p.name for p in (out / "executions").iterdir()) == before  # nothing was touched


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> tuple[Study, Path]:
    """A study stopped after its first round, in its out folder."""
    study, out = search_study("duckdb", repetitions=2).with_options(tables=()), tmp_path_factory.mktemp("stopped")
    study.run(out, progress=False, max_rounds=1, report=False, measure_only=True)
    return study, out


def test_a_folder_holding_results_is_never_silently_overwritten(tmp_path, capsys):
    study = search_study("duckdb", repetitions=2)
    study.run(tmp_path, progress=False, max_rounds=1, report=False, measure_only=True)
    kept = pd.read_parquet(tmp_path / "results.parquet")
    with pytest.raises(WorkbenchError, match=r"holds the results of an earlier run \(study 'search', \d+ executions, "
                                             r"not complete\); complete it with --resume"):
        study.run(tmp_path, progress=False, report=False)
    assert pd.read_parquet(tmp_path / "results.parquet").equals(kept)
    toml = Path(__file__).resolve().parent.parent / "datasets" / "ecommerce" / "study_search.toml"
    assert main(["study", str(toml), "--scale", "ci", "--out", str(tmp_path), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"error: {tmp_path} holds the results") and "--resume" in error
    again = study.run(tmp_path, progress=False, report=False, measure_only=True, overwrite=True)  # said on purpose
    assert again.meta["complete"] is True


@pytest.mark.parametrize("engine", ENGINES)
def test_cli_runs_a_study_end_to_end(engine, tmp_path, capsys, pg_server):
    study = Path(__file__).resolve().parent.parent / "datasets" / "ecommerce" / "study_search.toml"
    out = tmp_path / "out"
    code = main(["study", str(study), "--engine", engine, "--scale", "ci", "--repetitions", "3", "--out", str(out),
                 "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0 and "winners" in printed and "no index" in printed
    runs = pd.read_parquet(out / "results.parquet")
    assert {"variant", "query", "latency_ms"} <= set(runs.columns)
    assert (out / "report.html").is_file() and list(out.glob("*.png"))
    assert main(["study", str(study), "--engine", engine, "--scale", "ci", "--repetitions", "3", "--out",
                 str(tmp_path / "again"), "--quiet", "--baseline", str(out), "--fail-if-slower", "1000"]) == 0


def test_fail_if_slower_exits_1_when_a_variant_got_slower(tmp_path, capsys, pg_server):
    def write(name: str, variant: str) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(f'name = "gate"\ndomain = "ecommerce"\nscale = "ci"\ntables = ["products"]\n'
                        f'queries = ["product_search"]\nrepetitions = 5\nwarmup = 1\n'
                        f'[[variants]]\nname = "as is"\n[[variants]]\nname = "searched"\n{variant}\n')
        return path

    (tmp_path / "slow.sql").write_text("-- name: product_search\n-- params: term = word(products.name)\n"
                                       "SELECT pg_sleep(0.03), count(*) FROM products WHERE name ILIKE "
                                       "'%' || :term || '%';\n")
    fast = write("fast", 'indexes = [{ table = "products", columns = ["name"], method = "gin", '
                         'opclass = "gin_trgm_ops" }]')
    slow = write("slow", 'workload = "slow.sql"')  # the index dropped and the query made slower
    base, new = tmp_path / "base", tmp_path / "new"
    assert main(["study", str(fast), "--engine", "postgres", "--out", str(base), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["study", str(slow), "--engine", "postgres", "--out", str(new), "--quiet",
                 "--baseline", str(base / "results.parquet"), "--fail-if-slower", "1.2"]) == 1
    printed = capsys.readouterr().out
    first, _, again = printed.partition("re-check:")
    assert "first check" in first and "searched" in first.split("first check")[-1]
    assert "confirmed by the re-check" in again and "searched" in again.split("confirmed")[-1]
    rechecked = pd.read_parquet(new / "recheck" / "results.parquet")  # only what was flagged ran again
    assert set(rechecked["variant"]) == {"searched"} and set(rechecked["query"]) == {"product_search"}
    ran = pd.read_parquet(new / "results.parquet")
    draws = ran[ran["variant"] == "searched"].groupby("draw")["params"].first()
    assert rechecked.groupby("draw")["params"].first().equals(draws)  # the same parameter draws


def test_recheck_clears_a_slowdown_a_fresh_run_does_not_confirm(tmp_path, pg_server):
    from workbench.bench import gate
    from workbench.bench.results import Results

    steady = override("SELECT pg_sleep(0.005), :term AS term")
    study = search_study("postgres", Variant("as is", workload=steady), repetitions=4)
    old = study.run(tmp_path / "old", progress=False, report=False)
    drifted = old.executions.assign(latency_ms=old.executions["latency_ms"] * 20)  # a run on a busy machine
    suspects = gate.flagged(Results(drifted), old, 2.0)
    assert suspects[["engine", "variant", "query"]].values.tolist() == [["postgres", "as is", "product_search"]]
    again = gate.recheck(study, old, suspects, tmp_path / "recheck", threshold=2.0, progress=False)
    assert again[["engine", "variant", "query"]].values.tolist() == [["postgres", "as is", "product_search"]]
    assert not again["regressed"].any()
    assert gate.recheck(study, old, suspects.iloc[:0], tmp_path / "none", threshold=2.0).empty


def test_meta_keeps_each_querys_first_draw_so_answer_checks_know_limits(tmp_path):
    from workbench.bench.results import Results

    results = search_study("duckdb", repetitions=2).run(tmp_path, progress=False, report=False)
    term = json.loads(results.executions.query("draw == 0")["params"].iloc[0])["term"]
    statement = results.meta["sql"]["product_search"]
    assert "LIMIT 20" in statement and term in statement
    broken = results.executions.copy()
    broken.loc[broken["variant"] == "by created", "checksum"] = "0" * 16
    differing = Results(broken, meta=results.meta).answers()
    assert set(differing["variant"]) == {"by created"} and differing["has_limit"].all()


def test_an_engine_that_cannot_connect_fails_its_variants_only(tmp_path):
    study = search_study("duckdb").with_options(engines=("postgresql://nobody@127.0.0.1:1/nowhere", "duckdb"))
    results = study.run(tmp_path, progress=False, report=False)
    variants = pd.read_parquet(tmp_path / "variants.parquet")
    unreachable = variants[variants["engine"] == "postgres"]
    assert len(unreachable) == 2 and set(unreachable["status"]) == {"failed"}
    assert unreachable["error"].str.contains("cannot connect").all()
    assert set(results.executions["engine"]) == {"duckdb"} and results.meta["complete"] is True


def test_partition_variant_runs_on_both_engines_with_the_same_answers(tmp_path, pg_server, caplog):
    from workbench.bench.partitioning import PartitionSpec

    def by_time(count: int) -> Variant:
        return Variant(f"range x{count}", partition=PartitionSpec("readings", "range", "recorded_at", count))

    study = Study("parts", "timeseries", [Variant("plain"), by_time(1), by_time(4), by_time(8)], engines=ENGINES,
                  scale="ci", repetitions=2, warmup=0, queries=["device_last_day", "window_all_devices"])
    with caplog.at_level("WARNING"):
        results = study.run(tmp_path, progress=False, report=False)
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("sqlglot")]  # e.g. SET/RESET texts
    variants = results.variants.set_index(["engine", "variant"])
    assert (variants["status"] == "ok").all() and variants.loc[("postgres", "range x4"), "partitions"] == 4
    assert "PARTITION BY RANGE" in variants.loc[("postgres", "range x4"), "ddl"]
    assert results.answers().empty and set(results.executions["status"]) == {"ok"}
    assert (tmp_path / "partitions.parquet").is_file() and (tmp_path / "retention.parquet").is_file()
    server = results.server.groupby("variant")["query"].apply(set).to_dict()  # typed parameters matched too
    assert server == {name: {"device_last_day", "window_all_devices"} for name in
                      ("plain", "range x1", "range x4", "range x8")}
    # ingest: every PostgreSQL design inserts the same rows; DuckDB's Parquet files are not measured, and say why
    assert (variants.xs("postgres")["insert_rows_per_s"] > 0).all()
    assert variants.loc[("duckdb", "plain"), "insert_rows_per_s"] > 0
    assert variants.loc[("duckdb", "range x4"), "insert_rows_per_s"] != variants.loc[("duckdb", "range x4"),
                                                                                        "insert_rows_per_s"]
    assert any("range x4" in note and "Parquet" in note for note in results.meta["notes"])


def test_retention_deletes_the_same_rows_on_every_variant(tmp_path, pg_server):
    from workbench.bench.partitioning import PartitionSpec

    variants = [Variant("plain")] + [Variant(f"range x{n}", partition=PartitionSpec("readings", "range",
                                                                                    "recorded_at", n))
                                     for n in (1, 4, 8)]
    study = Study("retention", "timeseries", variants, engines=["postgres"], scale="ci", repetitions=1, warmup=0,
                  queries=["device_last_day"])
    results = study.run(tmp_path, progress=False, report=False)
    retention = results.retention
    readings = study.generate(progress=False)["public.readings"].num_rows
    assert sorted(set(retention["partitions"])) == [4, 8]  # one cut per range partitioning with an oldest part
    for cut, group in retention.groupby("partitions"):
        assert set(group["variant"]) == {"plain", "range x1", "range x4", "range x8"}
        assert group["rows"].nunique() == 1 and 0 < group["rows"].iloc[0] < readings  # the same rows everywhere
        dropped = group[group["method"] == "drop partition"]
        assert set(dropped["variant"]) == {f"range x{cut}"}  # only the variant partitioned at that cut drops
def test_schema_alternative_answers_like_the_original(tmp_path):
    path = Path(__file__).resolve().parent.parent / "datasets" / "ecommerce" / "study_denormalized.toml"
    study = Study.from_toml(path, scale="ci", engines=["duckdb"], repetitions=2, warmup=0)
    results = study.run(tmp_path, progress=False, report=False)
    assert set(results.variants["status"]) == {"ok"} and "CREATE TABLE order_lines" in results.variants["ddl"][1]
    assert results.answers().empty and set(results.executions["status"]) == {"ok"}


@pytest.mark.parametrize(("engine", "setting", "value"), [("postgres", "work_mem", "64MB"), ("duckdb", "threads", "1")])
def test_settings_variant_holds_in_every_phase(engine, setting, value, tmp_path, pg_server):
    shows = override(f"SELECT current_setting('{setting}') AS value, :term AS term")
    study = search_study(engine, Variant("default", workload=shows),
                         Variant("tuned", settings={setting: value}, workload=shows), repetitions=2)
    study.run(tmp_path, progress=False, report=False)
    runs = pd.read_parquet(tmp_path / "results.parquet")
    assert set(runs["status"]) == {"ok"}
    per_draw = runs.groupby(["draw", "variant"])["checksum"].nunique()
    assert (per_draw == 1).all()  # cold (after a reconnect), warm-up and measured runs saw the same setting
    differs = runs.groupby("draw")["checksum"].nunique()
    assert (differs == 2).all()
    assert f"SET {setting} = '{value}'" in pd.read_parquet(tmp_path / "variants.parquet")["ddl"][1]
