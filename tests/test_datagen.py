"""Synthetic data: keys, constraints, fan-out, cycles, specs and errors, checked in pandas and in DuckDB."""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sqlglot import exp

from workbench.datagen import DataSpec, SpecError, generate
from workbench.datagen.plan import with_partition_keys
from workbench.errors import WorkbenchError
from workbench.schema.builder import SchemaBuilder
from workbench.schema.model import CheckConstraint, Column, Enum, ForeignKey, PrimaryKey, UniqueConstraint

PAGILA = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "schemas" / "pagila_schema.sql"
ROWS = {"customers": 800, "categories": 60, "products": 300, "orders": 3000, "order_items": 6000}


def shop(reverse: bool = False):
    """A small shop; ``reverse`` declares the same tables in the opposite order."""
    builder = SchemaBuilder(dialect="postgres")
    builder.add_enum(Enum("order_status", ("new", "paid", "shipped", "cancelled"), "public"))
    tables = []

    def customers(b):
        t = b.add_table("customers", "public")
        t.columns += [Column("customer_id", "integer", False), Column("email", "character varying(40)", False),
                      Column("first_name", "character varying(12)", False), Column("last_name", "varchar(8)"),
                      Column("country", "character(2)", False), Column("created_at", "timestamp with time zone", False),
                      Column("updated_at", "timestamp with time zone", False), Column("active", "boolean")]
        t.primary_key = PrimaryKey(("customer_id",))
        t.uniques.append(UniqueConstraint(("email",)))

    def categories(b):
        t = b.add_table("categories", "public")
        t.columns += [Column("category_id", "integer", False), Column("parent_id", "integer"),
                      Column("name", "text", False)]
        t.primary_key = PrimaryKey(("category_id",))
        t.foreign_keys.append(ForeignKey(("parent_id",), "categories", ("category_id",), "public"))

    def products(b):
        t = b.add_table("products", "public")
        t.columns += [Column("product_id", "bigint", False), Column("sku", "character varying(32)", False),
                      Column("name", "text", False), Column("category_id", "integer"),
                      Column("price", "numeric(6,2)", False), Column("weight", "real"), Column("tags", "text[]"),
                      Column("attrs", "jsonb"), Column("ref", "uuid", False)]
        t.primary_key = PrimaryKey(("product_id",))
        t.uniques.append(UniqueConstraint(("sku",)))
        t.checks.append(CheckConstraint("(price > (0)::numeric)"))
        t.foreign_keys.append(ForeignKey(("category_id",), "categories", ("category_id",), "public"))

    def orders(b):
        t = b.add_table("orders", "public")
        t.columns += [Column("order_id", "bigint", False), Column("customer_id", "integer", False),
                      Column("status", "public.order_status", False), Column("channel", "text", False),
                      Column("ordered_at", "timestamp with time zone", False), Column("rating", "smallint"),
                      Column("total", "numeric(12,2)")]
        t.primary_key = PrimaryKey(("order_id",))
        t.foreign_keys.append(ForeignKey(("customer_id",), "customers", ("customer_id",), "public"))
        t.checks += [CheckConstraint("rating BETWEEN 1 AND 10"),
                     CheckConstraint("((channel)::text = ANY ((ARRAY['web'::text, 'app'::text])::text[]))")]

    def order_items(b):
        t = b.add_table("order_items", "public")
        t.columns += [Column("order_id", "bigint", False), Column("product_id", "bigint", False),
                      Column("quantity", "integer", False), Column("unit_price", "numeric(10,2)", False)]
        t.primary_key = PrimaryKey(("order_id", "product_id"))
        t.foreign_keys += [ForeignKey(("order_id",), "orders", ("order_id",), "public"),
                           ForeignKey(("product_id",), "products", ("product_id",), "public")]
        t.checks.append(CheckConstraint("quantity > 0"))

    tables = [customers, categories, products, orders, order_items]
    for add in reversed(tables) if reverse else tables:
        add(builder)
    return builder.build()


@pytest.fixture(scope="module")
def data():
    return generate(shop(), ROWS, seed=7, progress=False)


def frame(dataset, key):
    return dataset[key].to_pandas()


def assert_foreign_keys_hold(schema, dataset):
    """Every non-null foreign-key tuple of every table is a tuple of its parent."""
    for table in schema.tables:
        child = frame(dataset, table.key)
        for fk in table.foreign_keys:
            parent = frame(dataset, schema.referenced_table(fk).key)
            rows = child[list(fk.columns)].dropna()
            keys = set(map(tuple, parent[list(fk.ref_columns)].astype(object).itertuples(index=False)))
            missing = [r for r in map(tuple, rows.astype(object).itertuples(index=False)) if r not in keys]
            assert not missing, f"{table.key} {fk.columns}: {missing[:3]}"


def test_row_counts_order_and_summary(data):
    assert data.row_counts() == {f"public.{k}": v for k, v in ROWS.items()}
    assert data.total_rows == sum(ROWS.values())
    keys = list(data)
    assert keys.index("public.customers") < keys.index("public.orders") < keys.index("public.order_items")
    assert keys.index("public.products") < keys.index("public.order_items")
    assert "5 tables" in repr(data)
    assert "public.order_items" in data._repr_html_() and "6,000" in data._repr_html_()


def test_keys_checks_lengths_and_precision_hold(data):
    schema = shop()
    for table in schema.tables:
        df = frame(data, table.key)
        for key in [table.primary_key.columns] + [u.columns for u in table.uniques]:
            assert not df.duplicated(list(key)).any(), (table.key, key)
    assert_foreign_keys_hold(schema, data)
    customers, products, orders = (frame(data, f"public.{t}") for t in ("customers", "products", "orders"))
    assert customers.customer_id.tolist() == list(range(1, 801))
    assert customers.email.str.len().max() <= 40 and customers.email.str.contains("@").all()
    assert customers.first_name.str.len().max() <= 12 and customers.last_name.dropna().str.len().max() <= 8
    assert (customers.country.str.len() == 2).all()
    assert (customers.updated_at >= customers.created_at).all()
    assert (products.price > 0).all() and (products.price.abs() < 10_000).all()
    assert pa.types.is_decimal(data["public.products"].schema.field("price").type)
    assert orders.rating.dropna().between(1, 10).all()
    assert set(orders.channel) == {"web", "app"}
    assert set(orders.status) <= {"new", "paid", "shipped", "cancelled"}
    assert (frame(data, "public.order_items").quantity > 0).all()
    assert products.ref.str.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$").all()


def test_same_seed_same_data_whatever_the_table_order():
    first = generate(shop(), ROWS, seed=3, progress=False)
    again = generate(shop(reverse=True), ROWS, seed=3, progress=True)
    other = generate(shop(), ROWS, seed=4, progress=False)
    for key in first:
        assert first[key].equals(again[key]), key
    assert not first["public.customers"].equals(other["public.customers"])


def test_self_reference_builds_a_tree(data):
    categories = frame(data, "public.categories")
    parents = categories.dropna(subset=["parent_id"])
    assert (parents.parent_id < parents.category_id).all()
    assert categories.parent_id.isna().iloc[0] and 0 < categories.parent_id.isna().sum() < len(categories)


def test_zipf_fanout_is_skewed_and_uniform_is_not():
    def top_share(dataset):
        counts = frame(dataset, "public.orders").customer_id.value_counts()
        counts = counts.reindex(range(1, 801), fill_value=0).sort_values(ascending=False)
        return counts.iloc[:80].sum() / counts.sum()

    skewed = generate(shop(), ROWS, progress=False)
    even = generate(shop(), ROWS, progress=False, spec=DataSpec.from_dict(
        {"tables": {"orders": {"foreign_keys": {"customer_id": {"fanout": "uniform"}}}}}))
    assert top_share(skewed) > 0.45
    assert top_share(even) < 0.3  # Poisson noise only


def test_null_rates(data):
    spec = DataSpec.from_dict({"tables": {"products": {
        "columns": {"weight": {"null_rate": 0.3}},
        "foreign_keys": {"category_id": {"null_rate": 0.5}}}}})
    products = frame(generate(shop(), ROWS, spec=spec, progress=False), "public.products")
    assert abs(products.weight.isna().mean() - 0.3) < 0.07
    assert abs(products.category_id.isna().mean() - 0.5) < 0.08
    default = frame(data, "public.products")
    assert 0.02 < default.category_id.isna().mean() < 0.2  # nullable foreign keys get some nulls
    for table in shop().tables:
        df = frame(data, table.key)
        for column in table.columns:
            if not column.nullable:
                assert df[column.name].notna().all(), (table.key, column.name)


def test_spec_from_toml_scales_and_columns(tmp_path):
    path = tmp_path / "shop.toml"
    path.write_text("""
default_rows = 100
[scales]
ci = 0.5
[tables.customers]
rows = 2000
[tables.products]
rows = { ci = 40, large = 9000 }
[tables.orders.columns.total]
dist = "uniform"
min = 10
max = 20
[tables.orders.columns.ordered_at]
dist = "dates"
start = 2023-01-01
end = "2023-03-31"
seasonality = "weekly"
[tables.customers.columns.country]
values = ["DE", "FR"]
weights = [9, 1]
""")
    spec = DataSpec.from_toml(path)
    dataset = generate(shop(), scale="ci", spec=spec, progress=False)
    counts = dataset.row_counts()
    assert counts["public.customers"] == 1000 and counts["public.products"] == 40 and counts["public.orders"] == 50
    orders = frame(dataset, "public.orders")
    assert orders.total.dropna().between(10, 20).all()
    assert orders.ordered_at.min() >= pd.Timestamp("2023-01-01", tz="UTC")
    assert orders.ordered_at.max() < pd.Timestamp("2023-04-01", tz="UTC")
    assert (frame(dataset, "public.customers").country == "DE").mean() > 0.8
    scaled = generate(shop(), scale=0.75, spec=spec, progress=False).row_counts()
    assert scaled["public.customers"] == 1500 and scaled["public.products"] == 4520  # 40 + 8960 * 0.25 / 0.5


def test_rows_per_named_scale_are_interpolated_for_other_scales():
    """Between two entries linearly by multiplier; beyond the outermost in proportion; named scales exactly."""
    from workbench.domains import domain

    ecommerce = domain("ecommerce")
    spec = ecommerce.spec.resolve(ecommerce.schema)
    categories, orders = ecommerce.schema.table("categories"), ecommerce.schema.table("orders")
    assert [spec.base_rows(categories, s) for s in ("ci", "medium", "large")] == [20, 100, 200]
    assert spec.base_rows(categories, 0.1) == 100 and spec.base_rows(categories, 0.55) == 150
    assert spec.base_rows(categories, 2.0) == 400 and spec.base_rows(categories, 0.0001) == 2
    assert spec.base_rows(orders, 0.5) == 500_000
    small = DataSpec.from_dict({"scales": {"tiny": 0.0001}, "tables": {"products": {"rows": {"large": 9000}}}})
    assert small.resolve(shop()).base_rows(shop().table("products"), "tiny") == 1  # 0.9 rounds up to one row
    counts = ecommerce.generate(0.002, progress=False).row_counts()
    assert counts["public.warehouses"] == 3 and counts["public.orders"] == 2000
    with pytest.raises(SpecError, match=r"shop\.toml: \[tables\.products\] rows for unknown scale 'smal'.*'small'"):
        DataSpec.from_dict({"tables": {"products": {"rows": {"smal": 5}}}}, source="shop.toml")


@pytest.mark.parametrize(("spec", "message"), [
    ({"tables": {"custmers": {"rows": 5}}}, r"shop\.toml: unknown table 'custmers'.*did you mean 'public\.customers'"),
    ({"tables": {"customers": {"columns": {"emial": {"unique": True}}}}},
     r"shop\.toml: unknown column 'emial' of table 'public\.customers'.*did you mean 'email'"),
    ({"tables": {"orders": {"foreign_keys": {"customer": {"fanout": "zipf"}}}}}, r"did you mean 'customer_id'"),
    ({"tables": {"orders": {"columns": {"total": {"dist": "gaussian"}}}}}, r"unknown dist 'gaussian'"),
])
def test_bad_specs_name_the_file_the_entry_and_a_fix(spec, message):
    with pytest.raises(SpecError, match=message):
        generate(shop(), 10, spec=DataSpec.from_dict(spec, source="shop.toml"), progress=False)


def one_table(*columns, checks=(), unique=()):
    builder = SchemaBuilder(dialect="postgres")
    table = builder.add_table("t")
    table.columns += list(columns)
    table.checks += [CheckConstraint(c) for c in checks]
    table.uniques += [UniqueConstraint((u,)) for u in unique]
    return builder.build()


def test_impossible_unique_requests_say_which_column_and_why():
    schema = one_table(Column("slot", "smallint", False), checks=["slot >= 0 AND slot <= 99"], unique=["slot"])
    assert frame(generate(schema, 100, progress=False), "t").slot.is_unique
    with pytest.raises(WorkbenchError, match=r"t\.slot \(smallint\): 1000 unique values .* only 100 fit"):
        generate(schema, 1000, progress=False)
    with pytest.raises(WorkbenchError, match=r"t\.flag \(boolean\): 3 unique values .* boolean"):
        generate(one_table(Column("flag", "boolean"), unique=["flag"]), 3, progress=False)


def test_not_null_foreign_key_to_an_empty_parent_is_an_error():
    with pytest.raises(WorkbenchError, match=r"public\.orders: foreign key \(customer_id\) is NOT NULL .* 0 rows"):
        generate(shop(), {**ROWS, "customers": 0}, progress=False)


def test_composite_foreign_key_samples_whole_parent_tuples():
    builder = SchemaBuilder(dialect="postgres")
    parent = builder.add_table("shelves")
    parent.columns += [Column("aisle", "smallint", False), Column("slot", "smallint", False)]
    parent.primary_key = PrimaryKey(("aisle", "slot"))
    child = builder.add_table("boxes")
    child.columns += [Column("box_id", "integer", False), Column("aisle", "smallint"), Column("slot", "smallint")]
    child.primary_key = PrimaryKey(("box_id",))
    child.foreign_keys.append(ForeignKey(("aisle", "slot"), "shelves", ("aisle", "slot")))
    schema = builder.build()
    dataset = generate(schema, {"shelves": 50, "boxes": 2000}, progress=False)
    assert not frame(dataset, "shelves").duplicated().any()
    assert_foreign_keys_hold(schema, dataset)
    boxes = frame(dataset, "boxes")
    assert (boxes.aisle.isna() == boxes.slot.isna()).all()  # a composite key is null as a whole


def test_dense_composite_primary_key_of_two_foreign_keys():
    dataset = generate(shop(), {**ROWS, "orders": 40, "products": 30, "order_items": 1150}, progress=False)
    items = frame(dataset, "public.order_items")
    assert len(items) == 1150 and not items.duplicated(["order_id", "product_id"]).any()
    with pytest.raises(WorkbenchError, match=r"40 x 30 = 1200 distinct"):
        generate(shop(), {**ROWS, "orders": 40, "products": 30, "order_items": 1201}, progress=False)


def order_lines(check: str | None = None, identity: bool = False):
    """orders (order_id) and order_items (order_id, line_no smallint): the key ends in a per-order number."""
    builder = SchemaBuilder(dialect="postgres")
    orders = builder.add_table("orders")
    orders.columns.append(Column("order_id", "bigint", False))
    orders.primary_key = PrimaryKey(("order_id",))
    items = builder.add_table("order_items")
    items.columns += [Column("order_id", "bigint", False),
                      Column("line_no", "smallint", False, identity="by default" if identity else None),
                      Column("quantity", "integer", False)]
    items.primary_key = PrimaryKey(("order_id", "line_no"))
    items.foreign_keys.append(ForeignKey(("order_id",), "orders", ("order_id",)))
    if check:
        items.checks.append(CheckConstraint(check))
    return builder.build()


def test_line_numbers_count_from_one_within_each_parent():
    schema = order_lines()
    dataset = generate(schema, {"orders": 200, "order_items": 3000}, seed=3, progress=False)
    items = frame(dataset, "order_items")
    assert len(items) == 3000 and not items.duplicated(["order_id", "line_no"]).any()
    for _, lines in items.groupby("order_id"):
        assert sorted(lines.line_no) == list(range(1, len(lines) + 1))
    assert items.groupby("order_id").size().max() > 1  # zipf fan-out: some orders have many lines
    assert_foreign_keys_hold(schema, dataset)
    assert dataset["order_items"].schema.field("line_no").type == pa.int16()


def test_line_numbers_past_the_type_move_rows_to_other_parents():
    """Zipf over 3 orders gives the first about 38k of 70k lines: more than smallint holds, so rows move."""
    dataset = generate(order_lines(), {"orders": 3, "order_items": 70_000}, progress=False)
    items = frame(dataset, "order_items")
    assert len(items) == 70_000 and not items.duplicated(["order_id", "line_no"]).any()
    assert items.groupby("order_id").size().max() <= 32767 and items.line_no.max() <= 32767
    assert any("rows moved from parents with more than 32767 children" in note for note in dataset.notes)
    capped = generate(order_lines("line_no BETWEEN 1 AND 10"), {"orders": 20, "order_items": 200}, progress=False)
    assert frame(capped, "order_items").line_no.between(1, 10).all()
    with pytest.raises(WorkbenchError, match=r"order_items \(order_id, line_no\): 201 rows do not fit 20 parents"):
        generate(order_lines("line_no <= 10"), {"orders": 20, "order_items": 201}, progress=False)


def test_identity_in_a_composite_key_keeps_global_numbers():
    items = frame(generate(order_lines(identity=True), {"orders": 20, "order_items": 300}, progress=False),
                  "order_items")
    assert sorted(items.line_no) == list(range(1, 301))


def test_numbers_within_the_tuple_of_two_foreign_keys():
    builder = SchemaBuilder(dialect="postgres")
    for name in ("shops", "days"):
        parent = builder.add_table(name)
        parent.columns.append(Column("id", "integer", False))
        parent.primary_key = PrimaryKey(("id",))
    visits = builder.add_table("visits")
    visits.columns += [Column("shop_id", "integer", False), Column("day_id", "integer", False),
                       Column("visit_no", "smallint", False)]
    visits.primary_key = PrimaryKey(("shop_id", "day_id", "visit_no"))
    visits.foreign_keys += [ForeignKey(("shop_id",), "shops", ("id",)), ForeignKey(("day_id",), "days", ("id",))]
    visits.checks.append(CheckConstraint("visit_no <= 500"))
    schema = builder.build()
    rows = frame(generate(schema, {"shops": 5, "days": 7, "visits": 2000}, progress=False), "visits")
    for _, group in rows.groupby(["shop_id", "day_id"]):
        assert sorted(group.visit_no) == list(range(1, len(group) + 1))
    with pytest.raises(WorkbenchError, match=r"visits\.visit_no .*: 600 sequential values within one "
                                             r"\(shop_id, day_id\) from 1 exceed the type's maximum 500"):
        generate(schema, {"shops": 1, "days": 1, "visits": 600}, progress=False)


def test_key_numbered_per_parent_of_a_composite_foreign_key():
    """multitenant: orders (tenant_id, order_id) per tenant, order_items (tenant_id, order_id, line_no) per order."""
    from workbench.domains import domain

    schema = domain("multitenant").schema
    dataset = generate(schema, {"tenants": 5, "customers": 300, "orders": 2000, "order_items": 6000}, progress=False)
    orders, items = frame(dataset, "public.orders"), frame(dataset, "public.order_items")
    for _, group in orders.groupby("tenant_id"):
        assert sorted(group.order_id) == list(range(1, len(group) + 1))
    for _, lines in items.groupby(["tenant_id", "order_id"]):
        assert sorted(lines.line_no) == list(range(1, len(lines) + 1))
    assert_foreign_keys_hold(schema, dataset)


def cycle(nullable: bool):
    builder = SchemaBuilder(dialect="postgres")
    stores = builder.add_table("stores")
    stores.columns += [Column("store_id", "integer", False), Column("manager_id", "integer", nullable)]
    stores.primary_key = PrimaryKey(("store_id",))
    stores.foreign_keys.append(ForeignKey(("manager_id",), "staff", ("staff_id",)))
    staff = builder.add_table("staff")
    staff.columns += [Column("staff_id", "integer", False), Column("store_id", "integer", False)]
    staff.primary_key = PrimaryKey(("staff_id",))
    staff.foreign_keys.append(ForeignKey(("store_id",), "stores", ("store_id",)))
    return builder.build()


@pytest.mark.parametrize("nullable", [True, False])
def test_foreign_key_cycles_are_closed_after_both_tables_exist(nullable):
    schema = cycle(nullable)
    dataset = generate(schema, {"stores": 20, "staff": 200}, progress=False)
    assert_foreign_keys_hold(schema, dataset)
    managers = frame(dataset, "stores").manager_id
    assert managers.notna().any()
    if nullable:
        assert any("closes a cycle" in note for note in dataset.notes)
    else:
        assert managers.notna().all()
        assert any("every foreign key of a cycle is NOT NULL" in note for note in dataset.notes)


DUCKDB_DDL = """
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, email VARCHAR(40) NOT NULL UNIQUE,
    first_name VARCHAR(12) NOT NULL, last_name VARCHAR(8), country CHAR(2) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL CHECK (updated_at >= created_at), active BOOLEAN);
CREATE TABLE products (product_id BIGINT PRIMARY KEY, sku VARCHAR(32) NOT NULL UNIQUE, name TEXT NOT NULL,
    category_id INTEGER, price DECIMAL(6,2) NOT NULL CHECK (price > 0), weight REAL, tags TEXT[], attrs JSON,
    ref UUID NOT NULL);
CREATE TABLE orders (order_id BIGINT PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers,
    status order_status NOT NULL, channel TEXT NOT NULL CHECK (channel IN ('web', 'app')),
    ordered_at TIMESTAMPTZ NOT NULL, rating SMALLINT CHECK (rating BETWEEN 1 AND 10), total DECIMAL(12,2));
CREATE TABLE order_items (order_id BIGINT NOT NULL REFERENCES orders, product_id BIGINT NOT NULL REFERENCES products,
    quantity INTEGER NOT NULL CHECK (quantity > 0), unit_price DECIMAL(10,2) NOT NULL,
    PRIMARY KEY (order_id, product_id));
"""


def test_constraints_hold_in_duckdb(data):
    connection = duckdb.connect()
    connection.execute(DUCKDB_DDL)
    for name in ("customers", "products", "orders", "order_items"):
        arrow = data[f"public.{name}"]
        connection.register("incoming", arrow)
        connection.execute(exp.insert(exp.select("*").from_("incoming"), name).sql("duckdb"))
        connection.unregister("incoming")
        assert connection.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] == arrow.num_rows
    orphans = connection.execute("SELECT count(*) FROM order_items i LEFT JOIN products p USING (product_id) "
                                 "WHERE p.product_id IS NULL").fetchall()[0][0]
    assert orphans == 0


def test_types_of_other_dialects():
    builder = SchemaBuilder(dialect="mysql")
    table = builder.add_table("t")
    table.columns += [Column("id", "int unsigned", False), Column("kind", "enum('a','b')", False),
                      Column("code", "varchar(3)", False), Column("at", "datetime", False),
                      Column("n", "tinyint", False)]
    table.primary_key = PrimaryKey(("id",))
    table.uniques.append(UniqueConstraint(("code",)))
    df = frame(generate(builder.build(), 500, progress=False), "t")
    assert set(df.kind) <= {"a", "b"} and df.code.str.len().max() <= 3 and df.code.is_unique
    assert df.n.between(-127, 127).all() and df.id.is_unique


@pytest.mark.corpus
@pytest.mark.corpus
def test_pagila_generates_consistent_data():
    postgres = pytest.importorskip("workbench.ddl.postgres")
    schema = postgres.import_postgres(PAGILA.read_text(), file=str(PAGILA)).schema
    dataset = generate(schema, 150, progress=False)
    assert len(dataset) == len(schema.tables) and dataset.total_rows == 150 * len(schema.tables)
    lifted, _ = with_partition_keys(schema)  # payment's keys are declared on some of its partitions
    assert sum(len(t.foreign_keys) for t in lifted) > sum(len(t.foreign_keys) for t in schema)
    assert_foreign_keys_hold(lifted, dataset)
    for table in schema.tables:
        if table.primary_key:
            assert not frame(dataset, table.key).duplicated(list(table.primary_key.columns)).any(), table.key
    film = frame(dataset, "public.film")
    assert film.release_year.dropna().between(1901, 2155).all()  # the "year" domain's CHECK
    assert set(film.rating.dropna()) <= {"G", "PG", "PG-13", "R", "NC-17"}
    payment_dates = frame(dataset, "public.payment").payment_date
    assert payment_dates.min() >= pd.Timestamp("2022-01-01", tz="UTC")
    assert payment_dates.max() < pd.Timestamp("2026-08-01", tz="UTC")
    assert np.isfinite(frame(dataset, "public.payment").amount.astype(float)).all()


@pytest.mark.parametrize("domain", ["multitenant", "notifications", "timeseries"])
def test_sample_domains_load_into_duckdb_with_every_constraint(domain):
    """Composite keys sharing a tenant column, small-domain key columns: DuckDB enforces them all on load."""
    from workbench.ddl import import_ddl
    from workbench.ddl.export import to_ddl

    schema = import_ddl(Path(__file__).resolve().parent.parent / "datasets" / domain / "schema.sql").schema
    connection = duckdb.connect()
    connection.execute(to_ddl(schema, "duckdb").sql)
    for key, arrow in generate(schema, 2000, progress=False).items():
        connection.register("incoming", arrow)
        columns = [exp.column(c) for c in arrow.column_names]
        target = exp.to_table(key.split(".")[-1])  # the DuckDB export drops the public schema
        connection.execute(exp.insert(exp.select(*columns).from_("incoming"), target,
                                      columns=arrow.column_names).sql("duckdb"))
        connection.unregister("incoming")
