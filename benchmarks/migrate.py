"""How fast schema evolution runs: diff + plan of two 400-table schemas, and diff + plan + verify of Synapse.

``diff400_s``: two generated 400-table schemas differing by 40 changes (columns added, dropped, renamed,
retyped, made NOT NULL; indexes, tables and foreign keys added and dropped), diffed and planned (up and
down) with ``plan_migration``; median of 5 runs after one warm-up (goal < 1 s).
``synapse_verify_s``: Synapse's schema v54 -> v72 from ../shared/corpus/evolution, imported, diffed,
planned and verified (up and down on fresh databases of the embedded PostgreSQL, catalogs compared);
median of 3 runs (goal < 30 s). The last line is one JSON object.

    WORKBENCH_PGDATA=... .venv/bin/python benchmarks/migrate.py
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from workbench.ddl import import_ddl
from workbench.engines import connect
from workbench.migrate import plan_migration
from workbench.schema.model import Column, ForeignKey, Index, IndexElement, PrimaryKey, Schema, Table
from workbench.schema.synthetic import synthetic_schema

EVOLUTION = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "evolution"


def evolved(schema: Schema, seed: int = 11) -> Schema:
    """``schema`` with 40 changes spread over tables nobody references (so drops stay simple)."""
    rng = random.Random(seed)
    referenced = {fk.ref_table for t in schema.tables for fk in t.foreign_keys}
    tables = {t.key: t for t in schema.tables}
    leaves = [key for key in tables if key not in referenced]
    chosen = iter(rng.sample(leaves, 40))

    def edit(change) -> None:
        key = next(chosen)
        tables[key] = change(tables[key])

    for n in range(8):
        edit(lambda t, n=n: replace(t, columns=(*t.columns, Column(f"added{n}", "text"))))
    for _ in range(6):
        edit(lambda t: replace(t, columns=t.columns[:1] + t.columns[2:]) if not t.columns[1].name.startswith("ref")
             else t)
    for _ in range(6):
        edit(lambda t: replace(t, columns=(t.columns[0], replace(t.columns[1], type="varchar(200)"), *t.columns[2:])))
    for _ in range(5):
        edit(lambda t: replace(t, indexes=(*t.indexes, Index(f"{t.name}_attr0_idx", (IndexElement("attr0"),)))))
    for _ in range(4):
        edit(lambda t: replace(t, columns=(t.columns[0], replace(t.columns[1], name=f"{t.columns[1].name}_renamed"),
                                           *t.columns[2:])))
    for _ in range(3):
        edit(lambda t: replace(t, columns=(t.columns[0], replace(t.columns[1], nullable=False), *t.columns[2:])))
    for _ in range(3):
        key = next(chosen)
        del tables[key]
    for _ in range(2):
        edit(lambda t: replace(t, columns=(*t.columns, Column("ref_extra", "bigint")),
                               foreign_keys=(*t.foreign_keys, ForeignKey(("ref_extra",), "t0000", ("id",)))))
    for n in range(3):
        created = Table(f"new{n}", columns=(Column("id", "bigint", nullable=False), Column("body", "text")),
                        primary_key=PrimaryKey(("id",)))
        tables[created.key] = created
    return schema.with_tables(tuple(tables.values()))


def diff400() -> tuple[float, int, int]:
    old = synthetic_schema(400, 1.0, seed=3)
    new = evolved(old)
    plan_migration(old, new)  # warm-up: caches of parsed types and expressions
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        migration = plan_migration(old, new)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), len(migration.diff.changes), len(migration.up)


def synapse() -> tuple[float, int, int, int]:
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        migration = plan_migration(import_ddl(EVOLUTION / "synapse_main_full_v54.postgres.sql"),
                                   import_ddl(EVOLUTION / "synapse_main_full_v72.postgres.sql"))
        with connect("postgres") as engine:
            result = migration.verify(engine, progress=False)
        runs.append(time.perf_counter() - started)
        if not result.ok:
            raise SystemExit("synapse verify found differences:\n" + "\n".join(result.all_differences))
    return statistics.median(runs), len(migration.diff.changes), len(migration.up), len(migration.down)


def main() -> None:
    print(f"load average: {os.getloadavg()[0]:.2f} (shared machine: figures are noisy)")
    seconds, changes, statements = diff400()
    print(f"diff + plan, 400 tables, {changes} changes found, {statements} up statements: {seconds:.3f} s "
          f"(median of 5)")
    figures = {"diff400_s": round(seconds, 3), "diff400_changes": changes}
    if EVOLUTION.is_dir():
        seconds, changes, up, down = synapse()
        print(f"Synapse v54 -> v72: {changes} changes, {up} up / {down} down statements, diff + plan + verify "
              f"{seconds:.2f} s (median of 3, embedded PostgreSQL)")
        figures["synapse_verify_s"] = round(seconds, 2)
    else:
        print(f"{EVOLUTION} not found: Synapse figure skipped")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
