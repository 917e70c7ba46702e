"""Lesson 4, query plans: read where a query's time goes, and change the query or an index to change the plan.

The ``ecommerce`` shop is loaded into PostgreSQL, with one more index, on ``orders(ordered_at)``, as a
team would add for its reports. The exercises: name the operator where a query spends its time (from
its plan), rewrite a query whose function on a column hides that index, and write the index that
turns the order history into an index-only scan. Answers that change the database run on a copy.
"""

from __future__ import annotations

import pandas as pd
from sqlglot import exp

from workbench.domains import domain
from workbench.engines import Engine, connect
from workbench.plans import Plan, explain
from workbench.workshop import answers
from workbench.workshop.feedback import Feedback
from workbench.workshop.lesson import AnswerProblem, Exercise, Lesson, closed_on_failure

REPORT_INDEX = "CREATE INDEX orders_ordered_at_idx ON orders (ordered_at)"
READ_HINT = ("display lesson.slow_plan: the darkest node is where the time went; lesson.slow_plan.to_frame() lists "
             "each node's own time (self_ms); answer with its operator, e.g. 'Hash Join'")
SARGABLE_HINT = ("a function applied to the column (date_trunc(..., ordered_at)) hides orders_ordered_at_idx; "
                 "ask for a range on the column itself: ordered_at >= day AND ordered_at < the next day")
COVER_HINT = ("an index-only scan finds every column the query needs in the index: lead with customer_id and "
              "ordered_at DESC, and INCLUDE (order_id, status, total)")


def build(scale: str | float = "small", *, seed: int = 42) -> Lesson:
    """The lesson with ``lesson.engine`` (PostgreSQL) holding the shop at ``scale`` plus ``orders_ordered_at_idx``."""
    shop = domain("ecommerce")
    engine = connect("postgres")
    with closed_on_failure(engine):
        shop.load(engine, scale, seed=seed)
        engine.execute(REPORT_INDEX)
        engine.execute("VACUUM ANALYZE orders")
        day = pd.Timestamp(engine.query("SELECT max(ordered_at) AS latest FROM orders")["latest"].iloc[0]).normalize()
        customer = int(engine.query("SELECT customer_id FROM orders GROUP BY customer_id ORDER BY count(*) DESC, "
                                    "customer_id LIMIT 1")["customer_id"].iloc[0])
    context = Context(engine, day.date().isoformat(), customer)
    lesson = Lesson("plans", "Lesson 4 · Query plans",
                    "why is this query slow: where does its time go, and what makes the planner choose another "
                    "plan?", [
                        Exercise("where-time-goes", "where the time goes", "the operator where lesson.slow_plan "
                                 "(the plan of lesson.slow_sql) spends most of its time", context.judge_reading),
                        Exercise("sargable", "let the index serve", "lesson.day_sql rewritten so that it reads "
                                 "orders_ordered_at_idx, with the same answer", context.judge_sargable),
                        Exercise("index-only", "an index-only scan", "a CREATE INDEX with which lesson.history_sql "
                                 "runs as an Index Only Scan", context.judge_covering),
                    ], closers=[engine.close])
    lesson.engine, lesson.slow_sql, lesson.slow_plan = engine, context.slow, context.slow_plan
    lesson.day_sql, lesson.day, lesson.history_sql = context.day_sql, context.day, context.history
    return lesson


class Context:
    """What the checks share: the loaded engine and the lesson's three queries."""

    def __init__(self, engine: Engine, day: str, customer: int):
        self.engine = engine
        self.slow = ("SELECT p.name, sum(i.quantity) AS sold FROM order_items i JOIN products p "
                     "ON p.product_id = i.product_id WHERE i.unit_price > 20 "
                     "GROUP BY p.name ORDER BY sold DESC LIMIT 5")
        self.day_sql = exp.select("order_id", "total").from_("orders").where(
            exp.func("date_trunc", exp.Literal.string("day"), exp.column("ordered_at")).eq(_day(day))).sql("postgres")
        self.day = day
        self.history = (exp.select("order_id", "status", "ordered_at", "total").from_("orders")
                        .where(exp.column("customer_id").eq(customer))
                        .order_by(exp.Ordered(this=exp.column("ordered_at"), desc=True, nulls_first=True))
                        .limit(20).sql("postgres"))  # PostgreSQL's own DESC order (NULLS FIRST), as an index keeps it
        self.slow_plan = explain(engine, self.slow)  # the plan the attendee reads, and the one judged

    def judge_reading(self, answer: str) -> Feedback:
        if not isinstance(answer, str) or not answer.strip():
            raise AnswerProblem("no operator named yet", READ_HINT)
        plan = self.slow_plan
        heaviest = max(plan.nodes(), key=lambda node: node.self_ms or 0.0)
        share = plan.share(heaviest) or 0.0
        said = answer.strip().lower()
        measured = [f"{heaviest.label}: {share:.0%} of the time, {heaviest.self_ms:.2f} ms of its own"]
        if heaviest.operator.lower() in said:
            return Feedback("where-time-goes", "where the time goes", True,
                            [f"yes: {heaviest.label} spends the most time"], measured=measured)
        named = next((node for node in plan.nodes() if node.operator.lower() in said), None)
        missing = [f"{named.label} is in the plan, but spends {plan.share(named) or 0:.0%} of the time"
                   if named is not None else f"no operator of this plan is called {answer.strip()!r}"]
        return Feedback("where-time-goes", "where the time goes", False, (), missing, READ_HINT, measured)

    def judge_sargable(self, answer: str) -> Feedback:
        sql = answers.query(answer, SARGABLE_HINT)
        right, missing = answers.compare(answers.rows(self.engine, sql, SARGABLE_HINT),
                                         answers.rows(self.engine, self.day_sql, SARGABLE_HINT))
        before, after = explain(self.engine, self.day_sql), explain(self.engine, sql)
        if "orders_ordered_at_idx" in after.indexes_used:
            right.append("its plan reads orders_ordered_at_idx")
        else:
            missing.append(f"its plan does not read orders_ordered_at_idx ({after.summary()})")
        measured = [f"as written: {_ms(before)}; yours: {_ms(after)}"]
        return Feedback("sargable", "let the index serve", not missing, right, missing, SARGABLE_HINT, measured)

    def judge_covering(self, answer: str) -> Feedback:
        creates = answers.index_statements(answer, COVER_HINT)
        # VACUUM: an index-only scan needs the visibility map
        with answers.on_a_copy(self.engine, creates, then="VACUUM ANALYZE orders") as engine:
            plan = explain(engine, self.history)
        scans = [node for node in plan.nodes() if node.relation == "orders" or node.index]
        right, missing = ["an index: " + "; ".join(c.sql("postgres") for c in creates)], []
        if any(node.operator == "Index Only Scan" for node in scans):
            right.append("the plan reads orders only through the index: an Index Only Scan")
        else:
            missing.append(f"the plan reads {', '.join(n.label for n in scans) or 'orders'}: it still visits "
                           "the table for the columns the index lacks")
        if any("Sort" in node.operator for node in plan.nodes()):
            missing.append("the plan still sorts: the index does not hand the rows over newest first")
        return Feedback("index-only", "an index-only scan", not missing, right, missing, COVER_HINT,
                        [f"EXPLAIN ANALYZE on a copy: {plan.summary()}"])


def _day(day: str) -> exp.Expression:
    return exp.cast(exp.Literal.string(day), "TIMESTAMPTZ")


def _ms(plan: Plan) -> str:
    elapsed = plan.execution_ms if plan.execution_ms is not None else plan.total_ms
    return f"{elapsed:.2f} ms, {', '.join(plan.indexes_used) or 'no index'}"
