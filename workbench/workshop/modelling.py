"""Lesson 1, modelling and normalization: one wide table of order lines, and the tables it should be.

The ``ecommerce`` domain is generated and loaded into DuckDB, and its order lines are flattened into
``order_lines_flat`` (customer, product and order facts repeated on every line), as a spreadsheet
export would hold them. The exercises: a normalized design as DDL (checked against the dependencies
the flat columns have), a query that finds the damage an update did to the flat table, and the query
that rebuilds the flat rows from the normalized tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from workbench.ddl import import_ddl
from workbench.domains import domain
from workbench.engines import Engine, connect
from workbench.schema.model import Schema, Table
from workbench.workshop import answers
from workbench.workshop.feedback import Feedback
from workbench.workshop.lesson import AnswerProblem, Exercise, Lesson, closed_on_failure

FLAT = "order_lines_flat"
FLAT_COLUMNS = ("order_id", "ordered_at", "status", "email", "city", "country", "sku", "product_name", "quantity",
                "unit_price")
REBUILD = """SELECT o.order_id, o.ordered_at, o.status, c.email, c.city, c.country, p.sku, p.name AS product_name,
       i.quantity, i.unit_price
FROM order_items i JOIN orders o ON o.order_id = i.order_id JOIN customers c ON c.customer_id = o.customer_id
JOIN products p ON p.product_id = i.product_id"""
DAMAGED = f"SELECT email FROM {FLAT} GROUP BY email HAVING count(DISTINCT city) > 1"


@dataclass(frozen=True)
class Dependency:
    """Columns that depend on a key: they belong in one table with that key, unique there."""

    key: str
    dependents: tuple[str, ...]
    entity: str


DEPENDENCIES = (Dependency("email", ("city", "country"), "customer"),
                Dependency("sku", ("product_name",), "product"),
                Dependency("order_id", ("ordered_at", "status"), "order"))
LINE = ("quantity", "unit_price")  # facts of one product on one order
MAX_HINTS = 3  # the first things to mend; the rest follow once these are done


def build(scale: str | float = "ci", *, seed: int = 42) -> Lesson:
    """The lesson with its data loaded: ``lesson.engine`` (DuckDB) holds the shop and ``order_lines_flat``."""
    shop = domain("ecommerce")
    engine = connect("duckdb")
    with closed_on_failure(engine):
        engine.load(shop.schema, shop.generate(scale, seed=seed))
        engine.execute(f"CREATE TABLE {FLAT} AS {REBUILD} ORDER BY o.order_id, i.line_no")
    lesson = Lesson("modelling", "Lesson 1 · Modelling and normalization",
                    "one wide table of order lines repeats every customer's and product's facts: what goes wrong, "
                    "and which tables should it become?", [
                        Exercise("design", "a normalized design", "CREATE TABLE statements holding every column of "
                                 "order_lines_flat once, with primary and foreign keys", judge_design),
                        Exercise("damage", "find the damage", "a query returning the email of each customer whose "
                                 "city differs between their rows of order_lines_flat",
                                 lambda answer: judge_query(engine, answer, DAMAGED, "damage", "find the damage",
                                                            DAMAGE_HINT)),
                        Exercise("rebuild", "rebuild the flat rows", "a query over customers, orders, order_items "
                                 "and products returning the rows of order_lines_flat, in its column order",
                                 lambda answer: judge_query(engine, answer, REBUILD, "rebuild",
                                                            "rebuild the flat rows", REBUILD_HINT)),
                    ], closers=[engine.close])
    lesson.engine = engine
    return lesson


DESIGN_HINT = ("start with one table per thing the rows talk about (customers, products, orders) and one for "
               "the lines of an order; give each a primary key and let the lines refer to orders and products")
DAMAGE_HINT = "group the rows by email and keep the groups with more than one distinct city (HAVING)"
REBUILD_HINT = "join order_items to orders, customers and products on their keys; name product.name product_name"


def judge_design(answer: str) -> Feedback:
    answers.statements(answer, (exp.Create,), "CREATE TABLE statement", DESIGN_HINT)
    imported = import_ddl(answer, file="your answer")
    if imported.report.errors:
        first = imported.report.errors[0]
        raise AnswerProblem(f"a statement does not parse: {first.reason}", f"correct it; {DESIGN_HINT}")
    schema = imported.schema
    if not schema.tables:
        raise AnswerProblem("no table in the answer", DESIGN_HINT)
    right: list[str] = [f"it declares {answers.count(len(schema.tables), 'table')}: "
                        f"{', '.join(t.name for t in schema.tables)}"]
    missing: list[str] = []
    hints: list[str] = []
    homes = _homes(schema)
    for column in (c for c in FLAT_COLUMNS if c != "order_id"):
        tables = homes.get(column, [])
        if not tables:
            missing.append(f"{column} is in no table: every column of the flat table must have a home")
        elif len(tables) > 1:
            missing.append(f"{column} is kept in {' and '.join(t.name for t in tables)}: the same fact twice, which "
                           "an update can change in one place only")
            hints.append(f"keep {column} in one table and reach it through a key")
    missing += [f"{t.name} has no primary key" for t in schema.tables if t.primary_key is None]
    for dependency in DEPENDENCIES:
        _judge_dependency(schema, homes, dependency, right, missing, hints)
    _judge_lines(schema, homes, right, missing, hints)
    if not missing:
        right.append("every flat column lives once, next to the key it depends on")
    return Feedback("design", "a normalized design", not missing, right, missing,
                    "; ".join(list(dict.fromkeys(hints))[:MAX_HINTS]) or DESIGN_HINT)


def _homes(schema: Schema) -> dict[str, list[Table]]:
    """Column name -> tables holding it as a fact (columns of a foreign key only refer to another table)."""
    homes: dict[str, list[Table]] = {}
    for table in schema.tables:
        referring = {c for fk in table.foreign_keys for c in fk.columns}
        for column in table.columns:
            if column.name not in referring:
                homes.setdefault(column.name, []).append(table)
    return homes


def _judge_dependency(schema: Schema, homes: dict[str, list[Table]], dependency: Dependency, right: list[str],
                      missing: list[str], hints: list[str]) -> None:
    for table in {t.key: t for column in dependency.dependents for t in homes.get(column, [])}.values():
        held = ", ".join(c for c in dependency.dependents if table.has_column(c))
        if not table.has_column(dependency.key):
            missing.append(f"{held} in {table.name}, away from {dependency.key}: facts of the {dependency.entity}, "
                           f"which {dependency.key} names")
            hints.append(f"put {', '.join(dependency.dependents)} in the table of the {dependency.entity}")
        elif not table.is_unique_on((dependency.key,)):
            missing.append(f"{table.name} holds {dependency.key} with {held}, but {dependency.key} is not unique "
                           f"there: one {dependency.entity} could appear twice, with two values of {held}")
            hints.append(f"make {dependency.key} the primary key of {table.name}, or add UNIQUE ({dependency.key})")
        else:
            right.append(f"{held} sit{'s' * (',' not in held)} with {dependency.key} in {table.name}, unique there")


def _judge_lines(schema: Schema, homes: dict[str, list[Table]], right: list[str], missing: list[str],
                 hints: list[str]) -> None:
    order = next(iter(homes.get("ordered_at", [])), None)
    product = next(iter(homes.get("sku", [])), None)
    customer = next(iter(homes.get("email", [])), None)
    for table in {t.key: t for column in LINE for t in homes.get(column, [])}.values():
        targets = {found.key for fk in table.foreign_keys if (found := schema.referenced_table(fk)) is not None}
        for parent, what in ((order, "order"), (product, "product")):
            if parent is not None and parent.key != table.key and parent.key not in targets:
                missing.append(f"{table.name} holds quantity and price but no foreign key to {parent.name}: "
                               f"a line must say which {what} it belongs to")
                hints.append(f"add a foreign key from {table.name} to {parent.name}")
        if order is not None and product is not None and {order.key, product.key} <= targets:
            right.append(f"{table.name} refers to {order.name} and {product.name}: one row per product of an order")
    if order is not None and customer is not None and order.key != customer.key:
        targets = {found.key for fk in order.foreign_keys if (found := schema.referenced_table(fk)) is not None}
        if customer.key in targets:
            right.append(f"{order.name} refers to {customer.name}")
        else:
            missing.append(f"{order.name} has no foreign key to {customer.name}: which customer placed an order?")
            hints.append(f"add a foreign key from {order.name} to {customer.name}")


def judge_query(engine: Engine, answer: str, reference: str, exercise: str, title: str, hint: str) -> Feedback:
    sql = answers.query(answer, hint)
    right, missing = answers.compare(answers.rows(engine, sql, hint), answers.rows(engine, reference, hint))
    return Feedback(exercise, title, not missing, right, missing, hint)
