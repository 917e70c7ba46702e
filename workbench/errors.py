"""One root error for the workbench; every error names the bad value, the valid choices, a fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class WorkbenchError(Exception):
    """Root of every error the workbench raises on purpose."""


class UnknownNameError(WorkbenchError, LookupError):
    """A name (table, dialect, column...) that is not among the valid choices."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]):
        self.kind, self.name, self.choices = kind, name, sorted(set(choices))
        super().__init__(f"unknown {kind} {name!r}{did_you_mean(name, self.choices)}")


class DDLSyntaxError(WorkbenchError):
    """A statement that could not be parsed, located in its file."""

    def __init__(self, message: str, *, file: str | None, line: int, column: int, snippet: str):
        self.file, self.line, self.column, self.snippet = file, line, column, snippet
        where = f"{file or '<text>'}:{line}:{column}"
        super().__init__(f"{where}: {message}\n    {snippet}")


def did_you_mean(name: str, choices: Iterable[str], cutoff: float = 0.5) -> str:
    """A ``"; did you mean ...?"`` suffix, or the list of valid choices when nothing is as close as ``cutoff``."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(name, choices, n=3, cutoff=cutoff)
    if not close:
        close = difflib.get_close_matches(name.lower(), [c.lower() for c in choices], n=3, cutoff=cutoff)
        close = [c for c in choices if c.lower() in close]
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if len(choices) <= 12:
        return "; valid choices: " + ", ".join(choices) if choices else ""
    return f"; {len(choices)} valid choices, e.g. " + ", ".join(choices[:8])
