"""Exercise notebooks made from the solutions notebooks, so the two never drift apart.

A lesson is written once, as ``NN_name_solutions.ipynb``; lines between ``BEGIN SOLUTION`` and
``END SOLUTION`` markers (in a comment of any kind: ``#``, ``--`` or ``<!-- -->``, markers included)
are the solutions. The exercise notebook ``NN_name.ipynb`` is the same notebook without them (and
without the cells left empty), its outputs cleared until it is run.

    python -m workbench.workshop.notebooks notebooks/workshop     # write every exercise notebook
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

from workbench.errors import WorkbenchError

SUFFIX = "_solutions"
BEGIN = re.compile(r"^\s*(#|--|<!--)\s*BEGIN SOLUTION\b")
END = re.compile(r"^\s*(#|--|<!--)\s*END SOLUTION\b")


def without_solutions(source: str, where: str = "cell") -> str:
    """``source`` without its solution blocks; raises naming ``where`` when the markers do not pair."""
    kept, inside = [], False
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        if BEGIN.match(line):
            if inside:
                raise WorkbenchError(f"{where}, line {number}: BEGIN SOLUTION inside a solution block; "
                                     "close the first with END SOLUTION")
            inside = True
        elif END.match(line):
            if not inside:
                raise WorkbenchError(f"{where}, line {number}: END SOLUTION without a BEGIN SOLUTION above it")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise WorkbenchError(f"{where}: BEGIN SOLUTION is never closed; add END SOLUTION after the solution")
    return "".join(kept)


def exercise_notebook(solutions: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The exercise version of a solutions notebook: solutions removed, empty cells dropped, outputs cleared."""
    exercise = nbformat.v4.new_notebook(metadata=solutions.metadata)
    for number, cell in enumerate(solutions.cells, 1):
        source = without_solutions(cell.source, f"{name}, cell {number}")
        if not source.strip():
            continue
        make = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
        copy = make(source, metadata=cell.metadata)
        if "id" in cell:
            copy.id = cell.id  # the same cell keeps its id in both notebooks (stable diffs)
        exercise.cells.append(copy)
    return exercise


def exercise_path(solutions: Path) -> Path:
    return solutions.with_name(solutions.name.replace(f"{SUFFIX}.ipynb", ".ipynb"))


def write_exercises(folder: Path) -> list[Path]:
    """Write the exercise notebook of every ``*_solutions.ipynb`` in ``folder``; returns the files written."""
    written = []
    for solutions in sorted(folder.glob(f"*{SUFFIX}.ipynb")):
        notebook = exercise_notebook(nbformat.read(solutions, as_version=4), solutions.name)
        target = exercise_path(solutions)
        nbformat.write(notebook, target)
        written.append(target)
    if not written:
        raise WorkbenchError(f"no *{SUFFIX}.ipynb in {folder}; the lessons' solutions notebooks are the source")
    return written


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    for path in write_exercises(Path(sys.argv[1] if len(sys.argv) > 1 else "notebooks/workshop")):
        print(f"wrote {path} (run it: jupyter nbconvert --to notebook --execute --inplace {path})")
