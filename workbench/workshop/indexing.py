"""Lesson 2, indexing: a customer's order history on a design that lost its indexes, and what an index can do.

The ``ecommerce`` shop's ``customers`` and ``orders`` are loaded into PostgreSQL without the indexes on
``orders(customer_id)`` and ``lower(customers.email)``. The exercises: an index that makes
``customer_orders`` at least 5x faster (measured with a study: the same rows and draws for both
designs, interleaved rounds, a bootstrap interval), one that also spares the sort, and one that a
query on ``lower(email)`` can use. Answers run on a copy of the lesson's database, so a wrong one
changes nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from sqlglot import exp

from workbench.bench import Study, Variant
from workbench.bench.study import subset
from workbench.domains import domain
from workbench.engines import Engine, connect
from workbench.plans import Plan, explain
from workbench.workload import Workload
from workbench.workshop import answers
from workbench.workshop.feedback import Feedback
from workbench.workshop.lesson import AnswerProblem, Exercise, Lesson, closed_on_failure

LOST_INDEXES = ("orders_customer_id_idx", "customers_email_lower_idx")  # what the colleague's design lacks
ORDERS, CUSTOMERS = 300_000, 20_000  # enough rows that reading them all costs many times an index lookup
TARGET = 5.0
HISTORY_QUERY = """-- name: customer_orders
-- params: customer = pick(customers.customer_id)
SELECT order_id, status, ordered_at, total FROM orders
WHERE customer_id = :customer ORDER BY ordered_at DESC LIMIT 20;
"""  # the shop's query, for customers drawn evenly: the history page most customers see
EMAIL_QUERY = """-- name: customer_by_email
-- params: email = pick(customers.email)
SELECT customer_id, first_name, last_name FROM customers WHERE lower(email) = lower(:email);
"""
INDEX_HINT = ("an index serves an equality filter when it starts with the filtered column: "
              "CREATE INDEX name ON orders (the column of the WHERE clause, ...)")
SORT_HINT = ("the query wants the best customer's 20 newest orders of thousands: an index on (customer_id, "
             "ordered_at DESC) hands them over newest first, so PostgreSQL reads 20 and sorts nothing")
EMAIL_HINT = ("the query compares lower(email), not email: an index on the column itself cannot answer it, an index "
              "on the expression can: CREATE INDEX name ON customers (lower(email))")


def build(scale: str | float = "ci", *, seed: int = 42, orders: int = ORDERS, customers: int = CUSTOMERS) -> Lesson:
    """The lesson with ``lesson.engine`` (PostgreSQL) holding customers and orders without ``LOST_INDEXES``.

    ``scale`` is not used for the row counts (the measured exercise needs enough rows at any scale); it is
    accepted so every lesson takes the same options.
    """
    shop = domain("ecommerce")
    schema = _without_indexes(subset(shop.schema, ("orders",)))
    rows = {"orders": orders, "customers": customers}
    engine = connect("postgres")
    with closed_on_failure(engine):
        engine.load(schema, _generate(shop, schema, rows, seed))
        history = shop.workload.query("customer_orders").bind({"customer": _best_customer(engine)}, "postgres")
        by_email = Workload.from_text(EMAIL_QUERY, schema=schema)
        email_draws = by_email.draws(engine, 1, seed=seed)
    context = Context(engine, schema, shop, rows, seed, history,
                      by_email.query("customer_by_email").bind(email_draws["customer_by_email"][0], "postgres"))
    lesson = Lesson("indexing", "Lesson 2 · Indexing",
                    "a customer's order history reads the whole orders table: which index makes it fast, in which "
                    "column order, and what does it cost?", [
                        Exercise("history-5x", "5x faster history", "a CREATE INDEX that makes customer_orders at "
                                 f"least {TARGET:g}x faster (measured)", context.judge_speedup),
                        Exercise("no-sort", "no sort left", "a CREATE INDEX with which the plan of customer_orders "
                                 "has no Sort", context.judge_no_sort),
                        Exercise("email", "an index for lower(email)", "a CREATE INDEX that the query on "
                                 "lower(email) uses", context.judge_email),
                    ], closers=[engine.close])
    lesson.engine, lesson.schema = engine, schema
    lesson.history_sql, lesson.email_sql = context.history, context.email
    return lesson


class Context:
    """What the checks share: the loaded engine, the design, and each query bound to one draw."""

    def __init__(self, engine: Engine, schema, shop, rows: dict[str, int], seed: int, history: str, email: str):
        self.engine, self.schema, self.shop, self.rows, self.seed = engine, schema, shop, rows, seed
        self.history, self.email = history, email

    def judge_speedup(self, answer: str) -> Feedback:
        creates = answers.index_statements(answer, INDEX_HINT)
        right = [f"{_count(creates)} {_label(creates)}"]
        _check_tables(creates, "orders", INDEX_HINT)
        with tempfile.TemporaryDirectory(prefix="workshop-index-") as out:
            workload = Path(out) / "history.sql"
            workload.write_text(HISTORY_QUERY, encoding="utf-8")
            results = self._study(creates, workload).run(Path(out) / "study", progress=False, report=False)
        failed = results.variants[results.variants["status"] == "failed"]
        if len(failed):
            raise AnswerProblem(f"the index could not be built: {failed['error'].iloc[0]}", INDEX_HINT)
        row = results.speedups().iloc[0]
        ratio, low, high = float(row["ratio"]), float(row["ratio_low"]), float(row["ratio_high"])
        measured = [f"p50 {row['baseline_p50']:.3g} ms without an index, {row['p50']:.3g} ms with yours: "
                    f"{ratio:.1f}x (95% interval {low:.1f}x to {high:.1f}x)"]
        plan = results.plans[results.plans["variant"] == "yours"]
        used = plan["indexes_used"].iloc[0] if len(plan) else ""
        missing = []
        if results.answers().empty:
            right.append("the answers are the same with and without it")
        else:
            missing.append("the answers differ with your index: an index must never change them")
        right.append(f"PostgreSQL uses it ({used})" if used else "")
        if not used:
            missing.append("the plan does not use your index: PostgreSQL still reads the whole table")
        if ratio < TARGET:
            missing.append(f"measured {ratio:.1f}x faster; the goal is {TARGET:g}x")
        else:
            right.append(f"at least {TARGET:g}x faster, measured")
        return Feedback("history-5x", "5x faster history", not missing, [r for r in right if r], missing,
                        INDEX_HINT, measured)

    def judge_no_sort(self, answer: str) -> Feedback:
        creates = answers.index_statements(answer, SORT_HINT)
        _check_tables(creates, "orders", SORT_HINT)
        with answers.on_a_copy(self.engine, creates, then="ANALYZE") as engine:
            plan = explain(engine, self.history)
        right, missing = [f"{_count(creates)} {_label(creates)}"], []
        sorts = [n.label for n in plan.nodes() if "Sort" in n.operator]
        if plan.indexes_used:
            right.append(f"the plan reads {', '.join(plan.indexes_used)}")
        else:
            missing.append("the plan uses no index: it still reads the whole orders table")
        if sorts:
            missing.append(f"the plan still sorts ({', '.join(sorts)}): the rows come out of the index in another "
                           "order than ORDER BY ordered_at DESC asks")
        else:
            right.append("no Sort: the rows come out of the index newest first")
        return Feedback("no-sort", "no sort left", not missing, right, missing, SORT_HINT, _timing(plan))

    def judge_email(self, answer: str) -> Feedback:
        creates = answers.index_statements(answer, EMAIL_HINT)
        _check_tables(creates, "customers", EMAIL_HINT)
        before = answers.rows(self.engine, self.email, EMAIL_HINT)
        with answers.on_a_copy(self.engine, creates, then="ANALYZE") as engine:
            plan = explain(engine, self.email)
            after = answers.rows(engine, self.email, EMAIL_HINT)
        right, missing = [f"{_count(creates)} {_label(creates)}"], []
        if plan.indexes_used:
            right.append(f"the query now reads {', '.join(plan.indexes_used)}")
        else:
            missing.append("the query on lower(email) does not use your index: it still reads every customer")
        if before == after:
            right.append("it returns the same customer")
        else:
            missing.append("the answer changed with your index")
        return Feedback("email", "an index for lower(email)", not missing, right, missing, EMAIL_HINT, _timing(plan))

    def _study(self, creates: list[exp.Create], workload: Path) -> Study:
        drop = tuple(exp.Drop(kind="INDEX", tables=[exp.to_table(f"public.{name}")]).sql("postgres")
                     for name in LOST_INDEXES)
        yours = tuple(create.sql("postgres") for create in creates)
        return Study("your index", self.shop, (Variant("without", setup=drop), Variant("yours", setup=drop + yours)),
                     engines=("postgres",), rows=self.rows, tables=("orders",), queries=("customer_orders",),
                     repetitions=11, warmup=1, seed=self.seed, insert_rows=0, workload_file=workload)


def _check_tables(creates: list[exp.Create], table: str, hint: str) -> None:
    for create in creates:
        target = create.this.args.get("table")
        name = target.name if isinstance(target, exp.Table) else ""
        if name != table:
            raise AnswerProblem(f"the index is on {name or 'no table'}, but the query reads {table}", hint,
                                right=("it is a CREATE INDEX statement",))


def _label(creates: list[exp.Create]) -> str:
    return "; ".join(create.sql("postgres") for create in creates)


def _count(creates: list[exp.Create]) -> str:
    return "an index:" if len(creates) == 1 else f"{len(creates)} indexes:"


def _timing(plan: Plan) -> list[str]:
    return [f"EXPLAIN ANALYZE on a copy of the database: {plan.summary()}"]


def _without_indexes(schema):
    return schema.with_tables(tuple(replace(t, indexes=tuple(i for i in t.indexes if i.name not in LOST_INDEXES))
                                    for t in schema.tables))


def _best_customer(engine: Engine) -> int:
    """The customer with the most orders: the history where reading them all and sorting costs the most."""
    best = engine.query("SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id "
                        "ORDER BY n DESC, customer_id LIMIT 1")
    return int(best["customer_id"].iloc[0])


def _generate(shop, schema, rows: dict[str, int], seed: int):
    from workbench.datagen import generate

    spec = shop.spec
    spec = replace(spec, tables={k: v for k, v in spec.tables.items() if schema.find_table(k) is not None})
    return generate(schema, rows, seed=seed, spec=spec)
