"""Steps -> a SQL script for psql, with the line where each statement starts (squawk reports lines)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workbench.migrate.steps import Step


@dataclass(frozen=True)
class Script:
    """A migration script and, per step, the 0-based line of its statement."""

    text: str
    lines: tuple[int, ...]

    def step_at(self, line: int) -> int | None:
        """The index of the step whose statement covers 0-based ``line``."""
        found = None
        for index, start in enumerate(self.lines):
            if start <= line:
                found = index
        return found


def render_script(steps: Sequence[Step], *, title: str, transactions: bool) -> Script:
    """The script: a header, each step's notes as comments, and (``transactions``) every step that can run
    in a transaction wrapped in its own BEGIN/COMMIT, so a failure leaves nothing half done."""
    out: list[str] = [f"-- {line}" for line in title.splitlines()]
    starts: list[int] = []
    for step in steps:
        out.append("")
        for comment in (step.note, step.data_loss and f"DATA LOSS: {step.data_loss}"):
            if comment:
                out.append(f"-- {comment}")
        wrap = transactions and step.transactional and step.form != "SET"
        if wrap:
            out.append("BEGIN;")
        starts.append(len(out))
        out.extend(f"{step.sql};".splitlines())
        if wrap:
            out.append("COMMIT;")
    return Script("\n".join(out) + "\n", tuple(starts))
