"""What a person sees in a stored notebook, opened untrusted in JupyterLab: pictures, not reprs.

Untrusted, JupyterLab skips SVG and sanitizes HTML (inline SVG is dropped): every picture must carry
a PNG, no HTML output may hold an ``<svg>``, and no output may show a raw object repr where a table,
a drawing or a sentence belongs. Every notebook must be stored run, without an error.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").rglob("*.ipynb"))
RAW_REPRS = re.compile(r"<(Schema|Table|ERDiagram|Plan|PlanDiff|Findings|Results|Study|DuckDBEngine|PostgresEngine)"
                       r"\b[^>]*>|ExportNote\(|PartitionLoad |<IPython\.core")


def outputs(path: Path):
    for number, cell in enumerate(nbformat.read(path, as_version=4).cells, 1):
        for output in cell.get("outputs", []):
            yield number, cell, output


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(p.parents[1]).as_posix())
def test_stored_notebook_shows_pictures_and_no_raw_reprs(path):
    cells = nbformat.read(path, as_version=4).cells
    assert all(c.execution_count for c in cells if c.cell_type == "code" and c.source.strip()), \
        f"{path.name} is stored without running every cell"
    for number, _, output in outputs(path):
        where = f"{path.name}, cell {number}"
        assert output.output_type != "error", f"{where}: {output.get('ename')}: {output.get('evalue')}"
        data = output.get("data", {})
        if "image/svg+xml" in data:
            assert "image/png" in data, f"{where}: an SVG picture without a PNG (untrusted notebooks show none)"
        assert "<svg" not in data.get("text/html", ""), f"{where}: SVG inside HTML (dropped when untrusted)"
        shown = [text for mime, text in data.items() if mime in ("text/html", "text/markdown")]
        if not shown:  # only plain text shows: it must not be a bare repr
            shown = [data.get("text/plain", "")] if "image/png" not in data and not any(
                mime.startswith("application/vnd.jupyter.widget") for mime in data) else []
        shown += [output.get("text", "")] if output.output_type == "stream" else []
        for text in shown:
            found = RAW_REPRS.search(html.unescape(text if isinstance(text, str) else "".join(text)))
            assert found is None, f"{where} shows a raw repr: {found.group(0)!r}"
