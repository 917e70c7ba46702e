"""Which dialect a DDL file is written in, when the one it was read with fails: try a few, cheaply.

Only the head of the file is imported with each candidate (a few dozen statements), and a candidate is
suggested only when it reads clearly better than the dialect given: more tables and fewer errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.ddl import import_ddl
from workbench.errors import WorkbenchError

CANDIDATES = ("postgres", "mysql", "sqlite", "tsql", "oracle")
SAMPLE_CHARS = 64_000


@dataclass(frozen=True)
class Reading:
    """How a dialect reads the head of a file: tables and views modelled, statements that failed."""

    dialect: str
    objects: int
    errors: int
    statements: int

    def __str__(self) -> str:
        errors = f"{self.errors} error" + ("" if self.errors == 1 else "s")
        return (f"{self.dialect} reads {self.objects} tables and views with {errors} in the first "
                f"{self.statements} statements")


def read_as(text: str, dialect: str) -> Reading:
    sample = text if len(text) <= SAMPLE_CHARS else text[:text.rfind("\n", 0, SAMPLE_CHARS) + 1 or SAMPLE_CHARS]
    try:
        result = import_ddl(sample, dialect)
    except WorkbenchError:
        return Reading(dialect, 0, 1, 1)
    schema, report = result.schema, result.report
    return Reading(dialect, len(schema.tables) + len(schema.views), len(report.errors), len(report.outcomes))


def better_dialect(text: str, dialect: str) -> Reading | None:
    """A dialect among :data:`CANDIDATES` that reads ``text`` clearly better than ``dialect``, or None."""
    given = read_as(text, dialect)
    readings = [read_as(text, candidate) for candidate in CANDIDATES if candidate != dialect]
    better = [r for r in readings if r.objects > given.objects and r.errors < given.errors]
    return max(better, key=lambda r: (r.objects, -r.errors), default=None)
