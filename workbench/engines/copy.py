"""PostgreSQL COPY data built from Arrow columns, with no Python object per value.

The binary format is written by **pgpq** (Rust, about 400 MB/s on this machine) after each column is
cast to the exact Arrow type of its server column (``int2`` <- int16, ``timestamptz`` <- timestamp with
a time zone, ``numeric`` <- decimal...); ``uuid`` text becomes its 16 bytes, ``jsonb`` gets its version
byte. In binary COPY the server reads each field with its column's own receive function, so enums and
character types take text, and arrays must carry their element type's exact OID: the array element
types pgpq writes are listed in ``_ARRAY_ELEMENTS``. A table with any other column type (``inet``,
``varchar[]``, ``timestamptz[]``...) is sent as CSV written by Arrow's CSV writer, with the values
Arrow would not write as PostgreSQL reads them (arrays, bytea, intervals) rendered by Arrow compute
first. Either way a batch becomes one bytes buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pgpq import ArrowToPostgresBinaryEncoder, encoders
from pgpq import schema as pg_schema
from psycopg import sql

from workbench.errors import WorkbenchError

ENCODE_ROWS = 65_536  # rows per encoded buffer: a few MB, so memory stays flat whatever the batch
Convert = Callable[[pa.Array], pa.Array]


@dataclass(frozen=True)
class ServerColumn:
    """A column as the server stores it: base type name (domains resolved), enum or not, array element."""

    name: str
    type_name: str
    enum: bool = False
    element: str | None = None  # base type name of an array's element


def _text_like(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


# Server base type -> (accepts this Arrow type?, Arrow type to send it as). Scalars and array elements.
_BINARY: dict[str, tuple[Callable[[pa.DataType], bool], Callable[[pa.DataType], pa.DataType]]] = {
    "int2": (pa.types.is_integer, lambda _: pa.int16()),
    "int4": (pa.types.is_integer, lambda _: pa.int32()),
    "int8": (pa.types.is_integer, lambda _: pa.int64()),
    "float4": (_number, lambda _: pa.float32()),
    "float8": (_number, lambda _: pa.float64()),
    "numeric": (lambda t: pa.types.is_decimal128(t) or pa.types.is_integer(t),
                lambda t: t if pa.types.is_decimal128(t) else pa.decimal128(20, 0)),
    "bool": (pa.types.is_boolean, lambda _: pa.bool_()),
    "text": (_text_like, lambda _: pa.string()),
    "bytea": (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t),
              lambda _: pa.binary()),
    "date": (lambda t: pa.types.is_date(t), lambda _: pa.date32()),
    "time": (pa.types.is_time, lambda _: pa.time64("us")),
    "timestamp": (lambda t: pa.types.is_timestamp(t) and t.tz is None, lambda _: pa.timestamp("us")),
    "timestamptz": (lambda t: pa.types.is_timestamp(t) and t.tz is not None, lambda t: pa.timestamp("us", tz=t.tz)),
    "interval": (pa.types.is_duration, lambda _: pa.duration("us")),
}
_AS_TEXT = frozenset({"varchar", "bpchar", "name", "json"})  # their binary form is their text
_ARRAY_ELEMENTS = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "bool", "text", "bytea", "date",
                             "time", "timestamp", "interval"})  # pgpq writes these element OIDs exactly


class CopyFormat:
    """How a table's batches become COPY data: the statement's options and an encoder of batches."""

    method = ""

    def statement(self, table: sql.Composable, columns: list[str], freeze: bool = False) -> sql.Composed:
        options = sql.SQL(", ").join([sql.SQL(self._format), *([sql.SQL("FREEZE")] if freeze else [])])
        names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        return sql.SQL("COPY {} ({}) FROM STDIN ({})").format(table, names, options)

    _format = ""

    def header(self) -> bytes:
        return b""

    def encode(self, batch: pa.RecordBatch) -> bytes:
        raise NotImplementedError

    def trailer(self) -> bytes:
        return b""

    def buffers(self, batch: pa.RecordBatch) -> list[bytes]:
        """``batch`` as COPY data, in buffers of at most ``ENCODE_ROWS`` rows."""
        return [self.encode(batch.slice(start, ENCODE_ROWS)) for start in range(0, batch.num_rows, ENCODE_ROWS)]


class BinaryCopy(CopyFormat):
    """``COPY ... (FORMAT BINARY)`` written by pgpq from columns cast to their server types."""

    method = "copy binary"
    _format = "FORMAT BINARY"

    def __init__(self, converts: list[Convert], schema: pa.Schema, jsonb: set[str]):
        self.converts, self.schema = converts, schema
        builders = {f.name: encoders.StringEncoderBuilder.new_with_output(f, pg_schema.Jsonb())
                    for f in schema if f.name in jsonb}
        self.encoder = ArrowToPostgresBinaryEncoder.new_with_encoders(
            schema, {**{f.name: ArrowToPostgresBinaryEncoder.infer_encoder(f) for f in schema}, **builders})

    def header(self) -> bytes:
        return self.encoder.write_header()

    def encode(self, batch: pa.RecordBatch) -> bytes:
        columns = [convert(column) for convert, column in zip(self.converts, batch.columns, strict=True)]
        return self.encoder.write_batch(pa.RecordBatch.from_arrays(columns, schema=self.schema))

    def trailer(self) -> bytes:
        return self.encoder.finish()


class CsvCopy(CopyFormat):
    """``COPY ... (FORMAT CSV)`` written by Arrow's CSV writer, some columns first rendered as PostgreSQL text."""

    method = "copy csv"
    _format = "FORMAT CSV"

    def __init__(self, converts: list[Convert]):
        self.converts = converts
        self.options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")

    def encode(self, batch: pa.RecordBatch) -> bytes:
        columns = [convert(column) for convert, column in zip(self.converts, batch.columns, strict=True)]
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(pa.RecordBatch.from_arrays(columns, names=batch.schema.names), sink, self.options)
        return sink.getvalue().to_pybytes()


def copy_format(columns: list[ServerColumn], schema: pa.Schema) -> CopyFormat:
    """Binary COPY when every column has an exact binary form for its Arrow type, else CSV."""
    plans = [_binary_plan(column, field.type) for column, field in zip(columns, schema, strict=True)]
    if None not in plans:
        fields = [pa.field(field.name, kind) for field, (kind, _) in zip(schema, plans, strict=True)]  # type: ignore[misc]
        jsonb = {c.name for c in columns if c.type_name == "jsonb" and not c.element}
        return BinaryCopy([convert for _, convert in plans], pa.schema(fields), jsonb)  # type: ignore[misc]
    return CsvCopy([_csv_convert(field) for field in schema])


def _binary_plan(column: ServerColumn, source: pa.DataType) -> tuple[pa.DataType, Convert] | None:
    """(Arrow type sent, conversion) for one column, or None when binary COPY cannot carry it exactly."""
    if pa.types.is_dictionary(source):
        plan = _binary_plan(column, source.value_type)
        return None if plan is None else (plan[0], lambda a, inner=plan[1]: inner(a.dictionary_decode()))
    if column.element is not None:
        if not (pa.types.is_list(source) or pa.types.is_large_list(source)) or column.element not in _ARRAY_ELEMENTS:
            return None
        accepts, target = _BINARY[column.element]
        if not accepts(source.value_type):
            return None
        kind = pa.list_(target(source.value_type))
        return kind, lambda a: a.cast(kind)
    name = "text" if column.enum or column.type_name in _AS_TEXT or column.type_name == "jsonb" else column.type_name
    if name == "uuid":
        if _text_like(source):
            return pa.binary(16), uuid_bytes
        return (pa.binary(16), lambda a: a) if source == pa.binary(16) else None
    if name not in _BINARY or not _BINARY[name][0](source):
        return None
    kind = _BINARY[name][1](source)
    return kind, lambda a: a if a.type == kind else a.cast(kind)


_HEX_VALUES = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_VALUES[_c] = _HEX_VALUES[bytes([_c]).upper()[0]] = _i


def uuid_bytes(values: pa.Array) -> pa.Array:
    """UUIDs as text (``8-4-4-4-12`` hex digits, any case) -> their 16 bytes, as ``uuid_recv`` reads them."""
    n = len(values)
    digits = pc.fill_null(pc.replace_substring(values.cast(pa.string()), "-", ""), "0" * 32)
    offsets = np.frombuffer(digits.buffers()[1], dtype=np.int32)[digits.offset: digits.offset + n + 1]
    if n and not (np.diff(offsets) == 32).all():
        bad = values.filter(pc.not_equal(pc.binary_length(digits), 32))[0]
        raise WorkbenchError(f"{bad} is not a UUID (32 hex digits, dashes optional); fix the data or the column type")
    text = np.frombuffer(digits.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[0] + 32 * n].reshape(n, 32)
    nibbles = _HEX_VALUES[text]
    if (nibbles == 255).any():
        raise WorkbenchError(f"{values[int(np.flatnonzero((nibbles == 255).any(axis=1))[0])]} is not a UUID "
                             "(hex digits 0-9, a-f only); fix the data or the column type")
    raw = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    packed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw.tobytes())])
    return packed if values.null_count == 0 else pc.if_else(values.is_null(), pa.scalar(None, pa.binary(16)), packed)


# --- CSV ------------------------------------------------------------------------------------------------------


def _csv_convert(field: pa.Field) -> Convert:
    """Arrow -> what Arrow's CSV writer writes as PostgreSQL reads it (most types need nothing)."""
    kind = field.type
    if pa.types.is_dictionary(kind):
        inner = _csv_convert(pa.field(field.name, kind.value_type))
        return lambda a: inner(a.dictionary_decode())
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return array_literals
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return bytea_literals
    if pa.types.is_duration(kind):
        return lambda a: pc.binary_join_element_wise(a.cast(pa.duration("us")).cast(pa.int64()).cast(pa.string()),
                                                     " microseconds", "")
    if pa.types.is_nested(kind):
        raise WorkbenchError(f"column {field.name!r} has Arrow type {kind}, which PostgreSQL COPY cannot take; "
                             "flatten it or load it as JSON text")
    return lambda a: a


def array_literals(values: pa.Array) -> pa.Array:
    """Lists -> PostgreSQL array literals ``{"a","b",NULL}`` (every element quoted, ``\\`` and ``"`` escaped)."""
    first = values.offsets[0]
    offsets = pc.subtract(values.offsets, first)
    flat = values.values.slice(first.as_py(), offsets[-1].as_py())
    if pa.types.is_list(flat.type) or pa.types.is_large_list(flat.type):
        elements = array_literals(flat)
    else:
        text = (bytea_literals(flat) if pa.types.is_binary(flat.type) else flat).cast(pa.string())
        escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
        elements = pc.binary_join_element_wise('"', escaped, '"', "")
    lists = type(values).from_arrays(offsets, pc.fill_null(elements, "NULL"))
    joined = pc.binary_join_element_wise("{", pc.binary_join(lists, ","), "}", "")
    return pc.if_else(values.is_null(), pa.scalar(None, pa.string()), joined)


def bytea_literals(values: pa.Array) -> pa.Array:
    """Bytes -> ``\\x`` + hex digits, PostgreSQL's bytea text form."""
    values = values.cast(pa.binary()) if not pa.types.is_binary(values.type) else values
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset: values.offset + n + 1]
    data = values.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8)[offsets[0]: offsets[-1]] if data is not None else np.zeros(0, np.uint8)
    hexes = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    text = np.empty(2 * len(raw), dtype=np.uint8)
    text[0::2], text[1::2] = hexes[raw >> 4], hexes[raw & 0x0F]
    lengths = np.diff(offsets) * 2
    out = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=out[1:])
    digits = pa.StringArray.from_buffers(n, pa.py_buffer(out), pa.py_buffer(text.tobytes()))
    joined = pc.binary_join_element_wise("\\x", digits, "")
    return pc.if_else(values.is_null(), pa.scalar(None, pa.string()), joined)
