"""A study's out directory, written as the study runs so that an interruption loses nothing.

Executions go to ``executions/part-NNNNN.parquet`` (one file per flush, written to a temporary name and
renamed, so a part is whole or absent); ``results.parquet`` consolidates them without duplicates (key:
engine, variant, query, phase, repetition, draw). The other tables follow
:data:`TABLES`; ``meta.json`` holds ``Study.config()``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.errors import WorkbenchError

KEY = ("engine", "variant", "query", "phase", "repetition", "draw")
EXECUTIONS = pa.schema([
    ("study", pa.string()), ("engine", pa.string()), ("variant", pa.string()), ("query", pa.string()),
    ("phase", pa.string()), ("repetition", pa.int64()), ("draw", pa.int64()), ("latency_ms", pa.float64()),
    ("status", pa.string()), ("rows", pa.int64()), ("checksum", pa.string()), ("error", pa.string()),
    ("params", pa.string()), ("scale", pa.string()), ("seed", pa.int64()), ("started_at", pa.timestamp("us", "UTC")),
])
TABLES = {
    "variants": pa.schema([
        ("engine", pa.string()), ("variant", pa.string()), ("status", pa.string()), ("error", pa.string()),
        ("setup_s", pa.float64()), ("build_s", pa.float64()), ("table_bytes", pa.int64()),
        ("index_bytes", pa.int64()), ("insert_rows_per_s", pa.float64()), ("partitions", pa.int64()),
        ("ddl", pa.string()),
    ]),
    "plans": pa.schema([
        ("engine", pa.string()), ("variant", pa.string()), ("query", pa.string()), ("planning_ms", pa.float64()),
        ("execution_ms", pa.float64()), ("indexes_used", pa.string()), ("summary", pa.string()),
        ("plan_json", pa.string()),
    ]),
    "server": pa.schema([
        ("engine", pa.string()), ("variant", pa.string()), ("query", pa.string()), ("calls", pa.int64()),
        ("mean_exec_ms", pa.float64()), ("mean_plan_ms", pa.float64()),
    ]),
}
_OWN_FILES = ("results.parquet", "meta.json", "partitions.parquet", "retention.parquet",
              *(f"{name}.parquet" for name in TABLES))


class Store:
    """The out directory of one study run.

    ``resume=True`` keeps what an earlier run wrote there; otherwise a folder holding an earlier run's results
    is refused (they are never discarded silently) unless ``overwrite=True`` says to discard them.
    """

    def __init__(self, out: Path, *, resume: bool = False, overwrite: bool = False):
        self.out = Path(out)
        self.parts = self.out / "executions"
        if self.out.exists() and not self.out.is_dir():
            raise WorkbenchError(f"{self.out}: this is a file, not a folder; give --out a folder for the results")
        if not resume:
            if not overwrite and (earlier := self._earlier()):
                raise WorkbenchError(f"{self.out} holds the results of an earlier run ({earlier}); complete it with "
                                     f"--resume (resume=True), write to another --out folder, or remove this one")
            self._clear()
        self.parts.mkdir(parents=True, exist_ok=True)
        self._buffer: list[dict[str, Any]] = []
        self._number = len(self._part_files())
        self.done: set[tuple] = set(_keys(self._read_parts()))

    def seen(self, key: tuple) -> bool:
        return key in self.done

    def add(self, row: dict[str, Any]) -> None:
        key = tuple(row[k] for k in KEY)
        if key in self.done:
            raise WorkbenchError(f"execution {dict(zip(KEY, key, strict=True))} is already recorded; "
                                 f"the runner must skip what a resumed run holds")
        self.done.add(key)
        self._buffer.append(row)

    def flush(self) -> None:
        """Write the buffered executions as the next part file (whole or not at all)."""
        if not self._buffer:
            return
        table = pa.Table.from_pylist(self._buffer, schema=EXECUTIONS)
        _write(table, self.parts / f"part-{self._number:05d}.parquet")
        self._number += 1
        self._buffer = []

    def consolidate(self) -> pa.Table:
        """All parts as one table in execution order, duplicates dropped, written to ``results.parquet``."""
        self.flush()
        table = self._read_parts()
        first: dict[tuple, int] = {}
        for position, key in enumerate(_keys(table)):
            first.setdefault(key, position)
        table = table.take(pa.array(sorted(first.values()), type=pa.int64()))
        _write(table, self.out / "results.parquet")
        return table

    def write_table(self, name: str, rows: Iterable[dict[str, Any]]) -> None:
        """``variants``, ``plans`` or ``server``.parquet from row dicts, in the columns of the contract."""
        schema = TABLES[name]
        _write(pa.Table.from_pylist(list(rows), schema=schema), self.out / f"{name}.parquet")

    def write_frame(self, name: str, frame: pd.DataFrame) -> None:
        """An extra table a study kind writes (e.g. ``partitions``, ``retention``), as the frame holds it."""
        _write(pa.Table.from_pandas(frame, preserve_index=False), self.out / f"{name}.parquet")

    def read_meta(self) -> dict[str, Any]:
        path = self.out / "meta.json"
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, ValueError) as error:
            raise WorkbenchError(f"{path}: cannot be read ({error}); remove the folder or use another --out") from None

    def write_meta(self, meta: dict[str, Any]) -> None:
        path = self.out / "meta.json"
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        os.replace(temporary, path)

    def _part_files(self) -> list[Path]:
        return sorted(self.parts.glob("part-*.parquet"))

    def _read_parts(self) -> pa.Table:
        files = self._part_files()
        if not files:
            return EXECUTIONS.empty_table()
        return pa.concat_tables([pq.read_table(f, schema=EXECUTIONS) for f in files])

    def _earlier(self) -> str | None:
        """What an earlier run measured in the folder, in a few words, or None when it measured nothing."""
        parts = self._part_files() if self.parts.is_dir() else []
        results = self.out / "results.parquet"
        try:
            executions = sum(pq.ParquetFile(part).metadata.num_rows for part in parts) or (
                pq.ParquetFile(results).metadata.num_rows if results.is_file() else 0)
        except (OSError, pa.ArrowException):
            return "files of an earlier run that cannot be read"
        if not executions:  # a run that stopped before measuring anything: nothing to lose
            return None
        meta = self.read_meta()
        state = "complete" if meta.get("complete") else "not complete"
        return f"study {meta.get('name', '?')!r}, {executions:,} executions, {state}"

    def _clear(self) -> None:
        """Forget an earlier run in this folder: only the files a study writes are removed."""
        for part in self._part_files() if self.parts.is_dir() else []:
            part.unlink()
        for name in _OWN_FILES:
            (self.out / name).unlink(missing_ok=True)


def now() -> datetime:
    return datetime.now(UTC)


def _keys(table: pa.Table) -> list[tuple]:
    return list(zip(*(table[k].to_pylist() for k in KEY), strict=True))


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)
