"""HTML views of tables and schemas: exact, escaped, and never raising."""

import pytest

from workbench.schema.html import schema_html, table_html
from workbench.schema.model import (
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    IndexElement,
    Partitioning,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
    View,
)
from workbench.schema.sketch import sketch

STYLE = "<style>.wb-table td,.wb-table th,.wb-schema td,.wb-schema th{text-align:left}</style>"
HEAD = "<tr><th>column</th><th>type</th><th>null</th><th>default</th><th>key</th><th>comment</th></tr>"

ORDERS = Table(
    "orders", "shop", comment="what <people> buy",
    columns=(Column("id", "bigint", nullable=False, identity="always"),
             Column("customer_id", "integer", nullable=False),
             Column("code", "text", default="'x'", comment="A & B"),
             Column("total", "numeric(10,2)", generated="qty * price")),
    primary_key=PrimaryKey(("id",), "orders_pkey"),
    uniques=(UniqueConstraint(("customer_id", "code"), nulls_not_distinct=True),),
    foreign_keys=(ForeignKey(("customer_id",), "customers", ("id",), "shop", "orders_customer_fk", "CASCADE",
                             "SET NULL", deferrable=True, initially_deferred=True),),
    checks=(CheckConstraint("total > 0", "positive"),),
    indexes=(Index("orders_code_idx", (IndexElement("code", opclass="text_pattern_ops", collation='"C"',
                                                    descending=True, nulls_first=False),
                                       IndexElement("lower(code)", is_expression=True)),
                   unique=True, include=("total",), where="code <> ''"),),
)


def test_table_exact():
    assert table_html(ORDERS) == (
        STYLE + '<div class="wb-table"><p><b>shop.orders</b> <i>what &lt;people&gt; buy</i></p><table>' + HEAD
        + "<tr><td>id</td><td>bigint</td><td>not null</td><td>identity always</td><td>PK</td><td></td></tr>"
        "<tr><td>customer_id</td><td>integer</td><td>not null</td><td></td><td>FK</td><td></td></tr>"
        "<tr><td>code</td><td>text</td><td></td><td>&#x27;x&#x27;</td><td></td><td>A &amp; B</td></tr>"
        "<tr><td>total</td><td>numeric(10,2)</td><td></td><td>generated as (qty * price)</td><td></td><td></td>"
        "</tr></table><ul>"
        "<li>orders_pkey: primary key (id)</li>"
        "<li>unique (customer_id, code) nulls not distinct</li>"
        "<li>orders_customer_fk: foreign key (customer_id) → shop.customers (id) on delete cascade "
        "on update set null deferrable initially deferred</li>"
        "<li>positive: check (total &gt; 0)</li>"
        "<li>orders_code_idx: unique btree index (code collate &quot;C&quot; text_pattern_ops desc nulls last, "
        "(lower(code))) include (total) where code &lt;&gt; &#x27;&#x27;</li></ul></div>")


def test_sketched_table_markers():
    s = sketch().table("users", id="serial pk", email="text unique not null", boss="-> users?")
    html = table_html(s.build().table("users"))
    assert ("<tr><td>id</td><td>serial</td><td>not null</td><td>autoincrement</td><td>PK</td><td></td></tr>"
            in html)
    assert "<tr><td>email</td><td>text</td><td>not null</td><td></td><td>UQ</td><td></td></tr>" in html
    assert "<tr><td>boss</td><td>integer</td><td></td><td></td><td>FK</td><td></td></tr>" in html


def test_partitions_nested():
    table = Table("m", columns=(Column("d", "date"),), partitioning=Partitioning("range", ("d",)), partitions=(
        Table("m_2024", bound="FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
              partitioning=Partitioning("list", ("r",)),
              partitions=(Table("m_2024_eu", bound="FOR VALUES IN ('eu')"), Table("m_2024_x"))),))
    assert table_html(table).endswith(
        "<ul><li>partitioned by range (d)</li>"
        "<li>partition m_2024 FOR VALUES FROM (&#x27;2024-01-01&#x27;) TO (&#x27;2025-01-01&#x27;), "
        "partitioned by list (r)</li>"
        "<li>↳ partition m_2024_eu FOR VALUES IN (&#x27;eu&#x27;)</li>"
        "<li>↳ partition m_2024_x (no bound)</li></ul></div>")


def test_schema_exact():
    schema = Schema(
        tables=(ORDERS, Table("customers", "shop", columns=(Column("id", "int"),), primary_key=PrimaryKey(("id",)))),
        views=(View("big", "shop", depends_on=("shop.orders",), materialized=True),),
        enums=(Enum("mood", ("sad", "<ok>")),), name="shop", dialect="postgres",
        subject_areas={"sales": ("shop.orders",)})
    assert schema_html(schema) == (
        STYLE + '<div class="wb-schema"><p><b>Schema &#x27;shop&#x27;</b> (postgres): 2 tables, 5 columns, '
        "1 foreign key, 1 index, 1 view, 1 enum</p><table><tr><th>table</th><th>columns</th>"
        "<th>primary key</th><th>foreign keys</th><th>indexes</th><th>partitions</th><th>comment</th></tr>"
        "<tr><td>shop.orders</td><td>4</td><td>id</td><td>shop.customers</td><td>1</td><td></td>"
        "<td>what &lt;people&gt; buy</td></tr>"
        "<tr><td>shop.customers</td><td>1</td><td>id</td><td></td><td>0</td><td></td><td></td></tr></table>"
        "<table><tr><th>view</th><th>kind</th><th>reads</th></tr>"
        "<tr><td>shop.big</td><td>materialized view</td><td>shop.orders</td></tr></table>"
        "<table><tr><th>enum</th><th>values</th></tr><tr><td>mood</td><td>sad, &lt;ok&gt;</td></tr></table>"
        "<table><tr><th>subject area</th><th>tables</th></tr><tr><td>sales</td><td>shop.orders</td></tr>"
        "</table></div>")


def test_empty_things():
    assert schema_html(Schema()) == (
        STYLE + '<div class="wb-schema"><p><b>Schema</b>: 0 tables, 0 columns, 0 foreign keys, 0 indexes</p></div>')
    assert table_html(Table("t")) == STYLE + '<div class="wb-table"><p><b>t</b></p><p>(no columns)</p></div>'


def test_weird_names_are_escaped():
    name = "<script>alert('x')</script> & \"ünïcødé\""
    html = table_html(Table(name, columns=(Column(name, name, comment=name),))) + schema_html(
        Schema(tables=(Table(name),), name=name))
    assert "<script>" not in html and "ünïcødé" in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;ünïcødé&quot;" in html


class Unprintable:
    def __repr__(self):
        raise RuntimeError("no repr")


@pytest.mark.parametrize("odd", [None, Unprintable(), Table("t", columns=None), Schema(tables=(None,)),
                                 Table("<t>", primary_key=PrimaryKey(()), uniques=(UniqueConstraint(()),))])
def test_never_raises(odd):
    for render in (table_html, schema_html):
        html = render(odd)
        assert isinstance(html, str) and html
        assert "<t>" not in html
