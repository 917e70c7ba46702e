"""COPY built from Arrow columns: every type family reaches PostgreSQL as the value it was, in both formats."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

from workbench.ddl import import_ddl
from workbench.engines.connect import connect
from workbench.engines.copy import ServerColumn, array_literals, bytea_literals, copy_format, uuid_bytes
from workbench.errors import WorkbenchError

pytestmark = pytest.mark.postgres

DDL = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN score AS integer CHECK (VALUE >= 0);
CREATE TABLE every_type (
    small smallint, regular integer, big bigint, real_ real, double_ double precision, money_ numeric(14, 3),
    flag boolean, body text, code varchar(10), fixed char(3), feeling mood, doc json, docb jsonb, raw bytea,
    ref uuid, day date, clock time, stamp timestamp, instant timestamptz, span interval, points score,
    ints integer[], words text[], amounts numeric[], days date[]
);
CREATE TABLE csv_only (id integer, host inet, tags varchar(80)[], seen timestamptz[], refs uuid[], raw bytea,
    span interval, nested integer[][]);
"""
TRICKY = 'quote " comma , back\\slash \\N tab\t newline\n unicode ✓'
UTC = dt.UTC


def every_type() -> pa.Table:
    return pa.table({
        "small": pa.array([-32767, 32767, None], pa.int16()),
        "regular": pa.array([-(2**31) + 1, 2**31 - 1, None], pa.int32()),
        "big": pa.array([-(2**63) + 1, 2**63 - 1, None], pa.int64()),
        "real_": pa.array([1.5, float("inf"), None], pa.float32()),
        "double_": pa.array([-0.1, float("-inf"), None], pa.float64()),
        "money_": pa.array([Decimal("-12345678901.123"), Decimal("0.001"), None], pa.decimal128(14, 3)),
        "flag": pa.array([True, False, None]),
        "body": pa.array([TRICKY, "", None]),
        "code": pa.array(["abc", "0123456789", None]),
        "fixed": pa.array(["ab", "xyz", None]),
        "feeling": pa.array(["happy", "sad", None]),
        "doc": pa.array(['{"a": [1, "x"]}', '"just text"', None]),
        "docb": pa.array(['{"b": {"c": null}}', "[1, 2.5]", None]),
        "raw": pa.array([b"\x00\x01\xff", b"", None]),
        "ref": pa.array(["0190a5f6-2b1c-4d3e-8f40-1234567890ab", "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF", None]),
        "day": pa.array([dt.date(1999, 12, 31), dt.date(2000, 1, 1), None], pa.date32()),
        "clock": pa.array([dt.time(0, 0), dt.time(23, 59, 59, 999999), None], pa.time64("us")),
        "stamp": pa.array([dt.datetime(1970, 1, 1), dt.datetime(2038, 1, 19, 3, 14, 8, 1), None], pa.timestamp("us")),
        "instant": pa.array([dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), dt.datetime(2024, 2, 29, tzinfo=UTC),
                             None], pa.timestamp("us", tz="UTC")),
        "span": pa.array([dt.timedelta(microseconds=1), dt.timedelta(days=40, seconds=3), None], pa.duration("us")),
        "points": pa.array([0, 7, None], pa.int32()),
        "ints": pa.array([[1, None, 3], [], None], pa.list_(pa.int32())),
        "words": pa.array([[TRICKY, None, ""], ["x"], None], pa.list_(pa.string())),
        "amounts": pa.array([[Decimal("1.50")], [Decimal("-2.25"), None], None], pa.list_(pa.decimal128(6, 2))),
        "days": pa.array([[dt.date(2020, 2, 29)], [], None], pa.list_(pa.date32())),
    })


def csv_only() -> pa.Table:
    return pa.table({
        "id": pa.array([1, 2, 3], pa.int32()),
        "host": pa.array(["192.168.0.1", "::1", None]),
        "tags": pa.array([[TRICKY, None], [], None], pa.list_(pa.string())),
        "seen": pa.array([[dt.datetime(2024, 1, 1, 12, tzinfo=UTC)], [None], None],
                         pa.list_(pa.timestamp("us", "UTC"))),
        "refs": pa.array([["0190a5f6-2b1c-4d3e-8f40-1234567890ab"], [], None], pa.list_(pa.string())),
        "raw": pa.array([b"\x00\\\xff", b"", None]),
        "span": pa.array([dt.timedelta(days=-1, microseconds=5), dt.timedelta(0), None], pa.duration("us")),
        "nested": pa.array([[[1, 2], [3, None]], None, [[5]]], pa.list_(pa.list_(pa.int32()))),
    })


def expected(value, column: str):
    """What psycopg reads back for the Arrow value written in ``column``."""
    if value is None:
        return None
    if column in ("doc", "docb"):
        return json.loads(value)
    if column == "ref":
        return uuid.UUID(value)
    if column == "refs":
        return [uuid.UUID(v) for v in value]
    if column == "fixed":
        return value.ljust(3)
    if column == "host":
        import ipaddress
        return ipaddress.ip_address(value)
    return value


@pytest.fixture(scope="module")
def loaded():
    schema = import_ddl(DDL).schema
    with connect("postgres") as engine:
        report = engine.load(schema, {"every_type": every_type(), "csv_only": csv_only()}, progress=False)
        with engine.server.connect(engine.database) as connection:  # psycopg's own values, not a DataFrame's
            read = {}
            for name in ("every_type", "csv_only"):
                cursor = connection.execute(f"SELECT * FROM {name}")
                rows = cursor.fetchall()
                read[name] = {d.name: [row[i] for row in rows] for i, d in enumerate(cursor.description)}
        yield report, read


def assert_read_back(sent: pa.Table, back: dict[str, list]) -> None:
    for column in sent.column_names:
        assert back[column] == [expected(v, column) for v in sent[column].to_pylist()], column


def test_binary_copy_carries_every_type_family(loaded):
    report, read = loaded
    assert {t.table: t.method for t in report.tables}["public.every_type"] == "copy binary"
    assert_read_back(every_type(), read["every_type"])


def test_csv_copy_carries_what_binary_cannot(loaded):
    report, read = loaded
    assert {t.table: t.method for t in report.tables}["public.csv_only"] == "copy csv"
    assert_read_back(csv_only(), read["csv_only"])


def test_formats_are_chosen_per_table_from_server_types():
    schema = pa.schema([("a", pa.int64()), ("b", pa.list_(pa.string()))])
    binary = copy_format([ServerColumn("a", "int8"), ServerColumn("b", "_text", element="text")], schema)
    csv = copy_format([ServerColumn("a", "int8"), ServerColumn("b", "_varchar", element="varchar")], schema)
    assert (binary.method, csv.method) == ("copy binary", "copy csv")
    assert copy_format([ServerColumn("a", "int2"), ServerColumn("b", "text")],
                       pa.schema([("a", pa.int64()), ("b", pa.int64())])).method == "copy csv"


def test_text_renderings_for_csv():
    assert array_literals(pa.array([["a\"b", None], None, []])).to_pylist() == ['{"a\\"b",NULL}', None, "{}"]
    assert array_literals(pa.array([[1, 2], [3]]).slice(1)).to_pylist() == ['{"3"}']
    assert bytea_literals(pa.array([b"\x01\xab", None, b""])).to_pylist() == ["\\x01ab", None, "\\x"]
    raw = uuid_bytes(pa.array(["00000000-0000-0000-0000-0000000000ff", None]))
    assert raw.to_pylist() == [b"\x00" * 15 + b"\xff", None]
    with pytest.raises(WorkbenchError, match="not a UUID"):
        uuid_bytes(pa.array(["not-a-uuid"]))
