"""Seconds to import each corpus schema and a generated 400-table pg_dump-style file.

Prints a table, then one JSON line with at least ``pagila_s`` and ``tables400_s``.
Goals (issue 2): Pagila under 0.5 s, 400 tables under 2 s.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from workbench.ddl import import_ddl

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
DIALECTS = {"mysql": "mysql", "sqlite": "sqlite", "tpch": ""}


def dump_of(tables: int, seed: int = 0) -> str:
    """A pg_dump-style file: tables, then ALTER TABLE ONLY keys and foreign keys, then indexes."""
    rng = random.Random(seed)
    parts, keys, fks, indexes = [], [], [], []
    for t in range(tables):
        columns = [f"    id_{t} bigint NOT NULL", "    name text NOT NULL", "    created_at timestamp with time zone"]
        columns += [f"    c{c} character varying({rng.randint(8, 200)})" for c in range(rng.randint(2, 8))]
        parent = rng.randrange(t) if t else None
        if parent is not None:
            columns.append(f"    parent_{parent} bigint")
            fks.append(f"ALTER TABLE ONLY public.t{t}\n    ADD CONSTRAINT t{t}_fk FOREIGN KEY (parent_{parent}) "
                       f"REFERENCES public.t{parent}(id_{parent});")
            indexes.append(f"CREATE INDEX t{t}_parent_idx ON public.t{t} USING btree (parent_{parent});")
        parts.append(f"CREATE TABLE public.t{t} (\n" + ",\n".join(columns) + "\n);")
        keys.append(f"ALTER TABLE ONLY public.t{t}\n    ADD CONSTRAINT t{t}_pkey PRIMARY KEY (id_{t});")
    return "\n\n".join(["SET statement_timeout = 0;", *parts, *keys, *indexes, *fks]) + "\n"


def seconds(text: str, dialect: str, file: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = import_ddl(text, dialect, file=file)
        best = min(best, time.perf_counter() - start)
    if result.report.errors:
        raise SystemExit(f"{file}: {len(result.report.errors)} statements failed to import")
    return best


def main() -> None:
    figures: dict[str, float] = {}
    for path in sorted(CORPUS.glob("*/*.sql")) if CORPUS.is_dir() else []:
        if "fkindexes" in path.name or path.parent.name == "workloads":
            continue
        dialect = next((d for key, d in DIALECTS.items() if key in path.name), "postgres")
        figures[path.stem.replace(".", "_") + "_s"] = seconds(path.read_text(encoding="utf-8-sig"), dialect, str(path))
    figures["tables400_s"] = seconds(dump_of(400), "postgres", "generated-400-tables.sql")
    figures["pagila_s"] = figures.get("pagila_schema_s", float("nan"))
    for key, value in figures.items():
        print(f"{key:40s} {value:8.3f}")
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
