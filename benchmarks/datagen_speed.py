"""Generation speed of a 6-column table (int id, name, email, price, created_at, status): one JSON line."""

from __future__ import annotations

import json
import platform
import sys
import time

from workbench.datagen import generate
from workbench.schema.builder import SchemaBuilder
from workbench.schema.model import Column, PrimaryKey

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
REPEATS = 3


def schema():
    builder = SchemaBuilder(dialect="postgres")
    table = builder.add_table("customers", "public")
    table.columns += [Column("customer_id", "bigint", False), Column("name", "text", False),
                      Column("email", "character varying(254)", False), Column("price", "numeric(10,2)", False),
                      Column("created_at", "timestamp with time zone", False), Column("status", "text", False)]
    table.primary_key = PrimaryKey(("customer_id",))
    return builder.build()


def main() -> None:
    model = schema()
    generate(model, 1000, progress=False)  # warm-up: imports, word lists
    timings = []
    for repeat in range(REPEATS):
        start = time.perf_counter()
        generate(model, ROWS, seed=repeat, progress=False)
        timings.append(time.perf_counter() - start)
    best = min(timings)
    print(json.dumps({"rows": ROWS, "columns": 6, "seconds": [round(t, 3) for t in timings],
                      "gen_rows_per_s": round(ROWS / best), "python": platform.python_version(),
                      "machine": platform.machine()}))


if __name__ == "__main__":
    main()
