"""The diff: every kind of change, renames detected with a confidence or given as hints, clear errors."""

from __future__ import annotations

import json

import pytest

import workbench as wb
from workbench.errors import UnknownNameError, WorkbenchError
from workbench.migrate import Kind, diff


def schema(ddl: str, dialect: str = "postgres"):
    return wb.import_ddl(ddl, dialect).schema


V1 = """
CREATE TYPE status AS ENUM ('new', 'paid');
CREATE TABLE customers (customer_id integer PRIMARY KEY, email text NOT NULL, city varchar(80), country char(2));
CREATE TABLE orders (
    order_id bigint PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (customer_id),
    status status NOT NULL DEFAULT 'new',
    total numeric(12,2) NOT NULL CHECK (total >= 0),
    note varchar(20)
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE VIEW order_view AS SELECT order_id, total FROM orders;
"""

V2 = """
CREATE TYPE status AS ENUM ('new', 'paid', 'shipped');
CREATE TABLE customers (customer_id integer PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE addresses (customer_id integer PRIMARY KEY REFERENCES customers (customer_id), city varchar(80),
                        country char(2));
CREATE TABLE orders (
    order_id bigint PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (customer_id),
    status status NOT NULL DEFAULT 'new',
    amount numeric(12,2) NOT NULL CHECK (amount >= 0),
    note text,
    placed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON orders (customer_id) INCLUDE (status);
CREATE INDEX orders_placed_idx ON orders (placed_at) WHERE status = 'new';
CREATE VIEW order_view AS SELECT order_id, amount FROM orders;
"""


def kinds(found) -> set[tuple[str, str]]:
    return {(str(c.kind), c.object.removeprefix("public.")) for c in found.changes}


def test_every_change_is_listed():
    found = diff(schema(V1), schema(V2))
    assert {
        ("add enum value", "status"),
        ("rename column", "orders.amount"),
        ("change type", "orders.note"),
        ("add column", "orders.placed_at"),
        ("add unique constraint", "customers.customers_email_key"),
        ("create table", "addresses"),
        ("drop column", "customers.city"),
        ("drop index", "orders.orders_customer_idx"),
        ("create index", "orders.orders_customer_idx"),
        ("create index", "orders.orders_placed_idx"),
        ("move columns", "addresses"),
    } <= kinds(found)
    rename = next(r for r in found.renames if r.applied)
    assert (rename.kind, rename.old, rename.new) == ("column", "public.orders.total", "public.orders.amount")
    assert 0.8 <= rename.confidence < 1


def test_same_schema_in_other_spellings_has_no_changes():
    catalog_style = schema("CREATE TABLE t (a int4 NOT NULL, b character varying(5) DEFAULT 'x'::character varying, "
                           "CONSTRAINT t_a_check CHECK ((a > (0)::integer)));")
    file_style = schema("CREATE TABLE t (a integer NOT NULL, b varchar(5) DEFAULT 'x', "
                        "CONSTRAINT t_a_check CHECK (a > 0));")
    assert not diff(catalog_style, file_style).changes


def test_a_hint_confirms_a_rename_and_none_refuses_one():
    hinted = diff(schema(V1), schema(V2), renames={"orders.total": "orders.amount"})
    assert next((r.old, r.new, r.confidence, r.reason) for r in hinted.renames if r.kind == "column") == (
        "public.orders.total", "public.orders.amount", 1.0, "hint")
    refused = diff(schema(V1), schema(V2), renames={"orders.total": None})
    assert ("drop column", "orders.total") in kinds(refused) and ("add column", "orders.amount") in kinds(refused)
    assert not any(r.applied for r in refused.renames)


def test_a_weak_guess_is_listed_not_applied():
    old = schema("CREATE TABLE t (id int PRIMARY KEY, fax text);")
    new = schema("CREATE TABLE t (id int PRIMARY KEY, nickname text);")
    found = diff(old, new)
    assert ("drop column", "t.fax") in kinds(found) and ("add column", "t.nickname") in kinds(found)
    candidate = found.renames[0]
    assert not candidate.applied and candidate.confidence < 0.8 and "confirm with a hint" in candidate.reason
    assert any("possible rename to public.t.nickname" in n.message for n in found.notes)


def test_an_ambiguous_rename_names_every_candidate():
    old = schema("CREATE TABLE t (id int PRIMARY KEY, a_total numeric(10,2) NOT NULL, z text);")
    new = schema("CREATE TABLE t (id int PRIMARY KEY, z text, b_total numeric(10,2) NOT NULL, "
                 "c_total numeric(10,2) NOT NULL);")
    found = diff(old, new)
    assert not any(r.applied for r in found.renames)
    ambiguous = next(r for r in found.renames if "ambiguous" in r.reason)
    assert "t.b_total" in ambiguous.reason + ambiguous.new and "t.c_total" in ambiguous.reason + ambiguous.new


def test_table_rename_detected_from_structure():
    old = schema("CREATE TABLE client (id bigint PRIMARY KEY, email text NOT NULL, born date);")
    new = schema("CREATE TABLE clients (id bigint PRIMARY KEY, email text NOT NULL, born date);")
    found = diff(old, new)
    assert [(str(c.kind), c.detail) for c in found.changes] == [
        ("rename table", "public.client -> clients"), ("rename constraint", "client_pkey -> clients_pkey")]
    assert found.renames[0].applied and found.renames[0].kind == "table"


def test_enum_values_renamed_and_removed():
    old = schema("CREATE TYPE e AS ENUM ('a', 'b', 'c');")
    renamed = diff(old, schema("CREATE TYPE e AS ENUM ('a', 'beta', 'c');"))
    assert [(str(c.kind), c.detail) for c in renamed.changes] == [("rename enum value", "b -> beta")]
    removed = diff(old, schema("CREATE TYPE e AS ENUM ('a', 'c');"))
    assert [str(c.kind) for c in removed.changes] == ["recreate enum"]


def test_partitions_and_foreign_keys():
    old = schema("CREATE TABLE m (id int, at date NOT NULL) PARTITION BY RANGE (at);"
                 "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');")
    new = schema("CREATE TABLE m (id int, at date NOT NULL) PARTITION BY RANGE (at);"
                 "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
                 "CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');")
    assert kinds(diff(old, new)) == {("add partition", "m_2025")}
    repartitioned = schema("CREATE TABLE m (id int, at date NOT NULL) PARTITION BY LIST (id);")
    blocked = diff(old, repartitioned)
    assert any(n.blocking for n in blocked.notes)


def test_json_shape():
    document = json.loads(diff(schema(V1), schema(V2)).to_json())
    assert set(document) >= {"changes", "renames"}
    assert set(document["changes"][0]) == {"kind", "object", "detail"}
    assert set(document["renames"][0]) == {"kind", "old", "new", "confidence", "applied"}


def test_display_never_raises():
    found = diff(schema(V1), schema(V2))
    assert "<table>" in found._repr_html_() and "rename" in repr(found)
    broken = object.__new__(type(found))
    assert "could not render" in broken._repr_html_()


def test_two_dialects_are_refused_with_a_fix():
    mysql = wb.import_ddl("CREATE TABLE t (id int PRIMARY KEY);", "mysql")
    with pytest.raises(WorkbenchError, match=r"different dialects.*workbench ddl"):
        diff(wb.import_ddl("CREATE TABLE t (id int PRIMARY KEY);"), mysql)


def test_a_file_that_did_not_import_cleanly_is_refused():
    broken = wb.import_ddl("CREATE TABLE t (id int PRIMARY KEY);\nCREATE TABLE u (id int PRIMARY KEY,);\n",
                           file="v2.sql")
    with pytest.raises(WorkbenchError, match=r"v2.sql:2.*did not import cleanly"):
        diff(wb.import_ddl("CREATE TABLE t (id int PRIMARY KEY);"), broken)


def test_a_hint_naming_nothing_says_what_exists():
    with pytest.raises(UnknownNameError, match=r"orders.totl.*did you mean"):
        diff(schema(V1), schema(V2), renames={"orders.totl": "orders.amount"})


def test_objects_outside_the_model_are_noted():
    with_function = wb.import_ddl("CREATE TABLE t (id int);\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS "
                                  "'SELECT 1';\n", file="new.sql")
    found = diff(wb.import_ddl("CREATE TABLE t (id int);"), with_function)
    assert [n.object for n in found.notes] == ["new.sql:2:1"]
    assert found.of_kind(Kind.CREATE_TABLE) == []
