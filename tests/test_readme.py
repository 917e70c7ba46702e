"""The README's "From Python" blocks run as pasted into a notebook, from any folder, and show their values.

Each block runs as one cell of a real kernel started in an empty temporary folder (so no path may
lean on the repository's layout); every cell must end without an error and display something rich.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## From Python"):text.index("## From a shell")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_from_python_runs_as_pasted(tmp_path, pg_server):
    blocks = python_blocks()
    assert len(blocks) >= 8, "the example is split so that each block displays its result"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(block) for block in blocks])
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   store_widget_state=False).execute()  # raises CellExecutionError, naming the block, on an error
    for cell in notebook.cells:
        shown = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert shown, f"this block displays nothing:\n{cell.source}"
        assert set(shown[-1].data) - {"text/plain"}, f"this block displays only a plain repr:\n{cell.source}"
    assert (tmp_path / "out" / "search" / "report.html").is_file()
