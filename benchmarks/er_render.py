"""How long an ER diagram of a large schema takes to draw, sparse and hub-heavy.

Schemas of 30, 300 and 1000 tables: sparse (about 1.3 foreign keys per table) and hub-heavy
(3 per table, 40% of them to 10 hub tables). Each is drawn to SVG with the default settings;
the table shows seconds, the layout used and the fallbacks taken; the last line is one JSON object.

    .venv/bin/python benchmarks/er_render.py [--sizes 30 300 1000] [--time-limit 20]
"""

from __future__ import annotations

import argparse
import json
import time

from workbench.diagram import er_diagram
from workbench.diagram.renderer import find_renderer
from workbench.schema.synthetic import synthetic_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 300, 1000])
    parser.add_argument("--time-limit", type=float, default=20.0)
    args = parser.parse_args()
    print(f"renderer: {find_renderer().name} ({find_renderer().path})")
    figures: dict[str, float] = {}
    print(f"{'schema':<14}{'tables':>7}{'fks':>6}{'seconds':>9}  layout / fallbacks")
    for size in args.sizes:
        for kind, fks, hubs in (("sparse", 1.3, 0.0), ("dense", 3.0, 0.4)):
            schema = synthetic_schema(size, fks, hubs)
            started = time.perf_counter()
            diagram = er_diagram(schema, time_limit=args.time_limit)
            svg = diagram.svg()
            seconds = time.perf_counter() - started
            figures[f"{kind}{size}_s"] = round(seconds, 3)
            fk_count = sum(len(t.foreign_keys) for t in schema)
            print(f"{kind + str(size):<14}{size:>7}{fk_count:>6}{seconds:>9.2f}  {diagram.layout_used}"
                  f" ({len(svg) // 1024} KiB)")
            for fallback in diagram.fallbacks:
                print(f"{'':<38}{fallback}")
    figures["max_s"] = max(figures.values())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
