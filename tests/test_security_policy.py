"""Access-control policies without a server: the spec, its SQL, bad input, the security lint rules, the sandbox
guard for role statements, the tenancy routers' rewriting, the noisy neighbour and the shard-key analysis."""

from __future__ import annotations

from pathlib import Path

import pglast
import pytest

from workbench.ddl import import_ddl
from workbench.domains import domain
from workbench.engines import guard
from workbench.errors import WorkbenchError
from workbench.security import SECURITY_RULES, Policy, Posture, lint, noisy_neighbour
from workbench.security.rules import SecurityContext
from workbench.security.shard import candidate, candidate_keys, colocated_joins, single_shard_share
from workbench.security.tenancy import per_tenant_schemas, route, trailing

DATASETS = Path(__file__).resolve().parent.parent / "datasets"
POLICY = DATASETS / "multitenant" / "policy.toml"


@pytest.fixture(scope="module")
def shop():
    return domain(DATASETS / "multitenant")


@pytest.fixture(scope="module")
def policy():
    return Policy.from_toml(POLICY)


def test_the_example_policy_generates_least_privilege_sql(policy):
    statements = policy.sql()
    for statement in statements:  # every statement is one PostgreSQL can parse
        assert len(pglast.parse_sql(statement)) == 1, statement
    text = "\n".join(statements)
    assert all(f'"wb_dryrun_{r}" NOLOGIN' in text for r in ("app_ro", "app_rw", "analyst", "migrator"))
    for table in ("customers", "orders", "order_items"):
        assert f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY' in text
        assert f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY' in text
    isolation = [s for s in statements if s.startswith('CREATE POLICY "tenant_isolation"')]
    assert len(isolation) == 3 and all("USING (tenant_id = (SELECT" in s and "WITH CHECK (tenant_id = (SELECT" in s
                                       for s in isolation)
    assert "WITH (security_invoker = true)" in text and "VIRTUAL" in text
    assert not any(" TO PUBLIC" in s for s in statements) and "TRUNCATE" not in text
    analyst = [s for s in statements if s.startswith("GRANT SELECT (") and "analyst" in s]
    assert analyst and '"email_masked"' in analyst[0] and '"email"' not in analyst[0]  # the mask, not the column
    assert 'ALTER TABLE "orders" OWNER TO "wb_dryrun_migrator"' in text
    assert not any("OWNER TO" in s and "app_" in s for s in statements)  # no ownership to application roles


def test_weakened_policy_has_the_three_classic_holes(policy):
    weak = policy.weakened()
    text = "\n".join(weak.sql())
    assert "FORCE ROW LEVEL SECURITY" not in text and "WITH CHECK (true)" in text
    assert "security_invoker = false" in text
    assert "weakened: no FORCE, WITH CHECK (true), definer views" in repr(weak)


def test_generated_policy_lints_clean_and_the_weakened_one_does_not(shop, policy):
    assert [f.code for f in lint(shop.schema, policy=policy)] == []
    found = lint(shop.schema, policy=policy.weakened()).counts()
    assert found == {"WB302 rls-not-forced": 3, "WB303 policy-without-with-check": 3,
                     "WB304 view-without-security-invoker": 1}
    bare = [f.code for f in lint(shop.imported, tenant_column="tenant_id")]
    assert bare == ["WB301"] * 3 + ["WB308"]  # the schema alone: no RLS, and customers.email unmasked


BAD = {  # (edit of the example policy file, part of the error)
    "unknown table": (('orders = "select"', 'ordrs = "select"'), "did you mean 'orders'"),
    "unknown column": (('customers = "select"', 'customers = "select(tenant_id, emial)"'), "did you mean 'email'"),
    "unknown included role": (('includes = ["app_ro"]', 'includes = ["app_r"]'), "unknown role 'app_r'; did you mean"),
    "unknown masked role": (('roles = ["analyst"]', 'roles = ["analist"]'), "did you mean 'analyst'"),
    "tenant table without the column": (('tenant_tables = ["customers"', 'tenant_tables = ["products", "customers"'),
                                        "has no column 'tenant_id'"),
    "truncate is never granted": (('order_items = "insert, update, delete"', 'order_items = "truncate"'),
                                  "unknown privilege 'truncate'"),
    "two owners": (('cross_tenant = true', 'cross_tenant = true\nowner = true'), "only one role can own"),
    "setting without a dot": (('tenant_setting = "app.tenant_id"', 'tenant_setting = "tenant"'),
                              "must be a custom setting with a dot"),
    "unknown key": (('tenant_column = "tenant_id"', 'tenant_column = "tenant_id"\ntenant_colum = "x"'),
                    "did you mean 'tenant_column'"),
    "masked role reading through another": (('about = "business reports', 'includes = ["app_ro"]\nabout = "business'),
                                            "unmasked through included role 'app_ro'"),
    "view reading an unknown table": (("FROM orders", "FROM order"), "did you mean"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_policy_names_the_file_line_and_a_fix(tmp_path, shop, case):
    (old, new), message = BAD[case]
    text = POLICY.read_text()
    assert old in text, old
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(WorkbenchError, match=message) as raised:
        Policy.from_toml(path, schema=shop.schema)
    assert str(path) in str(raised.value)


def test_unreadable_policy_files(tmp_path, shop):
    with pytest.raises(WorkbenchError, match="cannot read policy file"):
        Policy.from_toml(tmp_path / "missing.toml", schema=shop.schema)
    broken = tmp_path / "broken.toml"
    broken.write_text("tenant_column = \n")
    with pytest.raises(WorkbenchError, match="not valid TOML"):
        Policy.from_toml(broken, schema=shop.schema)
    with pytest.raises(WorkbenchError, match="not bound to a schema"):
        Policy.from_dict({"tenant_column": "t", "tenant_tables": [], "roles": {"a": {}}}).sql()


# -- security lint ------------------------------------------------------------------------------------

RULE_CASES = {  # rule code -> (DDL + security statements where it fires, where it does not)
    "WB301": ("CREATE TABLE orders (tenant_id int, id int, PRIMARY KEY (tenant_id, id));",
              "CREATE TABLE orders (tenant_id int, id int, PRIMARY KEY (tenant_id, id));"
              "ALTER TABLE orders ENABLE ROW LEVEL SECURITY; ALTER TABLE orders FORCE ROW LEVEL SECURITY;"),
    "WB302": ("CREATE TABLE t (id int PRIMARY KEY); ALTER TABLE t ENABLE ROW LEVEL SECURITY;",
              "CREATE TABLE t (id int PRIMARY KEY); ALTER TABLE t ENABLE ROW LEVEL SECURITY;"
              "ALTER TABLE t FORCE ROW LEVEL SECURITY;"),
    "WB303": ("CREATE TABLE t (id int PRIMARY KEY); CREATE POLICY p ON t FOR INSERT WITH CHECK (true);"
              "CREATE POLICY q ON t USING (id > 0);",
              "CREATE TABLE t (id int PRIMARY KEY); CREATE POLICY p ON t FOR SELECT USING (id > 0);"
              "CREATE POLICY q ON t USING (id > 0) WITH CHECK (id > 0); CREATE POLICY r ON t USING (true);"),
    "WB304": ("CREATE TABLE t (id int PRIMARY KEY); ALTER TABLE t ENABLE ROW LEVEL SECURITY;"
              "CREATE VIEW v AS SELECT * FROM t;",
              "CREATE TABLE t (id int PRIMARY KEY); ALTER TABLE t ENABLE ROW LEVEL SECURITY;"
              "CREATE VIEW v WITH (security_invoker = true) AS SELECT * FROM t; CREATE VIEW w AS SELECT 1;"),
    "WB305": ("CREATE TABLE t (id int PRIMARY KEY); CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER "
              "AS 'SELECT 1';",
              "CREATE TABLE t (id int PRIMARY KEY); CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER "
              "SET search_path = pg_catalog AS 'SELECT 1';"
              "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1';"),
    "WB306": ("CREATE TABLE t (id int PRIMARY KEY); GRANT SELECT ON t TO PUBLIC;",
              "CREATE TABLE t (id int PRIMARY KEY); GRANT SELECT ON t TO PUBLIC; REVOKE ALL ON t FROM PUBLIC;"
              "GRANT USAGE ON SCHEMA public TO PUBLIC;"),
    "WB307": ("CREATE TABLE t (id int PRIMARY KEY); CREATE ROLE app LOGIN SUPERUSER; GRANT SELECT ON t TO app;",
              "CREATE TABLE t (id int PRIMARY KEY); CREATE ROLE app LOGIN; GRANT SELECT ON t TO app;"
              "CREATE ROLE admin SUPERUSER;"),
    "WB308": ("CREATE TABLE c (id int PRIMARY KEY, phone text);",
              "CREATE TABLE c (id int PRIMARY KEY, phone text, address_id int); CREATE ROLE app;"
              "GRANT SELECT (id) ON c TO app;"),
}


@pytest.mark.parametrize("code", sorted(RULE_CASES))
def test_security_rule_fires_on_positive_and_not_on_negative(code):
    positive, negative = RULE_CASES[code]
    options = {"tenant_column": "tenant_id"}
    assert code in [f.code for f in lint(import_ddl(positive).schema, sql=positive, **options)], positive
    assert code not in [f.code for f in lint(import_ddl(negative).schema, sql=negative, **options)], negative


def test_security_rules_are_the_wb3xx_family():
    assert [r.code for r in SECURITY_RULES] == [f"WB30{n}" for n in range(1, 10)]  # doctests: test_lint.py


def test_security_findings_locate_their_statement_in_the_file(tmp_path):
    path = tmp_path / "schema.sql"
    path.write_text("CREATE TABLE t (id int PRIMARY KEY);\n\n-- grant\nGRANT SELECT ON t TO PUBLIC;\n")
    found = lint(import_ddl(path))
    assert [(f.code, f.line, f.fix_sql) for f in found] == [("WB306", 4, 'REVOKE SELECT ON TABLE "t" FROM PUBLIC;')]
    assert any("WB301 not run" in note for note in found.notes)


def test_posture_follows_grants_revokes_and_alterations():
    posture = Posture.from_sql("GRANT ALL ON t TO PUBLIC; REVOKE ALL ON t FROM PUBLIC; GRANT SELECT (a) ON t TO r;"
                               "CREATE VIEW v AS SELECT * FROM t; ALTER VIEW v SET (security_invoker = on);"
                               "ALTER TABLE t ADD COLUMN email_masked text GENERATED ALWAYS AS (md5(email)) VIRTUAL;")
    assert [(g.grantee, g.privilege, g.columns) for g in posture.grants] == [("r", "select", ("a",))]
    assert posture.views[0].invoker and posture.is_masked("t", "email") and posture.readers("t") == set()
    unread = Posture.from_sql("GRANT SELECT ON t TO r;\nCREATE POLICY oops;\n\\c other\nGRANT SELECT ON u TO r;")
    assert len(unread.grants) == 2 and len(unread.unread) == 1 and unread.unread[0].startswith("line 2: ")
    ctx = SecurityContext(import_ddl("CREATE TABLE t (tenant_id int, id int PRIMARY KEY);").schema,
                          tenant_tables=("t",))
    assert [t.name for t in ctx.tenant_scoped()] == ["t"]


# -- the sandbox guard reads role statements -----------------------------------------------------------

def test_sandbox_guard_reads_role_statements_and_refuses_what_is_not_the_sandboxs():
    box = "workbench_1a2b3c4d"
    prefix, owned = guard.role_prefix(box), frozenset({box})
    assert prefix == "wb_1a2b3c4d_"
    allowed = [f"CREATE ROLE {prefix}app NOLOGIN", f"COMMENT ON ROLE {prefix}app IS 'x'",
               f"GRANT {prefix}app TO CURRENT_USER", f"ALTER TABLE {box}.t ENABLE ROW LEVEL SECURITY",
               f"CREATE POLICY p ON {box}.t TO {prefix}app USING (true)", f"REVOKE ALL ON SCHEMA {box} FROM PUBLIC",
               "ALTER TABLE t ADD COLUMN e_masked text GENERATED ALWAYS AS (md5(e)) VIRTUAL",
               f"GRANT SELECT (a) ON TABLE {box}.t TO {prefix}app",
               "ALTER TYPE mood ADD VALUE 'meh'", f"DROP TRIGGER t_sync ON {box}.t",  # what a migration runs
               f"CREATE FUNCTION {box}.sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.b := NEW.a::bigint; "
               "RETURN NEW; END $$",
               "DO $$ DECLARE n bigint; BEGIN LOOP UPDATE t SET b = a WHERE b IS NULL; GET DIAGNOSTICS n = "
               "ROW_COUNT; EXIT WHEN n = 0; COMMIT; END LOOP; END $$"]
    for statement in allowed:
        assert guard.verdict(statement, owned, prefix) is None, statement
    refused = {
        "CREATE ROLE admin LOGIN": "which the workbench did not create",
        f"GRANT {prefix}app TO postgres": "role 'postgres'",
        "ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY": "names schema 'public'",
        f"GRANT CONNECT ON DATABASE shop TO {prefix}app": "grant on a database",
        "REVOKE ALL ON SCHEMA public FROM PUBLIC": "names schema 'public'",
        "ALTER SYSTEM SET work_mem = '1MB'": "cannot check",
        "ALTER TABLE t SET SCHEMA public": "cannot check AlterObjectSchemaStmt",
        "DO $$ BEGIN UPDATE public.orders SET total = 0; END $$": "names schema 'public'",
        "DO $$ BEGIN EXECUTE 'TRUNCATE orders'; END $$": "dynamic SQL",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELETE FROM public.orders RETURNING 1'":
            "names schema 'public'",
    }
    for statement, why in refused.items():
        assert why in (guard.verdict(statement, owned, prefix) or ""), statement


# -- tenancy designs without a server -------------------------------------------------------------------

def test_router_rewrites_the_tenant_condition_per_design():
    sql = "SELECT o.total FROM orders AS o WHERE o.tenant_id = 7 AND o.status = 'paid' ORDER BY 1"
    tenant, stripped = route(sql, "tenant_id", frozenset({"orders"}))
    assert tenant == 7 and stripped == "SELECT o.total FROM orders AS o WHERE o.status = 'paid' ORDER BY 1"
    assert route(sql, "tenant_id", frozenset({"orders"}), "tenant_")[1].startswith(
        "SELECT o.total FROM tenant_7.orders AS o WHERE")
    assert route("SELECT 1 FROM products WHERE sku = 'a'", "tenant_id", frozenset({"orders"})) == (
        None, "SELECT 1 FROM products WHERE sku = 'a'")
    assert route("SELECT 1 FROM orders WHERE tenant_id = 3", "tenant_id", frozenset({"orders"}))[1] == \
        "SELECT 1 FROM orders"
    with pytest.raises(WorkbenchError, match="names tenants"):
        route("SELECT 1 FROM orders WHERE tenant_id = 1 OR tenant_id = 2", "tenant_id", frozenset({"orders"}))


def test_designs_move_the_tenant_out_of_the_lead_and_into_schemas(shop):
    moved = trailing(shop.schema, "tenant_id")
    orders = moved.table("orders")
    assert orders.primary_key.columns == ("order_id", "tenant_id")
    assert [i.columns for i in orders.indexes] == [("customer_id",), ("ordered_at",)]
    split = per_tenant_schemas(shop.schema, ["customers", "orders", "order_items"], [1, 2])
    assert {t.key for t in split.tables} >= {"tenant_1.orders", "tenant_2.order_items"}
    assert split.table("tenant_2.orders").foreign_keys[0].ref_schema == "tenant_2"


def test_noisy_neighbour_keeps_every_key_and_reaches_its_share(shop):
    data = shop.generate("ci", seed=3, progress=False)
    noisy = noisy_neighbour(shop.schema, data, share=0.5, seed=3)
    assert noisy.noisy_tenant == 1 and noisy.noisy_shares["order_items"] >= 0.5
    customers, orders, items = (noisy[f"public.{t}"].to_pandas() for t in ("customers", "orders", "order_items"))
    assert not customers.duplicated(["tenant_id", "customer_id"]).any()
    assert not orders.duplicated(["tenant_id", "order_id"]).any()
    assert not items.duplicated(["tenant_id", "order_id", "line_no"]).any()
    assert len(orders.merge(customers, on=["tenant_id", "customer_id"])) == len(orders)
    assert len(items.merge(orders, on=["tenant_id", "order_id"])) == len(items)
    assert noisy.row_counts() == data.row_counts()
    with pytest.raises(WorkbenchError, match="between 0 and 1"):
        noisy_neighbour(shop.schema, data, share=1.5)


def test_shard_candidates_from_keys_and_workload(shop):
    assert candidate_keys(shop.schema)[0] == "tenant_id"
    rows = {"tenants": 10, "products": 20, "customers": 200, "orders": 2000, "order_items": 5000}
    by_tenant = candidate(shop.schema, "tenant_id", rows)
    assert by_tenant.reference == ("products",) and by_tenant.distributed["orders"] == "tenant_id"
    assert single_shard_share(by_tenant, shop.schema, shop.workload) == 1.0
    assert colocated_joins(by_tenant, shop.schema, shop.workload) == (4, 4)
    by_order = candidate(shop.schema, "order_id", rows)
    assert single_shard_share(by_order, shop.schema, shop.workload) == pytest.approx(5 / 24)  # the catalog only
    assert "create_reference_table('products')" in by_tenant.sql()[0]
