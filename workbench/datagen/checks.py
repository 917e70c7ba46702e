"""Understand the CHECK constraints a generator can honour: IN lists, ranges, column orderings.

Forms understood (parsed with sqlglot, casts and parentheses looked through): ``col IN (...)``,
``col = ANY (ARRAY[...])``, ``col = a OR col = b``, ``col op literal`` (op: < <= > >= =),
``col BETWEEN a AND b``, ``a <= b`` between two columns, and ANDs of these. Anything else is
returned as not understood so that the caller reports it instead of dropping it silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

Scalar = float | str | bool
_FLIP = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ}


@dataclass
class Rule:
    """What the checks of a table demand of one column."""

    values: tuple[Scalar, ...] | None = None
    low: Scalar | None = None
    high: Scalar | None = None
    low_strict: bool = False
    high_strict: bool = False

    def bound(self, value: Scalar, low: bool, strict: bool) -> None:
        if low and (self.low is None or _gt(value, self.low)):
            self.low, self.low_strict = value, strict
        if not low and (self.high is None or _gt(self.high, value)):
            self.high, self.high_strict = value, strict


@dataclass
class CheckRules:
    """Per-column rules, column orderings (``low_column <= high_column``) and what was not understood."""

    columns: dict[str, Rule] = field(default_factory=dict)
    orderings: list[tuple[str, str, bool]] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)

    def rule(self, column: str) -> Rule:
        return self.columns.setdefault(column, Rule())


def parse_checks(expressions: list[tuple[str, str | None]], dialect: str | None) -> CheckRules:
    """Rules from CHECK texts; each pair is (expression, column that ``VALUE`` stands for, for domains)."""
    rules = CheckRules()
    for text, value_column in expressions:
        try:
            tree = sqlglot.parse_one(text, dialect=dialect or "postgres")
        except SqlglotError:
            rules.not_understood.append(text)
            continue
        if not _conjunct(_strip(tree), rules, value_column):
            rules.not_understood.append(text)
    return rules


def _conjunct(node: exp.Expression, rules: CheckRules, value_column: str | None) -> bool:
    if isinstance(node, exp.And):
        left = _conjunct(_strip(node.this), rules, value_column)
        return _conjunct(_strip(node.expression), rules, value_column) and left
    if isinstance(node, exp.Or):
        return _disjunction(node, rules, value_column)
    if isinstance(node, exp.In) and (column := _column(node.this, value_column)):
        values = [_literal(e) for e in node.expressions]
        return _set_values(rules, column, values)
    if isinstance(node, exp.Between) and (column := _column(node.this, value_column)):
        low, high = _literal(node.args["low"]), _literal(node.args["high"])
        if low is None or high is None:
            return False
        rules.rule(column).bound(low, True, False)
        rules.rule(column).bound(high, False, False)
        return True
    if type(node) in _FLIP:
        return _comparison(node, rules, value_column)
    return False


def _comparison(node: exp.Expression, rules: CheckRules, value_column: str | None) -> bool:
    kind, left, right = type(node), _strip(node.this), _strip(node.expression)
    if _column(left, value_column) is None and _column(right, value_column) is not None:
        kind, left, right = _FLIP[kind], right, left
    column = _column(left, value_column)
    if column is None:
        return False
    if kind is exp.EQ and isinstance(right, exp.Any):
        array = _strip(right.this)
        return isinstance(array, exp.Array) and _set_values(rules, column, [_literal(e) for e in array.expressions])
    if (other := _column(right, value_column)) is not None:
        if kind is exp.EQ:
            return False
        low, high = (column, other) if kind in (exp.LT, exp.LTE) else (other, column)
        rules.orderings.append((low, high, kind in (exp.LT, exp.GT)))
        return True
    value = _literal(right)
    if value is None:
        return False
    if kind is exp.EQ:
        return _set_values(rules, column, [value])
    rules.rule(column).bound(value, kind in (exp.GT, exp.GTE), kind in (exp.GT, exp.LT))
    return True


def _disjunction(node: exp.Or, rules: CheckRules, value_column: str | None) -> bool:
    """``col = a OR col = b ...`` over one column: an IN list."""
    columns, values = set(), []
    for part in node.flatten():
        part = _strip(part)
        if not isinstance(part, exp.EQ):
            return False
        left, right = _strip(part.this), _strip(part.expression)
        if _column(left, value_column) is None:
            left, right = right, left
        columns.add(_column(left, value_column))
        values.append(_literal(right))
    return len(columns) == 1 and None not in columns and _set_values(rules, columns.pop(), values)


def _set_values(rules: CheckRules, column: str, values: list[Scalar | None]) -> bool:
    if not values or any(v is None for v in values):
        return False
    rule = rules.rule(column)
    allowed = tuple(values) if rule.values is None else tuple(v for v in rule.values if v in values)
    rule.values = allowed
    return True


def _strip(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren | exp.Cast):
        node = node.this
    return node


def _column(node: exp.Expression, value_column: str | None) -> str | None:
    node = _strip(node)
    if isinstance(node, exp.Column) and not node.table:
        if value_column is not None and node.name.lower() == "value":
            return value_column
        return node.name
    return None


def _literal(node: exp.Expression) -> Scalar | None:
    node = _strip(node)
    if isinstance(node, exp.Neg):
        inner = _literal(node.this)
        return -inner if isinstance(inner, float) else None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else float(node.this)
    return None


def _gt(a: Scalar, b: Scalar) -> bool:
    try:
        return a > b  # type: ignore[operator]
    except TypeError:
        return False
