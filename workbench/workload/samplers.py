"""Parameter samplers: draw realistic query parameters from the data actually loaded.

A workload line ``-- params: id = pick(customers.customer_id, skew=1.2); term = word(products.name)``
names one sampler per parameter. Samplers are prepared once against an engine (they read the
column's values) and then draw from a seeded generator, so every variant of a study sees the
same parameter values.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from sqlglot import exp

from workbench.errors import WorkbenchError, did_you_mean


class ValueSource(Protocol):
    """What a sampler needs from an engine: the values of one column."""

    def query(self, sql: str, params: Any = None) -> Any: ...

    @property
    def dialect(self) -> str: ...


@dataclass
class Sampler:
    """Base sampler: ``prepare`` reads what it needs from the data, ``draw`` returns one value."""

    def prepare(self, source: ValueSource) -> None:
        """Read the data the sampler draws from; samplers without data need nothing."""

    def draw(self, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def draw_many(self, rng: np.random.Generator, count: int) -> list[Any]:
        """``count`` values from the same distribution as :meth:`draw`, vectorised where the sampler can be
        (a million-request cache trace draws its parameters this way)."""
        return [self.draw(rng) for _ in range(count)]


@dataclass
class ColumnSampler(Sampler):
    """A sampler over the values of ``table.column`` in the loaded data."""

    table: str
    column: str
    values: list[Any] = field(default_factory=list, repr=False)

    def prepare(self, source: ValueSource) -> None:
        column = exp.column(self.column, quoted=True)
        table = exp.to_table(self.table)
        for part in table.parts:
            part.set("quoted", True)
        select = exp.select(column).distinct().from_(table).where(column.is_(exp.null()).not_()).order_by(column)
        frame = source.query(select.limit(100_000).sql(source.dialect))
        self.values = frame.iloc[:, 0].tolist()
        if not self.values:
            raise WorkbenchError(f"sampler over {self.table}.{self.column} found no values: load data first")


@dataclass
class Pick(ColumnSampler):
    """An existing value of the column; ``skew`` > 0 makes a few values far more frequent (zipf-like)."""

    skew: float = 0.0

    def draw(self, rng: np.random.Generator) -> Any:
        if self.skew <= 0:
            return self.values[int(rng.integers(len(self.values)))]
        return self.values[int(rng.choice(len(self.values), p=self._weights()))]

    def draw_many(self, rng: np.random.Generator, count: int) -> list[Any]:
        if self.skew <= 0:
            chosen = rng.integers(len(self.values), size=count)
        else:
            chosen = rng.choice(len(self.values), size=count, p=self._weights())
        return _pick(self.values, chosen)

    def _weights(self) -> np.ndarray:
        ranks = np.arange(1, len(self.values) + 1, dtype=float) ** -self.skew
        return ranks / ranks.sum()


@dataclass
class Word(ColumnSampler):
    """A word (three letters or more) that occurs in the text column, e.g. a product-name term."""

    def prepare(self, source: ValueSource) -> None:
        super().prepare(source)
        words = {w.lower() for v in self.values for w in re.findall(r"[^\W\d_]{3,}", str(v))}
        self.values = sorted(words)
        if not self.values:
            raise WorkbenchError(f"word({self.table}.{self.column}): the column holds no words")

    def draw(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def draw_many(self, rng: np.random.Generator, count: int) -> list[Any]:
        return _pick(self.values, rng.integers(len(self.values), size=count))


@dataclass
class Recent(ColumnSampler):
    """A moment within the last ``days`` days of the column's most recent value."""

    days: float = 7.0

    def draw(self, rng: np.random.Generator) -> Any:
        latest = max(self.values)
        return latest - timedelta(seconds=float(rng.uniform(0, self.days * 86_400)))

    def draw_many(self, rng: np.random.Generator, count: int) -> list[Any]:
        latest = max(self.values)
        return [latest - timedelta(seconds=float(s)) for s in rng.uniform(0, self.days * 86_400, size=count)]


@dataclass
class Between(Sampler):
    """A uniform integer in [low, high]."""

    low: int = 0
    high: int = 100

    def draw(self, rng: np.random.Generator) -> Any:
        return int(rng.integers(self.low, self.high + 1))

    def draw_many(self, rng: np.random.Generator, count: int) -> list[Any]:
        return rng.integers(self.low, self.high + 1, size=count).tolist()


@dataclass
class Choice(Sampler):
    """One of the listed values."""

    options: tuple[Any, ...] = ()

    def draw(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]

    def draw_many(self, rng: np.random.Generator, count: int) -> list[Any]:
        return _pick(self.options, rng.integers(len(self.options), size=count))


@dataclass
class Constant(Sampler):
    value: Any = None

    def draw(self, rng: np.random.Generator) -> Any:
        return self.value

    def draw_many(self, rng: np.random.Generator, count: int) -> list[Any]:
        return [self.value] * count


def _pick(values: Sequence[Any], chosen: np.ndarray) -> list[Any]:
    """The values at the chosen positions, as the Python values the column holds (not numpy scalars)."""
    column = np.empty(len(values), dtype=object)
    column[:] = list(values)
    return column[chosen].tolist()


COLUMN_SAMPLERS: dict[str, type[ColumnSampler]] = {"pick": Pick, "word": Word, "recent": Recent}
PLAIN_SAMPLERS = {"between", "choice"}


def parse_sampler(text: str) -> Sampler:
    """Parse ``pick(t.c, skew=1.1)``, ``word(t.c)``, ``recent(t.c, days=7)``, ``between(1, 9)``,
    ``choice('a', 'b')`` or a Python literal."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise WorkbenchError(f"cannot read sampler {text!r}: {error.msg}") from None
    if not isinstance(node, ast.Call):
        return Constant(value=_literal(node, text))
    name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
    if name not in COLUMN_SAMPLERS and name not in PLAIN_SAMPLERS:
        raise WorkbenchError(f"unknown sampler {name!r}{did_you_mean(name, [*COLUMN_SAMPLERS, *PLAIN_SAMPLERS])}")
    options = {k.arg: _literal(k.value, text) for k in node.keywords}
    if name in COLUMN_SAMPLERS:
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Attribute):
            raise WorkbenchError(f"{name}() takes one table.column, got {text!r}")
        table, column = ast.unparse(node.args[0]).rsplit(".", 1)
        return COLUMN_SAMPLERS[name](table=table, column=column, **options)
    args = [_literal(a, text) for a in node.args]
    if name == "between":
        return Between(*args, **options)
    return Choice(options=tuple(args))


def _literal(node: ast.expr, text: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise WorkbenchError(f"sampler {text!r}: {ast.unparse(node)!r} is not a literal value") from None


def as_sql_value(value: Any) -> exp.Expression:
    """A drawn value as a SQL literal expression (timestamps as typed literals)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build("timestamptz"))
    return exp.convert(value)
