"""Lesson 5, migrations: change a live table without locking the shop out, checked on a real PostgreSQL.

The ``ecommerce`` shop is loaded into PostgreSQL without the foreign key ``orders.customer_id ->
customers`` (a colleague's migration dropped it). Each answer, a migration script, runs statement by
statement on a copy of that database: inside a transaction whose ``pg_locks`` rows say which lock the
statement took, with PostgreSQL's DEBUG1 messages saying what work it did under it (rewriting the table,
verifying it, validating a foreign key, building an index). squawk, the migration linter the workbench
uses, reads the same script. A statement that does work proportional to the table while holding a lock
that stops writes is what locks the shop out; the checks name it, and the end state is read from the
catalog. The exercises: an index, the lost foreign key, and a required column with a random default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import psycopg

from workbench.domains import domain
from workbench.engines import Engine, connect
from workbench.migrate.locks import BLOCKS, LOCKS, PG_LOCKS_NAMES, SHARE, Form, strength
from workbench.migrate.squawk import DESIGN, run_squawk
from workbench.workshop import answers
from workbench.workshop.feedback import Feedback
from workbench.workshop.lesson import AnswerProblem, Exercise, Lesson, closed_on_failure

LOST = "ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey"
OUTSIDE_TRANSACTION = {"25001", "2D000"}  # cannot run inside a transaction block; COMMIT inside a DO block
SQUAWK_NOISE = frozenset({"prefer-robust-stmts", "require-statement-timeout", "require-lock-timeout"}) | DESIGN
WORK = ((re.compile(r'^rewriting table "([^"]+)"'), "rewrote {}"),
        (re.compile(r'^verifying table "([^"]+)"'), "scanned {} to verify it"),
        (re.compile(r'^validating foreign key constraint "([^"]+)"'), "scanned the rows to validate {}"),
        (re.compile(r'^building index "([^"]+)" on table "(?!pg_toast)'), "built index {}"))
USER_TABLES = ("SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
               "WHERE l.pid = pg_backend_pid() AND l.granted AND c.relkind IN ('r', 'p') "
               "AND c.relnamespace <> 'pg_catalog'::regnamespace")
INDEX_HINT = ("CREATE INDEX takes SHARE: reads go on, writes wait for the whole build. CREATE INDEX CONCURRENTLY "
              "builds it under SHARE UPDATE EXCLUSIVE while writes go on (outside a transaction block)")
FK_HINT = ("ADD FOREIGN KEY checks every existing row while writes wait; add it NOT VALID (new rows are checked "
           "at once, no scan), then ALTER TABLE ... VALIDATE CONSTRAINT, which scans under a lock writes pass")
COLUMN_HINT = ("a volatile default (gen_random_uuid()) rewrites the table under ACCESS EXCLUSIVE: add the column "
               "without a default, SET DEFAULT for new rows, UPDATE the existing ones (in batches), prove NOT NULL "
               "with CHECK (public_id IS NOT NULL) NOT VALID + VALIDATE CONSTRAINT, then SET NOT NULL needs no scan")


@dataclass(frozen=True)
class Observed:
    """One statement as it ran: the strongest lock it held on a table, the work PostgreSQL reported under it."""

    statement: str
    table: str
    lock: str
    work: tuple[str, ...]
    squawk: tuple[str, ...]

    @property
    def locks_out(self) -> bool:
        """Work that grows with the table, done while writes (or reads) wait."""
        return bool(self.work) and strength(self.lock) >= strength(SHARE)

    def describe(self) -> str:
        held = f"{self.lock} on {self.table} (blocks {BLOCKS[self.lock]})" if self.lock else "no table lock seen"
        return f"{_short(self.statement)}: {held}; {', '.join(self.work) or 'no scan, no rewrite'}"


def build(scale: str | float = "ci", *, seed: int = 7) -> Lesson:
    """The lesson with ``lesson.engine`` (PostgreSQL) holding the shop at ``scale`` without the orders -> customers
    foreign key. Locks and rewrites do not depend on the row count; ``"small"`` makes the timings telling."""
    shop = domain("ecommerce")
    engine = connect("postgres")
    with closed_on_failure(engine):
        shop.load(engine, scale, seed=seed, progress=False)
        engine.execute(LOST)
    lesson = Lesson("migrations", "Lesson 5 · Migrations",
                    "the shop runs while its schema changes: which statements lock it out, and what are the "
                    "forms that do the same change while it keeps reading and writing?", [
                        Exercise("index", "an index while writes go on", "a migration that adds an index on orders "
                                 "(status, ordered_at) without making writes wait for the build",
                                 lambda answer: judge_index(engine, answer)),
                        Exercise("foreign-key", "the lost foreign key", "a migration that adds back the validated "
                                 "foreign key orders (customer_id) -> customers without making writes wait for the "
                                 "check of existing rows", lambda answer: judge_foreign_key(engine, answer)),
                        Exercise("public-id", "a required random id", "a migration that gives every order a "
                                 "public_id uuid NOT NULL DEFAULT gen_random_uuid() without rewriting orders or "
                                 "scanning it while writes wait", lambda answer: judge_public_id(engine, answer)),
                    ], closers=[engine.close])
    lesson.engine = engine
    lesson.observe = lambda script: observe(engine, script)
    return lesson


def observe(engine: Engine, script: str) -> pd.DataFrame:
    """Each statement of ``script`` run on a copy of ``engine``'s database: lock held, work done, squawk's rules."""
    with answers.on_a_copy(engine, []) as twin:
        found = _run(twin, answers.postgres_statements(script, "statement", "write a migration script"))
    return pd.DataFrame([{"statement": _short(o.statement), "table": o.table, "lock": o.lock or "-",
                          "blocks": BLOCKS[o.lock], "work": "; ".join(o.work) or "-", "squawk": ", ".join(o.squawk)}
                         for o in found])


def judge_index(engine: Engine, answer: str) -> Feedback:
    def done(twin: Engine) -> tuple[list[str], list[str]]:
        found = twin.query("SELECT c.relname AS name, i.indisvalid AS valid, array(SELECT a.attname::text FROM "
                           "unnest(i.indkey) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = "
                           "i.indrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns FROM pg_index i JOIN "
                           "pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'orders'::regclass")
        for row in found.itertuples():
            if list(row.columns)[:2] == ["status", "ordered_at"]:
                return ([f"index {row.name} on orders (status, ordered_at)"] if row.valid else [],
                        [] if row.valid else [f"index {row.name} is left INVALID: a failed concurrent build; "
                                              "drop it and build again"])
        return [], ["no index on orders leading with (status, ordered_at)"]
    return _judge(engine, answer, "index", "an index while writes go on", INDEX_HINT, done)


def judge_foreign_key(engine: Engine, answer: str) -> Feedback:
    def done(twin: Engine) -> tuple[list[str], list[str]]:
        found = twin.query("SELECT conname AS name, convalidated AS valid FROM pg_constraint WHERE contype = 'f' AND "
                           "conrelid = 'orders'::regclass AND confrelid = 'customers'::regclass")
        if found.empty:
            return [], ["no foreign key from orders to customers"]
        name, valid = str(found["name"].iloc[0]), bool(found["valid"].iloc[0])
        if not valid:
            return [f"foreign key {name}: new rows are checked"], [
                f"{name} is NOT VALID: the existing orders were never checked; VALIDATE CONSTRAINT {name}"]
        return [f"foreign key {name}, validated: every order's customer exists"], []
    return _judge(engine, answer, "foreign-key", "the lost foreign key", FK_HINT, done)


def judge_public_id(engine: Engine, answer: str) -> Feedback:
    def done(twin: Engine) -> tuple[list[str], list[str]]:
        column = twin.query("SELECT format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, "
                            "pg_get_expr(d.adbin, d.adrelid) AS fill FROM pg_attribute a LEFT JOIN pg_attrdef d ON "
                            "d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = 'orders'::regclass "
                            "AND a.attname = 'public_id' AND NOT a.attisdropped")
        if column.empty:
            return [], ["orders has no column public_id"]
        kind, not_null, fill = column.iloc[0]
        counts = twin.query("SELECT count(*) AS n, count(public_id) AS filled, count(DISTINCT public_id) AS distinct "
                            "FROM orders").iloc[0]
        right, missing = [], []
        (right if kind == "uuid" else missing).append(f"public_id is {kind}" + ("" if kind == "uuid" else ", not uuid"))
        (right if not_null else missing).append("public_id is NOT NULL" if not_null else "public_id may be NULL")
        fills = bool(fill) and "gen_random_uuid" in fill
        (right if fills else missing).append("new orders get gen_random_uuid()" if fills else
                                             f"new orders get {fill or 'no default'}, not gen_random_uuid()")
        if counts["distinct"] == counts["n"]:
            right.append(f"each of the {counts['n']:,} existing orders has its own public_id")
        else:
            empty, shared = counts["n"] - counts["filled"], counts["filled"] - counts["distinct"]
            missing += [f"{empty:,} existing orders have no public_id"] * bool(empty)
            missing += [f"{shared:,} existing orders share a public_id with another"] * bool(shared)
        return right, missing
    return _judge(engine, answer, "public-id", "a required random id", COLUMN_HINT, done)


def _judge(engine: Engine, answer: str, exercise: str, title: str, hint: str, done) -> Feedback:
    """Run the answer on a copy, then: the statements that locked the shop out, and the end state ``done`` reads."""
    statements = answers.postgres_statements(answer, "migration", hint)
    with answers.on_a_copy(engine, []) as twin:
        observed = _run(twin, statements)
        right, missing = done(twin)
    for item in observed:
        if item.locks_out:
            rules = f" (squawk: {', '.join(item.squawk)})" if item.squawk else " (squawk does not see this one)"
            missing.append(f"{_short(item.statement)} {', '.join(item.work)} holding {item.lock} on {item.table}: "
                           f"{BLOCKS[item.lock]} wait meanwhile{rules}")
    if not any(item.locks_out for item in observed):
        right.append("no statement scans or rewrites a table while writes wait")
    measured = [f"{number}. {item.describe()}" for number, item in enumerate(observed, 1)]
    return Feedback(exercise, title, not missing, right, missing, hint, measured)


def _run(twin: Engine, statements: list[str]) -> list[Observed]:
    """Run each statement on ``twin`` in a transaction (outside one when PostgreSQL requires it), and read pg_locks
    before the commit and the DEBUG1 messages it sent."""
    rules = _squawk(statements)
    notices: list[str] = []
    observed = []
    with psycopg.connect(twin.server.url(twin.database), autocommit=True) as connection:
        connection.add_notice_handler(lambda notice: notices.append(notice.message_primary or ""))
        connection.execute("SET client_min_messages = debug1")
        for number, statement in enumerate(statements):
            twin.refuse_outside(statement)
            notices.clear()
            held = _execute(connection, statement)
            table, lock = max(held, key=lambda pair: (strength(pair[1]), -_place(statement, pair[0])), default=("", ""))
            work = tuple(template.format(match.group(1)) for notice in notices for pattern, template in WORK
                         if (match := pattern.match(notice)))
            observed.append(Observed(statement, table, lock, work, rules.get(number, ())))
    return observed


def _execute(connection: psycopg.Connection, statement: str) -> list[tuple[str, str]]:
    """(table, lock) pairs the statement held: read in its transaction, or documented for CONCURRENTLY forms."""
    try:
        try:
            with connection.transaction():
                connection.execute(statement)
                return [(name, PG_LOCKS_NAMES.get(mode, mode)) for name, mode in connection.execute(USER_TABLES)]
        except psycopg.Error as error:
            if error.sqlstate not in OUTSIDE_TRANSACTION:
                raise
            connection.execute(statement)
            target = re.search(r"\bON\s+(?:ONLY\s+)?([\w.\"]+)", statement, re.I)
            documented = LOCKS[Form.CREATE_INDEX_CONCURRENTLY].lock if "CONCURRENTLY" in statement.upper() else ""
            return [(target.group(1) if target else "", documented)]
    except psycopg.Error as error:
        raise AnswerProblem(f"PostgreSQL refused {_short(statement)}: {str(error).strip().splitlines()[0]}",
                            "check the table and column names (orders, customers, customer_id, status, ordered_at) "
                            "and the statement's syntax") from error


def _squawk(statements: list[str]) -> dict[int, tuple[str, ...]]:
    """squawk's rules per statement (noise about re-runnable statements, timeouts and types left out)."""
    text, starts = "", []
    for statement in statements:
        starts.append(text.count("\n"))
        text += statement + ";\n"
    found: dict[int, tuple[str, ...]] = {}
    for item in run_squawk(text):
        if item["rule_name"] in SQUAWK_NOISE:
            continue
        number = max(i for i, start in enumerate(starts) if start <= int(item["line"]))
        found[number] = tuple(dict.fromkeys((*found.get(number, ()), item["rule_name"])))
    return found


def _place(statement: str, table: str) -> int:
    """Where ``table`` is first named in ``statement`` (the altered table comes before the one it references)."""
    found = statement.find(table)
    return found if found >= 0 else len(statement)


def _short(statement: str) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= 90 else text[:87] + "..."
