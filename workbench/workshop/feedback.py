"""What a check says about an answer: what is right, what is missing, a hint; never only "wrong".

A check that passes may still teach (what was measured); one that does not always names what is
missing and gives a hint toward it, so an attendee is never left with a bare verdict.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from workbench.errors import WorkbenchError

DONE, NOT_YET = "done", "not yet"


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``passed``, the points that are right and missing, a hint, figures."""

    exercise: str
    title: str
    passed: bool
    right: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    hint: str = ""
    measured: tuple[str, ...] = field(default=())  # figures the check measured, shown apart (they vary)

    def __post_init__(self) -> None:
        for name in ("right", "missing", "measured"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.passed and not (self.missing and self.hint):
            raise WorkbenchError(f"feedback on {self.exercise!r} says 'not yet' without naming what is missing and a "
                                 "hint: a check must give both")

    @property
    def status(self) -> str:
        return DONE if self.passed else NOT_YET

    def __str__(self) -> str:
        lines = [f"{self.exercise} ({self.title}): {self.status}"]
        lines += [f"  right: {point}" for point in self.right]
        lines += [f"  missing: {point}" for point in self.missing]
        lines += [f"  hint: {self.hint}"] if self.hint and not self.passed else []
        lines += [f"  measured: {figure}" for figure in self.measured]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Feedback {self.exercise}: {self.status}>"

    def _repr_html_(self) -> str:
        color = "#2e7d32" if self.passed else "#c77700"
        verdict = "Done" if self.passed else "Not yet"
        sections = [("What is right", self.right), ("What is missing", self.missing), ("Measured", self.measured)]
        body = "".join(f"<p style='margin:.3em 0'><b>{title}</b></p><ul style='margin:0'>"
                       + "".join(f"<li>{html.escape(point)}</li>" for point in points) + "</ul>"
                       for title, points in sections if points)
        hint = (f"<p style='margin:.3em 0'><b>Hint:</b> {html.escape(self.hint)}</p>"
                if self.hint and not self.passed else "")
        return (f"<div style='border-left:6px solid {color};padding:.2em .8em'>"
                f"<p style='margin:.2em 0'><b style='color:{color}'>{verdict}</b> · {html.escape(self.exercise)}: "
                f"{html.escape(self.title)}</p>{body}{hint}</div>")
