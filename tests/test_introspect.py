"""Hand-written DDL with every construct the model holds, loaded into PostgreSQL and read back exactly."""

from __future__ import annotations

import psycopg
import pytest

from workbench.engines.introspect import schema_from_catalog
from workbench.errors import UnknownNameError
from workbench.schema.model import (
    CheckConstraint,
    Column,
    Domain,
    Enum,
    ForeignKey,
    Index,
    IndexElement,
    Partitioning,
    PrimaryKey,
    Sequence,
    Table,
    UniqueConstraint,
    View,
)

DDL = """
CREATE EXTENSION pg_trgm;
CREATE EXTENSION pg_stat_statements;
CREATE SCHEMA shop;
CREATE TYPE shop.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN shop.posint AS integer NOT NULL DEFAULT 1 CONSTRAINT posint_positive CHECK (VALUE > 0);
CREATE TABLE shop.customer (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email varchar(200) NOT NULL,
  mood shop.mood DEFAULT 'ok',
  score numeric(10,2) CHECK (score >= 0),
  tags text[],
  created timestamptz NOT NULL DEFAULT now(),
  email_lower text GENERATED ALWAYS AS (lower(email)) STORED,
  CONSTRAINT customer_email_key UNIQUE NULLS NOT DISTINCT (email)
);
COMMENT ON TABLE shop.customer IS 'people who buy';
COMMENT ON COLUMN shop.customer.email IS 'where we write';
CREATE TABLE shop.orders (
  id serial,
  customer_id bigint,
  qty shop.posint,
  placed date NOT NULL,
  PRIMARY KEY (id, placed),
  CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES shop.customer (id)
    ON DELETE SET NULL ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED
) PARTITION BY RANGE (placed);
CREATE TABLE shop.orders_2024 PARTITION OF shop.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE shop.orders_rest PARTITION OF shop.orders DEFAULT;
CREATE INDEX orders_placed ON shop.orders (placed);
CREATE TABLE shop.events (kind text, at timestamptz, CHECK (kind <> '')) PARTITION BY LIST (lower(kind));
CREATE TABLE shop.events_login PARTITION OF shop.events FOR VALUES IN ('login');
CREATE TABLE pair (a int, b int, c text, UNIQUE (b, a),
                   FOREIGN KEY (a) REFERENCES shop.customer (id) ON DELETE RESTRICT);
CREATE INDEX pair_expr ON pair (lower(c) DESC NULLS LAST, b NULLS FIRST) INCLUDE (a) WHERE a > 0;
CREATE UNIQUE INDEX pair_c ON pair (c COLLATE "C" text_pattern_ops);
CREATE INDEX pair_trgm ON pair USING gin (c gin_trgm_ops);
CREATE VIEW shop.big_customers AS SELECT c.id, c.email FROM shop.customer c JOIN shop.orders o ON o.customer_id = c.id;
CREATE MATERIALIZED VIEW pair_counts AS SELECT a, count(*) AS n FROM pair GROUP BY a;
CREATE SEQUENCE ticket START 100 INCREMENT 5 OWNED BY pair.b;
"""


@pytest.fixture
def loaded(pg_url: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(DDL)
    return pg_url


def col(name: str, type_: str, **fields: object) -> Column:
    return Column(name=name, type=type_, **fields)  # type: ignore[arg-type]


def key(expression: str, **fields: object) -> IndexElement:
    return IndexElement(expression=expression, **fields)  # type: ignore[arg-type]


ORDER_COLUMNS = (
    col("id", "integer", nullable=False, default="nextval('shop.orders_id_seq'::regclass)"),
    col("customer_id", "bigint"),
    col("qty", "shop.posint"),
    col("placed", "date", nullable=False),
)


def test_every_construct_is_read_back_exactly(loaded):
    schema = schema_from_catalog(loaded)
    assert schema.dialect == "postgres" and schema.schemas == ("shop", "public")
    assert [t.key for t in schema.tables] == ["shop.customer", "shop.orders", "shop.events", "public.pair"]

    assert schema.table("shop.customer") == Table(
        name="customer", schema="shop", comment="people who buy",
        columns=(
            col("id", "bigint", nullable=False, identity="always"),
            col("email", "character varying(200)", nullable=False, comment="where we write"),
            col("mood", "shop.mood", default="'ok'::shop.mood"),
            col("score", "numeric(10,2)"),
            col("tags", "text[]"),
            col("created", "timestamp with time zone", nullable=False, default="now()"),
            col("email_lower", "text", generated="lower((email)::text)"),
        ),
        primary_key=PrimaryKey(("id",), "customer_pkey"),
        uniques=(UniqueConstraint(("email",), "customer_email_key", nulls_not_distinct=True),),
        checks=(CheckConstraint("score >= 0::numeric", "customer_score_check"),),
    )

    partitions = tuple(
        Table(name=name, schema="shop", bound=bound, columns=ORDER_COLUMNS)
        for name, bound in (("orders_2024", "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"),
                            ("orders_rest", "DEFAULT"))
    )
    assert schema.table("shop.orders") == Table(
        name="orders", schema="shop",
        columns=(col("id", "integer", nullable=False, default="nextval('shop.orders_id_seq'::regclass)",
                     autoincrement=True), *ORDER_COLUMNS[1:]),
        primary_key=PrimaryKey(("id", "placed"), "orders_pkey"),
        foreign_keys=(ForeignKey(("customer_id",), "customer", ("id",), ref_schema="shop",
                                 name="orders_customer_fk", on_delete="SET NULL", on_update="CASCADE",
                                 deferrable=True, initially_deferred=True),),
        indexes=(Index("orders_placed", (key("placed"),)),),
        partitioning=Partitioning("range", ("placed",)),
        partitions=partitions,
    )

    events = schema.table("shop.events")
    assert events.partitioning == Partitioning("list", ("lower(kind)",))
    assert events.checks == (CheckConstraint("kind <> ''::text", "events_kind_check"),)
    (login,) = events.partitions
    assert (login.name, login.bound, login.checks) == ("events_login", "FOR VALUES IN ('login')", ())
    assert [c.name for c in login.columns] == ["kind", "at"]

    assert schema.table("pair") == Table(
        name="pair", schema="public",
        columns=(col("a", "integer"), col("b", "integer"), col("c", "text")),
        foreign_keys=(ForeignKey(("a",), "customer", ("id",), ref_schema="shop", name="pair_a_fkey",
                                 on_delete="RESTRICT"),),
        uniques=(UniqueConstraint(("b", "a"), "pair_b_a_key"),),
        indexes=(
            Index("pair_expr", (key("lower(c)", is_expression=True, descending=True, nulls_first=False),
                                key("b", nulls_first=True)), include=("a",), where="a > 0"),
            Index("pair_c", (key("c", opclass="text_pattern_ops", collation="C"),), unique=True),
            Index("pair_trgm", (key("c", opclass="gin_trgm_ops"),), method="gin"),
        ),
    )

    assert schema.views == (
        View("big_customers", "shop", depends_on=("shop.customer", "shop.orders"), columns=("id", "email"),
             sql="SELECT c.id,\n    c.email\n   FROM shop.customer c\n"
                 "     JOIN shop.orders o ON o.customer_id = c.id;"),
        View("pair_counts", "public", depends_on=("public.pair",), columns=("a", "n"), materialized=True,
             sql="SELECT a,\n    count(*) AS n\n   FROM pair\n  GROUP BY a;"),
    )  # the extensions' own views (pg_stat_statements) are not part of the design
    assert schema.enums == (Enum("mood", ("sad", "ok", "happy"), "shop"),)
    assert schema.domains == (Domain("posint", "integer", "shop", nullable=False, default="1",
                                     checks=(CheckConstraint("VALUE > 0", "posint_positive"),)),)
    assert schema.sequences == (  # identity sequences belong to their column, not listed
        Sequence("orders_id_seq", "shop", owned_by="shop.orders.id", start=1, increment=1),
        Sequence("ticket", "public", owned_by="public.pair.b", start=100, increment=5),
    )


def test_schemas_filter_and_unknown_schema(loaded):
    only_public = schema_from_catalog(loaded, ["public"])
    assert [t.key for t in only_public.tables] == ["public.pair"]
    assert only_public.enums == () and only_public.schemas == ("public",)
    with pytest.raises(UnknownNameError, match="'shop'"):
        schema_from_catalog(loaded, ["shops"])


def test_empty_database_has_an_empty_model(pg_url):
    schema = schema_from_catalog(pg_url)
    assert (schema.tables, schema.views, schema.enums, schema.domains, schema.sequences) == ((),) * 5
