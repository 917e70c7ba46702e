"""How much the workbench's timing harness adds to a fast query, measured against pgbench.

A primary-key lookup ``SELECT * FROM t WHERE id = <literal>`` on a 100k-row table of the embedded
PostgreSQL: the median client latency of ``Engine.timed`` (with a statement timeout, as studies run it,
and without) against pgbench's average latency for the same statement. Like with like: both are clients
on the same unix socket, both send the statement as text with the literal in it over the simple query
protocol (pgbench's default ``-M simple``; ``timed`` sends the text alone through libpq's ``PQexec``, its
``statement_timeout`` set once before the clock), both receive every row before the clock stops.
Rounds interleave the sides. Prints figures, then one JSON line with ``ratio_vs_pgbench`` (workbench
median / pgbench average, the asked-for figure; goal <= 1.25) and ``ratio_median_vs_median`` (robust to
the outliers of a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

import pyarrow as pa
from psycopg.conninfo import conninfo_to_dict
from sqlglot import exp

from workbench.engines.postgres import PostgresEngine
from workbench.schema.sketch import sketch

TABLE = "t"
TIMEOUT_S = 10.0
_LATENCY = re.compile(r"latency average = ([0-9.]+) ms")


def lookups(count: int, rows: int, seed: int) -> list[str]:
    """The statement text for ``count`` random keys, built before any clock starts."""
    draw = random.Random(seed)
    return [exp.select("*").from_(TABLE).where(exp.column("id").eq(exp.Literal.number(draw.randint(1, rows))))
            .sql("postgres") for _ in range(count)]


def workbench_latencies(engine: PostgresEngine, statements: list[str], warmup: int,
                        timeout_s: float | None) -> list[float]:
    """Milliseconds of each ``timed`` lookup after the warm-up ones."""
    for text in statements[:warmup]:
        engine.timed(text, timeout_s=timeout_s)
    results = [engine.timed(text, timeout_s=timeout_s) for text in statements[warmup:]]
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} lookups failed, e.g. {failed[0]}")
    return [r.latency_ms for r in results]


def pgbench(engine: PostgresEngine, transactions: int, script: Path) -> tuple[float, list[float]]:
    """pgbench's ``latency average`` and its per-transaction latencies (``-l`` log), in milliseconds."""
    where = conninfo_to_dict(engine.server.url(engine.database))
    prefix = script.parent / f"log_{transactions}_{len(list(script.parent.iterdir()))}"
    command = [str(engine.server.bin_dir / "pgbench"), "-n", "-M", "simple", "-f", str(script),
               "-t", str(transactions), "-l", f"--log-prefix={prefix}", "-h", where["host"],
               "-p", str(where.get("port", 5432)), "-U", where["user"], engine.database]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=script.parent)
    found = _LATENCY.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"pgbench failed ({done.returncode}): {done.stderr.strip()}\n{done.stdout}")
    logged = [int(line.split()[2]) / 1000 for log in script.parent.glob(f"{prefix.name}.*")
              for line in log.read_text().splitlines()]
    return float(found.group(1)), logged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 lookups a side instead of 5,000")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    executions, rounds, warmup = (1_000, 4, 100) if args.quick else (5_000, 10, 200)
    per_round = executions // rounds

    s = sketch("harness")
    s.table(TABLE, id="int pk", payload="text not null")
    schema = s.build()
    data = pa.table({"id": pa.array(range(1, args.rows + 1), pa.int32()),
                     "payload": [f"row {i:08d} of the harness table" for i in range(1, args.rows + 1)]})
    with PostgresEngine.embedded() as engine, tempfile.TemporaryDirectory() as folder:
        engine.load(schema, {TABLE: data}, progress=False)
        engine.vacuum()
        script = Path(folder) / "lookup.sql"
        script.write_text(f"\\set id random(1, {args.rows})\nSELECT * FROM {TABLE} WHERE id = :id;\n")
        print(f"PostgreSQL {engine.version}, {args.rows:,} rows, {per_round * rounds:,} lookups a side in {rounds} "
              f"interleaved rounds (each after {warmup} warm-up); python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        pgbench(engine, warmup, script)  # warms the server's cache
        timed, plain, bench_logged, bench_averages = [], [], [], []
        for number in range(rounds):
            statements = lookups(warmup + per_round, args.rows, seed=number)
            timed += workbench_latencies(engine, statements, warmup, TIMEOUT_S)
            plain += workbench_latencies(engine, statements, warmup, None)
            average, logged = pgbench(engine, per_round, script)
            bench_averages.append(average)
            bench_logged += logged
        load = os.getloadavg()[0]
    figures = {
        "workbench_median_us": statistics.median(timed), "workbench_mean_us": statistics.fmean(timed),
        "workbench_median_no_timeout_us": statistics.median(plain),
        "pgbench_average_us": statistics.fmean(bench_averages), "pgbench_median_us": statistics.median(bench_logged),
    }
    figures = {key: round(value * 1000, 1) for key, value in figures.items()}
    for key, value in figures.items():
        print(f"  {key:32s} {value:8.1f}")
    ratio = figures["workbench_median_us"] / figures["pgbench_average_us"]
    by_median = figures["workbench_median_us"] / figures["pgbench_median_us"]
    print("like with like: all clients on the same unix socket, simple query protocol, the literal in the text, every "
          "row received before the clock stops; timed() converts rows to Python after it (for the checksum)")
    print(f"ratio_vs_pgbench (workbench median / pgbench average) = {ratio:.2f} (goal <= 1.25); "
          f"median / median = {by_median:.2f}; load average now {load:.1f}")
    print(json.dumps({
        "benchmark": "harness_overhead", "rows": args.rows, "executions": per_round * rounds, "rounds": rounds,
        **figures, "ratio_vs_pgbench": round(ratio, 3), "ratio_median_vs_median": round(by_median, 3),
        "protocol": "simple (both)", "load_average": round(load, 1),
    }))


if __name__ == "__main__":
    main()
