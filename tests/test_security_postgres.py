"""Access control and tenancy on a real PostgreSQL: apply, prove (generated and weakened policies), roles dropped
with the sandbox, a URL user with and without CREATEROLE, the catalog lint, tenancy studies, growth, shard keys,
and the `workbench secure` command."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from workbench.cli import main
from workbench.domains import domain
from workbench.engines import connect
from workbench.errors import WorkbenchError
from workbench.security import (
    Policy,
    TenancyModel,
    by_tenant,
    lint,
    prove,
    shard_keys,
    tenancy_study,
    tenant_growth,
)
from workbench.security.noisy import noisy_neighbour

pytestmark = pytest.mark.postgres
DATASETS = Path(__file__).resolve().parent.parent / "datasets"
POLICY = DATASETS / "multitenant" / "policy.toml"


@pytest.fixture(scope="module")
def shop():
    return domain(DATASETS / "multitenant")


@pytest.fixture(scope="module")
def policy(shop):
    return Policy.from_toml(POLICY, schema=shop.schema)


@pytest.fixture(scope="module")
def loaded(pg_server, shop):
    """The multitenant domain at scale ci on the embedded server; tests clone it before applying a policy."""
    with connect("postgres") as engine:
        shop.load(engine, "ci", seed=5, progress=False)
        yield engine


def workbench_roles(server) -> set[str]:
    with server.connect() as connection:
        return {name for (name,) in connection.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'wb%'")}


def test_generated_policy_blocks_every_attack_it_should(pg_server, loaded, policy):
    before = workbench_roles(pg_server)
    with loaded.clone() as engine:
        proof = prove(engine, policy, progress=False)
        assert proof.ok, proof.holes.to_string()
        assert set(proof.frame["role"]) == {"app_ro", "app_rw", "analyst", "migrator"}
        assert proof.frame["tenant"].nunique() == 2 and proof.frame["attack"].nunique() >= 20
        frame = proof.frame.set_index(["attack", "role", "target"]).sort_index()
        assert set(frame.loc[("insert_forged_tenant", "app_rw"), "detail"]) == {
            'new row violates row-level security policy for table "customers"',
            'new row violates row-level security policy for table "orders"',
            'new row violates row-level security policy for table "order_items"'}
        assert frame.loc[("read_other_tenant", "analyst", "orders"), "result"].eq("allowed").all()  # cross-tenant
        assert frame.loc[("masked_column", "analyst", "customers.email"), "result"].eq("blocked").all()
        assert frame.loc[("copy_in_forged", "app_rw", "orders"), "detail"].str.contains("COPY FROM").all()
        assert frame.loc[("tamper_setting", "app_rw", "session"), "result"].eq("allowed").all()  # by design
        assert len(workbench_roles(pg_server) - before) == 4  # the policy's roles; the logins are gone already
        document = json.loads(proof.to_json())
        assert set(document["attacks"][0]) >= {"attack", "role", "tenant", "expected", "result", "detail"}
        assert proof.plot().get_title().endswith("0 holes")
        assert "every attack it should block was blocked" in proof._repr_html_()
        assert [f.code for f in lint(policy.model, engine=engine, policy=policy)] == []
    assert workbench_roles(pg_server) == before  # dropped with the sandbox


def test_weakened_policy_holes_are_each_found(loaded, policy):
    with loaded.clone() as engine:
        proof = prove(engine, policy.weakened(), progress=False)
    holes = proof.holes
    assert not proof.ok
    found = set(zip(holes["attack"], holes["role"], strict=True))
    assert ("insert_forged_tenant", "app_rw") in found  # WITH CHECK (true)
    assert ("view_other_tenant", "app_ro") in found  # the view reads as its owner, and the owner skips RLS
    assert ("owner_without_force", "migrator") in found  # no FORCE
    assert not any(role in ("app_ro", "app_rw", "analyst") for attack, role in found
                   if attack in ("read_other_tenant", "update_other_tenant", "delete_other_tenant"))


def test_apply_is_all_or_nothing_and_refuses_twice(pg_server, loaded, policy, shop):
    before = workbench_roles(pg_server)
    with loaded.clone() as engine:
        engine.execute("ALTER TABLE customers ADD COLUMN email_masked text")  # the mask's column is taken
        with pytest.raises(WorkbenchError, match="rolled back"):
            policy.apply(engine)
        assert workbench_roles(pg_server) == before  # not even the roles stayed
        assert engine.query("SELECT relrowsecurity FROM pg_class WHERE relname = 'orders'")["relrowsecurity"].eq(
            False).all()
    with loaded.clone() as engine:
        policy.apply(engine)
        with pytest.raises(WorkbenchError, match="exist already"):
            policy.apply(engine)
    with connect("postgres") as empty, pytest.raises(WorkbenchError, match="load the schema first"):
        policy.apply(empty)
    with connect("duckdb") as duck, pytest.raises(WorkbenchError, match="access control needs PostgreSQL"):
        policy.apply(duck)


def test_a_url_user_without_createrole_gets_a_clear_error_and_one_with_it_works(pg_server, pg_url, shop, policy):
    with pg_server.connect() as admin:
        admin.execute("CREATE ROLE wbtest_creator LOGIN CREATEROLE")
        admin.execute("CREATE ROLE wbtest_plain LOGIN")
    dbname = conninfo_to_dict(pg_url)["dbname"]
    try:
        with pg_server.connect() as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" OWNER TO wbtest_creator')
            admin.execute(f'GRANT CREATE ON DATABASE "{dbname}" TO wbtest_plain')
        before = workbench_roles(pg_server)
        with connect(make_conninfo(pg_url, user="wbtest_plain")) as engine:
            shop.load(engine, "ci", seed=5, progress=False)
            with pytest.raises(WorkbenchError, match=r"lacks the CREATEROLE privilege.*nothing was applied"):
                policy.apply(engine)
        with connect(make_conninfo(pg_url, user="wbtest_creator")) as engine:
            shop.load(engine, "ci", seed=5, progress=False)
            proof = prove(engine, policy, progress=False)
            assert proof.ok and engine.role_prefix.startswith("wb_")
        assert workbench_roles(pg_server) == before
    finally:
        with pg_server.connect() as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" OWNER TO CURRENT_USER')
            admin.execute(f'REVOKE ALL ON DATABASE "{dbname}" FROM wbtest_plain')
            admin.execute("DROP ROLE wbtest_creator")
            admin.execute("DROP ROLE wbtest_plain")


def test_tenancy_models_answer_alike_and_are_measured(shop):
    variants = [v for v in tenancy_study(shop).variants if v.name in ("shared", "rls", "database per tenant")]
    study = tenancy_study(shop, variants=variants, tenants=4, repetitions=3, warmup=0, noisy=0.5)
    with tempfile.TemporaryDirectory() as out:
        results = study.run(out, progress=False, report=False)
    assert list(results.variants["status"]) == ["ok"] * 3, results.failures()
    assert results.answers().empty  # every design returns the same rows for the same draw
    assert results.failures().empty
    labels = {query.split(" · ")[1] for query in by_tenant(results, 1)["query"]}
    assert labels == {"tenant 1", "other tenants"}
    rls = results.plans[(results.plans["variant"] == "rls") & (results.plans["query"] == "tenant_recent_orders")]
    assert "InitPlan" in rls["plan_json"].iloc[0]  # the policy's setting, read once per query


def test_tenant_growth_measures_catalog_planning_and_onboarding(shop):
    models = {"schemas": TenancyModel("schemas"), "databases": TenancyModel("databases", pool=2)}
    growth = tenant_growth(shop, counts=(2, 3), models=models, repetitions=1, progress=False)
    catalog = growth.catalog.set_index(["model", "tenants"])
    assert catalog.loc[("schemas", 3), "relations"] > catalog.loc[("schemas", 2), "relations"]
    assert catalog.loc[("databases", 3), "catalog_bytes"] > 1.3 * catalog.loc[("databases", 2), "catalog_bytes"]
    assert set(growth.planning["connection"]) == {"new", "warm"}
    assert (growth.onboarding_summary()["p50"] > 0).all()
    assert growth.plot_catalog().get_xlabel() == "tenants (log scale)"


def test_shard_keys_on_the_loaded_data_and_with_a_noisy_neighbour(loaded, shop):
    analysis = shard_keys(loaded, shop.schema, shop.workload)
    assert analysis.best() == "tenant_id"
    tenant = analysis.frame[analysis.frame["candidate"] == "tenant_id"].set_index("shards")
    assert (tenant["single_shard_share"] == 1.0).all() and list(tenant.index) == [4, 16, 64]
    data = shop.generate("ci", seed=5, progress=False)
    with connect("postgres") as noisy:
        noisy.load(shop.schema, noisy_neighbour(shop.schema, data), progress=False)
        skewed = shard_keys(noisy, shop.schema, shop.workload, keys=["tenant_id"]).frame.set_index("shards")
    assert (skewed["largest_shard_share"] >= 0.45).all()  # the noisy tenant's rows share one shard
    with connect("duckdb") as duck, pytest.raises(WorkbenchError, match="hash functions"):
        shard_keys(duck, shop.schema, shop.workload)


def test_secure_command_prints_applies_proves_and_fails_on_holes(capsys, pg_server):
    assert main(["secure", "multitenant", "--policy", str(POLICY)]) == 0
    assert 'CREATE POLICY "tenant_isolation"' in capsys.readouterr().out
    assert main(["secure", "multitenant", "--policy", str(POLICY), "--prove", "--json"]) == 0
    attacks = json.loads(capsys.readouterr().out)["attacks"]
    assert attacks and {a["result"] for a in attacks} == {"blocked", "allowed"}
    assert main(["secure", "multitenant", "--policy", str(POLICY), "--prove", "--weakened", "--quiet"]) == 1
    output = capsys.readouterr().out
    assert "HOLE" in output and "holes>" in output
    assert main(["secure", "multitenant", "--policy", "missing.toml"]) == 2
    assert "cannot read policy file" in capsys.readouterr().err
