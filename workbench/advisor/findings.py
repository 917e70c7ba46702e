"""Lint findings: what a rule found, where, how bad, and the SQL that fixes it (when one exists)."""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import asdict, dataclass

import pandas as pd

from workbench.safe_display import safe_html

SEVERITIES = ("error", "warning", "info")  # most severe first


@dataclass(frozen=True)
class Finding:
    """One problem: the rule (``"WB101 missing-primary-key"``), the object it is about, and a fix."""

    rule: str
    severity: str
    object: str
    message: str
    fix_sql: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def code(self) -> str:
        """The rule's id alone, e.g. ``"WB101"``."""
        return self.rule.split()[0]

    @property
    def where(self) -> str:
        """``file:line`` where known, else the object."""
        if self.file is None:
            return self.object
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        text = f"{self.where}: {self.rule} [{self.severity}] {self.object}: {self.message}"
        if self.fix_sql:
            text += "\n    fix: " + self.fix_sql.replace("\n", "\n         ")
        return text


class Findings(list[Finding]):
    """The findings of a lint run, plus ``notes``: rules or queries that could not be checked, and why."""

    def __init__(self, findings: list[Finding] | tuple[Finding, ...] = (), notes: list[str] | None = None):
        super().__init__(findings)
        self.notes: list[str] = list(notes or [])

    @property
    def errors(self) -> Findings:
        return Findings([f for f in self if f.severity == "error"])

    def counts(self) -> Counter[str]:
        """Findings per rule."""
        return Counter(f.rule for f in self)

    def to_frame(self) -> pd.DataFrame:
        columns = ["rule", "severity", "object", "message", "fix_sql", "file", "line"]
        frame = pd.DataFrame([asdict(f) for f in self], columns=columns)
        return frame.astype({"line": "Int64"})

    def to_json(self, *, indent: int | None = 2) -> str:
        """``{"findings": [...], "notes": [...]}`` as JSON text."""
        return json.dumps({"findings": [asdict(f) for f in self], "notes": self.notes}, indent=indent,
                          ensure_ascii=False)

    def summary(self) -> str:
        by_severity = Counter(f.severity for f in self)
        parts = [f"{by_severity[s]} {s}{'s' if by_severity[s] != 1 and s != 'info' else ''}"
                 for s in SEVERITIES if by_severity[s]]
        text = ", ".join(parts) if parts else "no findings"
        return text + (f" ({len(self.notes)} notes)" if self.notes else "")

    def __str__(self) -> str:
        lines = [str(f) for f in self] + [f"note: {n}" for n in self.notes]
        return "\n".join([*lines, self.summary()])

    def __repr__(self) -> str:
        head = "".join(f"\n  {f.rule} {f.object}: {f.message}" for f in self[:10])
        more = f"\n  ... {len(self) - 10} more" if len(self) > 10 else ""
        return f"<Findings: {self.summary()}>{head}{more}"

    def _repr_html_(self) -> str:
        return safe_html(Findings._html, self)

    def _html(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(f.severity)}</td><td>{html.escape(f.rule)}</td>"
            f"<td>{html.escape(f.object)}</td><td>{html.escape(f.message)}</td>"
            f"<td><code>{html.escape(f.fix_sql or '')}</code></td>"
            f"<td>{html.escape(f.where if f.file else '')}</td></tr>"
            for f in self
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<p>{html.escape(self.summary())}</p>"
                + ("<table><tr><th>severity</th><th>rule</th><th>object</th><th>message</th><th>fix</th>"
                   f"<th>where</th></tr>{rows}</table>" if rows else "")
                + (f"<p>Not checked:</p><ul>{notes}</ul>" if notes else ""))
