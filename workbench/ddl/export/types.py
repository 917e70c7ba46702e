"""Column types for the target: transpiled, enums and domains resolved, gaps replaced by TEXT + note."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.ddl.export.context import Context
from workbench.ddl.export.target import DType
from workbench.schema.model import Domain, Enum

VALUE = "VALUE"  # placeholder column of enum/domain checks, replaced by the real column
SERIALS = {DType.SERIAL: DType.INT, DType.BIGSERIAL: DType.BIGINT, DType.SMALLSERIAL: DType.SMALLINT}
_SUBSTITUTES = {DType.JSONB: DType.JSON, DType.MONEY: DType.DECIMAL, DType.TIMETZ: DType.TIME}


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
        if inner is not None and ctx.user_type(inner.sql(ctx.read)) is not None:
            return exp.DataType(this=DType.ARRAY, expressions=[resolve_type(ctx, inner.sql(ctx.read), obj).kind],
                                nested=True)
        return kind
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
    substitute = _SUBSTITUTES.get(kind.this)
    if substitute in target.types:
        replacement = exp.DataType(this=substitute)
        ctx.note(obj, "type", f"{target.label} has no {text}; exported as {replacement.sql(target.dialect)}")
        return replacement
    ctx.note(obj, "type", f"{target.label} has no {text}; exported as TEXT")
    return exp.DataType.build("text")
