"""The CI gate: queries slower than in an earlier run, re-checked with fresh repetitions before they count.

BENCHMARKING.md rule 9: drift between runs (other processes, CPU frequency, cache state) can make a whole run
look slower beyond its own noise. So every flagged variant and query runs again on a fresh copy of the data
(the same variant, the same parameter draws, new repetitions), and only a query still slower in that run
fails the gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from pyarrow import ArrowException

from workbench.bench.results import Results
from workbench.bench.runner import engine_name
from workbench.errors import WorkbenchError

KEYS = ["engine", "variant", "query"]


def earlier_run(path: str | Path) -> Results:
    """An earlier run to compare with: its out directory or its ``results.parquet``."""
    path = Path(path)
    try:
        if path.is_file() and path.suffix == ".parquet":
            return Results(pd.read_parquet(path))
        if path.is_dir():
            return Results.load(path)
    except (OSError, ValueError, ArrowException) as error:  # not a study's results after all
        raise WorkbenchError(f"baseline {str(path)!r} cannot be read as study results ({error}); give an earlier "
                             f"run's out directory or its results.parquet") from None
    raise WorkbenchError(f"baseline {str(path)!r}: give an earlier run's out directory or its results.parquet")


def flagged(results: Results, old: Results, threshold: float) -> pd.DataFrame:
    """The regressions of ``results`` against ``old`` (see ``stats.regressions``): the rows that regressed."""
    table = results.regressions(old, threshold)
    return table[table["regressed"]].reset_index(drop=True)


def recheck(study: Any, old: Results, suspects: pd.DataFrame, out: str | Path, *, threshold: float,
            progress: bool = True) -> pd.DataFrame:
    """Run the ``suspects`` (rows of :func:`flagged`) of ``study`` again into ``out`` and compare them with ``old``.

    Only the flagged variants, queries and engines run, measured as before (cold, warm-up, the study's
    repetitions over the same seeded draws); returns their regression rows, ``regressed`` saying whether each
    is still slower.
    """
    if suspects.empty:
        return suspects
    wanted = set(zip(*(suspects[k] for k in KEYS), strict=True))
    names = set(suspects["variant"])
    narrowed = study.with_options(
        variants=tuple(v for v in study.variants if v.name in names),
        engines=tuple(t for t in study.engines if engine_name(t) in set(suspects["engine"])),
        queries=tuple(dict.fromkeys(suspects["query"])), baseline=None, insert_rows=0)
    again = narrowed.run(out, progress=progress, report=False, measure_only=True, overwrite=True)  # ours to redo
    table = again.regressions(old, threshold)
    keep = [key in wanted for key in zip(*(table[k] for k in KEYS), strict=True)]
    return table[keep].reset_index(drop=True)
