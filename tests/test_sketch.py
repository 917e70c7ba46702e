"""The notebook sketch API: shorthand read into the real model, and errors that say what to write."""

import pytest

from workbench.errors import WorkbenchError
from workbench.schema.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    IndexElement,
    PrimaryKey,
    UniqueConstraint,
)
from workbench.schema.sketch import SketchError, parse_column, sketch


@pytest.fixture
def shop():
    s = sketch("shop")
    s.table("customers", id="serial pk", email="text unique not null", name="text",
            created_at="timestamptz default now()")
    s.table("orders", id="bigserial pk", customer_id="-> customers",
            status="text check in ('new','paid','shipped') default 'new'", total="numeric(10,2) not null",
            created_at="timestamptz not null default now()")
    s.table("order_items", order_id="-> orders on delete cascade", product_id="-> products",
            qty="int not null check > 0", pk=("order_id", "product_id"))
    s.table("products", sku="text primary key", parent="-> products? on update set null",
            label="text comment 'the shop''s <name>'")
    s.index("orders", "customer_id", "created_at desc")
    s.area("sales", "orders", "order_items")
    return s


def test_readme_example_builds_the_exact_model(shop):
    schema = shop.build()
    assert schema.name == "shop" and schema.dialect == "postgres"
    assert [t.name for t in schema] == ["customers", "orders", "order_items", "products"]
    customers = schema.table("customers")
    assert customers.columns == (
        Column("id", "serial", nullable=False, autoincrement=True),
        Column("email", "text", nullable=False),
        Column("name", "text"),
        Column("created_at", "timestamptz", default="now()"),
    )
    assert customers.primary_key == PrimaryKey(("id",))
    assert customers.uniques == (UniqueConstraint(("email",)),)
    orders = schema.table("orders")
    assert orders.column("customer_id") == Column("customer_id", "integer", nullable=False)
    assert orders.column("status") == Column("status", "text", default="'new'")
    assert orders.foreign_keys == (ForeignKey(("customer_id",), "customers", ("id",)),)
    assert orders.checks == (CheckConstraint("status IN ('new', 'paid', 'shipped')"),)
    assert orders.indexes == (Index("orders_customer_id_created_at_idx", (
        IndexElement("customer_id"), IndexElement("created_at", descending=True))),)
    items = schema.table("order_items")
    assert items.primary_key == PrimaryKey(("order_id", "product_id"))
    assert [(c.name, c.type, c.nullable) for c in items.columns] == [
        ("order_id", "bigint", False), ("product_id", "text", False), ("qty", "int", False)]
    assert items.foreign_keys == (ForeignKey(("order_id",), "orders", ("id",), on_delete="CASCADE"),
                                  ForeignKey(("product_id",), "products", ("sku",)))
    assert items.checks == (CheckConstraint("qty > 0"),)
    products = schema.table("products")
    assert products.column("parent") == Column("parent", "text", nullable=True)
    assert products.foreign_keys == (ForeignKey(("parent",), "products", ("sku",), on_update="SET NULL"),)
    assert products.column("label").comment == "the shop's <name>"
    assert schema.subject_areas == {"sales": ("orders", "order_items")}
    assert shop.schema == schema


def test_shorthand_details():
    spec = parse_column("t", "c", "int check c is not null not null default null")
    assert (spec.type, spec.nullable, spec.default, spec.checks) == ("int", False, "null", ["c IS NOT NULL"])
    spec = parse_column("t", "c", "timestamp with time zone default current_timestamp unique")
    assert (spec.type, spec.default, spec.unique) == ("timestamp with time zone", "current_timestamp", True)
    spec = parse_column("t", "c", "-> \"Weird Table\".\"Id\" null on delete set default")
    assert (spec.ref, spec.nullable, spec.on_delete) == (("Weird Table", "Id"), True, "SET DEFAULT")
    assert parse_column("t", "c", "mood[] check (cardinality(c) between 1 and 3)").checks == [
        "(CARDINALITY(c) BETWEEN 1 AND 3)"]


def test_references_resolve_at_build_through_chains_schemas_and_composites():
    s = sketch()
    s.table("sales.lines", order_ref="-> sales.orders.id", region="text", code="text")
    s.table("sales.orders", id="-> sales.ids", region="text not null")
    s.table("sales.ids", id="bigserial pk")
    s.table("regions", {"region": "text", "code": "text", "from": "date"}, pk=("region", "code"))
    s.fk("sales.lines", ("region", "code"), "regions", on_delete="restrict", name="lines_region_fk")
    schema = s.build()
    lines = schema.table("sales.lines")
    assert lines.schema == "sales" and lines.column("order_ref").type == "bigint"
    assert schema.table("sales.orders").column("id").type == "bigint"
    assert lines.foreign_keys == (
        ForeignKey(("order_ref",), "orders", ("id",), "sales"),
        ForeignKey(("region", "code"), "regions", ("region", "code"), None, "lines_region_fk", "RESTRICT"))
    assert schema.table("regions").column("from") == Column("from", "date")
    assert schema.table("regions").column("code").nullable is False
    assert schema.schemas == ("sales",)


def test_indexes_and_redeclaring_replaces():
    s = sketch().table("users", id="int pk", email="text", name="text")
    s.index("users", "lower(email)", unique=True, method="HASH")
    s.index("users", "name text_pattern_ops", "id nulls first", include="email", where="id > 0", name="ix")
    s.index("users", "name text_pattern_ops", "id nulls first", include=("email",), where="id > 0", name="ix")
    s.table("users", id="int pk", email="text", name="text", age="int")
    users = s.build().table("users")
    assert len(users.columns) == 4
    assert users.indexes == (
        Index("users_expr_idx", (IndexElement("lower(email)", is_expression=True),), unique=True, method="hash"),
        Index("ix", (IndexElement("name", opclass="text_pattern_ops"), IndexElement("id", nulls_first=True)),
              include=("email",), where="id > 0"),
    )


@pytest.mark.parametrize(("text", "expected"), [
    ("", "no type"),
    ("text nul", "did you mean 'null'"),
    ("text uniqe", "did you mean 'unique'"),
    ("text default", "default needs an expression"),
    ("text check x >", "is not a SQL expression"),
    ("numeric(10,", "unclosed parenthesis"),
    ("text)", "cannot read ')'"),
    ("text 'oops", "cannot read"),
    ("text on delete cascade", "need a '-> table' reference"),
    ("-> t on delete explode", "takes one of cascade, set null"),
    ("int comment x", "unexpected 'comment'"),
    ("-> ", "'->' needs a table name"),
    ("text default now() later", "not a SQL expression"),
])
def test_bad_shorthand_names_table_column_text_and_fix(text, expected):
    with pytest.raises(SketchError) as error:
        sketch().table("orders", status=text)
    message = str(error.value)
    assert expected in message and "orders" in message
    assert isinstance(error.value, WorkbenchError)


def test_caret_points_at_the_bad_token():
    with pytest.raises(SketchError, match=r"(?s)int comment x\n {8}\^\n  write e\.g\."):
        parse_column("t", "c", "int comment x")


@pytest.mark.parametrize(("declare", "expected"), [
    (lambda s: s.table("orders", customer_id="-> custmer"), r"unknown table 'custmer'; did you mean 'customer'"),
    (lambda s: s.table("orders", customer_id="-> customer.idd"), r"unknown column 'idd'; did you mean 'id'"),
    (lambda s: s.table("orders", a="-> pair"), r"'-> pair' needs a single-column primary key"),
    (lambda s: s.table("orders", a="-> orders.b", b="-> orders.a"), "loop back"),
    (lambda s: s.table("orders", a="int pk", b="int", pk=("b",)), "disagree"),
    (lambda s: s.table("orders", a="int").fk("orders", ("a",), "pair"), "1 columns point at 2"),
    (lambda s: s.table("orders", a="int").fk("orders", ("z",), "pair"), "unknown column 'z'"),
    (lambda s: s.table("orders", a="int").index("orders", "b"), "unknown column 'b'; valid choices: a"),
    (lambda s: s.table("orders", a="int").index("ordrs", "a"), "did you mean 'orders'"),
    (lambda s: s.table("orders", a="int").index("orders", "a", include=("x",)), "unknown column 'x'"),
    (lambda s: s.table("orders", a="int").area("sales", "order"), "did you mean 'orders'"),
])
def test_build_errors_have_did_you_mean(declare, expected):
    s = sketch().table("customer", id="int pk").table("pair", x="int", y="int", pk=("x", "y"))
    declare(s)
    with pytest.raises(SketchError, match=expected):
        s.build()


def test_misuse_of_the_api_is_explained():
    with pytest.raises(SketchError, match="has no columns"):
        sketch().table("empty")
    with pytest.raises(SketchError, match="needs at least one column"):
        sketch().index("t")
    with pytest.raises(SketchError, match="did you mean 'cascade'"):
        sketch().fk("t", "a", "u", on_delete="cascde")
