"""The import report: what became of every statement of a DDL file, so nothing is lost silently."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field

from workbench.schema.model import Schema

MODELLED = "modelled"
NOT_MODELLED = "not modelled"
ERROR = "error"
NOTHING_READ = "the parser returned nothing for this statement, so it is not imported; check its syntax"
NESTED_TOO_DEEPLY = ("nested too deeply for the parser (Python's recursion limit), so it is not imported; simplify "
                     "its deepest expression")
NUL_BYTE = ("holds a NUL byte (binary data in a text file), so it is not imported; remove the byte, e.g. with "
            "tr -d '\\000' < FILE > NEW")


@dataclass(frozen=True)
class StatementOutcome:
    """One statement of a file: where it is, what kind it is, and whether the model holds it."""

    line: int
    kind: str  # e.g. "CREATE TABLE", "ALTER TABLE ADD CONSTRAINT", "CREATE FUNCTION", "INSERT"
    status: str  # MODELLED | NOT_MODELLED | ERROR
    reason: str = ""
    snippet: str = ""
    column: int | None = None
    file: str | None = None

    @property
    def where(self) -> str:
        column = f":{self.column}" if self.column else ""
        return f"{self.file or '<text>'}:{self.line}{column}"

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "kind": self.kind, "reason": self.reason or self.status}


@dataclass
class ImportReport:
    """Every statement's outcome, in file order."""

    file: str | None = None
    dialect: str = "postgres"
    outcomes: list[StatementOutcome] = field(default_factory=list)

    def add(self, line: int, kind: str, status: str, reason: str = "", snippet: str = "",
            column: int | None = None) -> None:
        self.outcomes.append(StatementOutcome(line, kind, status, reason, _short(snippet), column, self.file))

    @property
    def modelled(self) -> list[StatementOutcome]:
        return [o for o in self.outcomes if o.status == MODELLED]

    @property
    def skipped(self) -> list[StatementOutcome]:
        """Statements the model does not hold: not modelled, or failed to parse."""
        return [o for o in self.outcomes if o.status != MODELLED]

    @property
    def errors(self) -> list[StatementOutcome]:
        return [o for o in self.outcomes if o.status == ERROR]

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((o.status, o.kind) for o in self.outcomes)

    def __repr__(self) -> str:
        return (f"<ImportReport {self.file or '<text>'} ({self.dialect}): {len(self.outcomes)} statements, "
                f"{len(self.modelled)} modelled, {len(self.skipped) - len(self.errors)} not modelled, "
                f"{len(self.errors)} errors>")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(status)}</td><td>{html.escape(kind)}</td><td>{n}</td></tr>"
            for (status, kind), n in sorted(self.counts().items())
        )
        details = "".join(
            f"<tr><td>{o.line}</td><td>{html.escape(o.kind)}</td><td>{html.escape(o.status)}</td>"
            f"<td>{html.escape(o.reason)}</td><td><code>{html.escape(o.snippet)}</code></td></tr>"
            for o in self.skipped
        )
        return (
            f"<div><b>Import report</b> {html.escape(self.file or '<text>')} ({html.escape(self.dialect)}): "
            f"{len(self.outcomes)} statements, {len(self.modelled)} modelled, "
            f"{len(self.skipped) - len(self.errors)} not modelled, {len(self.errors)} errors"
            f"<table><tr><th>status</th><th>kind</th><th>count</th></tr>{rows}</table>"
            + (f"<details><summary>statements not in the model ({len(self.skipped)})</summary><table>"
               f"<tr><th>line</th><th>kind</th><th>status</th><th>reason</th><th>statement</th></tr>"
               f"{details}</table></details>" if details else "")
            + "</div>"
        )


@dataclass(frozen=True)
class ImportResult:
    """What an import gives: the schema model and the report of every statement."""

    schema: Schema
    report: ImportReport

    def __repr__(self) -> str:
        return f"<ImportResult {self.schema!r} {self.report!r}>"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self.schema))}</p>{self.report._repr_html_()}"


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
