"""Load speed of the workbench against the plain fast paths, on the same generated rows, in one run.

Measures (1) generation alone, (2) generation + load into DuckDB against ``INSERT ... SELECT`` from the
Arrow table, (3) generation + load into PostgreSQL against psycopg's binary ``COPY`` with ``set_types``,
(4) the ecommerce domain loaded into PostgreSQL end to end. Prints a table, then one JSON line.

Both sides of each comparison write to the same table (created from the same exporter DDL: primary key,
no other index). The workbench's load time is the whole ``engine.load()`` call (create the table, copy,
bookkeeping, ANALYZE); the baselines time only their copy into a table made beforehand, so the ratio is
strict. The ratio of the copy phases alone is printed too (``*_copy_only``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
from psycopg import sql
from sqlglot import exp

from workbench.datagen import generate
from workbench.ddl.export import to_ddl
from workbench.domains import domain, parse_scale
from workbench.engines import connect
from workbench.engines.base import LoadReport
from workbench.engines.pgserver import embedded_server
from workbench.errors import WorkbenchError
from workbench.schema.model import Schema
from workbench.schema.sketch import sketch

TABLE = "items"
PG_TYPES = ["int8", "text", "text", "numeric", "timestamptz", "text"]  # psycopg dumpers, in column order


def bench_schema() -> Schema:
    """The 6-column table of datagen_speed.py, with its primary key as the only index."""
    s = sketch("bench")
    s.table(TABLE, id="bigint pk", name="text not null", email="text not null", price="numeric(10,2) not null",
            created_at="timestamptz not null", status="text not null check in ('new','paid','shipped')")
    return s.build()


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def workbench_load(engine_name: str, schema: Schema, data: pa.Table) -> tuple[LoadReport, float]:
    """A fresh engine's ``load()``: wall seconds of the call and its report (engine closed after)."""
    engine = connect(engine_name)
    try:
        return timed(lambda: engine.load(schema, {TABLE: data}, progress=False))
    finally:
        engine.close()


def duckdb_baseline(schema: Schema, data: pa.Table) -> float:
    """Seconds of ``INSERT INTO items SELECT * FROM arrow_table`` into the same empty table."""
    con = duckdb.connect()
    try:
        for statement in to_ddl(schema, "duckdb").statements:
            con.execute(statement).fetchall()
        con.register("arrow_table", data)
        insert = exp.insert(exp.select("*").from_("arrow_table"), TABLE).sql("duckdb")
        _, seconds = timed(lambda: con.execute(insert).fetchall())
        assert con.execute(exp.select("count(*)").from_(TABLE).sql("duckdb")).fetchone()[0] == data.num_rows
        return seconds
    finally:
        con.close()


def copy_baseline(schema: Schema, data: pa.Table) -> float:
    """Seconds of psycopg ``COPY ... (FORMAT BINARY)`` with ``set_types`` into the same empty table."""
    server = embedded_server()
    name = server.create_database("bench")
    try:
        with psycopg.connect(server.url(name)) as conn:
            for statement in to_ddl(schema, "postgres").statements:
                conn.execute(sql.SQL(statement))
            conn.commit()
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in data.column_names)
            copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(sql.Identifier(TABLE), columns)

            def run() -> None:
                with conn.transaction(), conn.cursor() as cursor, cursor.copy(copy) as stream:
                    stream.set_types(PG_TYPES)
                    for batch in data.to_batches(max_chunksize=100_000):
                        for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                            stream.write_row(row)

            _, seconds = timed(run)
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(TABLE))).fetchone()[0]
            assert count == data.num_rows, (count, data.num_rows)
        return seconds
    finally:
        server.drop_database(name)


def ecommerce_postgres(scale: str | float) -> tuple[LoadReport | None, float | None, str | None]:
    """Generation + load + indexes + keys + ANALYZE of the ecommerce domain into a fresh PostgreSQL database.

    A failure is returned as its message (and printed), so the other figures of the run still come out.
    """
    engine = connect("postgres")
    try:
        report, seconds = timed(lambda: domain("ecommerce").load(engine, scale, seed=0, progress=False))
        return report, seconds, None
    except WorkbenchError as error:
        return None, None, f"{type(error).__name__}: {error}"
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ecommerce-scale", type=parse_scale, default="large")
    args = parser.parse_args()
    schema = bench_schema()
    generate(schema, 1000, progress=False)  # warm-up: imports, word lists
    dataset, gen_s = timed(lambda: generate(schema, args.rows, seed=0, progress=False))
    data = dataset[TABLE]
    rows = data.num_rows

    duck_report, duck_s = workbench_load("duckdb", schema, data)
    duck_base_s = duckdb_baseline(schema, data)
    pg_report, pg_s = workbench_load("postgres", schema, data)
    pg_base_s = copy_baseline(schema, data)
    eco_report, eco_s, eco_error = ecommerce_postgres(args.ecommerce_scale)

    duck_copy_s = sum(t.seconds for t in duck_report.tables)
    pg_copy_s = sum(t.seconds for t in pg_report.tables)
    lines = [
        ("generation", gen_s, rows, ""),
        ("generation + workbench load, duckdb", gen_s + duck_s, rows,
         f"load {duck_s:.2f} s, {duck_report.tables[0].method}"),
        ("  baseline INSERT ... SELECT arrow", duck_base_s, rows, ""),
        ("generation + workbench load, postgres", gen_s + pg_s, rows,
         f"load {pg_s:.2f} s, {pg_report.tables[0].method}"),
        ("  baseline COPY BINARY set_types", pg_base_s, rows, ""),
    ]
    if eco_report:
        lines.append((f"ecommerce {args.ecommerce_scale} -> postgres, end to end", eco_s, eco_report.rows,
                      f"{len(eco_report.tables)} tables, finish {eco_report.finish_seconds:.2f} s"))
    print(f"{'step':<48}{'seconds':>9}{'rows':>12}{'rows/s':>12}  note")
    for step, seconds, count, note in lines:
        print(f"{step:<48}{seconds:>9.2f}{count:>12,}{count / seconds:>12,.0f}  {note}")
    print(f"duckdb_vs_arrow   = {duck_base_s / duck_s:.2f} (copy only {duck_base_s / duck_copy_s:.2f}; goal >= 0.9)")
    print(f"postgres_vs_copy  = {pg_base_s / pg_s:.2f} (copy only {pg_base_s / pg_copy_s:.2f}; goal >= 0.8)")
    if eco_report:
        print(f"ecommerce_postgres = {eco_s:.1f} s for {eco_report.rows:,} rows (goal < 60 s at 'large')")
    else:
        print(f"ecommerce {args.ecommerce_scale} -> postgres FAILED: {eco_error}")
    print(json.dumps({
        "rows": rows, "gen_s": round(gen_s, 3), "gen_rows_per_s": round(rows / gen_s),
        "duckdb_load_s": round(duck_s, 3), "duckdb_copy_s": round(duck_copy_s, 3),
        "duckdb_gen_load_s": round(gen_s + duck_s, 3), "duckdb_gen_load_rows_per_s": round(rows / (gen_s + duck_s)),
        "duckdb_arrow_baseline_s": round(duck_base_s, 3), "duckdb_vs_arrow": round(duck_base_s / duck_s, 3),
        "duckdb_vs_arrow_copy_only": round(duck_base_s / duck_copy_s, 3),
        "postgres_load_s": round(pg_s, 3), "postgres_copy_s": round(pg_copy_s, 3),
        "postgres_gen_load_s": round(gen_s + pg_s, 3), "postgres_gen_load_rows_per_s": round(rows / (gen_s + pg_s)),
        "postgres_copy_baseline_s": round(pg_base_s, 3), "postgres_vs_copy": round(pg_base_s / pg_s, 3),
        "postgres_vs_copy_copy_only": round(pg_base_s / pg_copy_s, 3),
        "ecommerce_scale": args.ecommerce_scale, "ecommerce_rows": eco_report.rows if eco_report else None,
        "ecommerce_1m_postgres_s": round(eco_s, 3) if eco_s else None,
        "ecommerce_finish_s": round(eco_report.finish_seconds, 3) if eco_report else None,
        "ecommerce_error": eco_error,
        "python": platform.python_version(), "machine": platform.machine(),
    }))


if __name__ == "__main__":
    main()
