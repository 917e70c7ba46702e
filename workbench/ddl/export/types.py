"""Column types for the target: transpiled, enums and domains resolved, gaps replaced by the nearest type + note.

The nearest type keeps what matters most: a PostgreSQL ``numeric(40,15)`` becomes DuckDB's widest DECIMAL that
still holds all its integer digits (``DECIMAL(38,13)``), a ``numeric`` without precision (any number) becomes
DOUBLE, an interval with fields becomes a plain INTERVAL, an array gets its element type mapped the same way,
and only what has no counterpart at all (``inet``, ``tsvector``, geometric types...) becomes TEXT. Each
substitution is a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.export.context import Context
from workbench.ddl.export.target import DType
from workbench.schema.model import Domain, Enum

VALUE = "VALUE"  # placeholder column of enum/domain checks, replaced by the real column
SERIALS = {DType.SERIAL: DType.INT, DType.BIGSERIAL: DType.BIGINT, DType.SMALLSERIAL: DType.SMALLINT}
_SUBSTITUTES = {DType.JSONB: "JSON", DType.MONEY: "DECIMAL(19,2)", DType.TIMETZ: "TIME"}  # money: 8 bytes, cents
_DECIMAL = re.compile(r"\s*(?:numeric|decimal)\s*(?:\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\))?\s*", re.IGNORECASE)
_UNBOUNDED_NUMERIC = frozenset({"postgres", "redshift", "materialize", "risingwave"})  # bare numeric: any number


@dataclass
class ResolvedType:
    """A target type plus what a domain or enum brings along when the target has no such type."""

    kind: exp.DataType
    checks: list[exp.Expression] = field(default_factory=list)  # written over the column ``VALUE``
    serial: bool = False
    not_null: bool = False
    default: str | None = None


def resolve_type(ctx: Context, text: str, obj: str) -> ResolvedType:
    """The target type of a column (or domain) type written in the source dialect."""
    user = ctx.user_type(text)
    if isinstance(user, Enum):
        return _enum(ctx, user, obj)
    if isinstance(user, Domain):
        return _domain(ctx, user, obj)
    try:
        kind = exp.DataType.build(text, dialect=ctx.read, udt=True)
    except SqlglotError:
        ctx.note(obj, "type", f"cannot parse type {text!r}; exported as TEXT")
        return ResolvedType(exp.DataType.build("text"))
    if kind.this == DType.ENUM and not ctx.target.inline_enum:
        values = [v for v in kind.expressions if isinstance(v, exp.Literal)]
        ctx.note(obj, "enum", f"{ctx.label} has no inline enum types; {text} exported as TEXT with a CHECK on "
                              f"its {len(values)} values")
        return ResolvedType(exp.DataType.build("text"), checks=[exp.In(this=exp.column(VALUE), expressions=values)])
    if kind.this in SERIALS and ctx.target.dialect != "postgres":
        return ResolvedType(exp.DataType(this=SERIALS[kind.this]), serial=True)
    return ResolvedType(_supported(ctx, kind, text, obj), serial=kind.this in SERIALS)


def enum_values(enum: Enum) -> list[exp.Literal]:
    return [exp.Literal.string(value) for value in enum.values]


def _enum(ctx: Context, enum: Enum, obj: str) -> ResolvedType:
    if ctx.has_type(enum):
        return ResolvedType(ctx.type_ref(enum.key))
    if ctx.target.enums == "inline":
        return ResolvedType(exp.DataType(this=DType.ENUM, expressions=enum_values(enum)))
    ctx.note(obj, "enum", f"{ctx.label} has no enum types; {enum.key} exported as TEXT with a CHECK "
                          f"on its {len(enum.values)} values")
    return ResolvedType(exp.DataType.build("text"),
                        checks=[exp.In(this=exp.column(VALUE), expressions=enum_values(enum))])


def _domain(ctx: Context, domain: Domain, obj: str) -> ResolvedType:
    if ctx.has_type(domain):
        return ResolvedType(ctx.type_ref(domain.key))
    base = resolve_type(ctx, domain.type, obj)
    checks = [c for c in (ctx.parse(check.expression, obj, "domain check") for check in domain.checks) if c]
    base.checks.extend(checks)
    base.not_null = base.not_null or not domain.nullable
    base.default = base.default or domain.default
    extra = f" and its {len(checks)} check(s) as column checks" if checks else ""
    ctx.note(obj, "domain", f"{ctx.label} has no domains; {domain.key} exported as its base type "
                            f"{domain.type}{extra}")
    return base


def _supported(ctx: Context, kind: exp.DataType, text: str, obj: str) -> exp.DataType:
    """The type itself when the target has it, a substitute or TEXT with a note otherwise."""
    target = ctx.target
    if kind.this == DType.ARRAY:
        if not target.arrays:
            ctx.note(obj, "type", f"{target.label} has no array types; {text} exported as TEXT")
            return exp.DataType.build("text")
        inner = kind.expressions[0] if kind.expressions else None
        if inner is None or target.dialect == ctx.read:
            return kind
        return exp.DataType(this=DType.ARRAY, expressions=[resolve_type(ctx, inner.sql(ctx.read), obj).kind],
                            nested=True)
    if (decimal := _DECIMAL.fullmatch(text)) is not None and target.decimal_digits is not None:
        return _decimal(ctx, kind, text, decimal, obj)
    if (isinstance(kind.this, exp.Interval) or (kind.this == DType.INTERVAL and kind.expressions)) \
            and target.types is not None and DType.INTERVAL in target.types:
        ctx.note(obj, "type", f"{target.label}'s INTERVAL has no fields or precision; {text} exported as INTERVAL")
        return exp.DataType(this=DType.INTERVAL)
    if kind.this == DType.USERDEFINED:
        if target.dialect in ("postgres", ctx.read):
            return kind
        ctx.note(obj, "type", f"type {text} is not known to {target.label}; exported as TEXT")
        return exp.DataType.build("text")
    if kind.this == DType.SET and target.dialect != "mysql":
        ctx.note(obj, "type", f"{target.label} has no SET type; {text} exported as TEXT")
        return exp.DataType.build("text")
    if target.types is None or kind.this in target.types:
        return kind
    replacement = exp.DataType.build(_SUBSTITUTES[kind.this]) if kind.this in _SUBSTITUTES else None
    if replacement is not None and replacement.this in target.types:
        ctx.note(obj, "type", f"{target.label} has no {text}; exported as {replacement.sql(target.dialect)}")
        return replacement
    ctx.note(obj, "type", f"{target.label} has no {text}; exported as TEXT")
    return exp.DataType.build("text")


def _decimal(ctx: Context, kind: exp.DataType, text: str, written: re.Match[str], obj: str) -> exp.DataType:
    """A DECIMAL the target can hold: all the integer digits of ``text`` and as many decimal places as fit,
    else DOUBLE (with a note whenever anything changes)."""
    target, limit = ctx.target, ctx.target.decimal_digits or 0
    if written.group(1) is None:
        if ctx.read not in _UNBOUNDED_NUMERIC:
            return kind
        ctx.note(obj, "type", f"{text} without a precision holds any number, and {target.label}'s DECIMAL at most "
                              f"{limit} digits (a bare DECIMAL even fewer); exported as DOUBLE (about 15 digits)")
        return exp.DataType.build("double")
    precision, scale = int(written.group(1)), int(written.group(2) or 0)
    integer_digits, places = max(precision - scale, 0), max(scale, 0)  # numeric(5,-2): 7 digits; (3,5): none
    places = min(places, target.decimal_scale or places, max(limit - integer_digits, 0))
    if integer_digits > limit:
        ctx.note(obj, "type", f"{text} has {integer_digits} integer digits, more than {target.label}'s DECIMAL holds "
                              f"({limit}); exported as DOUBLE (about 15 significant digits)")
        return exp.DataType.build("double")
    fitted = exp.DataType.build(f"DECIMAL({integer_digits + places}, {places})")
    if (integer_digits + places, places) == (precision, scale):
        return kind
    if places == max(scale, 0):
        ctx.note(obj, "type", f"{target.label} has no {text}; exported as {fitted.sql(target.dialect)}, which holds "
                              f"the same values")
    else:
        ctx.note(obj, "type", f"{text} does not fit {target.label}'s DECIMAL (at most {limit} digits, "
                              f"{target.decimal_scale} after the point); exported as {fitted.sql(target.dialect)}: "
                              f"all {integer_digits} integer digits, {places} of its {scale} decimal places")
    return fitted
