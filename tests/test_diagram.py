"""ER diagrams drawn by a real renderer (system dot or graphviz-pure), and their Mermaid and DBML text."""

from __future__ import annotations

import base64
import re
import time
import xml.etree.ElementTree as ET

import pytest

from workbench.diagram import er_diagram, to_dbml, to_mermaid
from workbench.diagram.er import count_edges
from workbench.errors import UnknownNameError
from workbench.schema.builder import SchemaBuilder
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
    UniqueConstraint,
    View,
)
from workbench.schema.synthetic import synthetic_schema

SVG = "{http://www.w3.org/2000/svg}"


def shop() -> Schema:
    """customers 1-n orders (mandatory), orders 1-n items (identifying), customers 1-1 profiles, optional referrer."""
    b = SchemaBuilder("shop")
    b.add_enum(Enum("status", ("new", "paid", "on hold")))
    c = b.add_table("customers")
    c.columns += [Column("id", "integer", nullable=False, autoincrement=True), Column("email", "text", nullable=False),
                  Column("referrer_id", "integer")]
    c.primary_key = PrimaryKey(("id",))
    c.uniques.append(UniqueConstraint(("email",)))
    c.foreign_keys.append(ForeignKey(("referrer_id",), "customers", ("id",)))
    o = b.add_table("orders")
    o.columns += [Column("id", "integer", nullable=False), Column("customer_id", "integer", nullable=False),
                  Column("status", "status", default="'new'"), Column("total", "numeric(10,2)", default="0")]
    o.primary_key = PrimaryKey(("id",))
    o.foreign_keys.append(ForeignKey(("customer_id",), "customers", ("id",), name="orders_customer_fk",
                                     on_delete="CASCADE"))
    o.indexes.append(Index("orders_customer_idx", (IndexElement("customer_id"),)))
    o.checks.append(CheckConstraint("total >= 0"))
    i = b.add_table("order_items")
    i.columns += [Column("order_id", "integer", nullable=False), Column("line", "integer", nullable=False),
                  Column("sku", "character varying(20)", nullable=False, comment="stock keeping unit")]
    i.primary_key = PrimaryKey(("order_id", "line"))
    i.foreign_keys.append(ForeignKey(("order_id",), "orders", ("id",)))
    p = b.add_table("profiles")
    p.columns += [Column("customer_id", "integer", nullable=False), Column("bio", "text")]
    p.primary_key = PrimaryKey(("customer_id",))
    p.foreign_keys.append(ForeignKey(("customer_id",), "customers", ("id",)))
    return b.build()


def svg_root(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def edge_ids(svg: str) -> set[str]:
    return {g.get("id", "") for g in svg_root(svg).iter(f"{SVG}g") if g.get("class") == "edge"}


def edge_attrs(source: str, edge_id: str) -> str:
    line = next(line for line in source.splitlines() if f"id={edge_id}" in line or f'id="{edge_id}"' in line)
    return line


def test_svg_renders_every_foreign_key():
    diagram = er_diagram(shop())
    svg = diagram.svg()
    root = svg_root(svg)
    assert root.tag == f"{SVG}svg"
    assert edge_ids(svg) == {"fk0", "fk1", "fk2", "fk3"}
    assert count_edges(svg) == 4
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for word in ("customers", "orders", "order_items", "profiles", "numeric(10,2)", "PK", "FK", "UQ"):
        assert word in texts
    assert diagram.fallbacks == ()
    assert diagram.layout_used == "dot"
    assert "ERDiagram 'shop'" in repr(diagram)


def test_crows_foot_arrowheads_follow_keys_and_nullability():
    source = er_diagram(shop()).source
    referrer, orders, items, profile = (edge_attrs(source, f"fk{n}") for n in range(4))
    assert "arrowtail=crowodot" in referrer and "arrowhead=teeodot" in referrer  # optional 1-n (self reference)
    assert "arrowtail=crowtee" in orders and "arrowhead=teetee" in orders  # mandatory 1-n
    assert "arrowtail=crowtee" in items  # part of a composite key: still many per order
    assert "arrowtail=teetee" in profile and "arrowhead=teetee" in profile  # 1-1: the FK is the whole key
    assert re.search(r"t1:c1 -> t0:c0", source)  # from the FK column's port to the referenced column
    keys = er_diagram(shop(), columns="keys").source
    assert "+2 columns" in keys and "total" not in keys  # hidden columns are counted, not dropped silently


def test_focus_and_depth():
    schema = shop()
    one = er_diagram(schema, focus="order_items", depth=1)
    assert [t.name for t in one.content.tables] == ["orders", "order_items"]
    two = er_diagram(schema, focus="order_items", depth=2)
    assert {t.name for t in two.content.tables} == {"customers", "orders", "order_items"}
    assert count_edges(two.svg()) == 3  # customers->customers, orders->customers, items->orders; profiles out
    assert {t.name for t in er_diagram(schema, focus="order_items", depth=0).content.tables} == {"order_items"}


def test_unknown_focus_says_did_you_mean():
    with pytest.raises(UnknownNameError, match="did you mean 'orders'"):
        er_diagram(shop(), focus="ordres")
    with pytest.raises(UnknownNameError, match="valid choices: BT, LR, RL, TB"):
        er_diagram(shop(), rankdir="XY")


def test_clusters_per_schema_and_per_area():
    b = SchemaBuilder()
    for schema, name in (("sales", "orders"), ("sales", "customers"), ("stock", "products")):
        d = b.add_table(name, schema=schema)
        d.columns.append(Column("id", "int", nullable=False))
    b.tables["sales.orders"].foreign_keys.append(ForeignKey(("id",), "products", ("id",), ref_schema="stock"))
    schema = b.build()
    by_schema = er_diagram(schema).svg()
    clusters = [g.find(f"{SVG}text").text for g in svg_root(by_schema).iter(f"{SVG}g") if g.get("class") == "cluster"]
    assert sorted(clusters) == ["sales", "stock"]
    assert "sales.orders" in " ".join(t.text or "" for t in svg_root(by_schema).iter(f"{SVG}text"))
    by_area = er_diagram(schema, group_by="area", areas={"buying": ["orders", "stock.products"]})
    assert by_area.source.count("subgraph cluster_") == 1 and "label=buying" in by_area.source
    assert "subgraph" not in er_diagram(schema, group_by=None).source
    b.subject_areas = {"catalogue": ("products",)}
    assert "label=catalogue" in er_diagram(b.build(), group_by="area").source  # the schema's own areas
    with pytest.raises(UnknownNameError, match="subject area 'x'"):
        er_diagram(schema, group_by="area", areas={"x": ["nope"]})


def test_weird_names_are_escaped():
    b = SchemaBuilder()
    t = b.add_table('a<b>&"c"', schema="Mixed Case")
    t.columns += [Column("select", "int", nullable=False), Column("naïve 東京", 'text[] /* "x" */'),
                  Column("back\\slash", "int")]
    t.primary_key = PrimaryKey(("select",))
    u = b.add_table("user")
    u.columns.append(Column("x:y", "int"))
    u.foreign_keys.append(ForeignKey(("x:y",), 'a<b>&"c"', ("select",), ref_schema="Mixed Case"))
    schema = b.build()
    diagram = er_diagram(schema)
    assert "&lt;b&gt;&amp;&quot;c&quot;" in diagram.source
    svg = diagram.svg()
    texts = " ".join(t.text or "" for t in svg_root(svg).iter(f"{SVG}text"))
    assert 'Mixed Case.a<b>&"c"' in texts and "naïve 東京" in texts and "back\\slash" in texts
    assert count_edges(svg) == 1
    assert '"Mixed Case.a<b>&\'c\'"' in to_mermaid(schema)
    assert 'Table "Mixed Case"."a<b>&\\"c\\"" {' in to_dbml(schema)


def test_missing_parent_table_is_a_dashed_placeholder():
    b = SchemaBuilder()
    d = b.add_table("payments")
    d.columns.append(Column("account_id", "int"))
    d.foreign_keys.append(ForeignKey(("account_id",), "accounts", ("id",), ref_schema="billing"))
    schema = b.build()
    diagram = er_diagram(schema)
    svg = diagram.svg()
    assert count_edges(svg) == 1
    assert "not in this schema" in svg and "billing.accounts" in svg
    assert "// Ref: payments.account_id > billing.accounts.id" in to_dbml(schema)


def test_cycles_views_and_partitions():
    b = SchemaBuilder()
    for name, other in (("a", "b"), ("b", "c"), ("c", "a")):
        d = b.add_table(name)
        d.columns += [Column("id", "int", nullable=False), Column(f"{other}_id", "int")]
        d.primary_key = PrimaryKey(("id",))
        d.foreign_keys.append(ForeignKey((f"{other}_id",), other, ("id",)))
    m = b.add_table("measurements", partitioning=Partitioning("range", ("taken",)))
    m.columns += [Column("taken", "date", nullable=False), Column("a_id", "int")]
    m.foreign_keys.append(ForeignKey(("a_id",), "a", ("id",)))
    for month in (1, 2):
        b.add_table(f"measurements_{month}", parent="measurements", bound=f"FOR VALUES FROM ({month}) TO ({month + 1})")
    b.add_view(View("recent", sql="select 1", depends_on=("measurements", "a"), materialized=True))
    schema = b.build()
    assert len(schema.tables) == 4  # partitions are nested, not separate nodes
    diagram = er_diagram(schema)
    svg = diagram.svg()
    assert count_edges(svg) == 6  # 3 in the cycle, 1 from measurements, 2 from the view
    assert "partitioned by range (taken), 2 partitions" in svg
    assert "materialized view" in svg
    assert diagram.source.count("measurements_1") == 0
    assert count_edges(er_diagram(schema, show_views=False).svg()) == 4


def test_png_pdf_dot_and_text_files(tmp_path):
    diagram = er_diagram(shop(), columns="keys", show_indexes=True)
    magic = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-", ".svg": b"<?xml"}
    for suffix, start in magic.items():
        written = diagram.render(tmp_path / f"shop{suffix}")
        assert written.read_bytes().startswith(start)
        assert written.stat().st_size > 1000
    assert "digraph" in diagram.render(tmp_path / "shop.dot").read_text()
    assert diagram.render(tmp_path / "shop.mmd").read_text() == to_mermaid(shop())
    assert diagram.render(tmp_path / "shop.dbml").read_text() == to_dbml(shop())
    with pytest.raises(UnknownNameError, match="suffix"):
        diagram.render(tmp_path / "shop.gif")


def test_mermaid_text():
    assert to_mermaid(shop()) == '''erDiagram
    customers {
        integer id PK
        text email UK
        integer referrer_id FK
    }
    orders {
        integer id PK
        integer customer_id FK
        status status
        numeric(10_2) total
    }
    order_items {
        integer order_id PK, FK
        integer line PK
        character_varying(20) sku "stock keeping unit"
    }
    profiles {
        integer customer_id PK, FK
        text bio
    }
    customers |o..o{ customers : "referrer_id"
    customers ||..|{ orders : "customer_id"
    orders ||--|{ order_items : "order_id"
    customers ||--|| profiles : "customer_id"
'''


def test_dbml_text():
    assert to_dbml(shop()) == '''Enum status {
  new
  paid
  "on hold"
}

Table customers {
  id integer [pk, increment]
  email text [unique, not null]
  referrer_id integer
}

Table orders {
  id integer [pk]
  customer_id integer [not null]
  status status [default: 'new']
  total numeric(10,2) [default: 0]

  indexes {
    customer_id [name: 'orders_customer_idx']
  }
  // check (total >= 0)
}

Table order_items {
  order_id integer
  line integer
  sku "character varying(20)" [not null, note: 'stock keeping unit']

  indexes {
    (order_id, line) [pk]
  }
}

Table profiles {
  customer_id integer [pk]
  bio text
}

Ref: customers.referrer_id > customers.id
Ref orders_customer_fk: orders.customer_id > customers.id [delete: cascade]
Ref: order_items.order_id > orders.id
Ref: profiles.customer_id - customers.id
'''


def test_400_tables_render_within_the_time_limit():
    schema = synthetic_schema(400, 1.3, 0.0)
    started = time.perf_counter()
    diagram = er_diagram(schema, time_limit=20)
    svg = diagram.svg()
    assert time.perf_counter() - started < 25
    assert count_edges(svg) == sum(len(t.foreign_keys) for t in schema) == diagram.content.edge_count
    assert len([g for g in svg_root(svg).iter(f"{SVG}g") if g.get("class") == "node"]) == 400


def test_tiny_time_limit_takes_the_fallback_path():
    schema = synthetic_schema(80, 3.0, 0.4)
    diagram = er_diagram(schema, time_limit=0.001)
    svg = diagram.svg()
    assert diagram.fallbacks and all("timed out" in f for f in diagram.fallbacks)
    assert diagram.layout_used == "osage (osage grid)"
    assert "rankdir=TB" not in " ".join(diagram.fallbacks)  # pointless after a timeout
    assert count_edges(svg) == diagram.content.edge_count


def test_count_edges_notices_a_dropped_edge():
    svg = er_diagram(shop()).svg()
    dropped = re.sub(r'<g id="fk2" class="edge">.*?</g>\n</g>', "", svg, flags=re.S)
    assert count_edges(svg) == 4 and count_edges(dropped) == 3
    assert count_edges("not svg") == 0


def test_display_never_raises():
    diagram = er_diagram(shop())
    bundle = diagram._repr_mimebundle_()
    assert bundle["image/svg+xml"].startswith("<?xml")
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")  # an untrusted notebook shows this
    broken = er_diagram(shop())
    broken.content = None  # whatever goes wrong while drawing, display explains instead of raising
    bundle = broken._repr_mimebundle_()
    assert "could not draw the ER diagram" in bundle["text/plain"]
