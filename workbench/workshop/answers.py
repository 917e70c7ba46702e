"""Reading an attendee's answer: SQL statements (parsed, located), query results to compare, plans to read.

Every way an answer can fail to be read raises :class:`~workbench.workshop.lesson.AnswerProblem`
with what is missing and a hint, which the lesson shows as feedback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pandas as pd
import pglast
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.engines import Engine
from workbench.errors import WorkbenchError
from workbench.workshop.lesson import AnswerProblem

SHOWN_ROWS = 3
RUN_HINT = "check the table and column names against the design"


def statements(answer: str, kinds: tuple[type[exp.Expression], ...], what: str, hint: str,
               dialect: str = "postgres") -> list[exp.Expression]:
    """The statements of ``answer`` (comments and blanks ignored); raises when there is none of ``kinds``."""
    text = answer if isinstance(answer, str) else ""
    if not re.sub(r"--[^\n]*|/\*.*?\*/", "", text, flags=re.S).strip(" \n\t;"):
        raise AnswerProblem(f"no {what} yet: the answer is empty", hint)
    try:
        parsed = [s for s in sqlglot.parse(text, read=dialect) if s is not None]  # Commands are judged too
    except SqlglotError as error:
        raise AnswerProblem(f"the answer does not parse as {dialect} SQL: {str(error).splitlines()[0]}",
                            f"check the syntax near the place named; {hint}") from error
    for statement in parsed:  # the answer's comments (the starter's "-- your ...") are not part of it
        for node in statement.walk():
            node.pop_comments()
    found = [s for s in parsed if isinstance(s, kinds)]
    if not found:
        kinds_seen = ", ".join(sorted({type(s).__name__.upper() for s in parsed})) or "nothing"
        raise AnswerProblem(f"no {what} in the answer (it holds {kinds_seen})", hint)
    return found


def postgres_statements(answer: str, what: str, hint: str) -> list[str]:
    """The statements of ``answer`` exactly as written, split by PostgreSQL's own parser (pglast): for answers
    run as they are (DDL that sqlglot would rewrite or read as an opaque command)."""
    text = answer if isinstance(answer, str) else ""
    try:
        found = list(pglast.split(text, with_parser=True))
    except pglast.parser.ParseError as error:
        raise AnswerProblem(f"the answer does not parse as PostgreSQL: {error}",
                            f"check the syntax near the place named; {hint}") from error
    if not found:
        raise AnswerProblem(f"no {what} yet: the answer is empty", hint)
    return found


def query(answer: str, hint: str) -> str:
    """The one SELECT of an answer, as text."""
    selects = statements(answer, (exp.Select, exp.Union, exp.Intersect, exp.Except), "SELECT query", hint)
    if len(selects) > 1:
        raise AnswerProblem(f"the answer holds {len(selects)} queries; the exercise asks for one", hint)
    return selects[0].sql("postgres")


def rows(engine: Engine, sql: str, hint: str) -> list[tuple]:
    """The rows of ``sql`` on ``engine``, sorted (order is not part of the answer unless a check says so)."""
    try:
        frame = engine.query(sql)
    except WorkbenchError as error:
        raise AnswerProblem(f"the query fails on the loaded data: {str(error).splitlines()[0]}", hint) from error
    return sorted((tuple(_plain(v) for v in row) for row in frame.itertuples(index=False)), key=repr)


def compare(got: list[tuple], expected: list[tuple]) -> tuple[list[str], list[str]]:
    """(right, missing) points comparing a query's rows with the expected ones."""
    if got == expected:
        return [f"it returns the expected {count(len(expected), 'row')}"], []
    missing = []
    if got and expected and len(got[0]) != len(expected[0]):
        missing.append(f"rows have {len(got[0])} columns, the expected ones {len(expected[0])}")
    else:
        extra = [r for r in got if r not in set(expected)]
        absent = [r for r in expected if r not in set(got)]
        if absent:
            missing.append(f"{count(len(absent), 'expected row')} not returned, e.g. {_show(absent)}")
        if extra:
            missing.append(f"{count(len(extra), 'row')} returned that should not be, e.g. {_show(extra)}")
        if not absent and not extra:
            missing.append(f"the same rows, but {len(got):,} of them instead of {len(expected):,} (duplicates?)")
    return [f"it runs and returns {count(len(got), 'row')}"], missing


def index_statements(answer: str, hint: str) -> list[exp.Create]:
    """The CREATE INDEX statements of an answer (at least one)."""
    found = statements(answer, (exp.Create,), "CREATE INDEX statement", hint)
    creates = [c for c in found if str(c.args.get("kind", "")).upper() == "INDEX"]
    if not creates:
        raise AnswerProblem("the answer creates something, but no index", hint)
    return creates


def run(engine: Engine, answer: list[exp.Expression] | list[str], hint: str = RUN_HINT) -> None:
    """Run the answer's statements (parsed, or as written); a refused one is feedback, naming the statement and
    PostgreSQL's reason."""
    for statement in answer:
        text = statement if isinstance(statement, str) else statement.sql("postgres")
        try:
            engine.execute(text)
        except WorkbenchError as error:
            reason = str(error).splitlines()[0].removeprefix("PostgreSQL: ")
            raise AnswerProblem(f"PostgreSQL refused {text!r}: {reason}", hint) from error


@contextmanager
def on_a_copy(engine: Engine, answer: list[exp.Expression] | list[str], *, then: str | None = None,
              hint: str = RUN_HINT) -> Iterator[Engine]:
    """A copy of ``engine``'s database (PostgreSQL clone) with the answer's statements run, then ``then`` (e.g.
    ``ANALYZE``); dropped afterwards, so a wrong answer changes nothing."""
    twin = engine.clone()
    try:
        run(twin, answer, hint)
        if then:
            twin.execute(then)
        yield twin
    finally:
        twin.close()


def _plain(value: object) -> object:
    """A cell as a comparable value: NULL, NaN and NaT alike as None, numbers as Python numbers."""
    if value is None or (not isinstance(value, str | bytes) and bool(pd.isna(value))):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return round(value, 6) if isinstance(value, float) else value


def count(number: int, noun: str) -> str:
    """``1 row``, ``2,500 rows``."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _show(found: Iterable[tuple]) -> str:
    return "; ".join("(" + ", ".join("NULL" if v is None else str(v) for v in row) + ")"
                     for row in list(found)[:SHOWN_ROWS])
