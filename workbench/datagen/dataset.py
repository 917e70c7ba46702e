"""The generated data: Arrow tables by table key, parents before children, with notes on what was done."""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from typing import TypeVar

import pyarrow as pa

SAMPLE_ROWS = 3
T = TypeVar("T")


class Tables(Mapping[str, T]):
    """Table key -> one table's data (anything with ``num_rows``), in generation order (parents first)."""

    def __init__(self, tables: dict[str, T]):
        self._tables = dict(tables)

    def __getitem__(self, key: str) -> T:
        return self._tables[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def row_counts(self) -> dict[str, int]:
        return {key: table.num_rows for key, table in self._tables.items()}


class Dataset(Tables[pa.Table]):
    """An ordered mapping of table key -> ``pyarrow.Table``; iteration yields parents before children."""

    def __init__(self, tables: dict[str, pa.Table], notes: list[str] | None = None, seed: int = 0):
        super().__init__(tables)
        self.notes = list(notes or [])  # what the generator decided or could not honour, never silent
        self.seed = seed

    @property
    def total_rows(self) -> int:
        return sum(table.num_rows for table in self._tables.values())

    def __repr__(self) -> str:
        notes = f", {len(self.notes)} notes" if self.notes else ""
        return f"<Dataset: {len(self)} tables, {self.total_rows:,} rows, seed {self.seed}{notes}>"

    def _repr_html_(self) -> str:
        rows = []
        for key, table in self._tables.items():
            sample = table.slice(0, SAMPLE_ROWS).to_pylist()
            preview = "<br>".join(html.escape(_short(row)) for row in sample)
            rows.append(f"<tr><td><code>{html.escape(key)}</code></td><td style='text-align:right'>"
                        f"{table.num_rows:,}</td><td style='text-align:right'>{table.num_columns}</td>"
                        f"<td style='text-align:left;font-size:smaller'>{preview}</td></tr>")
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        return (f"<div><b>{html.escape(repr(self)[1:-1])}</b><table><thead><tr><th>table</th><th>rows</th>"
                f"<th>columns</th><th>sample rows</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
                + (f"<details><summary>{len(self.notes)} notes</summary><ul>{notes}</ul></details>" if notes else "")
                + "</div>")


def _short(row: dict[str, object], width: int = 160) -> str:
    text = ", ".join(f"{k}={v}" for k, v in row.items())
    return text if len(text) <= width else text[: width - 1] + "…"
