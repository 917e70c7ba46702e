"""Map a column's type text (in the schema's dialect) to a type family, its bounds and an Arrow type.

Parsing goes through sqlglot's ``DataType.build``; enums and domains of the model are resolved
first, and unparseable names fall back on simple name heuristics, so every type gets a family.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from workbench.schema.model import Schema

T = exp.DataType.Type

_INTS = {
    T.TINYINT: (-(2**7) + 1, 2**7 - 1, pa.int8()), T.UTINYINT: (0, 2**8 - 1, pa.uint8()),
    T.SMALLINT: (-(2**15) + 1, 2**15 - 1, pa.int16()), T.USMALLINT: (0, 2**16 - 1, pa.uint16()),
    T.MEDIUMINT: (-(2**23) + 1, 2**23 - 1, pa.int32()), T.UMEDIUMINT: (0, 2**24 - 1, pa.uint32()),
    T.INT: (-(2**31) + 1, 2**31 - 1, pa.int32()), T.UINT: (0, 2**32 - 1, pa.uint32()),
    T.BIGINT: (-(2**63) + 1, 2**63 - 1, pa.int64()), T.UBIGINT: (0, 2**63 - 1, pa.uint64()),
    T.INT128: (-(2**63) + 1, 2**63 - 1, pa.int64()), T.UINT128: (0, 2**63 - 1, pa.uint64()),
    T.SMALLSERIAL: (1, 2**15 - 1, pa.int16()), T.SERIAL: (1, 2**31 - 1, pa.int32()),
    T.BIGSERIAL: (1, 2**63 - 1, pa.int64()),
}
_FAMILIES = {
    "float": {T.FLOAT, T.DOUBLE},
    "decimal": {T.DECIMAL, T.BIGDECIMAL, T.MONEY, T.SMALLMONEY, T.UDECIMAL},
    "bool": {T.BOOLEAN, T.BIT},
    "text": {T.VARCHAR, T.NVARCHAR, T.TEXT, T.MEDIUMTEXT, T.LONGTEXT, T.TINYTEXT, T.NAME,
             T.INET, T.XML, T.HSTORE},
    "char": {T.CHAR, T.NCHAR, T.BPCHAR},
    "date": {T.DATE, T.DATE32},
    "timestamp": {T.TIMESTAMP, T.DATETIME, T.DATETIME64, T.TIMESTAMPTZ, T.TIMESTAMPLTZ, T.TIMESTAMP_S,
                  T.TIMESTAMP_MS, T.TIMESTAMP_NS, T.SMALLDATETIME, T.DATETIME2},
    "time": {T.TIME, T.TIMETZ},
    "interval": {T.INTERVAL},
    "uuid": {T.UUID},
    "json": {T.JSON, T.JSONB},
    "binary": {T.VARBINARY, T.BINARY, T.BLOB, T.MEDIUMBLOB, T.LONGBLOB, T.TINYBLOB, T.IMAGE},
    "year": {T.YEAR},
}
_ARROW = {
    "bool": pa.bool_(), "text": pa.string(), "char": pa.string(), "date": pa.date32(), "time": pa.time64("us"),
    "interval": pa.duration("us"), "uuid": pa.string(), "json": pa.string(), "binary": pa.binary(),
    "year": pa.int16(), "enum": pa.string(), "unknown": pa.string(),
}
_HEURISTICS = (  # (pattern on the lower-cased type name, family), first match wins
    (r"bool", "bool"), (r"serial|^(tiny|small|medium|big)?int|integer", "int"),
    (r"timestamp|datetime", "timestamp"), (r"date", "date"),
    (r"time", "time"), (r"num|dec|money", "decimal"), (r"float|double|real", "float"), (r"uuid", "uuid"),
    (r"json", "json"), (r"blob|binary|bytea", "binary"), (r"char|text|string|clob|tsvector", "text"),
)


@dataclass(frozen=True)
class TypeInfo:
    """What a generator needs to know about a column type: family, bounds, Arrow type."""

    family: str  # int float decimal bool text char date timestamp time interval uuid json binary array enum unknown
    arrow: pa.DataType
    raw: str = ""
    length: int | None = None  # varchar(n) / char(n)
    precision: int | None = None
    scale: int | None = None
    low: float | None = None  # inclusive bounds of numeric families
    high: float | None = None
    values: tuple[str, ...] = ()  # enum labels
    element: TypeInfo | None = None  # array element type
    checks: tuple[str, ...] = ()  # domain CHECK expressions, written over VALUE


def resolve_type(text: str, schema: Schema) -> TypeInfo:
    """The TypeInfo of a column type as written in ``schema.dialect``."""
    text = text.strip()
    if text.endswith("[]"):
        element = resolve_type(text[:-2], schema)
        return TypeInfo("array", pa.list_(element.arrow), text, element=element)
    if (named := _named_type(text, schema)) is not None:
        return named
    try:
        built = exp.DataType.build(text, dialect=schema.dialect or "postgres", udt=True)
    except (SqlglotError, ValueError):
        return _heuristic(text)
    return _from_datatype(built, text, schema)


def _named_type(text: str, schema: Schema) -> TypeInfo | None:
    """An enum or domain of the model named by ``text`` (quoted or schema-qualified), or None."""
    bare = text.replace('"', "")
    short = bare.rsplit(".", 1)[-1]
    for enum in schema.enums:
        if bare in (enum.key, enum.name) or short == enum.name:
            return TypeInfo("enum", pa.string(), text, values=enum.values)
    for domain in schema.domains:
        if bare in (domain.key, domain.name) or short == domain.name:
            base = resolve_type(domain.type, schema)
            return replace(base, raw=text, checks=base.checks + tuple(c.expression for c in domain.checks))
    return None


ARROW_DECIMAL_DIGITS = 38  # decimal128


def _from_datatype(built: exp.DataType, text: str, schema: Schema) -> TypeInfo:
    kind = built.this
    params = [_int(e) for e in built.expressions]
    if kind == T.ARRAY and built.expressions:
        element = _from_datatype(built.expressions[0], built.expressions[0].sql(), schema)
        return TypeInfo("array", pa.list_(element.arrow), text, element=element)
    if kind == T.ENUM:
        values = tuple(e.name for e in built.expressions)
        return TypeInfo("enum", pa.string(), text, values=values)
    if kind in _INTS:
        low, high, arrow = _INTS[kind]
        return TypeInfo("int", arrow, text, low=low, high=high)
    if kind == T.USERDEFINED:
        return _heuristic(text)
    family = next((f for f, kinds in _FAMILIES.items() if kind in kinds), None)
    if family is None:
        return _heuristic(text)
    if family == "decimal":
        precision = params[0] if params and params[0] else (19 if kind == T.MONEY else 18)
        scale = params[1] if len(params) > 1 and params[1] is not None else (2 if kind == T.MONEY or not params else 0)
        # Arrow's decimal128 holds 38 digits: numeric(40,15) is drawn within them; numeric(3,5) is 0.00xyz
        digits = min(max(precision, scale), ARROW_DECIMAL_DIGITS)
        places = min(max(scale, 0), digits)
        high = min(10 ** (precision - scale), 10 ** (digits - places)) - 10**-places
        return TypeInfo("decimal", pa.decimal128(digits, places), text, precision=digits, scale=places,
                        low=-high, high=high)
    if family == "float":
        arrow = pa.float32() if kind == T.FLOAT and not params else pa.float64()
        return TypeInfo("float", arrow, text, low=-1e30, high=1e30)
    if family == "timestamp":
        zoned = kind in (T.TIMESTAMPTZ, T.TIMESTAMPLTZ)
        return TypeInfo("timestamp", pa.timestamp("us", tz="UTC" if zoned else None), text)
    if family in ("text", "char", "binary") and params and params[0]:
        return TypeInfo(family, _ARROW[family] if family != "char" else pa.string(), text, length=params[0])
    if family == "char" and kind == T.BPCHAR:  # bpchar without a length is unbounded
        return TypeInfo("text", pa.string(), text)
    if family == "char":  # char without a length is char(1)
        return TypeInfo("char", pa.string(), text, length=1)
    if family == "year":
        return TypeInfo("int", pa.int16(), text, low=1901, high=2155)
    return TypeInfo(family, _ARROW[family], text)


def _heuristic(text: str) -> TypeInfo:
    lowered = text.lower().replace('"', "")
    family = next((f for pattern, f in _HEURISTICS if re.search(pattern, lowered)), "unknown")
    if lowered == "char":  # PostgreSQL's one-byte "char"
        return TypeInfo("char", pa.string(), text, length=1)
    if family == "int":
        return TypeInfo("int", pa.int64(), text, low=-(2**63) + 1, high=2**63 - 1)
    if family == "decimal":
        return TypeInfo("decimal", pa.decimal128(18, 2), text, precision=18, scale=2, low=-1e16, high=1e16)
    if family == "float":
        return TypeInfo("float", pa.float64(), text, low=-1e30, high=1e30)
    if family == "timestamp":
        zoned = "tz" in lowered or "with time zone" in lowered
        return TypeInfo("timestamp", pa.timestamp("us", tz="UTC" if zoned else None), text)
    return TypeInfo(family, _ARROW.get(family, pa.string()), text)


def _int(node: exp.Expression) -> int | None:
    value = node.this if isinstance(node, exp.DataTypeParam) else node
    try:
        return int(value.name if isinstance(value, exp.Expression) else value)
    except (TypeError, ValueError):
        return None
