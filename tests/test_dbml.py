"""DBML text read through pydbml into the model; errors located by line."""

import pyparsing
import pytest

from workbench.errors import DDLSyntaxError
from workbench.schema.dbml import DBMLError, from_dbml
from workbench.schema.model import Column, Enum, ForeignKey, Index, IndexElement, PrimaryKey, UniqueConstraint

SHOP = """\
Project shop {
  database_type: 'PostgreSQL'
  Note: 'ignored'
}
Enum order_status {
  new
  paid [note: 'money in']
  "shipped out"
}
Enum billing.currency {
  eur
  usd
}
Table users as U {
  id serial [pk, increment]
  email varchar(255) [unique, not null, note: 'login']
  created_at timestamptz [default: `now()`]
  score int [default: 0]
  ratio float [default: 1.5]
  active bool [default: true]
  name text [default: 'it\\'s', null]
  gone text [default: null]
  Note: 'people'
}
Table orders {
  id bigint [pk]
  user_id int [ref: > U.id, not null]
  status order_status [default: 'new']
  currency billing.currency
  indexes {
    (user_id, id) [unique, name: 'ix_u']
    `lower(status)` [type: hash]
  }
}
Table billing.items {
  order_id bigint
  line int
  indexes {
    (order_id, line) [pk]
  }
}
Table tags {
  id int [pk]
}
Ref fk_items: billing.items.order_id > orders.id [delete: cascade, update: no action]
Ref: users.id < orders.user_id
Ref: orders.id <> tags.id
TableGroup sales {
  orders
  billing.items
}
"""


@pytest.fixture(scope="module")
def shop():
    return from_dbml(SHOP, name="shop")


def test_tables_columns_and_settings(shop):
    assert shop.name == "shop" and shop.dialect == "postgres"
    assert [t.key for t in shop] == ["users", "orders", "billing.items", "tags", "orders_tags"]
    users = shop.table("users")
    assert users.comment == "people"
    assert users.columns == (
        Column("id", "serial", nullable=False, autoincrement=True),
        Column("email", "varchar(255)", nullable=False, comment="login"),
        Column("created_at", "timestamptz", default="now()"),
        Column("score", "int", default="0"),
        Column("ratio", "float", default="1.5"),
        Column("active", "bool", default="TRUE"),
        Column("name", "text", default="'it''s'"),
        Column("gone", "text"),
    )
    assert users.primary_key == PrimaryKey(("id",))
    assert users.uniques == (UniqueConstraint(("email",)),)


def test_enums_indexes_and_composite_primary_key(shop):
    assert shop.enums == (Enum("order_status", ("new", "paid", "shipped out")),
                          Enum("currency", ("eur", "usd"), "billing"))
    orders = shop.table("orders")
    assert [c.type for c in orders.columns] == ["bigint", "int", "order_status", "billing.currency"]
    assert orders.indexes == (
        Index("ix_u", (IndexElement("user_id"), IndexElement("id")), unique=True),
        Index(None, (IndexElement("lower(status)", is_expression=True),), method="hash"),
    )
    items = shop.table("billing.items")
    assert items.primary_key == PrimaryKey(("order_id", "line")) and items.indexes == ()
    assert [c.nullable for c in items.columns] == [False, False]


def test_refs_in_every_direction(shop):
    # inline "> U.id" (alias) and "users.id < orders.user_id" both make orders reference users
    assert shop.table("orders").foreign_keys == (ForeignKey(("user_id",), "users", ("id",)),) * 2
    assert shop.table("billing.items").foreign_keys == (
        ForeignKey(("order_id",), "orders", ("id",), None, "fk_items", "CASCADE", "NO ACTION"),)
    junction = shop.table("orders_tags")  # "<>" becomes a junction table, as DBML's SQL export does
    assert junction.columns == (Column("orders_id", "bigint", nullable=False),
                                Column("tags_id", "int", nullable=False))
    assert junction.primary_key == PrimaryKey(("orders_id", "tags_id"))
    assert junction.foreign_keys == (ForeignKey(("orders_id",), "orders", ("id",)),
                                     ForeignKey(("tags_id",), "tags", ("id",)))
    assert shop.subject_areas == {"sales": ("orders", "billing.items")}


def test_composite_ref():
    schema = from_dbml("Table a {\n x int\n y int\n}\nTable b {\n x int\n y int\n"
                       " indexes {\n  (x, y) [pk]\n }\n}\nRef: a.(x, y) > b.(x, y) [delete: set null]\n")
    assert schema.table("a").foreign_keys == (ForeignKey(("x", "y"), "b", ("x", "y"), on_delete="SET NULL"),)


def test_pyparsing_default_whitespace_is_left_as_found():
    from_dbml("Table a {\n id int\n}\n")
    assert pyparsing.ParserElement.DEFAULT_WHITE_CHARS == " \n\t\r"
    assert list(pyparsing.Word(pyparsing.alphas)[...].parse_string("a\nb", parse_all=True)) == ["a", "b"]


def test_syntax_error_has_line_column_and_what_was_expected():
    with pytest.raises(DDLSyntaxError) as error:
        from_dbml("Table a {\n  id int [pk]\n  name text [nul]\n}\n", file="shop.dbml")
    assert (error.value.file, error.value.line, error.value.column) == ("shop.dbml", 3, 14)
    assert str(error.value) == (
        "shop.dbml:3:14: DBML: unexpected 'nul'; expected a column setting: pk, not null, null, unique, "
        "increment, default: ..., note: '...', ref: > table.column\n      name text [nul]")
    with pytest.raises(DDLSyntaxError, match=r"<text>:3:1: .*expected a closing '\}'"):
        from_dbml("Table a {\n  id int [pk]\n")


@pytest.mark.parametrize(("text", "expected"), [
    ("Table users {\n id int [pk]\n}\nRef: users.id > user.id\n",
     "<text>:4: Table public.user not present in the database; did you mean 'users'?"),
    ("Table a {\n id int [pk, ref: > c.id]\n}\n", "<text>:2: Table public.c not present"),
    ("Table a {\n id int\n}\nTable b {\n id int\n}\nRef: a.idx > b.id\n", "<text>:7: Column idx not present"),
    ("Table a {\n id int\n}\nTable a {\n id int\n}\n", "<text>:4: public.a(id) is already in the database"),
    ("Table a {\n id int\n id text\n}\n", "<text>:3: column 'id' of a is declared twice"),
    ("Table a {\n id int\n indexes {\n  nope\n }\n}\n", '<text>:4: Cannot add index, column "nope"'),
    ("Table a {\n id int\n}\nTableGroup g {\n a\n zz\n}\n", "<text>:6: Table public.zz not present"),
    ("Table a {\n id int [pk]\n b int\n indexes {\n  (id, b) [pk]\n }\n}\n", "<text>:1: a has two primary keys"),
])
def test_name_errors_are_located(text, expected):
    with pytest.raises(DBMLError) as error:
        from_dbml(text)
    assert str(error.value).startswith(expected)
