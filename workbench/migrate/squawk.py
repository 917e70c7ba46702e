"""squawk (the PostgreSQL migration linter, from the ``squawk-cli`` wheel) over a migration's scripts.

Findings are tied back to the statement they concern (squawk's JSON lines are 0-based) and sorted into
what the change set itself needs (a rename trips ``renaming-column`` whatever form it takes), what the
design chose (``prefer-bigint-over-int`` is about types, not about how they are migrated), what a safe
form's own scaffolding causes, and what is avoidable: the safe script must have none of the last kind.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.migrate.changes import Kind
from workbench.safe_display import safe_html

if TYPE_CHECKING:
    from workbench.migrate.plan import Migration
    from workbench.migrate.script import Script
    from workbench.migrate.steps import Step

PG_VERSION = "18.0"
# Rules a change trips in any form, because the change itself is what they warn about.
NEEDED_BY = {
    Kind.RENAME_COLUMN: {"renaming-column"},
    Kind.RENAME_TABLE: {"renaming-table"},
    Kind.RENAME_CONSTRAINT: {"renaming-object"},
    Kind.RENAME_INDEX: {"renaming-object"},
    Kind.RENAME_ENUM_VALUE: {"renaming-object"},
    Kind.DROP_COLUMN: {"ban-drop-column"},
    Kind.DROP_TABLE: {"ban-drop-table"},
    Kind.DROP_PARTITION: {"ban-drop-table"},
    Kind.ALTER_TYPE: {"changing-column-type"},
    Kind.RECREATE_ENUM: {"changing-column-type"},
    Kind.DROP_NOT_NULL: {"ban-drop-not-null"},
    Kind.DROP_PRIMARY_KEY: {"ban-drop-constraint"},
    Kind.DROP_UNIQUE: {"ban-drop-constraint"},
    Kind.DROP_CHECK: {"ban-drop-constraint"},
    Kind.DROP_FOREIGN_KEY: {"ban-drop-constraint"},
    Kind.DROP_ENUM: {"ban-drop-type"},
    Kind.DROP_DEFAULT: {"ban-drop-default"},
    Kind.DROP_SEQUENCE: {"ban-drop-sequence"},
    Kind.DROP_VIEW: {"ban-drop-view"},
}
# Rules about the design (types, keys) rather than the way it is migrated: the same in every form.
DESIGN = frozenset({"prefer-bigint-over-int", "prefer-bigint-over-smallint", "prefer-text-field",
                    "prefer-timestamptz", "ban-char-field", "prefer-identity", "require-primary-key",
                    "adding-serial-primary-key-field", "prefer-big-int", "ban-create-domain-with-constraint"})
NEEDED, DESIGNED, SCAFFOLDING, AVOIDABLE = "needed by the change", "design", "safe-form scaffolding", "avoidable"


@dataclass(frozen=True)
class Finding:
    """One squawk finding on one statement of the up or down script."""

    direction: str
    rule: str
    message: str
    help: str
    line: int  # 0-based, as squawk reports it
    statement: str
    category: str


@dataclass(frozen=True)
class SquawkReport:
    """squawk's findings on a migration, each with its statement and category."""

    findings: tuple[Finding, ...]
    version: str

    @property
    def avoidable(self) -> list[Finding]:
        return [f for f in self.findings if f.category == AVOIDABLE]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([f.__dict__ for f in self.findings],
                            columns=["direction", "rule", "category", "line", "statement", "message", "help"])

    def counts(self) -> pd.Series:
        """Findings per rule (up script), for a naive vs safe comparison."""
        frame = self.to_frame()
        return frame[frame.direction == "up"].groupby("rule").size()

    def __repr__(self) -> str:
        return (f"<SquawkReport ({self.version}): {len(self.findings)} findings, "
                f"{len(self.avoidable)} avoidable>")

    def _repr_html_(self) -> str:
        return safe_html(lambda r: f"<p>{html.escape(repr(r))}</p>" + r.to_frame().drop(columns="help").to_html(
            index=False), self)


def squawk_binary() -> Path:
    """The squawk executable of the ``squawk-cli`` wheel (beside this Python), else on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "squawk"
    found = beside if beside.is_file() else shutil.which("squawk")
    if not found:
        raise WorkbenchError("squawk is not installed; fix: pip install squawk-cli (a dependency of the workbench)")
    return Path(found)


def run_squawk(text: str) -> list[dict]:
    """squawk's JSON findings on a script."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "migration.sql"
        path.write_text(text, encoding="utf-8")
        done = subprocess.run([str(squawk_binary()), "--reporter", "json", "--pg-version", PG_VERSION, str(path)],
                              capture_output=True, text=True, timeout=120)
    try:
        return json.loads(done.stdout or "[]")
    except json.JSONDecodeError as error:
        raise WorkbenchError(f"squawk gave no JSON (exit {done.returncode}): {done.stderr.strip()[:500]}") from error


def lint_migration(migration: Migration) -> SquawkReport:
    """squawk over the up and down scripts of ``migration``."""
    findings: list[Finding] = []
    for direction, script, steps in (("up", migration.up_script(), migration.up),
                                     ("down", migration.down_script(), migration.down)):
        findings += [_finding(direction, item, script, steps) for item in run_squawk(script.text)]
    version = subprocess.run([str(squawk_binary()), "--version"], capture_output=True, text=True).stdout.strip()
    return SquawkReport(tuple(findings), version)


def _finding(direction: str, item: dict, script: Script, steps: tuple[Step, ...]) -> Finding:
    index = script.step_at(int(item["line"]))
    step = steps[index] if index is not None else None
    rule = item["rule_name"]
    if rule in DESIGN:
        category = DESIGNED
    elif step is not None and step.change is not None and rule in NEEDED_BY.get(step.change.kind, ()):
        category = NEEDED
    elif step is not None and step.helper:
        category = SCAFFOLDING
    else:
        category = AVOIDABLE
    return Finding(direction, rule, item["message"], item.get("help") or "", int(item["line"]),
                   " ".join(step.sql.split())[:200] if step else "", category)


def compare(naive: SquawkReport, safe: SquawkReport) -> pd.DataFrame:
    """Findings per rule in the naive and the safe up script, with the category squawk's rule falls in."""
    rows: dict[str, dict[str, object]] = {}
    for label, report in (("naive", naive), ("safe", safe)):
        for finding in report.findings:
            if finding.direction != "up":
                continue
            row = rows.setdefault(finding.rule, {"rule": finding.rule, "naive": 0, "safe": 0, "category": ""})
            row[label] = int(row[label]) + 1
            if label == "safe" or not row["category"]:
                row["category"] = finding.category
    return pd.DataFrame(list(rows.values()), columns=["rule", "naive", "safe", "category"]).sort_values(
        ["safe", "naive"], ascending=False, ignore_index=True)
