"""Scale: memory and speed of streamed loads, the embedded server against pgbench -i, shards that add up.

Measures, in one run (each load in a fresh subprocess, so its peak resident memory is its own):
1. ``timeseries`` into a DuckDB file at 10M and 50M readings (``--readings``): peak RSS of the whole
   process (``rss_10m_gib``, ``rss_50m_gib``) and rows/s of generation + load (``rows_per_s_50m_vs_10m``).
2. ``ecommerce`` at ``large`` into the embedded PostgreSQL end to end: generation, COPY, indexes, keys,
   ANALYZE (``ecommerce_large_postgres_s``, as loads run by default: one connection per core;
   ``ecommerce_large_postgres_serial_s`` with ``jobs=1``); its serial COPY
   rate in MB/s of table data against ``pgbench -i``'s (client-side generate) on the same server, interleaved
   in ``--rounds`` rounds (``vs_pgbench_init``, medians; ``vs_pgbench_init_rows`` compares rows/s, since
   most of pgbench's table bytes are ``char(84)`` padding the server adds to an empty field). Like for like,
   ``vs_pgbench_init_same_table``: pgbench's own ``pgbench_accounts`` (same columns, same values, same rows)
   loaded by the workbench from Arrow columns, against ``pgbench -i``, MB/s of table data. And the server's
   own speed on ecommerce's data: the same COPY data encoded beforehand and only sent, table by table
   (``ecommerce_server_only_mb_per_s``); ``vs_server_only`` is the workbench's serial COPY rate against it.
3. ``shard_union_equal``: 4 shards of ecommerce at ``--shard-scale`` written as Parquet, their union read
   back and compared with the unsharded stream by a per-table checksum of every batch in order.
4. ``generate --jobs 2`` against ``--jobs 1`` on timeseries at ``--jobs-readings`` (``jobs2_speedup``), and the
   Parquet folder ``--jobs 2`` wrote loaded into the embedded PostgreSQL with ``jobs=2`` (its readings in two
   parts, one COPY each, at once) against ``jobs=1``: ``parquet_load_jobs2_speedup`` end to end and
   ``parquet_copy_jobs2_speedup`` for the copies alone (medians of ``--rounds`` interleaved rounds).
Prints the figures, the load average, then one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from psycopg import sql

from workbench.datagen.blocks import Shard
from workbench.datagen.parquet import read_parquet, write_parquet
from workbench.ddl import import_ddl
from workbench.domains import domain
from workbench.engines import connect
from workbench.engines.base import record_batches
from workbench.engines.copy import copy_format
from workbench.engines.pgserver import embedded_server


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "n/a"


def child(kind: str, argument: str) -> None:
    """One measurement in this (fresh) process; prints a JSON line with its figures and peak RSS."""
    started = time.perf_counter()
    if kind == "timeseries-duckdb":
        readings = int(float(argument))
        model = domain("timeseries")
        scale = readings / 10_000_000  # readings has 10M rows at multiplier 1.0
        with (tempfile.TemporaryDirectory(prefix="scale-bench-") as folder,
              connect(f"duckdb:{folder}/timeseries.duckdb") as engine):
            report = engine.load(model.schema, model.stream(scale, seed=0), progress=False)
        figures = {"rows": report.rows, "copy_s": round(report.copy_seconds, 2),
                   "finish_s": round(report.finish_seconds, 2),
                   "notes": [f"{note.object}: {note.message}" for note in report.notes]}
    elif kind == "ecommerce-postgres":
        scale, jobs = argument.split(":")
        with connect("postgres") as engine:
            report = domain("ecommerce").load(engine, scale, seed=0, progress=False,
                                              jobs=None if jobs == "default" else int(jobs))
            table_bytes = int(engine.table_sizes()["table_bytes"].sum())
        copy_s = report.copy_seconds
        figures = {"rows": report.rows, "copy_s": round(copy_s, 2), "finish_s": round(report.finish_seconds, 2),
                   "table_mb": round(table_bytes / 1e6, 1), "mb_per_s": round(table_bytes / 1e6 / copy_s, 1)}
    elif kind == "ecommerce-server-only":
        model = domain("ecommerce")
        with (connect("postgres") as engine, engine.server.connect(engine.database) as connection,
              tempfile.TemporaryDirectory(prefix="scale-bench-") as folder):
            engine.create_schema(model.schema, constraints=False)  # as a load creates them: keys come after
            places, server_s, encoded = engine.places(model.schema), 0.0, Path(folder) / "table.copy"
            for key, table in model.stream(argument, seed=0).items():
                name = places[key].sql("postgres")
                form = copy_format(engine._column_types(name, table.schema.names, connection), table.schema)
                with encoded.open("wb") as out:  # the same COPY data the workbench sends, encoded beforehand
                    out.write(form.header())
                    for batch in record_batches(table):
                        out.writelines(form.buffers(batch))
                    out.write(form.trailer())
                copying = time.perf_counter()
                with connection.transaction(), connection.cursor() as cursor, encoded.open("rb") as source:
                    cursor.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(name)))
                    with cursor.copy(form.statement(sql.SQL(name), table.schema.names, freeze=True)) as stream:
                        while chunk := source.read(1 << 20):
                            stream.write(chunk)
                server_s += time.perf_counter() - copying
            table_bytes = int(engine.table_sizes()["table_bytes"].sum())
        figures = {"copy_s": round(server_s, 2), "mb_per_s": round(table_bytes / 1e6 / server_s, 1)}
    elif kind == "pgbench-accounts-postgres":
        rows = int(argument) * 100_000
        aid = np.arange(1, rows + 1, dtype=np.int32)
        accounts = pa.table({"aid": aid, "bid": (aid - 1) // 100_000 + 1, "abalance": np.zeros(rows, np.int32),
                             "filler": pa.repeat("", rows)})  # what pgbench -i sends: the server pads the filler
        with connect("postgres") as engine:
            report = engine.load(import_ddl(PGBENCH_ACCOUNTS).schema, {"pgbench_accounts": accounts}, progress=False)
            table_bytes = int(engine.table_sizes()["table_bytes"].sum())
        copy_s = report.tables[0].seconds
        figures = {"rows": rows, "copy_s": round(copy_s, 2), "mb_per_s": round(table_bytes / 1e6 / copy_s, 1)}
    elif kind == "parquet-postgres":
        folder, jobs = argument.rsplit(":", 1)
        model = domain("timeseries")
        with connect("postgres") as engine:
            report = engine.load(model.schema, read_parquet(folder, model.schema), progress=False, jobs=int(jobs))
        figures = {"rows": report.rows, "finish_s": round(report.finish_seconds, 2),
                   "copy_s": round(report.copy_seconds, 2),
                   "methods": sorted({t.method for t in report.tables})}
    elif kind == "generate-jobs":
        jobs, readings = argument.split(":")
        model = domain("timeseries")
        with tempfile.TemporaryDirectory(prefix="scale-bench-") as folder:
            write_parquet(model.stream(int(float(readings)) / 10_000_000, seed=0), folder, dataset="timeseries",
                          scale=None, jobs=int(jobs), progress=False)
        figures = {"rows": int(float(readings))}
    else:
        raise SystemExit(f"unknown measurement {kind}")
    figures["seconds"] = round(time.perf_counter() - started, 2)
    figures["rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)  # kB on Linux
    print(json.dumps(figures))


PGBENCH_ACCOUNTS = "CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84))"


def measure(kind: str, argument: str) -> dict:
    """Run :func:`child` in a fresh interpreter; its own peak RSS (children's servers not included)."""
    done = subprocess.run([sys.executable, __file__, "--child", kind, argument], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode:
        raise SystemExit(f"{kind} {argument} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def pgbench_rate(scale: int) -> tuple[float, float]:
    """(MB/s of table data, rows/s) ``pgbench -i`` writes in its client-side generate, on the embedded server."""
    server = embedded_server()
    info = server._handle.get_postmaster_info()
    name = server.create_database("pgbench")
    try:
        env = {**os.environ, "PGHOST": str(info.socket_dir), "PGPORT": str(info.port), "PGUSER": "postgres"}
        done = subprocess.run([str(server.bin_dir / "pgbench"), "-i", "-s", str(scale), "-q", name], env=env,
                              capture_output=True, text=True, check=True)
        seconds = float(re.search(r"client-side generate ([\d.]+) s", done.stderr).group(1))
        with server.connect(name) as connection:
            size = connection.execute("SELECT sum(pg_table_size(oid)) FROM pg_class WHERE relkind = 'r' AND "
                                      "relname LIKE 'pgbench%'").fetchone()[0]
        return float(size) / 1e6 / seconds, scale * 100_000 / seconds
    finally:
        server.drop_database(name)


def checksums(tables, window: int = 200_000) -> dict[str, str]:
    """sha256 of every table's per-row value hashes, in row order (batch sizes and buffer layouts do not matter)."""
    found = {}
    for key, table in tables.items():
        digest, pending = hashlib.sha256(), []
        for batch in table:
            pending.append(batch)
            held = pa.Table.from_batches(pending, table.schema)
            while held.num_rows >= window:
                digest.update(_row_hashes(held.slice(0, window)))
                held = held.slice(window)
            pending = held.to_batches()
        digest.update(_row_hashes(pa.Table.from_batches(pending, table.schema)))
        found[key] = digest.hexdigest()
    return found


def _row_hashes(rows: pa.Table) -> bytes:
    return pd.util.hash_pandas_object(rows.to_pandas(), index=False).to_numpy().tobytes()


def shard_union_equal(scale: float) -> tuple[bool, int]:
    model = domain("ecommerce")
    folder = Path(tempfile.mkdtemp(prefix="scale-shards-"))
    try:
        for index in range(4):
            write_parquet(model.stream(scale, seed=1, shard=Shard(index, 4)), folder, dataset="ecommerce",
                          scale=scale, progress=False)
        union = read_parquet(folder, model.schema)
        whole = model.stream(scale, seed=1)
        rows = sum(union.row_counts().values())
        return checksums(union) == checksums(whole), rows
    finally:
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("KIND", "ARGUMENT"), help=argparse.SUPPRESS)
    parser.add_argument("--readings", default="10e6,50e6,100e6", help="timeseries sizes into DuckDB, comma separated")
    parser.add_argument("--ecommerce-scale", default="large")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of ecommerce vs pgbench -i")
    parser.add_argument("--pgbench-scale", type=int, default=20)
    parser.add_argument("--shard-scale", type=float, default=1.2)
    parser.add_argument("--jobs-readings", default="10e6")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {loadavg()} at start")
    results: dict = {"python": platform.python_version(), "machine": platform.machine(), "cores": os.cpu_count()}

    duck = {}
    for readings in args.readings.split(","):
        figures = measure("timeseries-duckdb", readings)
        duck[int(float(readings))] = figures
        print(f"timeseries {int(float(readings)):>12,} readings -> duckdb file: {figures['seconds']:7.1f} s, "
              f"{figures['rows'] / figures['seconds']:>10,.0f} rows/s, peak RSS {figures['rss_gib']:.2f} GiB "
              f"(load average {loadavg()})")
    for readings, figures in duck.items():
        results[f"rss_{readings // 1_000_000}m_gib"] = figures["rss_gib"]
        results[f"rows_per_s_{readings // 1_000_000}m"] = round(figures["rows"] / figures["seconds"])
    if 10_000_000 in duck and 50_000_000 in duck:
        results["rows_per_s_50m_vs_10m"] = round(results["rows_per_s_50m"] / results["rows_per_s_10m"], 3)
    results["duckdb_notes"] = next(iter(duck.values()))["notes"] if duck else []

    ours, rows_per_s, theirs, their_rows, totals, parallel, same_table, server = [], [], [], [], [], [], [], []
    for _ in range(args.rounds):  # interleaved: pgbench, its table by us, the server alone, ours serial and default
        mb_per_s, pgbench_rows = pgbench_rate(args.pgbench_scale)
        theirs.append(mb_per_s)
        their_rows.append(pgbench_rows)
        same_table.append(measure("pgbench-accounts-postgres", str(args.pgbench_scale))["mb_per_s"])
        server.append(measure("ecommerce-server-only", args.ecommerce_scale)["mb_per_s"])
        figures = measure("ecommerce-postgres", f"{args.ecommerce_scale}:1")
        ours.append(figures["mb_per_s"])
        rows_per_s.append(figures["rows"] / figures["copy_s"])
        totals.append(figures["seconds"])
        parallel.append(measure("ecommerce-postgres", f"{args.ecommerce_scale}:default")["seconds"])
        print(f"ecommerce {args.ecommerce_scale} -> embedded postgres: {parallel[-1]:.1f} s end to end by default "
              f"(one connection per core); serially (--jobs 1) {figures['seconds']:.1f} s (copy {figures['copy_s']} s, "
              f"finish {figures['finish_s']} s, {figures['table_mb']} MB of tables, "
              f"{figures['mb_per_s']} MB/s, {rows_per_s[-1]:,.0f} rows/s); "
              f"pgbench -i -s {args.pgbench_scale}: {mb_per_s:.1f} MB/s, {pgbench_rows:,.0f} rows/s; its "
              f"pgbench_accounts loaded by the workbench: {same_table[-1]} MB/s; the server alone on ecommerce's "
              f"COPY data: {server[-1]} MB/s (load average {loadavg()})")
    results["ecommerce_large_postgres_s"] = round(statistics.median(parallel), 2)
    results["ecommerce_large_postgres_serial_s"] = round(statistics.median(totals), 2)
    results["ecommerce_copy_mb_per_s"] = round(statistics.median(ours), 1)
    results["pgbench_init_mb_per_s"] = round(statistics.median(theirs), 1)
    results["vs_pgbench_init"] = round(statistics.median(ours) / statistics.median(theirs), 3)
    results["pgbench_accounts_by_workbench_mb_per_s"] = round(statistics.median(same_table), 1)
    results["vs_pgbench_init_same_table"] = round(statistics.median(same_table) / statistics.median(theirs), 3)
    results["ecommerce_server_only_mb_per_s"] = round(statistics.median(server), 1)
    results["vs_server_only"] = round(statistics.median(ours) / statistics.median(server), 3)
    results["vs_pgbench_init_rows"] = round(statistics.median(rows_per_s) / statistics.median(their_rows), 3)

    equal, rows = shard_union_equal(args.shard_scale)
    results["shard_union_equal"] = equal
    print(f"4 shards of ecommerce at scale {args.shard_scale} ({rows:,} rows) == unsharded: {equal}")

    seconds = {}
    for jobs in (1, 2):
        seconds[jobs] = measure("generate-jobs", f"{jobs}:{args.jobs_readings}")["seconds"]
        print(f"generate timeseries {args.jobs_readings} readings as Parquet, --jobs {jobs}: {seconds[jobs]:.1f} s "
              f"(load average {loadavg()})")
    results["jobs2_speedup"] = round(seconds[1] / seconds[2], 2)

    folder = Path(tempfile.mkdtemp(prefix="scale-parquet-"))
    try:
        write_parquet(domain("timeseries").stream(float(args.jobs_readings) / 10_000_000, seed=0), folder,
                      dataset="timeseries", scale=None, jobs=2, progress=False)
        loads: dict[int, list[dict]] = {1: [], 2: []}
        for _ in range(args.rounds):
            for jobs in (1, 2):
                loads[jobs].append(figures := measure("parquet-postgres", f"{folder}:{jobs}"))
                methods = ", ".join(figures["methods"])
                print(f"load that Parquet folder into embedded postgres, jobs={jobs}: {figures['seconds']:.1f} s "
                      f"(copies {figures['copy_s']} s, finish {figures['finish_s']} s, {methods}; "
                      f"load average {loadavg()})")
    finally:
        shutil.rmtree(folder)
    median = {jobs: {key: statistics.median(f[key] for f in runs) for key in ("seconds", "copy_s")}
              for jobs, runs in loads.items()}
    results["parquet_load_jobs2_speedup"] = round(median[1]["seconds"] / median[2]["seconds"], 2)
    results["parquet_copy_jobs2_speedup"] = round(median[1]["copy_s"] / median[2]["copy_s"], 2)
    results["load_average_end"] = loadavg()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
