"""Query lint: each workload rule fires on a small positive query and stays silent on negative ones;
queries that cannot be resolved are noted; the sample domains' workloads give the expected findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.advisor import lint, lint_workload
from workbench.ddl import import_ddl
from workbench.domains import domain
from workbench.workload import Workload

DATASETS = Path(__file__).resolve().parent.parent / "datasets"

SCHEMA = import_ddl("""
CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL UNIQUE, phone text, created_at timestamptz NOT NULL,
                    manager_id int);
CREATE INDEX users_phone ON users (phone);
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), placed_at timestamptz NOT NULL,
                     note text);
CREATE INDEX orders_user ON orders (user_id, placed_at);
""").schema

# rule code -> (a query where it fires, queries where it does not)
CASES = {
    "WB201": ("SELECT id FROM users WHERE email LIKE '%@example.com'",
              ["SELECT id FROM users WHERE email LIKE 'ann%'", "SELECT id FROM users WHERE email = '%x'"]),
    "WB202": ("SELECT * FROM users WHERE id = 1",
              ["SELECT id FROM users WHERE EXISTS (SELECT * FROM orders WHERE orders.user_id = users.id)",
               "SELECT count(*) FROM users"]),
    "WB203": ("SELECT id FROM orders WHERE CAST(placed_at AS date) = DATE '2026-01-01' AND user_id = 1",
              ["SELECT id FROM users WHERE lower(email) = 'a@b.c'",  # an expression index matches
               "SELECT id FROM orders WHERE upper(note) = 'X'",  # note is not indexed
               "SELECT id FROM orders WHERE placed_at >= DATE '2026-01-01'"]),
    "WB204": ("SELECT id FROM users WHERE email = 'a' OR phone = 'b'",
              ["SELECT id FROM users WHERE phone = 'a' OR phone = 'b'",
               "SELECT id FROM users WHERE id = 1 AND (phone = 'a' OR phone IS NULL)"]),
    "WB205": ("SELECT id FROM users ORDER BY id LIMIT 20 OFFSET 40",
              ["SELECT id FROM users WHERE id > 40 ORDER BY id LIMIT 20"]),
    "WB206": ("SELECT id FROM users WHERE id NOT IN (SELECT manager_id FROM users)",
              ["SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM orders)",
               "SELECT id FROM users WHERE id NOT IN (SELECT manager_id FROM users WHERE manager_id IS NOT NULL)",
               "SELECT id FROM users WHERE id IN (SELECT manager_id FROM users)"]),
    "WB207": ("SELECT id FROM orders WHERE user_id = :user ORDER BY placed_at DESC",
              ["SELECT id FROM orders WHERE user_id = :user ORDER BY placed_at DESC LIMIT 20",
               "SELECT id FROM orders ORDER BY placed_at",  # no parameters: not an API query
               "SELECT user_id, count(*) FROM orders WHERE placed_at > :since GROUP BY user_id ORDER BY 2"]),
    "WB208": ("SELECT u.id, o.id FROM users u, orders o WHERE u.email = 'a'",
              ["SELECT u.id, o.id FROM users u, orders o WHERE o.user_id = u.id AND u.email = 'a'",
               "SELECT u.id FROM users u JOIN orders o ON o.user_id = u.id",
               "SELECT u.id FROM users u CROSS JOIN orders o",
               "SELECT m.id FROM users u, orders o, users m WHERE o.user_id = u.id AND m.id = u.manager_id"]),
}
PARAMS = "-- params: user = between(1, 9); since = between(1, 9)\n"


def workload(*queries: str) -> Workload:
    text = "\n".join(f"-- name: q{i}\n{PARAMS}{q};" for i, q in enumerate(queries))
    return Workload.from_text(text, schema=SCHEMA)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


@pytest.mark.parametrize("code", sorted(CASES))
def test_query_rule_fires_on_positive_and_not_on_negatives(code):
    positive, negatives = CASES[code]
    assert code in codes(lint_workload(workload(positive), SCHEMA)), positive
    for negative in negatives:
        assert code not in codes(lint_workload(workload(negative), SCHEMA)), negative


def test_fixes_are_whole_statements_with_placeholders_kept():
    found = lint_workload(workload("SELECT * FROM orders WHERE user_id = :user AND id NOT IN "
                                   "(SELECT manager_id FROM users) LIMIT 5"), SCHEMA)
    fixes = {f.code: f.fix_sql for f in found}
    assert fixes["WB202"] == ("SELECT id, user_id, placed_at, note FROM orders "
                              "WHERE user_id = :user AND NOT id IN (SELECT manager_id FROM users) LIMIT 5;")
    assert fixes["WB206"].endswith("(SELECT manager_id FROM users WHERE NOT manager_id IS NULL) LIMIT 5;")
    like = lint_workload(workload("SELECT id FROM users WHERE phone ILIKE '%' || :user || '%'"), SCHEMA)
    assert like[0].message == "phone ILIKE '%' || :user || '%': a leading wildcard reads every row"
    assert like[0].fix_sql == "CREATE INDEX users_phone_trgm_idx ON public.users USING gin(phone gin_trgm_ops);"


def test_findings_point_at_the_query_line():
    text = "-- a comment\n\n-- name: search\nSELECT * FROM users;\n"
    found = lint_workload(Workload.from_text(text, schema=SCHEMA, file="api.sql"), SCHEMA)
    assert [(f.object, f.file, f.line) for f in found] == [("query search", "api.sql", 3)]


def test_unresolvable_queries_and_workload_problems_are_noted():
    text = ("-- name: bad_column\nSELECT nope FROM users;\n"
            "-- name: ok\nSELECT id FROM users WHERE id = 1;\n")
    found = lint_workload(Workload.from_text(text, schema=SCHEMA), SCHEMA)
    assert codes(found) == []
    assert any("bad_column" in n and "not linted" in n for n in found.notes), found.notes


def test_unused_index_from_the_sql_alone():
    queries = workload("SELECT id FROM users WHERE phone = 'x'", "SELECT id FROM orders WHERE user_id = :user")
    found = [f for f in lint(SCHEMA, workload=queries) if f.code == "WB111"]
    assert found == []  # users_phone is filtered on; orders_user supports a foreign key; the rest are unique
    idle = [f for f in lint(SCHEMA, workload=workload("SELECT id FROM users WHERE id = 1")) if f.code == "WB111"]
    assert [(f.object, f.fix_sql) for f in idle] == [("public.users index users_phone",
                                                      "DROP INDEX public.users_phone;")]


def test_sample_domain_workloads():
    expected = {
        "ecommerce": {("WB201", "product_search"), ("WB202", "product_search"), ("WB207", "order_detail")},
        "multitenant": {("WB207", "customer_orders")},
        "notifications": set(),
        "timeseries": {("WB207", "device_last_day")},
    }
    for name, wanted in expected.items():
        chosen = domain(DATASETS / name)
        found = lint_workload(chosen.workload, chosen.schema)
        assert {(f.code, f.object.removeprefix("query ")) for f in found} == wanted, name
        assert found.notes == [], name


def test_select_star_fix_over_a_join_keeps_qualified_columns():
    found = lint_workload(workload("SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 1"), SCHEMA)
    assert found[0].fix_sql == ("SELECT u.id, u.email, u.phone, u.created_at, u.manager_id, o.id, o.user_id, "
                                "o.placed_at, o.note FROM users AS u JOIN orders AS o ON o.user_id = u.id "
                                "WHERE u.id = 1;")  # the same columns as *, in the same order
